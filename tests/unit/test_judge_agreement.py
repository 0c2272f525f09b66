"""How far to trust a judge: Cohen's κ against people's verdicts, the length-controlled win rate and
self-preference, each checked against an example worked by hand."""
import json
import math

import pytest
from sklearn.metrics import cohen_kappa_score

from lab.evals import agreement, results
from lab.evals.aggregate import Item
from lab.evals.outputs import run_output
from lab.evals.summary import summarize
from tests.unit.test_judge_results import run_dir  # noqa: F401 - the fixture


def test_kappa_matches_the_hand_worked_example():
    judge = ["1", "1", "1", "1", "2", "2", "2", "2", "tie", "tie"]
    human = ["1", "1", "1", "2", "2", "2", "2", "1", "tie", "1"]
    # p_o = 7/10; judge 1:4 2:4 tie:2, human 1:5 2:4 tie:1 → p_e = (20 + 16 + 2) / 100 = 0.38
    assert agreement.cohen_kappa(judge, human) == pytest.approx((0.7 - 0.38) / (1 - 0.38))
    assert agreement.cohen_kappa(judge, human) == pytest.approx(cohen_kappa_score(judge, human))
    out = agreement.kappa_with_ci(judge, human)
    assert out["n"] == 10 and out["raw_agreement"] == pytest.approx(0.7)
    lo, hi = out["kappa_ci"]
    assert lo <= out["kappa"] <= hi and -1 <= lo and hi <= 1


def test_quadratic_kappa_counts_near_misses_as_near():
    # scikit-learn weighs by the distance between label indices: the same as ours when the scores used
    # are contiguous, as here (3..7)
    judge, human = [3, 4, 5, 6, 7, 5], [4, 4, 5, 6, 7, 3]
    assert agreement.cohen_kappa(judge, human, "quadratic") == pytest.approx(
        cohen_kappa_score(judge, human, weights="quadratic"))
    assert agreement.cohen_kappa([1, 2, 3], [1, 2, 3], "quadratic") == 1.0


def _items(outcomes):
    return [Item(str(q), "", "x", "y", outcome=o) for q, o in enumerate(outcomes)]


def test_length_controlled_win_rate_takes_the_length_out():
    # x is longer on 6 items and wins 5 of them; shorter on 2 and wins 1. Raw rate 6/8 = 0.75.
    # With the length term symmetric (±t), the fit solves σ(θ + φt) = 5/6 and σ(θ − φt) = 1/2,
    # so θ = ln 5 / 2 and LC = σ(θ) = √5 / (1 + √5) ≈ 0.691.
    outcomes = ["1"] * 5 + ["2"] + ["1", "2"]
    items = _items(outcomes)
    lengths = {i.key: ((300, 100) if n < 6 else (100, 300)) for n, i in enumerate(items)}
    lc = agreement.length_controlled_win_rate(items, lengths, ["x", "y"])
    assert lc["x"]["win_rate"] == pytest.approx(0.75)
    assert lc["x"]["lc_win_rate"] == pytest.approx(math.sqrt(5) / (1 + math.sqrt(5)), abs=0.005)
    assert lc["x"]["length_coef"] > 0
    assert lc["y"]["lc_win_rate"] == pytest.approx(1 - lc["x"]["lc_win_rate"], abs=0.005)


def test_without_a_length_difference_lc_is_the_raw_rate_and_ties_count_half():
    items = _items(["1", "1", "tie", "2"])
    lengths = {i.key: (100, 100) for i in items}
    lc = agreement.length_controlled_win_rate(items, lengths, ["x"])
    assert lc["x"]["lc_win_rate"] == pytest.approx(2.5 / 4, abs=0.005)


def test_self_preference_compares_the_judge_with_people_on_the_same_items():
    items = _items(["1", "1", "1", "2"])
    overrides = {items[0].key: {"winner": "x"}, items[1].key: {"winner": "y"}, items[2].key: {"winner": "tie"}}
    s = agreement.self_preference("x", items, overrides)
    assert s["judge_self_win_rate"] == pytest.approx(0.75)
    assert s["judge_self_win_rate_on_human_items"] == pytest.approx(1.0)
    assert s["human_self_win_rate"] == pytest.approx(0.5)
    assert s["self_preference"] == pytest.approx(0.5)
    assert agreement.self_preference(None, items, overrides) is None


def test_saved_verdicts_put_kappa_into_summary_json(run_dir):  # noqa: F811
    r = results.load_result(run_dir)
    summary = summarize(r.spec, r.judgments, "rule-judge", len(r.questions))
    run_output(run_dir, "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert summary["human_agreement"] is None and set(summary["length_controlled_win_rate"]) == {"x", "y"}
    # the judge: x on 1, tie on 2, y on 3
    results.save_override(run_dir, "1|x|y", "x")
    results.save_override(run_dir, "2|x|y", "tie")
    results.save_override(run_dir, "3|x|y", "x")
    a = json.loads(run_output(run_dir, "summary.json").read_text(encoding="utf-8"))["human_agreement"]
    assert a["n"] == 3 and a["raw_agreement"] == pytest.approx(2 / 3)
    assert a["kappa"] == pytest.approx(cohen_kappa_score(["1", "tie", "2"], ["1", "tie", "1"]))
