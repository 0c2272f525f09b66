"""The Home tab in Chromium: the loop as a picture whose steps switch tabs, the course path in the book's
chapter order, a gallery that opens every bundled preset in its tab with that preset in the form, and the
Data tab handing its kept corpus to the SFT form (where it trains) and to pretraining in the Launch tab."""
from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import screenshot
from ui.tabs.home import OPEN_IN, gallery_presets

pytestmark = pytest.mark.e2e

COMMAND = {"dedup": "dedup-command", "pretrain": "launch-command", "sft": "sft-command", "dpo": "dpo-command",
           "kto": "dpo-command", "judge": "judge-command", "eval": "judge-eval-command", "rag_index": "rag-command",
           "rag_eval": "rag-eval-command"}
PRESET_PICKER = {"dedup": "dedup-preset", "pretrain": "launch-preset", "sft": "sft-preset", "dpo": "dpo-preset",
                 "kto": "dpo-preset", "judge": "judge-preset"}
SECTION = {"judge": "judge-setup", "eval": "judge-metrics"}  # the Judge tab's inner tab each kind opens in
# The command of a just-opened preset: the preset itself, changed at most by the Launch tab's own launch settings.
# Its preset picker, if the tab has one, names it.
OPENED = """([id, name, picker]) => {
  const text = (document.querySelector('#' + id)?.innerText || '').split('\\n').pop().trim();
  const sets = text.split(' --set ').slice(1);
  const picked = !picker || document.querySelector('#' + picker + ' input')?.value === name;
  return picked && text.startsWith('lab run presets/' + name + '.yaml') && sets.every(s => s.startsWith('launch.'));
}"""


def selected(page, tab: str) -> None:
    try:
        page.wait_for_selector(f"#{tab}-button[aria-selected=true]", timeout=60_000)
    except PlaywrightTimeout:
        shown = page.evaluate("Array.from(document.querySelectorAll('button[role=tab][aria-selected=true]')).map(b => b.id)")
        pytest.fail(f"{tab} is not selected; selected: {shown}")


def wait_opened(page, elem_id: str, name: str, picker: str | None) -> None:
    try:
        page.wait_for_function(OPENED, arg=[elem_id, name, picker], timeout=60_000)
    except PlaywrightTimeout:
        picked = page.evaluate("p => p && document.querySelector('#' + p + ' input')?.value", picker)
        pytest.fail(f"{name}: #{elem_id} shows {page.locator('#' + elem_id).inner_text()!r}, the picker {picked!r}")


def command_has(page, elem_id: str, needle: str) -> None:
    page.wait_for_function(f"() => (document.querySelector('#{elem_id}')?.innerText || '').includes({needle!r})",
                           timeout=60_000)


def set_field(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    box.press("Tab")


def value_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} input, #{elem_id} textarea").first.input_value()


def change_judge_metrics(page) -> None:
    page.locator("#tab-judge-button").click()
    page.locator("#judge-metrics-button").click()
    set_field(page, "judge-eval-shots", "3")
    command_has(page, "judge-eval-command", "--set num_few_shots=3")


def change_rag_eval(page) -> None:
    page.locator("#tab-rag-button").click()
    set_field(page, "rag-eval-max", "3")
    command_has(page, "rag-eval-command", "--set max_questions=3")


# The forms that hold a single preset are changed first, so that opening it must really put it back (its
# command then shows no --set); the Judge tab is left on its metrics section for the judge presets to leave.
CHANGE_FIRST = {"judge": change_judge_metrics, "rag": change_rag_eval}


