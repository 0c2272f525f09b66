"""Multiple-choice accuracy by log-likelihood (as lm-evaluation-harness scores JCommonsenseQA and
friends): the model does not write an answer; each choice is scored by the log-probability of
its text after the question, and the best-scoring choice is the model's pick.

acc       picks the choice with the highest total log-probability;
acc_norm  divides each total by the choice's length in characters first, so a long choice is not
          punished for having more tokens to pay for."""
from __future__ import annotations

from ..models.loglik import continuation_logprobs


def pick(logliks: list[float], choices: list[str]) -> tuple[int, int]:
    """(index by total log-likelihood, index by log-likelihood per character)."""
    raw = max(range(len(choices)), key=lambda i: logliks[i])
    norm = max(range(len(choices)), key=lambda i: logliks[i] / max(1, len(choices[i])))
    return raw, norm


def score_choices(model, tokenizer, context: str, choices: list[str]) -> dict:
    scored = continuation_logprobs(model, tokenizer, context, choices)
    logliks = [lp for lp, _ in scored]
    raw, norm = pick(logliks, choices)
    return {"logliks": logliks, "pred": raw, "pred_norm": norm}


def accuracy(picks: list[dict], golds: list[int]) -> dict:
    n = len(golds)
    if not n:
        return {"acc": 0.0, "acc_norm": 0.0}
    return {"acc": sum(p["pred"] == g for p, g in zip(picks, golds)) / n,
            "acc_norm": sum(p["pred_norm"] == g for p, g in zip(picks, golds)) / n}
