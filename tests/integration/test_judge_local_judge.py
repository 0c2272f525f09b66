"""A local Hugging Face judge (the tiny model, in process) giving log-probability verdicts: the
probabilities of [[A]] / [[B]] / [[C]] after "[[", in both orders, and an expected 1–10 rating."""
from __future__ import annotations

import pytest

from lab.evals.aggregate import combine
from lab.evals.local_judge import LocalJudge
from lab.evals.prompts import pairwise_prompt, single_prompt
from lab.evals.verdicts import parse_pairwise, parse_rating

pytestmark = pytest.mark.integration

QUESTION = ["日本で一番高い山は何ですか。"]
GOOD, POOR = ["日本で一番高い山は富士山で、標高は3776メートルです。"], ["わかりません。"]


def test_log_probability_verdicts_in_both_orders(tiny_workspace):
    judge = LocalJudge("tiny")
    first = judge.pairwise(pairwise_prompt(QUESTION, GOOD, POOR, "ja", verdict_only=True))
    swapped = judge.pairwise(pairwise_prompt(QUESTION, POOR, GOOD, "ja", verdict_only=True))
    for reply in (first, swapped):
        assert set(reply.probs) == {"A", "B", "tie"} and sum(reply.probs.values()) == pytest.approx(1.0)
        assert parse_pairwise(reply.text).value in ("A", "B", "tie")   # its rationale parses like any judge's
    # P(GOOD wins) in each order, averaged as the job does: a number, and an outcome from it
    p_ab = first.probs["A"] / (first.probs["A"] + first.probs["B"])
    p_ba = swapped.probs["B"] / (swapped.probs["A"] + swapped.probs["B"])
    outcome, _, _ = combine({"AB": "1", "BA": "1"}, {"AB": p_ab, "BA": p_ba}, tie_margin=0.1)
    assert outcome in ("1", "2", "tie") and 0 < (p_ab + p_ba) / 2 < 1

    rating = judge.rating(single_prompt(QUESTION, GOOD, "en", verdict_only=True))
    assert sum(rating.probs.values()) == pytest.approx(1.0) and len(rating.probs) == 10
    assert 1.0 <= parse_rating(rating.text).value <= 10.0

