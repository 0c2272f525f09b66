"""The Launch tab: torchrun × 2 on the tiny SFT preset, previewed then started, with world size 2
and a live loss chart; the planners answer in the page."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

LOSS_POINTS = """() => {
  const el = document.querySelector('#launch-plot .js-plotly-plot');
  if (!el || !el.data) return 0;
  const t = el.data.find(d => d.name === 'loss');
  return t ? t.x.length : 0;
}"""


def test_torchrun_two_processes_preview_start_and_watch(lab_server, page):
    page.goto(lab_server.url)
    page.locator("button[role=tab]:has-text('Launch')").first.click()
    page.wait_for_function("() => document.querySelector('#launch-command') && "
                           "document.querySelector('#launch-command').innerText.includes('launch.nproc_per_node=2')")
    page.wait_for_function("() => document.querySelector('#launch-file-command-sh').innerText.includes('torch.distributed.run')")
    box = page.locator("#launch-max-steps input").first
    box.fill("200")
    box.press("Tab")
    page.locator("#launch-start").click()
    page.wait_for_function("() => document.querySelector('#launch-status') && "
                           "document.querySelector('#launch-status').innerText.includes('world size 2')", timeout=180_000)
    page.wait_for_function(f"() => ({LOSS_POINTS})() >= 2", timeout=120_000)
    screenshot(page, "launch-running")
    page.locator("#launch-stop").click()
    page.wait_for_function("() => document.querySelector('#launch-status').dataset.state === 'cancelled'", timeout=90_000)

    page.locator("button:has-text('Planners')").first.click()
    page.locator("#plan-mem-go").click()
    page.wait_for_function("() => document.querySelector('#plan-mem-out').innerText.includes('GPU GiB')")
    page.locator("#plan-mem-lora input").fill("16")  # LoRA: only the adapter carries grads and optimizer states
    page.locator("#plan-mem-go").click()
    page.wait_for_function("() => document.querySelector('#plan-mem-out').innerText.includes('LoRA')")
    page.locator("button[role=tab]:has-text('3D parallelism')").first.click()
    page.locator("#plan-par-go").click()
    page.wait_for_function("() => document.querySelector('#plan-par-out').innerText.includes('DP = 2')")
    screenshot(page, "launch-planners")
