"""The Data tab in Chromium: run MinHash on the bundled sample, watch it finish with its docs/s,
open a cluster and see the highlighted differences and pairwise Jaccard, and the S-curve with the
verified pair similarities on top."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import LabServer, screenshot

pytestmark = pytest.mark.e2e

SCURVE = """() => {
  const el = document.querySelector('#dedup-scurve .js-plotly-plot');
  if (!el || !el.data) return [];
  return el.data.map(t => t.type + ':' + (t.x ? t.x.length : 0));
}"""


@pytest.fixture
def server(workspace):
    lab = LabServer(workspace).start()  # the Data tab needs no model
    yield lab
    lab.stop()


def test_minhash_on_the_sample_shows_clusters_with_highlighted_differences_and_the_s_curve(server, page):
    page.goto(server.url)
    page.locator("#tab-dedup-button").click()  # Home is the first tab
    page.wait_for_selector("#dedup-start")
    assert page.locator("#dedup-input input, #dedup-input textarea").first.input_value() == "samples/dedup_corpus.jsonl"
    # before a run: the S-curve of the form's (b, r); plotly draws it a moment after the tab shows
    page.wait_for_function(f"() => JSON.stringify(({SCURVE})()) === JSON.stringify(['scatter:201'])")
    page.wait_for_function("() => document.querySelector('#dedup-command').innerText.includes('presets/dedup-minhash.yaml')")

    page.locator("#dedup-start").click()
    page.wait_for_function("() => document.querySelector('#dedup-status').dataset.state === 'succeeded'", timeout=120_000)
    assert "docs/s" in page.locator("#dedup-rate").inner_text()
    page.wait_for_function("() => document.querySelector('#dedup-summary').innerText.includes('228 → 144')")

    # after the run: the verified pair similarities drawn on top of the S-curve
    page.wait_for_function(f"""() => {{ const t = ({SCURVE})();
        return t.includes('scatter:201') && t.some(x => x.startsWith('bar:') && !x.endsWith(':0')); }}""")

    page.locator("#dedup-cluster input").click()
    options = page.locator("[role=option]")
    assert options.count() >= 40
    options.filter(has_text="4 docs").first.click()
    page.wait_for_function("() => document.querySelectorAll('#dedup-cluster-view .dedup-card').length === 4")
    assert page.locator("#dedup-cluster-view mark").count() > 0
    assert page.locator("#dedup-cluster-view").inner_text().count("removed") == 3
    assert page.locator("#dedup-jaccard td").count() == 16
    screenshot(page, "dedup-cluster")

    page.locator("button[role=tab]", has_text="Removed by rule").click()
    page.wait_for_function("() => document.querySelector('#dedup-removed').innerText.includes('doc-')")
    page.locator("button[role=tab]", has_text="Downloads and hand-off").click()
    page.wait_for_function("() => document.querySelector('#dedup-handoff').innerText.includes('kept.jsonl')")
    screenshot(page, "dedup-downloads")
