"""The Runs tab's actions in the browser: Compare two runs (the config that differs, final metrics
side by side), Continue a run for more steps (a new run from its checkpoint), Clone a run into its
tab's form, and Resume a run from its last checkpoint."""
from __future__ import annotations

import pytest

from lab.runs import RunStore
from backends.local import wait_until
from tests.e2e.conftest import screenshot
from tests.e2e.test_runs_ui import run_id

pytestmark = pytest.mark.e2e
FAST = ("--set", "train.max_steps=2", "--set", "train.save_steps=2", "--set", "dataset.eval_split=0",
        "--set", "dataset.max_samples=16")


def pick(page, run: str) -> None:
    page.locator("#runs-refresh").click()
    page.locator("#runs-table [role=gridcell]", has_text=run).first.click()
    page.wait_for_function(f"() => document.querySelector('#runs-detail input')?.value === {run!r}")


def test_compare_continue_clone_and_resume(tiny_workspace, lab_server, page):
    first = run_id(tiny_workspace, "presets/sft-tiny.yaml", *FAST)
    second = run_id(tiny_workspace, "presets/sft-tiny.yaml", *FAST, "--set", "train.learning_rate=0.001")
    store = RunStore(tiny_workspace / "runs")

    page.goto(lab_server.url, wait_until="domcontentloaded")
    page.locator("button[role=tab]:has-text('Runs')").first.click()
    page.locator("#runs-refresh").click()
    for run in (first, second):
        page.locator("#runs-compare label", has_text=run).click()
    page.locator("#runs-compare-btn").click()
    page.wait_for_function("() => document.querySelector('#runs-compare-config')?.innerText.includes('train.learning_rate')")
    config = page.locator("#runs-compare-config").inner_text()
    assert "0.001" in config and "dataset.path" not in config
    assert "loss" in page.locator("#runs-compare-metrics").inner_text()
    screenshot(page, "runs-compare")

    # Continue: a new run from the first one's checkpoint, 3 more steps
    pick(page, first)
    page.locator("#runs-more-steps input").fill("3")
    page.locator("#runs-continue").click()
    page.wait_for_function("() => document.querySelector('#runs-action-message')?.innerText.includes('Started')")
    new = next(i for i in store.ids() if store.status(i).get("continues") == first)
    assert wait_until(lambda: store.status(new).get("state") == "succeeded", 300, 0.5), store.status(new)
    assert store.get(new).load_spec().train.max_steps == 5

    # Clone: the SFT tab opens with the first run's settings in its form
    pick(page, second)
    page.locator("#runs-clone").click()
    page.wait_for_function("() => document.querySelector('#sft-command')?.innerText.includes('job.yaml')", timeout=90_000)
    assert page.locator("#sft-start").is_visible()
    assert page.locator("#sft-f-train-learning-rate input").input_value() == "0.001"

    # Resume: the run starts again from its last checkpoint
    page.locator("button[role=tab]:has-text('Runs')").first.click()
    pick(page, first)
    page.locator("#runs-resume").click()
    assert wait_until(lambda: store.status(first).get("resumed_at") and store.status(first).get("state") == "succeeded",
                      300, 0.5), store.status(first)
    assert any("resuming from" in line and "checkpoint-2" in line
               for line in store.get(first).events_path.read_text(encoding="utf-8").splitlines())
