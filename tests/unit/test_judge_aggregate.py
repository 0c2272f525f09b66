"""Win / loss / tie, the adjusted win rate, bootstrap intervals and Bradley–Terry ratings, checked
against cases worked out by hand and against simulated judgments with known strengths."""
import math

import numpy as np
import pytest

from lab.evals import aggregate
from lab.evals.spec import JudgeSpec
from lab.evals.summary import live_metrics, summarize


def judgment(q, order, verdict, m1="x", m2="y", category="math", len_a=10, len_b=10):
    a, b = (m1, m2) if order == "AB" else (m2, m1)
    winner = {"A": a, "B": b, "tie": "tie"}.get(verdict)
    return {"judgment_id": f"pair:{q}:{m1}:{m2}:{order}", "mode": "pairwise", "question_id": q, "category": category,
            "model_1": m1, "model_2": m2, "order": order, "model_a": a, "model_b": b, "verdict": verdict,
            "winner": winner, "len_a": len_a, "len_b": len_b}


def both(q, first_winner_ab, first_winner_ba, **kw):
    """The two orders of one item; verdicts given as positions (A / B / tie / unparsed)."""
    return [judgment(q, "AB", first_winner_ab, **kw), judgment(q, "BA", first_winner_ba, **kw)]


# x wins q1 in both orders; q2 flips with the order (x shown first wins each time); y wins q3;
# x wins q4; the judge could not be read on q5.
HAND = (both(1, "A", "B") + both(2, "A", "A") + both(3, "B", "A") + both(4, "A", "B", category="writing")
        + both(5, "unparsed", "unparsed"))


@pytest.mark.parametrize("orders, probs, expected", [
    ({"AB": "1", "BA": "1"}, None, ("1", True, False)),
    ({"AB": "1", "BA": "2"}, None, ("tie", False, False)),
    ({"AB": "tie", "BA": "1"}, None, ("tie", False, False)),
    ({"AB": "2", "BA": None}, None, ("2", None, True)),
    ({"AB": None, "BA": None}, None, (None, None, False)),
    ({"AB": "1", "BA": "2"}, {"AB": 0.9, "BA": 0.6}, ("1", False, False)),   # averaged 0.75
    ({"AB": "1", "BA": "2"}, {"AB": 0.7, "BA": 0.4}, ("tie", False, False)),  # averaged 0.55: within the margin
])
def test_two_orders_combine_like_fastchat(orders, probs, expected):
    assert aggregate.combine(orders, probs, tie_margin=0.1) == expected


def test_win_loss_tie_and_adjusted_win_rate_by_hand():
    items = aggregate.pair_items(HAND)
    assert len(items) == 5
    table = aggregate.win_table(items, ["x", "y"])
    assert table["x"] == {"win": 2, "loss": 1, "tie": 1, "n": 4, "win_rate": 0.5, "loss_rate": 0.25,
                          "adjusted_win_rate": 0.625}
    assert table["y"]["adjusted_win_rate"] == pytest.approx(0.375)
    per_cat = aggregate.per_category(items, ["x", "y"])
    assert per_cat["writing"]["x"]["win"] == 1 and per_cat["math"]["x"]["adjusted_win_rate"] == pytest.approx(0.5)


def test_bootstrap_interval_collapses_when_every_question_agrees():
    items = aggregate.pair_items([j for q in range(10) for j in both(q, "A", "B")])
    ci = aggregate.bootstrap_ci(items, ["x", "y"], rounds=200)
    assert ci["x"]["adjusted_win_rate"] == [1.0, 1.0] and ci["y"]["win_rate"] == [0.0, 0.0]


def test_bootstrap_interval_matches_the_normal_approximation():
    judgments = [j for q in range(200) for j in (both(q, "A", "B") if q < 120 else both(q, "B", "A"))]
    ci = aggregate.bootstrap_ci(aggregate.pair_items(judgments), ["x", "y"], rounds=4000, seed=1)
    se = math.sqrt(0.6 * 0.4 / 200)
    lo, hi = ci["x"]["win_rate"]
    assert lo == pytest.approx(0.6 - 1.96 * se, abs=0.015) and hi == pytest.approx(0.6 + 1.96 * se, abs=0.015)


