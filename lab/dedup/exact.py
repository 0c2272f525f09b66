"""Exact duplicates: a 128-bit hash of the normalised text; documents with the same hash form a
cluster and the keep policy picks the survivor."""
from __future__ import annotations

import hashlib

import numpy as np

from .clusters import KEEP_REASON, Cluster


def digest_bytes(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def digest(text: str) -> tuple[int, int]:
    """The digest as two little-endian 64-bit words (a row of the (n, 2) uint64 digest array)."""
    d = digest_bytes(text)
    return int.from_bytes(d[:8], "little"), int.from_bytes(d[8:], "little")


def exact_clusters(digests: np.ndarray, alive: np.ndarray, rank: np.ndarray, policy: str) -> list[Cluster]:
    """digests: (n, 2) uint64; alive: documents still in play (not removed by an earlier method)."""
    docs = np.flatnonzero(alive)
    if docs.size < 2:
        return []
    _, inverse, counts = np.unique(digests[docs], axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    clusters = []
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(counts)))
    for g in np.flatnonzero(counts > 1):
        members = sorted(docs[order[bounds[g]:bounds[g + 1]]].tolist(), key=lambda d: rank[d])
        kept = members[0]
        removed = {d: (kept, 1.0) for d in members[1:]}
        clusters.append(Cluster(kept, [kept] + sorted(members[1:]), [(min(kept, d), max(kept, d), 1.0) for d in sorted(members[1:])],
                                "exact", KEEP_REASON[policy], removed))
    clusters.sort(key=lambda c: min(c.members))
    return clusters
