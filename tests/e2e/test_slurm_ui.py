"""The Launch tab on a throwaway one-node Slurm cluster (tests/slurm_cluster.py): pick the slurm
launcher, see the sbatch script, start; the run goes through sbatch as 2 gloo ranks with a live loss
chart, the status line names the Slurm job, Stop ends it cancelled with no job left, and the Runs tab
shows the job id and Slurm's state."""
from __future__ import annotations

import pytest

from backends.local import wait_until
from tests.e2e.conftest import LabServer, screenshot
from tests.slurm_cluster import cluster  # noqa: F401 - the module-scoped cluster fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def slurm_lab(cluster, tiny_workspace):
    server = LabServer(tiny_workspace).start()  # inherits SLURM_CONF: the lab's login node is this machine
    yield server
    server.stop()


LOSS_POINTS = """() => {
  const el = document.querySelector('#launch-plot .js-plotly-plot');
  if (!el || !el.data) return 0;
  const t = el.data.find(d => d.name === 'loss');
  return t ? t.x.length : 0;
}"""


def test_launch_tab_runs_the_tiny_sft_through_sbatch_and_stop_leaves_nothing(slurm_lab, page, cluster):
    page.goto(slurm_lab.url)
    page.locator("button[role=tab]:has-text('Launch')").first.click()
    page.locator("#launch-f-launch-launcher input").first.click()
    page.locator("ul[role=listbox] li", has_text="slurm").first.click()
    page.wait_for_function("() => document.querySelector('#launch-command').innerText.includes('launch.launcher=slurm')")
    page.locator("button[role=tab]:has-text('job.sbatch')").first.click()
    page.wait_for_function("() => document.querySelector('#launch-file-job-sbatch') && "
                           "document.querySelector('#launch-file-job-sbatch').innerText.includes('--cpus-per-task=2')")
    box = page.locator("#launch-max-steps input").first
    box.fill("2000")
    box.press("Tab")
    page.locator("#launch-start").click()
    page.wait_for_function("() => document.querySelector('#launch-status') && "
                           "document.querySelector('#launch-status').innerText.includes('world size 2')", timeout=180_000)
    assert " · Slurm " in page.locator("#launch-status").first.inner_text()
    page.wait_for_function(f"() => ({LOSS_POINTS})() >= 1", timeout=120_000)  # rank 0's events, live
    screenshot(page, "launch-slurm")
    page.locator("#launch-stop").click()
    page.wait_for_function("() => document.querySelector('#launch-status').dataset.state === 'cancelled'", timeout=90_000)
    page.locator("button[role=tab]:has-text('Runs')").first.click()
    page.wait_for_function("() => document.body.innerText.includes('cancelled · Slurm ')", timeout=30_000)
    assert wait_until(lambda: cluster.jobs() == [], 60)