def test_bootstrap_of_two_opposite_questions_spans_everything():
    ci = aggregate.bootstrap_ci(aggregate.pair_items(both(1, "A", "B") + both(2, "B", "A")), ["x", "y"], rounds=2000)
    assert ci["x"]["adjusted_win_rate"] == [0.0, 1.0]


def simulate(theta: dict, gamma: float, n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    names = list(theta)
    out = []
    for q in range(n):
        i, k = rng.choice(len(names), size=2, replace=False)
        first, second = names[i], names[k]
        p = 1 / (1 + math.exp(-(theta[first] - theta[second] + gamma)))
        out.append({"mode": "pairwise", "question_id": q, "model_a": first, "model_b": second,
                    "verdict": "A" if rng.random() < p else "B"})
    return out


def test_bradley_terry_recovers_known_strengths_and_the_position_term():
    theta = {"strong": 0.8, "middle": 0.0, "weak": -0.8}
    fit = aggregate.fit_bradley_terry(aggregate.position_observations(simulate(theta, 0.6, 6000)), list(theta))
    for name, value in theta.items():
        assert fit["strength"][name] == pytest.approx(value, abs=0.12)
    assert fit["position_logit"] == pytest.approx(0.6, abs=0.1)
    assert fit["first_position_win_prob"] > 0.6
    assert fit["rating"]["strong"] > fit["rating"]["middle"] > fit["rating"]["weak"]
    assert fit["rating"]["strong"] - fit["rating"]["weak"] == pytest.approx(1.6 * 400 / math.log(10), rel=0.1)


def test_bradley_terry_stays_finite_when_one_model_always_wins():
    fit = aggregate.bradley_terry([j for q in range(6) for j in both(q, "A", "B")], ["x", "y"], rounds=20)
    assert math.isfinite(fit["strength"]["x"]) and fit["strength"]["x"] > 0 > fit["strength"]["y"]
    assert fit["position_logit"] == pytest.approx(0.0, abs=1e-6)  # both orders agree: no position effect
    assert fit["rating_ci"]["x"][0] <= fit["rating"]["x"] <= fit["rating_ci"]["x"][1]


def spec(**kw):
    return JudgeSpec(contestants=[{"name": "x", "model": "tiny"}, {"name": "y", "model": "tiny"}], baseline="y",
                     judge={"base_url": "http://127.0.0.1:1/v1", "model": "rule-judge"}, bootstrap_rounds=200, **kw)


def test_summary_has_the_contract_keys():
    s = summarize(spec(), HAND, "rule-judge", n_questions=5)
    assert s["win_rate"]["x"] == 0.5 and s["adjusted_win_rate"]["x"] == 0.625
    assert set(s["ci"]["x"]) == {"win_rate", "adjusted_win_rate"}
    assert s["position_consistency"] == pytest.approx(0.75)
    assert set(s["per_category"]) == {"math", "writing"}
    assert s["n_judgments"] == 10 and s["n_unparsed"] == 2 and s["n_items_unparsed"] == 1
    assert s["bradley_terry"]["rating"]["x"] > s["bradley_terry"]["rating"]["y"]
    assert s["bias"]["inconsistent_items"][0]["question_id"] == "2"
    live = live_metrics(spec(), HAND)
    assert live["adjusted_win_rate/x"] == 0.625 and "adjusted_win_rate/y" not in live  # y is the baseline
    assert live["unparsed_rate"] == 0.2


def test_single_grades_give_means_intervals_and_win_rates():
    judgments = [{"mode": "single", "question_id": q, "category": "c", "model": m, "verdict": "rated", "score": s, "len": 5}
                 for q, (sx, sy) in enumerate([(8, 4), (6, 6), (2, 7), (9, 3)]) for m, s in (("x", sx), ("y", sy))]
    s = summarize(spec(mode="single"), judgments, "rule-judge", n_questions=4)
    assert s["scores"] == {"x": 6.25, "y": 5.0}
    assert s["table"]["x"] == {"win": 2, "loss": 1, "tie": 1, "n": 4, "win_rate": 0.5, "loss_rate": 0.25,
                               "adjusted_win_rate": 0.625}
    assert s["score_ci"]["x"][0] <= 6.25 <= s["score_ci"]["x"][1]
    assert s["per_category"]["c"]["y"]["mean_score"] == 5.0
