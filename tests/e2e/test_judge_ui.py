"""The Judge tab in Chromium, as a workshop participant uses it: point the pairwise preset at a judge,
start, watch it finish, read the results and the judge's bias diagnostics, filter the side-by-side
viewer to the items whose two orders disagree, overrule the judge on one, and export the judged
pairs for DPO. The judge is the rule-based test judge (longer answer wins; close lengths go to the
answer shown first), so there are inconsistent items to find."""
from __future__ import annotations

import json

import pytest

from backends.local import wait_until
from tests.e2e.conftest import screenshot
from tests.integration.test_judge_rule_server import RuleJudgeServer

pytestmark = pytest.mark.e2e


def set_field(page, elem_id: str, value: str):
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    box.press("Tab")


def sub_tab(page, name: str):
    page.locator("#judge-sections button[role=tab]", has_text=name).first.click()


ROWS = "#judge-items div[role=row]"  # Gradio 6 draws the body rows as div[role=row]


def item_keys(page) -> list[str]:
    return page.evaluate(f"() => Array.from(document.querySelectorAll('{ROWS}')).map(r => r.innerText.split('\\n')[0].trim())")


def row_texts(page) -> list[str]:
    return page.evaluate(f"() => Array.from(document.querySelectorAll('{ROWS}')).map(r => r.innerText)")


def test_pairwise_preset_in_the_judge_tab_and_the_inconsistent_items(lab_server, page):
    with RuleJudgeServer(position_margin=0.95) as judge:
        page.goto(lab_server.url)
        page.locator("button[role=tab]", has_text="Judge").first.click()
        page.wait_for_selector("#judge-start", state="visible")
        set_field(page, "judge-base-url", judge.url)
        set_field(page, "judge-max-questions", "2")
        page.wait_for_function("() => document.querySelector('#judge-command').innerText.includes('--set questions.max_questions=2')")
        assert f"--set judge.base_url={judge.url}" in page.locator("#judge-command").inner_text()
        page.locator("#judge-start").click()
        page.wait_for_function("() => ['succeeded', 'failed'].includes(document.querySelector('#judge-status').dataset.state)",
                               timeout=240_000)
        assert page.locator("#judge-status").get_attribute("data-state") == "succeeded", page.locator("#judge-status").inner_text()
        page.wait_for_function("""() => { const el = document.querySelector('#judge-live-plot .js-plotly-plot');
                                   return el && el.data && el.data.some(d => d.x.length > 0); }""")
        screenshot(page, "judge-run")

        run_id = page.locator("#judge-status b").inner_text()
        run_dir = lab_server.workspace / "runs" / run_id
        summary = json.loads((run_dir / "artifacts" / "summary.json").read_text(encoding="utf-8"))
        inconsistent = {i["key"] for i in summary["bias"]["inconsistent_items"]}
        assert inconsistent, "the position-biased test judge should disagree with itself on some item"

        sub_tab(page, "Results")
        page.wait_for_selector("#judge-bias[data-ready='1']", state="visible")
        assert "Position consistency" in page.locator("#judge-bias").inner_text()
        page.wait_for_function("() => { const el = document.querySelector('#judge-results-plot .js-plotly-plot');"
                               " return el && el.data && el.data.length >= 3; }")
        assert "tiny-t1" in page.locator("#judge-table").inner_text()
        screenshot(page, "judge-results")

        sub_tab(page, "Side-by-side viewer")
        page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 2")
        page.locator("#judge-filter-inconsistent input").check()
        page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === {len(inconsistent)}")
        assert set(item_keys(page)) == inconsistent and all("⚠ yes" in r for r in row_texts(page))

        page.locator(ROWS).first.locator("[role=gridcell]").nth(1).click()
        page.wait_for_selector("#judge-flag [data-inconsistent='1'], #judge-flag[data-inconsistent='1']")
        key = page.locator("#judge-item input").input_value()
        assert key in inconsistent
        assert page.locator("#judge-answer-1").inner_text().strip() and page.locator("#judge-order-ba").inner_text().strip()
        model_1 = key.split("|")[1]
        page.locator("#judge-override label", has_text=model_1).first.click()
        page.locator("#judge-save-override").click()
        page.wait_for_function("() => document.querySelector('#judge-viewer-human').innerText.includes('Human verdicts 1')")
        overrides = [json.loads(line) for line in (run_dir / "artifacts" / "human_overrides.jsonl").read_text().splitlines()]
        assert overrides[-1]["key"] == key and overrides[-1]["winner"] == model_1
        screenshot(page, "judge-viewer")

        sub_tab(page, "Results")
        page.locator("#judge-export-pref").click()
        page.wait_for_function("() => document.querySelector('#judge-export-note').innerText.includes('pairs written')")
        exported = run_dir / "artifacts" / "exports" / f"{run_id}-preferences.jsonl"
        assert wait_until(exported.exists, 10)
        pairs = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
        assert any(p["source"] == "human" and p["chosen_model"] == model_1 for p in pairs)

        page.locator("#lang label", has_text="ja").click()
        page.wait_for_function("() => document.querySelector('#judge-sections').innerText.includes('比較ビューア')")
        assert "選好データとして書き出す" in page.locator("#judge-export-pref").inner_text()
