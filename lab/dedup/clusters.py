"""From verified duplicate pairs to clusters, with one survivor each.

Union-find groups documents linked by verified pairs. Inside a group, documents are visited in
keep-policy order; a document is removed only if it has a verified pair with a document already
kept, so every removal is justified by a real similarity to something that stays (a chain
A~B~C with A≁C keeps A and C). The result is star-shaped clusters: one kept document and the
documents removed because of it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class Cluster:
    kept: int
    members: list[int]
    pairs: list[tuple[int, int, float]]
    method: str
    keep_reason: str = ""
    removed: dict[int, tuple[int, float]] = field(default_factory=dict)  # doc → (kept doc, similarity)


def priority(policy: str, lengths: np.ndarray) -> np.ndarray:
    """Rank of each document under a keep policy (lower survives)."""
    n = len(lengths)
    index = np.arange(n)
    if policy == "first":
        keys = (index,)
    elif policy == "last":
        keys = (-index,)
    elif policy == "longest":
        keys = (index, -lengths)
    else:  # shortest
        keys = (index, lengths)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort(keys)] = index
    return rank


KEEP_REASON = {"first": "first in the corpus", "last": "last in the corpus",
               "longest": "longest text", "shortest": "shortest text"}


def star_clusters(edges: np.ndarray, sims: np.ndarray, rank: np.ndarray, method: str, policy: str) -> list[Cluster]:
    """edges: (m, 2) verified pairs; sims: their similarities; rank: keep-policy rank per document."""
    if len(edges) == 0:
        return []
    uf = UnionFind(len(rank))
    for a, b in edges:
        uf.union(int(a), int(b))
    neighbours: dict[int, dict[int, float]] = {}
    for (a, b), s in zip(edges.tolist(), sims.tolist()):
        neighbours.setdefault(a, {})[b] = s
        neighbours.setdefault(b, {})[a] = s
    groups: dict[int, list[int]] = {}
    for doc in neighbours:
        groups.setdefault(uf.find(doc), []).append(doc)

    clusters = []
    for members in sorted(groups.values(), key=lambda m: min(m)):
        members.sort(key=lambda d: rank[d])
        kept: list[int] = []
        survivors: set[int] = set()
        removed: dict[int, tuple[int, float]] = {}
        for doc in members:
            links = [(s, k) for k, s in neighbours[doc].items() if k in survivors]
            if links:
                s, k = max(links, key=lambda x: (x[0], -rank[x[1]]))
                removed[doc] = (k, s)
            else:
                kept.append(doc)
                survivors.add(doc)
        for k in kept:
            star = [k] + sorted(d for d, (owner, _) in removed.items() if owner == k)
            if len(star) < 2:
                continue
            inside = set(star)
            pairs = sorted((min(a, b), max(a, b), s) for a in star for b, s in neighbours[a].items()
                           if b in inside and a < b)
            clusters.append(Cluster(k, star, pairs, method, KEEP_REASON[policy],
                                    {d: removed[d] for d in star[1:]}))
    return clusters
