"""The one log-probability judge (lab/models/logprob_judge.py) on the tiny model: the RAG judge's
rating distribution is the next-token probability of each digit after "[[" (what the RAG judge read
before it used the shared judge), a context too long for the model is shortened, and the RAG judge
and the judge job share one loaded model."""
from __future__ import annotations

import pytest

from lab.models import cache
from lab.models.logprob_judge import LogprobJudge
from lab.rag.judge import judge_local, judge_prompt
from lab.rag.spec import RagJudgeSpec

pytestmark = pytest.mark.integration

TEXTS = {"question": "リニアの最高速度は？", "context": "山梨リニア実験線では2015年に時速603キロメートルを記録しました。",
         "answer": "時速603キロメートルです。"}


def next_digit_distribution(model, tokenizer, messages):
    """The RAG judge's reading as it was: softmax over the vocabulary after "[[", restricted to 1–5."""
    import torch
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + "[["
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)
    digits = probs[[tokenizer.encode(d, add_special_tokens=False)[-1] for d in "12345"]]
    return (digits / digits.sum()).tolist(), float(digits.sum())


def test_the_rag_ratings_read_as_before_and_a_long_context_is_shortened(tiny_workspace):
    judge = LogprobJudge("tiny")
    messages = judge_prompt("groundedness", TEXTS, True)
    scored = judge.verdict_probs(messages, ("1", "2", "3", "4", "5"))
    expected, mass = next_digit_distribution(judge.model, judge.tokenizer, messages)
    assert scored.probs == pytest.approx(expected, abs=1e-4) and scored.mass == pytest.approx(mass, rel=1e-3)

    out = judge_local(RagJudgeSpec(model="tiny"), "groundedness", TEXTS)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-3) and 0.0 <= out["score"] <= 1.0
    assert out["context_chars_shown"] == len(TEXTS["context"])
    long = dict(TEXTS, context=TEXTS["context"] * 400)
    shortened = judge_local(RagJudgeSpec(model="tiny"), "groundedness", long)
    assert shortened["context_chars_shown"] < len(long["context"])
    assert judge.prompt_tokens(judge_prompt("groundedness", dict(long, context=long["context"][:shortened["context_chars_shown"]]), True)) \
        <= judge.context_tokens()


def test_the_judge_job_and_the_rag_judge_share_one_loaded_model(tiny_workspace):
    from lab.evals.local_judge import LocalJudge
    rag = LogprobJudge("tiny")
    assert LocalJudge("tiny").model is rag.model and len(cache.loaded()) == 1
