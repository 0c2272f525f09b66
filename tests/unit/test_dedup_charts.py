"""The dedup charts the Data tab and the HTML report both draw (lab/dedup/charts.py): the S-curve is
1 − (1 − s^r)^b for the form's bands × rows, with the run's candidate pairs split at the run's threshold;
the waterfall walks from the input, one step per rule and method, down to the kept documents. The runs
are real dedup jobs on the bundled sample corpus, called in-process."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from lab.context import RunContext
from lab.dedup import job
from lab.dedup.charts import counts_figure, run_scurve_figure, scurve_figure
from lab.dedup.quality import RULES
from lab.dedup.spec import DedupSpec
from lab.paths import SAMPLES_DIR
from lab.report import render_report
from lab.runs import RunStore

CORPUS = str(SAMPLES_DIR / "dedup_corpus.jsonl")


def finished_run(root, **keys):
    spec = DedupSpec(input=CORPUS, **keys)
    run = RunStore(root / "runs").create(spec)
    job.run(spec, RunContext(run))
    return run, json.loads((run.artifacts / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def minhash_run(tmp_path_factory):
    return finished_run(tmp_path_factory.mktemp("minhash"), method="minhash", threshold=0.8)


@pytest.fixture(scope="module")
def combined_run(tmp_path_factory):
    return finished_run(tmp_path_factory.mktemp("combined"), method="minhash", combine_with=["quality", "exact"])


def traces(fig: go.Figure, kind: str) -> list:
    return [t for t in fig.data if t.type == kind]


def test_before_a_run_the_s_curve_is_the_forms_formula_alone():
    fig = scurve_figure(0.8, 16, 8, None, "en")
    (curve,) = fig.data
    assert curve.type == "scatter" and len(curve.x) == 201
    s = np.array(curve.x)
    assert np.allclose(curve.y, 1 - (1 - s ** 8) ** 16)
    assert curve.y[0] == 0 and curve.y[-1] == pytest.approx(1.0)


def test_the_runs_candidate_pairs_are_split_at_the_runs_threshold(minhash_run):
    _, report = minhash_run
    params, hist = report["parameters"], report["minhash"]["similarity_histogram"]
    fig = scurve_figure(0.8, params["bands"], params["rows"], report, "en")
    rejected, merged = traces(fig, "bar")
    assert all(x < params["threshold"] for x in rejected.x) and all(x >= params["threshold"] for x in merged.x)
    assert sum(rejected.y) + sum(merged.y) == sum(hist["counts"]) == report["minhash"]["candidate_pairs"]
    assert sum(merged.y) == report["minhash"]["verified_pairs"] > 0
    assert len(traces(fig, "scatter")) == 1  # the form shows the run's own (b, r): no second curve


def test_a_form_with_other_bands_and_rows_shows_the_runs_curve_dotted_beside_it(minhash_run):
    _, report = minhash_run
    params = report["parameters"]
    fig = scurve_figure(0.8, 4, 4, report, "en")
    run_curve, form_curve = traces(fig, "scatter")
    s = np.array(run_curve.x)
    assert run_curve.line.dash == "dot" and f"b={params['bands']}, r={params['rows']}" in run_curve.name
    assert np.allclose(run_curve.y, 1 - (1 - s ** params["rows"]) ** params["bands"])
    assert np.allclose(form_curve.y, 1 - (1 - s ** 4) ** 4)


def test_the_waterfall_walks_from_the_input_to_the_kept_documents(combined_run):
    _, report = combined_run
    (steps,) = counts_figure(report, "en").data
    labels, values, measures = list(steps.y), list(steps.x), list(steps.measure)
    assert (labels[0], values[0], measures[0]) == ("input", report["docs_in"], "absolute")
    assert (labels[-1], values[-1], measures[-1]) == ("kept", report["docs_kept"], "total")
    removed = dict(zip(labels[1:-1], values[1:-1]))
    rules = [r for r in report["removed_by_reason"] if r in RULES]
    assert set(removed) == {*rules, "exact", "minhash"}
    assert all(removed[r] == -n for r, n in report["removed_by_reason"].items())
    assert report["docs_in"] + sum(removed.values()) == report["docs_kept"]
    assert labels[1:1 + len(rules)] == sorted(rules, key=lambda r: -report["removed_by_reason"][r])  # biggest rule first


def test_charts_speak_the_pages_language(combined_run):
    _, report = combined_run
    assert list(counts_figure(report, "ja").data[0].y)[-1] == "残り"
    assert "S 字曲線" in scurve_figure(0.8, 16, 8, report, "ja").layout.title.text
    assert counts_figure(None, "en").layout.annotations[0].text == "shown after a run"


def test_the_runs_own_s_curve_only_when_minhash_ran(minhash_run, tmp_path):
    _, report = minhash_run
    params = report["parameters"]
    fig = run_scurve_figure(report, "en")
    assert fig.layout.shapes[0].x0 == params["threshold"] and len(traces(fig, "scatter")) == 1
    _, exact = finished_run(tmp_path, method="exact")
    assert run_scurve_figure(exact, "en") is None


def test_the_html_report_draws_the_same_charts(combined_run):
    run, report = combined_run
    page = render_report(run, "en")
    assert '"type":"waterfall"' in page.replace(" ", "")
    assert "candidate pairs (verified, merged)" in page
    assert counts_figure(report, "en").layout.title.text in page
    assert "S-curve: probability of becoming a candidate" in page
