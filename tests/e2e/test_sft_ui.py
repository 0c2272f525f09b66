"""Click through the SFT and Runs tabs in Chromium as a workshop participant would."""
from __future__ import annotations

import json
import os

import pytest

from backends.local import is_alive, wait_until
from tests.conftest import lab
from tests.e2e.conftest import LabServer, new_page, screenshot

pytestmark = pytest.mark.e2e

LOSS_POINTS = """() => {
  const el = document.querySelector('#sft-plot .js-plotly-plot');
  if (!el || !el.data) return 0;
  const t = el.data.find(d => d.name === 'loss');
  return t ? t.x.length : 0;
}"""


def open_lab(page, url):
    page.goto(url, wait_until="domcontentloaded")  # then wait on what the test needs, not on every sub-resource
    page.locator("button[role=tab]", has_text="SFT").first.click()
    page.wait_for_selector("#sft-start")


def set_field(page, elem_id: str, value: str):
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    box.press("Tab")


def loss_points(page) -> int:
    return page.evaluate(LOSS_POINTS)


def status_state(page) -> str:
    return page.locator("#sft-status").get_attribute("data-state") or ""


def test_sft_start_watch_stop_runs_and_language(lab_server, page):
    open_lab(page, lab_server.url)
    page.locator("#sft-load").click()
    page.wait_for_function("() => document.querySelector('#sft-command').innerText.includes('presets/sft-tiny.yaml')")
    set_field(page, "sft-f-train-max-steps", "900")  # not the preset's own value, so the command shows it
    page.wait_for_function("() => document.querySelector('#sft-command').innerText.includes('--set train.max_steps=900')")
    page.locator("#sft-start").click()
    page.wait_for_function(f"() => ({LOSS_POINTS})() >= 3", timeout=120_000)
    first = loss_points(page)
    page.wait_for_function(f"() => ({LOSS_POINTS})() > {first}", timeout=60_000)
    assert status_state(page) == "running"
    screenshot(page, "sft-running")
    page.locator("#sft-stop").click()
    page.wait_for_function("() => document.querySelector('#sft-status').dataset.state === 'cancelled'", timeout=60_000)

    page.locator("#tab-runs-button, button[role=tab]:has-text('Runs')").first.click()
    run_id = page.locator("#sft-status b").inner_text()
    page.locator("#runs-refresh").click()
    page.wait_for_function(f"() => document.querySelector('#runs-table').innerText.includes('{run_id}')", timeout=60_000)
    assert "cancelled" in page.locator("#runs-table").inner_text()
    page.locator("#runs-compare label", has_text=run_id).click()
    page.wait_for_function("() => { const el = document.querySelector('#runs-plot .js-plotly-plot');"
                           " return el && el.data && el.data.length === 1 && el.data[0].x.length > 0; }")
    screenshot(page, "runs")

    page.locator("button[role=tab]:has-text('SFT')").first.click()
    set_field(page, "sft-save-name", "my-sft")
    page.locator("#sft-save").click()
    saved = lab_server.workspace / "presets" / "my-sft.yaml"
    assert wait_until(saved.exists, 10)
    text = saved.read_text()
    # failed once under a loaded full suite (passes alone and under load): say what the form held
    assert "max_steps: 900" in text, ([line for line in text.splitlines() if "max_steps" in line],
                                      page.locator("#sft-f-train-max-steps input").first.input_value())

    page.locator("#lang label", has_text="ja").click()
    page.wait_for_function("() => document.querySelector('#sft-start').innerText.includes('開始')", timeout=120_000)
    assert any("実行一覧" in t for t in page.locator("button[role=tab]").all_inner_texts())
    screenshot(page, "runs-ja")


def test_bad_data_shows_an_error_and_the_app_keeps_serving(lab_server, page, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "a"}]}\n')
    open_lab(page, lab_server.url)
    set_field(page, "sft-f-dataset-path", str(bad))
    page.locator("#sft-start").click()
    page.wait_for_function("() => document.querySelector('#sft-error').innerText.includes('bad.jsonl:1: messages')")
    page.locator("button[role=tab]:has-text('Runs')").first.click()
    page.locator("#runs-refresh").click()
    page.wait_for_selector("#runs-table")
    assert os.listdir(lab_server.workspace / "runs") in ([], [".queue"])


def test_finished_run_chats_beside_its_base(lab_server, page):
    open_lab(page, lab_server.url)
    set_field(page, "sft-f-train-max-steps", "4")
    page.locator("#sft-start").click()
    page.wait_for_function("() => document.querySelector('#sft-status').dataset.state === 'succeeded'", timeout=180_000)
    page.wait_for_selector("#sft-chat", state="visible")
    page.locator("#sft-chat-msg textarea").fill("日本の首都はどこですか？")
    page.locator("#sft-chat-send").click()
    for side in ("trained", "base"):
        page.wait_for_function(f"() => document.querySelectorAll('#sft-chat-{side} .message').length >= 2", timeout=60_000)
    screenshot(page, "sft-chat")


def test_killing_the_ui_keeps_the_run_and_a_restarted_ui_follows_it(tiny_workspace, page):
    browser_context = page.context
    server = LabServer(tiny_workspace).start()
    try:
        open_lab(page, server.url)
        set_field(page, "sft-f-train-max-steps", "300")
        page.locator("#sft-start").click()
        page.wait_for_function(f"() => ({LOSS_POINTS})() >= 2", timeout=120_000)
        run_id = page.locator("#sft-status b").inner_text()
        server.kill(9)

        def show():
            return json.loads(lab("runs", "show", run_id, "--json", workspace=tiny_workspace).stdout)
        steps_at_kill = show()["metrics"].get("loss") is not None
        assert steps_at_kill and is_alive(show()["pid"])
        events = tiny_workspace / "runs" / run_id / "events.jsonl"
        size = events.stat().st_size
        assert wait_until(lambda: events.stat().st_size > size, 60), "the run stopped when the UI died"

        server = LabServer(tiny_workspace, server.port).start()
        # the user reloads: a fresh page, not the one whose connections died with the old server
        page.close()
        page = new_page(browser_context)
        open_lab(page, server.url)
        page.wait_for_function(f"() => document.querySelector('#sft-status b') && "
                               f"document.querySelector('#sft-status b').innerText === '{run_id}'")
        page.wait_for_function(f"() => ({LOSS_POINTS})() >= 3", timeout=60_000)
        before = loss_points(page)
        page.wait_for_function(f"() => ({LOSS_POINTS})() > {before}", timeout=60_000)
        screenshot(page, "sft-after-restart")
    finally:
        lab("runs", "cancel", run_id, "--grace", "10", workspace=tiny_workspace) if "run_id" in dir() else None
        server.stop()
