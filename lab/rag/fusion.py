"""How hybrid retrieval merges the dense list and the BM25 list into one ranking.

Each retriever hands over its head: its best `fetch_k` chunks with their scores (cosine similarity,
Okapi BM25). The default rule, "zscore", puts each head on one scale before adding them:

    fused(doc) = Σ_lists  weight · (score(doc) − mean(head)) / std(head)

so a list speaks in units of its own spread. A confident list (one chunk far above the rest: a
rare name or code that only one document holds, or a question whose meaning one passage matches)
gives that chunk a large z (up to √(fetch_k − 1) ≈ 4.4 at 20) and everything else about zero; a
list with no opinion (near-tied scores) gives every chunk a small z and barely moves the order. A
chunk missing from a list gets that list's lowest z: it scored at most the head's last score
there. A list whose head is all one score (BM25 finding no query term) has no say at all. BM25's
head includes chunks that score zero, so one lone match among many still stands out.

The weights are equal (0.5 / 0.5) and are not tuned per corpus: after standardising, neither list
needs a thumb on the scale, and the evidence of each query decides which list leads. This is the
"distribution-based score fusion" of Qdrant (scores mapped by mean ± 3σ, the same order) and
CombSUM over z-scores (Montague & Aslam, 2001).

Why not the previous default, weighted reciprocal rank fusion (Σ w / (c + rank), w = 0.7 / 0.3,
c = 60)? It sees ranks only. With c = 60 rank 1 and rank 10 differ by 14%, so a chunk in the middle
of both lists beats a confident first place held by one list alone. Measured by bench/rag.py
(R@1 / R@5, k = 5; the generated sets come from bench/rag_sets.py, fixed before measuring):

    set          dense        BM25         rrf .7/.3    minmax .5/.5  zscore .5/.5
    bundled      .914 / .983  .845 / .940  .931 / .983  .922 / .983   .914 / .983
    towns        .789 / .889  1.00 / 1.00  .867 / .939  .944 / 1.00   .989 / 1.00
    orgs         .746 / .817  1.00 / 1.00  .812 / .887  .887 / 1.00   1.00 / 1.00
    facilities   .789 / .878  1.00 / 1.00  .811 / .911  .933 / 1.00   .989 / 1.00

"zscore" stays within 0.011 of the better list on every set; "rrf" loses up to 0.19 of R@1 to
BM25, "minmax" (each head scaled to 0..1, Weaviate's relative score fusion) up to 0.11. Both stay
available through `retrieval.fusion` for comparison; `rrf_c` applies to "rrf" only."""
from __future__ import annotations

import math
from typing import Sequence

RULES = ("zscore", "minmax", "rrf")
DEFAULT_RULE = "zscore"

Head = Sequence[tuple[str, float]]  # (chunk id, score), best first


def _scaled(head: Head, rule: str) -> tuple[dict[str, float], float]:
    """Each chunk's normalised score in this list, and the value of a chunk the list does not hold."""
    if not head:
        return {}, 0.0
    scores = [s for _, s in head]
    if rule == "zscore":
        mean = sum(scores) / len(scores)
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
        if std <= 1e-12 * max(1.0, abs(mean)):
            return {key: 0.0 for key, _ in head}, 0.0
        scaled = {key: (s - mean) / std for key, s in head}
    elif rule == "minmax":
        low, high = min(scores), max(scores)
        if high - low <= 1e-12 * max(1.0, abs(high)):
            return {key: 0.0 for key, _ in head}, 0.0
        scaled = {key: (s - low) / (high - low) for key, s in head}
    else:
        raise ValueError(f"fusion: '{rule}' is not one of {', '.join(RULES)}")
    return scaled, min(scaled.values())


def fuse(heads: Sequence[Head], weights: Sequence[float], rule: str = DEFAULT_RULE, c: int = 60) -> list[tuple[str, float]]:
    """One ranking from several heads: [(chunk id, fused score)], best first; ties keep first-seen order."""
    order: dict[str, int] = {}
    for head in heads:
        for key, _ in head:
            order.setdefault(key, len(order))
    fused = dict.fromkeys(order, 0.0)
    for head, weight in zip(heads, weights):
        if not weight:
            continue
        if rule == "rrf":
            for rank, (key, _) in enumerate(head, start=1):
                fused[key] += weight / (rank + c)
            continue
        scaled, floor = _scaled(head, rule)
        for key in fused:
            fused[key] += weight * scaled.get(key, floor)
    return sorted(fused.items(), key=lambda kv: (-kv[1], order[kv[0]]))
