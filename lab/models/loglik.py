"""Log-likelihood of continuations given a context, as lm-evaluation-harness computes it: encode
context + continuation together and score the tokens after the context's own encoding, so a token
that merges across the boundary is still scored. Used by multiple-choice accuracy and by the local
judge's log-probability verdict."""
from __future__ import annotations

import math


def encode_pair(tokenizer, context: str, continuation: str, add_special_tokens: bool = True) -> tuple[list[int], int]:
    whole = tokenizer(context + continuation, add_special_tokens=add_special_tokens)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=add_special_tokens)["input_ids"]
    n_ctx = len(ctx)
    # If the boundary token merged, step back until the continuation has at least one token.
    while n_ctx >= len(whole) and n_ctx > 0:
        n_ctx -= 1
    return list(whole), n_ctx


def continuation_logprobs(model, tokenizer, context: str, continuations: list[str],
                          add_special_tokens: bool = True, max_length: int | None = None) -> list[tuple[float, int]]:
    """(sum of log-probabilities, number of tokens) of each continuation after `context`."""
    import torch

    max_length = max_length or getattr(model.config, "max_position_embeddings", None) or 2048
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    rows = []
    for cont in continuations:
        ids, n_ctx = encode_pair(tokenizer, context, cont, add_special_tokens)
        if len(ids) > max_length:  # keep the end: the continuation and the context right before it
            drop = len(ids) - max_length
            ids, n_ctx = ids[drop:], max(1, n_ctx - drop)
        rows.append((ids, max(1, n_ctx)))
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, _) in enumerate(rows):
        input_ids[i, :len(ids)] = torch.tensor(ids)
        mask[i, :len(ids)] = 1
    with torch.no_grad():
        logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device)).logits.float()
    logprobs = torch.log_softmax(logits, dim=-1).cpu()
    out = []
    for i, (ids, n_ctx) in enumerate(rows):
        targets = torch.tensor(ids[n_ctx:])
        positions = torch.arange(n_ctx - 1, len(ids) - 1)
        out.append((float(logprobs[i, positions, targets].sum()), len(targets)))
    return out


def softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]
