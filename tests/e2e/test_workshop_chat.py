"""Workshop participants chat with what they trained (issue 13, point 1): in a `--workshop` server, a
participant's SFT run and DPO run answer in the side-by-side chats. The chat generates in threads, and
`run:<id>` must resolve in the participant's workspace there too; the reply text is checked, so an
error bubble ("⚠ … no run …") fails the test."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO, LabServer, screenshot
from tests.e2e.test_workshop_ui import login

pytestmark = pytest.mark.e2e

LAST_REPLY = """(side) => {
  const messages = document.querySelectorAll(`${side} .message`);
  return messages.length >= 2 ? messages[messages.length - 1].innerText.trim() : '';
}"""


@pytest.fixture(scope="module")
def workshop(tmp_path_factory, tiny_models_dir):
    ws = tmp_path_factory.mktemp("workshop-chat")
    (ws / "models").symlink_to(tiny_models_dir)
    users = ws / "users.csv"
    users.write_text("username,password,role\nalice,alice-pw\nbob,bob-pw\nteacher,teacher-pw,facilitator\n",
                     encoding="utf-8")
    # bob's SFT run, made by the real CLI as bob, for the DPO test to start from
    env = {**os.environ, "LAB_WORKSPACE": str(ws / "users" / "bob"), "LAB_MODELS_DIR": str(ws / "models")}
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "run", "presets/sft-tiny.yaml", "--set", "train.max_steps=2",
                           "--set", "train.eval_steps=1", "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sft_id = json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]
    server = LabServer(ws, args=("--workshop", "--users", str(users))).start()
    yield server, sft_id
    server.stop()


def set_field(page, elem_id: str, value: str):
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    box.press("Tab")


def chat_and_read(page, prefix: str, question: str) -> dict[str, str]:
    """Send one message in a tab's side-by-side chat; the text of both replies once they have begun (an
    error arrives whole, so a reply that has begun streaming text is an answer)."""
    page.locator(f"#{prefix}-chat-msg textarea").fill(question)
    page.locator(f"#{prefix}-chat-send").click()
    replies = {}
    for side in ("trained", "base"):
        selector = f"#{prefix}-chat-{side}"
        page.wait_for_function(f"() => {{ const t = ({LAST_REPLY})('{selector}'); return t && t !== '…'; }}",
                               timeout=120_000)
        replies[side] = page.evaluate(LAST_REPLY, selector)
    return replies


def assert_answered(replies: dict[str, str]) -> None:
    for side, text in replies.items():
        assert text and "⚠" not in text and "no run" not in text and "UserError" not in text, (side, text)


def test_a_participant_trains_in_the_sft_tab_and_chats_with_that_model(workshop, browser):
    server, _ = workshop
    page = login(browser, server, "alice")
    page.locator("button[role=tab]", has_text="SFT").first.click()
    page.wait_for_selector("#sft-start", state="visible")
    set_field(page, "sft-f-train-max-steps", "3")
    page.wait_for_function("() => document.querySelector('#sft-command').innerText.includes('train.max_steps=3')")
    page.locator("#sft-start").click()
    page.wait_for_function("() => document.querySelector('#sft-status').dataset.state === 'succeeded'", timeout=240_000)
    run_id = page.locator("#sft-status b").inner_text()
    assert (server.workspace / "users" / "alice" / "runs" / run_id / "job.yaml").exists()
    page.wait_for_selector("#sft-chat", state="visible")
    assert_answered(chat_and_read(page, "sft", "日本の首都はどこですか？"))
    screenshot(page, "workshop-sft-chat")
    page.context.close()


def test_a_participant_runs_dpo_from_their_sft_run_and_both_sides_answer(workshop, browser):
    server, sft_id = workshop
    page = login(browser, server, "bob")
    page.locator("button[role=tab]:has-text('DPO')").first.click()
    page.wait_for_selector("#dpo-start", state="visible")
    page.locator("#dpo-from-sft input").click()
    page.locator("[role=option]", has_text=sft_id).click()
    page.wait_for_function(f"() => document.querySelector('#dpo-command').innerText.includes('model.name=run:{sft_id}')")
    set_field(page, "dpo-f-train-max-steps", "2")
    page.wait_for_function("() => document.querySelector('#dpo-command').innerText.includes('train.max_steps=2')")
    page.locator("#dpo-start").click()
    page.wait_for_function("() => document.querySelector('#dpo-status').dataset.state === 'succeeded'", timeout=240_000)
    page.wait_for_selector("#dpo-chat", state="visible")
    assert_answered(chat_and_read(page, "dpo", "おすすめの本を教えてください。"))  # the DPO model and its SFT start
    screenshot(page, "workshop-dpo-chat")
    page.context.close()
