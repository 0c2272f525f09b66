"""The Runs tab in the browser: pick a finished run in the table, see its family as a graph, write
its report and open that page — one self-contained file whose charts render."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import lab
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

PLOT_HAS = """([elem, text]) => {
  const el = document.querySelector(elem + ' .js-plotly-plot');
  return !!(el && el.data && JSON.stringify([el.data, el.layout.annotations]).includes(text));
}"""
TRACE_NAMED = """(name) => [...document.querySelectorAll('.js-plotly-plot')]
  .some(el => (el.data || []).some(d => d.name === name && d.x && d.x.length >= 2))"""


def run_id(ws, *args) -> str:
    proc = lab("run", *args, "--json", workspace=ws, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]


def test_family_graph_and_report_of_a_finished_run(tiny_workspace, lab_server, page):
    first = run_id(tiny_workspace, "presets/dedup-exact.yaml")
    kept = tiny_workspace / "runs" / first / "artifacts" / "kept.jsonl"
    second = run_id(tiny_workspace, "presets/dedup-minhash.yaml", "--set", f"input={kept}")

    page.goto(lab_server.url)
    page.locator("button[role=tab]:has-text('Runs')").first.click()
    page.locator("#runs-table [role=gridcell]", has_text=second).first.click()
    page.wait_for_function(f"() => document.querySelector('#runs-detail input')?.value === {second!r}")
    page.wait_for_function(PLOT_HAS, arg=["#runs-family", first])  # the dedup run that made its input
    page.wait_for_selector("#runs-family .main-svg", state="visible")
    assert page.evaluate(PLOT_HAS, ["#runs-family", second]) and page.evaluate(PLOT_HAS, ["#runs-family", '"data"'])
    page.wait_for_function("() => document.querySelector('#runs-detail-accordion').innerText.includes('kind: dedup')")

    page.locator("#runs-report").click()
    link = page.wait_for_selector("#runs-report-open")
    page.wait_for_function(f"() => document.querySelector('#runs-report-file a[download]')?.download === 'report-{second}.html'")
    assert (tiny_workspace / "runs" / second / "artifacts" / "report.html").exists()
    screenshot(page, "runs-family-report")

    with page.context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_selector(".main-svg")
    report.wait_for_function(TRACE_NAMED, arg="docs_per_second")  # the run's own chart, not only the graph
    assert second in report.title() and report.locator("h2", has_text="Lineage").count() == 1
    report.screenshot(path=str(Path(__file__).parent / "screenshots" / "run-report.png"), full_page=False)
