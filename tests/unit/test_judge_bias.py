"""The judge's own biases, computed from its verdicts: position consistency and the list of
inconsistent items, preference for the first position, verdicts that follow answer length, and a
judge that is also a contestant."""
import pytest

from lab.evals import aggregate
from lab.evals.bias import diagnostics, first_position_preference, judge_is_contestant, length_bias
from lab.evals.spec import Contestant
from tests.unit.test_judge_aggregate import both, judgment

CONTESTANTS = [Contestant(name="x", model="tiny"), Contestant(name="y", model="run:sft-1")]


def test_a_judge_that_always_picks_the_first_answer_is_caught():
    judgments = [j for q in range(8) for j in both(q, "A", "A")]
    d = diagnostics(aggregate.pair_items(judgments), judgments, "some-judge", "http://127.0.0.1:1/v1", CONTESTANTS)
    assert d["position_consistency"] == {"rate": 0.0, "consistent": 0, "pairs": 8, "single_order_items": 0}
    assert len(d["inconsistent_items"]) == 8
    assert d["inconsistent_items"][0] == {"key": "0|x|y", "question_id": "0", "category": "math", "model_1": "x",
                                          "model_2": "y", "verdict_ab": "x", "verdict_ba": "y"}
    assert d["first_position"]["rate"] == 1.0
    assert {w["code"] for w in d["warnings"]} == {"position_inconsistent", "position_bias"}
    assert all(w["en"] and w["ja"] for w in d["warnings"])


def test_a_consistent_judge_gets_no_position_warning():
    judgments = [j for q in range(8) for j in (both(q, "A", "B") if q % 2 else both(q, "B", "A"))]
    d = diagnostics(aggregate.pair_items(judgments), judgments, "j", None, CONTESTANTS)
    assert d["position_consistency"]["rate"] == 1.0 and d["first_position"]["rate"] == 0.5
    assert d["warnings"] == []


def test_verdicts_that_follow_length_are_flagged():
    judgments = []
    for q in range(6):  # the longer answer (x on even questions, y on odd) always wins
        lx, ly = (200, 50) if q % 2 == 0 else (40, 180)
        for order in ("AB", "BA"):
            la, lb = (lx, ly) if order == "AB" else (ly, lx)
            judgments.append(judgment(q, order, "A" if la > lb else "B", len_a=la, len_b=lb))
    length = length_bias(judgments)
    assert length["correlation"] > 0.99 and length["longer_wins_rate"] == 1.0
    d = diagnostics(aggregate.pair_items(judgments), judgments, "j", None, CONTESTANTS)
    assert "verbosity_bias" in {w["code"] for w in d["warnings"]}


def test_length_correlation_is_none_without_variation():
    assert length_bias([judgment(1, "AB", "tie")] * 5)["correlation"] is None


def test_score_length_correlation_for_single_grading():
    judgments = [{"mode": "single", "question_id": i, "model": "x", "score": s, "len": n, "verdict": "rated"}
                 for i, (s, n) in enumerate([(2, 10), (4, 40), (6, 90), (9, 300)])]
    assert length_bias(judgments)["score_length_correlation"] > 0.9


def test_judge_is_contestant():
    assert judge_is_contestant("tiny", "http://127.0.0.1:8000/v1", CONTESTANTS) == "x"
    assert judge_is_contestant("sft-1", "http://127.0.0.1:8000/v1", CONTESTANTS) == "y"   # `lab serve run:sft-1 --name sft-1`
    assert judge_is_contestant("gpt-judge", None, CONTESTANTS) is None
    served = [Contestant(name="ep", model="qwen", base_url="http://h:1/v1/")]
    assert judge_is_contestant("qwen", "http://h:1/v1", served) == "ep"


def test_first_position_preference_counts_only_decisive_verdicts():
    judgments = [judgment(1, "AB", "A"), judgment(1, "BA", "tie"), judgment(2, "AB", "B"), judgment(2, "BA", "unparsed")]
    assert first_position_preference(judgments) == {"rate": 0.5, "decisive": 2, "first": 1}


def test_many_unparsed_replies_are_a_warning():
    judgments = [judgment(q, o, "unparsed") for q in range(4) for o in ("AB", "BA")] + both(9, "A", "B")
    d = diagnostics(aggregate.pair_items(judgments), judgments, "tiny", None, CONTESTANTS)
    assert d["unparsed_rate"] == pytest.approx(0.8)
    assert {"unparsed", "self_judge"} <= {w["code"] for w in d["warnings"]}
