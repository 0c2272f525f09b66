"""The judge's charts (lab/evals/charts.py), drawn from a summary computed from hand-made judgments:
each bar, point and error bar is checked against the numbers in summary.json, and the run's HTML
report draws the same figures the Judge tab does."""
import math

import pytest

from lab.evals import charts
from lab.evals.answers import append_line
from lab.evals.spec import JudgeSpec
from lab.evals.summary import summarize
from lab.runs import RunStore
from tests.unit.test_judge_aggregate import HAND, both


@pytest.fixture(scope="module")
def summary():
    spec = JudgeSpec(contestants=[{"name": "x"}, {"name": "y"}], baseline="y", bootstrap_rounds=50)
    return summarize(spec, HAND, "rule-judge", 5)


def traces(fig, kind: str):
    return [t for t in fig.data if t.type == kind]


def test_live_figure_waits_then_splits_rates_from_the_judges_bias():
    waiting = charts.live_figure({}, "en")
    assert waiting.layout.annotations[0].text == "waiting for the first judgment…"
    assert charts.live_figure(None, "ja").layout.annotations[0].text == "最初の判定を待っています…"
    series = {"adjusted_win_rate/x": [(2, 0.5), (4, 0.75)], "position_consistency": [(4, 1.0)], "loss": [(1, 2.0)]}
    fig = charts.live_figure(series, "en")
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"x", "position_consistency"}  # a series it does not know is not drawn
    assert by_name["x"].xaxis == "x" and list(by_name["x"].y) == [0.5, 0.75]
    assert by_name["position_consistency"].xaxis == "x2"
    assert tuple(fig.layout.yaxis.range) == (-0.02, 1.02)  # rates: 0–1 on the left too
    scores = charts.live_figure({"mean_score/x": [(1, 7.0)]}, "en")
    assert scores.layout.yaxis.range is None  # scores run 1–10: the left axis is left free


def test_results_figure_stacks_win_tie_loss_and_draws_the_adjusted_interval(summary):
    fig = charts.results_figure(summary, "en")
    bars = {t.name: list(t.y) for t in traces(fig, "bar")}
    assert bars == {"win": [2, 1], "tie": [1, 1], "loss": [1, 2]}
    assert fig.layout.barmode == "stack"
    (point,) = traces(fig, "scatter")
    assert list(point.x) == ["x", "y"] and list(point.y) == [0.625, 0.375]
    lo, hi = summary["ci"]["x"]["adjusted_win_rate"]
    assert point.error_y.array[0] == pytest.approx(hi - 0.625) and point.error_y.arrayminus[0] == pytest.approx(0.625 - lo)
    assert charts.results_figure(None, "en").data == ()


def test_results_figure_in_single_mode_shows_mean_scores():
    summary = {"mode": "single", "table": {"x": {}, "y": {}}, "scores": {"x": 7.0, "y": None},
               "score_ci": {"x": [6.0, 8.5]}, "adjusted_win_rate": {"x": 0.6, "y": 0.4}, "ci": {}}
    fig = charts.results_figure(summary, "ja")
    (bar,) = traces(fig, "bar")
    assert list(bar.y) == [7.0, None] and list(bar.error_y.array) == [1.5, 0] and list(bar.error_y.arrayminus) == [1.0, 0]
    assert fig.layout.annotations[0].text == "平均点と 95% 信頼区間"


def test_category_figure_leaves_the_baseline_out(summary):
    fig = charts.category_figure(summary, "en")
    (bar,) = traces(fig, "bar")
    assert bar.name == "x" and list(bar.x) == ["math", "writing"] and list(bar.y) == [0.5, 1.0]
    assert fig.layout.title.text == "adjusted win rate by category"


def test_verdict_length_points_and_the_first_position_share(summary):
    judgments = both(1, "A", "B", len_a=40, len_b=10) + both(2, "unparsed", "tie")
    points = charts.verdict_length_points(judgments)
    assert [p[1] for p in points] == [1.06, -1.06, -0.06]  # A in AB, B in BA, a tie in BA (BA sits 0.06 lower); unparsed left out
    assert points[0][0] == pytest.approx(math.log(4)) and points[0][2] == "Q1 AB"
    fig = charts.bias_figure("pairwise-baseline", judgments, summary, "en")
    (first,) = traces(fig, "bar")
    assert list(first.y) == [summary["bias"]["first_position"]["rate"], 1 - summary["bias"]["first_position"]["rate"]]
    single = charts.bias_figure("single", [{"len": 30, "score": 8}, {"len": 5, "score": None}], None, "en")
    assert [list(t.x) for t in single.data] == [[30]]
    assert charts.bias_figure(None, [], None, "en").data == ()


def test_eval_scores_figure_one_bar_per_run():
    rows = [{"run": "a", "model": "tiny", "qa/exact_match": 0.5, "average": 0.5},
            {"run": "b", "model": "run:x", "qa/exact_match": 0.75, "average": 0.75}]
    fig = charts.eval_scores_figure(rows, "en")
    assert [(t.name, list(t.x), list(t.y)) for t in fig.data] == [("a", ["qa/exact_match", "average"], [0.5, 0.5]),
                                                                  ("b", ["qa/exact_match", "average"], [0.75, 0.75])]


def test_the_report_draws_the_judge_charts_the_tab_draws(workspace, summary):
    import json

    from lab.report import judge_samples, TEXT
    spec = JudgeSpec(contestants=[{"name": "x"}, {"name": "y"}], baseline="y")
    run = RunStore().create(spec)
    (run.artifacts / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    for j in HAND:
        append_line(run.artifacts / "judgments.jsonl", j)
    html = judge_samples(run, {}, lambda key: TEXT[key][0])
    assert "adjusted win rate, 95% CI" in html and "adjusted win rate by category" in html
    assert html.count("plotly-graph-div") == 2
