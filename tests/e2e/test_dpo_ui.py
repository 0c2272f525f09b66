"""DPO in the browser: start from a finished SFT run, watch the reward margin chart grow, chat."""
from __future__ import annotations

import json

import pytest

from tests.conftest import lab
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

MARGIN_POINTS = """() => {
  const el = document.querySelector('#dpo-plot .js-plotly-plot');
  if (!el || !el.data) return 0;
  const t = el.data.find(d => d.name === 'rewards/margins');
  return t ? t.x.length : 0;
}"""


def set_field(page, elem_id: str, value: str):
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    box.press("Tab")


def test_dpo_from_sft_run_live_margins_and_side_by_side_chat(tiny_workspace, lab_server, page):
    sft = lab("run", "presets/sft-tiny.yaml", "--set", "train.max_steps=2", "--set", "train.eval_steps=1",
              "--json", workspace=tiny_workspace)
    sft_id = json.loads(sft.stdout.strip().splitlines()[-1])["run_id"]

    page.goto(lab_server.url)
    page.locator("button[role=tab]:has-text('DPO')").first.click()
    page.wait_for_selector("#dpo-start", state="visible")
    page.locator("#dpo-from-sft input").click()
    page.locator("[role=option]", has_text=sft_id).click()
    page.wait_for_function(f"() => document.querySelector('#dpo-f-model-name input, #dpo-f-model-name textarea').value === 'run:{sft_id}'")
    page.wait_for_function(f"() => document.querySelector('#dpo-command').innerText.includes('model.name=run:{sft_id}')")
    set_field(page, "dpo-f-train-max-steps", "12")
    page.locator("#dpo-start").click()
    page.wait_for_function(f"() => ({MARGIN_POINTS})() >= 2", timeout=120_000)
    first = page.evaluate(MARGIN_POINTS)
    page.wait_for_function(f"() => ({MARGIN_POINTS})() > {first}", timeout=60_000)
    assert f"parent {sft_id}" in page.locator("#dpo-status").inner_text()
    page.wait_for_function("() => document.querySelector('#dpo-status').dataset.state === 'succeeded'", timeout=180_000)
    page.wait_for_selector("#dpo-chat", state="visible")
    page.locator("#dpo-chat-msg textarea").fill("おすすめの本を教えてください。")
    page.locator("#dpo-chat-send").click()
    for side in ("trained", "base"):
        page.wait_for_function(f"() => document.querySelectorAll('#dpo-chat-{side} .message').length >= 2", timeout=60_000)
    screenshot(page, "dpo-chat")
    run_id = page.locator("#dpo-status b").inner_text()
    page.locator("#dpo-to-judge").click()
    page.wait_for_function(f"() => document.querySelector('#judge-contestants') && "
                           f"document.querySelector('#judge-contestants').innerText.includes('run:{run_id}') && "
                           f"document.querySelector('#judge-contestants').innerText.includes('run:{sft_id}')")