def test_home_shows_the_loop_and_the_course_and_opens_every_preset_in_its_tab(lab_server, page):
    page.goto(lab_server.url)
    page.wait_for_selector("#home-flow")
    for node in ("corpus", "dedup", "pretrain", "sft", "dpo", "judge", "rag"):
        assert page.locator(f"#home-go-{node}").is_visible()
    badges = [b for b in page.locator(".home-step-badge").all_inner_texts() if b.startswith("Ch.")]
    assert badges == ["Ch. 10", "Ch. 11", "Ch. 12", "Ch. 13", "Ch. 14"]
    assert "Look at" in page.locator("#home-step-sft").inner_text()
    screenshot(page, "home-en")

    page.locator("#lang label", has_text="ja").click()
    page.wait_for_function("() => document.querySelector('#home-go-sft').innerText.includes('指示チューニング')",
                           timeout=120_000)
    assert "見るところ" in page.locator("#home-step-sft").inner_text()
    assert page.locator("[id='home-open-sft-tiny']").inner_text() == "SFT タブで開く"
    screenshot(page, "home-ja")

    page.locator("#home-go-dpo").click()  # a step of the picture is its tab
    selected(page, "tab-dpo")

    presets = gallery_presets()
    assert len(presets) >= 15
    # One fresh page per tab (a page holding every tab drawn at once is slow to drive on a small box); the
    # presets are opened from Home as a user does, one after the other into the same form.
    for tab, group in itertools.groupby(presets, key=lambda p: OPEN_IN[p[1]]):
        page.goto(lab_server.url)
        page.wait_for_selector("#home-flow")
        if tab in CHANGE_FIRST:
            CHANGE_FIRST[tab](page)
        for name, kind, _ in group:
            page.locator("#tab-home-button").click()
            page.locator(f"[id='home-open-{name}']").click()
            selected(page, f"tab-{tab}")
            if kind in SECTION:
                selected(page, SECTION[kind])
            wait_opened(page, COMMAND[kind], name, PRESET_PICKER.get(kind))


def test_the_kept_corpus_trains_in_sft_and_goes_to_pretraining(lab_server, page):
    page.goto(lab_server.url)
    page.locator("[id='home-open-dedup-exact']").click()
    selected(page, "tab-dedup")
    command_has(page, "dedup-command", "presets/dedup-exact.yaml")
    page.locator("#dedup-start").click()
    page.wait_for_function("() => document.querySelector('#dedup-status')?.dataset.state === 'succeeded'", timeout=120_000)
    page.locator("button[role=tab][data-tab-id='dedup-files-tab']").click()
    page.wait_for_selector("#dedup-use-sft", state="visible", timeout=60_000)
    run_dir = lab_server.workspace / "runs" / page.locator("#dedup-status b").first.inner_text()
    kept = str(max(run_dir.rglob("kept*.jsonl")))  # kept_text.jsonl when the corpus names its text field otherwise
    screenshot(page, "dedup-handoff")

    page.locator("#dedup-use-sft").click()
    selected(page, "tab-sft")
    page.wait_for_function(f"() => document.querySelector('#sft-f-dataset-path textarea, #sft-f-dataset-path input')"
                           f".value === {kept!r}", timeout=60_000)
    assert value_of(page, "sft-f-dataset-format") == "text"
    command_has(page, "sft-command", "--set train.assistant_only_loss=false")
    assert "--set dataset.format=text" in page.locator("#sft-command").inner_text()
    set_field(page, "sft-f-train-max-steps", "2")
    page.locator("#sft-start").click()
    page.wait_for_function("() => ['succeeded', 'failed'].includes(document.querySelector('#sft-status')?.dataset.state)",
                           timeout=240_000)
    assert page.locator("#sft-status").get_attribute("data-state") == "succeeded", page.locator("#sft-status").inner_text()

    page.locator("#tab-dedup-button").click()
    page.locator("#dedup-use-pretrain").click()
    selected(page, "tab-launch")
    command_has(page, "launch-command", f"--set dataset.path={kept}")
    assert value_of(page, "launch-preset") == "pretrain-tiny"
    assert "presets/pretrain-tiny.yaml" in page.locator("#launch-command").inner_text()
    assert value_of(page, "launch-f-dataset-format") == "text"
