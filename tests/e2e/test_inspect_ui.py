"""The SFT and DPO tabs' "Inspect data" panel, clicked in Chromium: the form's samples as the trainer
tokenizes them, trained tokens coloured, with the same counts as `lab inspect`."""
from __future__ import annotations

import json

import pytest

from tests.conftest import lab
from tests.e2e.conftest import screenshot
from tests.e2e.test_sft_ui import open_lab

pytestmark = pytest.mark.e2e


def test_inspect_panel_colours_what_the_sft_form_trains(lab_server, page):
    open_lab(page, lab_server.url)
    page.locator("#sft-load").click()
    page.wait_for_function("() => document.querySelector('#sft-command').innerText.includes('presets/sft-tiny.yaml')")
    page.locator("#sft-inspect").get_by_text("Inspect data").click()
    page.locator("#sft-inspect-go").click()
    page.wait_for_selector("#inspect-result[data-samples='2']", timeout=120_000)
    shown = page.eval_on_selector_all("#sft-inspect-out [data-trained]",
                                      "els => els.map(e => [+e.dataset.trained, +e.dataset.total])")
    assert page.locator("#sft-inspect-out .lab-tok .t").count() > 0
    assert page.locator("#sft-inspect-out .lab-tok .n").count() > 0
    screenshot(page, "sft-inspect")

    done = lab("inspect", "sft-tiny", "--n", "2", "--json", workspace=lab_server.workspace, timeout=300)
    cli = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown == [[s["trained_tokens"], s["total_tokens"]] for s in cli["samples"]]
