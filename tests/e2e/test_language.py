"""The ja/en switch reaches what a fresh lab shows before any run: status lines, empty-chart texts, upload boxes."""
from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

# tab → (element, English text, Japanese text): the texts a user sees in a fresh workspace
FRESH = {
    "sft": [("#sft-status", "No run yet", "まだ実行はありません"),
            ("#sft-plot", "waiting for the first logged step", "最初のステップの記録を待っています")],
    "dpo": [("#dpo-status", "No run yet", "まだ実行はありません")],
    "dedup": [("#dedup-status", "No run yet", "まだ実行はありません")],
    "launch": [("#launch-status", "No distributed run yet", "まだ分散実行はありません"),
               ("#launch-hardware", "CPU processes with the gloo backend", "GPU なし"),
               ("#launch-plot", "waiting for the first logged step", "最初のステップの記録を待っています")],
    "rag": [("#rag-index-status", "No indexing run yet", "まだ索引づくりの実行はありません"),
            ("#rag-eval-status", "No evaluation run yet", "まだ評価の実行はありません"),
            ("#rag-chunks", "Ask a question", "質問すると")],
    "judge": [("#judge-status", "No judge run yet", "まだ評価の実行はありません"),
              ("#judge-live-plot", "waiting for the first judgment", "最初の判定を待っています"),
              ("#judge-upload", "Import your own questions", "自分の質問を取り込む")],
    "runs": [("#runs-plot", "Tick runs under", "「重ねて表示する実行」で")],
}


def texts_show(page, lang_index: int) -> None:
    for tab, checks in FRESH.items():
        page.locator(f"#tab-{tab}-button").click()
        for selector, *texts in checks:
            try:
                page.wait_for_function("([sel, text]) => { const el = document.querySelector(sel);"
                                       " return !!el && el.textContent.includes(text); }", arg=[selector, texts[lang_index]])
            except PlaywrightTimeout:
                shown = page.evaluate("sel => document.querySelector(sel)?.textContent", selector)
                raise AssertionError(f"{selector} never showed {texts[lang_index]!r}; it shows {shown!r}") from None


def test_the_language_switch_relabels_status_lines_empty_charts_and_upload_boxes(lab_server, page):
    page.goto(lab_server.url, wait_until="domcontentloaded")
    page.wait_for_selector("#lang")
    texts_show(page, 0)  # the server was started with --lang en
    page.locator("#lang label", has_text="ja").click()
    texts_show(page, 1)
    screenshot(page, "judge-fresh-ja")
    page.locator("#lang label", has_text="en").click()
    texts_show(page, 0)
