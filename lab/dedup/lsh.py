"""LSH banding: split a MinHash signature into b bands of r rows; two documents become a candidate
pair when all r rows of at least one band agree. For Jaccard similarity s that happens with
probability P(s) = 1 − (1 − s^r)^b — the S-curve.

(b, r) follow the threshold t the way datasketch's MinHashLSH picks them: among all b·r ≤ num_perm,
minimise w_fp·∫₀ᵗ P(s) ds + w_fn·∫ₜ¹ (1 − P(s)) ds (the false-positive and false-negative areas)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)


def s_curve(s, bands: int, rows: int):
    """P(candidate | Jaccard s)."""
    s = np.asarray(s, dtype=float)
    return 1.0 - (1.0 - s ** rows) ** bands


def _areas(threshold: float, b: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive area, false-negative area) for every (b, r) pair, by Gauss–Legendre quadrature
    on [0, t] and [t, 1] (split at t because P is steep there)."""
    def integral(lo: float, hi: float, fn) -> np.ndarray:
        s = (hi - lo) / 2 * _NODES + (hi + lo) / 2
        return fn(s[None, :]) @ _WEIGHTS * (hi - lo) / 2

    b, r = b[:, None].astype(float), r[:, None].astype(float)
    fp = integral(0.0, threshold, lambda s: 1 - (1 - s ** r) ** b)
    fn = integral(threshold, 1.0, lambda s: (1 - s ** r) ** b)
    return fp, fn


@lru_cache(maxsize=256)
def optimal_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false-positive + false-negative areas."""
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    b = np.array([p[0] for p in pairs])
    r = np.array([p[1] for p in pairs])
    fp, fn = _areas(threshold, b, r)
    error = fp * fp_weight + fn * fn_weight
    best = int(np.argmin(error))  # first minimum, in datasketch's (b, then r) order
    return int(b[best]), int(r[best])


def error_areas(threshold: float, bands: int, rows: int) -> dict:
    fp, fn = _areas(threshold, np.array([bands]), np.array([rows]))
    return {"false_positive_area": float(fp[0]), "false_negative_area": float(fn[0]),
            "effective_threshold": float((1.0 / bands) ** (1.0 / rows))}


def resolve(spec) -> dict:
    """The (b, r) of a spec: set by hand, or chosen from its threshold."""
    if spec.bands is not None:
        bands, rows, source = spec.bands, spec.rows, "manual"
    else:
        bands, rows = optimal_params(round(spec.threshold, 6), spec.num_perm, spec.fp_weight, spec.fn_weight)
        source = "optimal"
    return {"bands": bands, "rows": rows, "bands_rows_source": source, **error_areas(spec.threshold, bands, rows)}


def band_keys(signatures: np.ndarray, bands: int, rows: int, index: np.ndarray | None = None,
              chunk: int = 65536) -> np.ndarray:
    """(n, bands) uint64: one hash per band of each signature row (of the rows in `index`, if given).
    Works through the rows in chunks so that no full 64-bit copy of the signatures is ever made."""
    index = np.arange(len(signatures)) if index is None else index
    keys = np.empty((len(index), bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(index), chunk):
            sig = signatures[index[start:start + chunk]]
            for band in range(bands):
                h = np.full(len(sig), band + 1, dtype=np.uint64)
                for col in range(band * rows, (band + 1) * rows):
                    h = (h * np.uint64(0x100000001B3)) ^ sig[:, col].astype(np.uint64)
                    h ^= h >> np.uint64(29)
                keys[start:start + len(sig), band] = h
    return keys


def candidate_pairs(keys: np.ndarray, doc_index: np.ndarray, full_bucket: int = 64) -> np.ndarray:
    """Unique (i, j), i < j, of documents sharing a band key. A bucket bigger than `full_bucket`
    (thousands of copies of one boilerplate page) is linked as a chain plus a star on its first
    member, so it costs O(size) pairs instead of O(size²) and every member still meets one of them."""
    found = []
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        k = keys[order, band]
        same = k[1:] == k[:-1]
        if not same.any():
            continue
        docs = doc_index[order]
        # neighbours in sorted order: covers every bucket of two and the chain of bigger ones
        found.append(np.stack((docs[:-1][same], docs[1:][same]), axis=1))
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        sizes = np.diff(np.concatenate((starts, [k.size])))
        for start, size in zip(starts[sizes > 2], sizes[sizes > 2]):
            members = docs[start:start + size]
            if size <= full_bucket:
                a, b = np.triu_indices(size, k=1)
                found.append(np.stack((members[a], members[b]), axis=1))
            else:
                found.append(np.stack((np.full(size - 1, members[0]), members[1:]), axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    pairs.sort(axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0)
