"""A local Hugging Face model as the judge: a log-probability verdict (lab/models/logprob_judge.py: the
probability of each verdict token after "[["), or a generated rationale parsed like an endpoint's reply.
Endpoints are asked through lab/models/openai_client.py, with bounded concurrency from lab/threads.py."""
from __future__ import annotations

import time

from ..models.logprob_judge import LogprobJudge
from ..models.openai_client import Reply
from .prompts import JudgePrompt

PAIR_TOKENS = ("A]]", "B]]", "C]]")
RATING_TOKENS = tuple(f"{k}]]" for k in range(1, 11))


class LocalJudge:
    """A model the lab can load, judging either by generating a rationale (parsed like an endpoint's
    reply) or by the probabilities of the verdict tokens right after "[[" (lab/models/logprob_judge.py)."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        # keep=1: the contestants' models are done by now, so memory holds the judge alone
        self.logprob = LogprobJudge(model_name, keep=1)
        self.model, self.tokenizer = self.logprob.model, self.logprob.tokenizer

    def verdict_probs(self, prompt: JudgePrompt, tokens: tuple[str, ...]) -> list[float]:
        scored = self.logprob.verdict_probs(prompt.as_list(), tokens)
        self.last_latency = scored.latency_s
        return scored.probs

    def pairwise(self, prompt: JudgePrompt) -> Reply:
        p_a, p_b, p_tie = self.verdict_probs(prompt, PAIR_TOKENS)
        # The verdict of one order is P(A) against P(B); the tie token's share is recorded but does not
        # decide, so a judge that leans to one position shows it as an inconsistency.
        best = "A" if p_a > p_b else "B" if p_b > p_a else "C"
        text = f"P(A)={p_a:.3f} P(B)={p_b:.3f} P(C)={p_tie:.3f} → [[{best}]]"
        return Reply(text, latency_s=self.last_latency, probs={"A": p_a, "B": p_b, "tie": p_tie})

    def rating(self, prompt: JudgePrompt) -> Reply:
        probs = self.verdict_probs(prompt, RATING_TOKENS)
        expected = sum((k + 1) * p for k, p in enumerate(probs))
        text = f"expected rating {expected:.2f} (P(1..10)={', '.join(f'{p:.2f}' for p in probs)}) → [[{expected:.1f}]]"
        return Reply(text, latency_s=self.last_latency, probs={str(k + 1): p for k, p in enumerate(probs)})

    def generate(self, prompt: JudgePrompt, max_tokens: int, temperature: float) -> Reply:
        from .generation import generate
        start = time.perf_counter()
        out = generate(self.model, self.tokenizer, prompt.as_list(), max_new_tokens=max_tokens, temperature=temperature,
                       seed=0)
        return Reply(out.text, latency_s=time.perf_counter() - start)
