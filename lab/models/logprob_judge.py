"""A local model as a judge, read by its probabilities instead of its words: the prompt asks for a
verdict written as "[[X]]", the reply is started with "[[", and each possible verdict is scored by the
log-probability the model gives it there (lab/models/loglik.py, so a verdict of several tokens such as
"10]]" is scored whole). The probabilities, normalised over the verdicts, are the evidence: a small
model rarely writes a parseable verdict, but it always has a distribution.

Used by the `judge` job (pairwise "A]]"/"B]]"/"C]]", ratings "1]]"…"10]]") and by the RAG judge
(ratings "1"…"5")."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from .cache import CHAT_KEEP, cached_model
from .loglik import continuation_logprobs, softmax

OPENING = "[["


@dataclass
class VerdictProbs:
    probs: list[float]       # one per verdict, summing to 1
    mass: float              # the share of all next-text probability the verdicts hold together
    latency_s: float


class LogprobJudge:
    def __init__(self, model_name: str, keep: int = CHAT_KEEP):
        self.model_name = model_name
        self.model, self.tokenizer = cached_model(model_name, keep)

    def prefix(self, messages: list[dict]) -> str:
        """The chat up to the judge's reply, and the reply's opening "[["."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:  # a base model: plain "role: text" lines, ending where the reply starts
            text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return text + OPENING

    def context_tokens(self) -> int:
        return getattr(self.model.config, "max_position_embeddings", None) or 4096

    def prompt_tokens(self, messages: list[dict]) -> int:
        return len(self.tokenizer(self.prefix(messages), add_special_tokens=False)["input_ids"])

    def verdict_probs(self, messages: list[dict], verdicts: list[str] | tuple[str, ...]) -> VerdictProbs:
        """A prompt longer than the model's context keeps its end (where the verdict is asked for)."""
        start = time.perf_counter()
        scored = continuation_logprobs(self.model, self.tokenizer, self.prefix(messages), list(verdicts),
                                       add_special_tokens=False)
        logprobs = [lp for lp, _ in scored]
        mass = sum(math.exp(lp) for lp in logprobs)
        return VerdictProbs(softmax(logprobs), mass, time.perf_counter() - start)
