"""MinHash signatures for batches of documents, the on-disk store of their shingle sets, and the
exact-Jaccard check of LSH candidates.

Signatures come from rensa (Rust) fed with the batch's flat shingle hashes; numpy computes the same
kind of signature when rensa is missing. Shingle hashes go to disk batch by batch, so memory holds
only the signatures; a candidate pair reads its two sets back to compute the exact Jaccard."""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .shingles import batch_hashes, jaccard_sorted, unique_sorted

_MERSENNE = np.uint64((1 << 61) - 1)


def engine_name() -> str:
    """rensa when it has the flat-buffer batch API (0.5+), else the numpy fallback."""
    try:
        from rensa import RMinHash
    except ImportError:
        return "numpy"
    return "rensa" if hasattr(RMinHash, "digest_matrix_from_flat_token_hashes") else "numpy"


def signatures(hashes: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """(documents, num_perm) uint32 MinHash signatures. A document without shingles gets an all-max row."""
    if engine_name() == "rensa":
        from rensa import RMinHash
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets.astype(np.uint64), num_perm, seed)
        return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(offsets) - 1, num_perm)
    return _numpy_signatures(hashes, offsets, num_perm, seed)


def _numpy_signatures(hashes: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """Universal hashing (a·x + b) mod (2⁶¹ − 1), minimum per document, in chunks of shingles."""
    rng = np.random.RandomState(seed)
    a = rng.randint(1, 1 << 61, size=num_perm, dtype=np.uint64)
    b = rng.randint(0, 1 << 61, size=num_perm, dtype=np.uint64)
    n_docs = len(offsets) - 1
    out = np.full((n_docs, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    x = hashes >> np.uint64(3)  # keep a·x inside 64 bits' worth of wrap-free range most of the time
    counts = np.diff(offsets)
    doc_of = np.repeat(np.arange(n_docs), counts)
    chunk = max(1, 4_000_000 // num_perm)
    with np.errstate(over="ignore"):
        for start in range(0, x.size, chunk):
            part = ((x[start:start + chunk, None] * a[None, :] + b[None, :]) % _MERSENNE).astype(np.uint32)
            owners = doc_of[start:start + chunk]
            firsts = np.flatnonzero(np.concatenate(([True], owners[1:] != owners[:-1])))
            mins = np.minimum.reduceat(part, firsts, axis=0)
            docs = owners[firsts]
            out[docs] = np.minimum(out[docs], mins)
    return out


def hash_batch(texts: list[str], ngram: int, unit: str, num_perm: int, seed: int, spill_path: str):
    """One batch: shingle hashes to `spill_path`, and (signatures, offsets) back. Runs in a worker
    process when the job uses several; everything it needs is in its arguments."""
    hashes, offsets = batch_hashes(texts, ngram, unit)
    hashes.tofile(spill_path)
    return signatures(hashes, offsets, num_perm, seed), offsets


class ShingleStore:
    """Shingle hash sets on disk, one file per batch; a row per distinct text (the job hashes each text
    once, whatever its number of copies), numbered like the signature rows."""

    def __init__(self, folder: Path, cache_bytes: int = 32 << 20):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.batches: list[tuple[int, Path, np.ndarray]] = []  # (first doc index, file, offsets)
        self._starts: list[int] = []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()  # sets of recent documents, bounded in bytes
        self._cache_bytes, self._cached = cache_bytes, 0
        self._files: OrderedDict[Path, int] = OrderedDict()  # a few open descriptors, least recently used out

    def path_for(self, batch_no: int) -> Path:
        return self.folder / f"batch-{batch_no:06d}.u64"

    def add(self, first_doc: int, path: Path, offsets: np.ndarray) -> None:
        self.batches.append((first_doc, Path(path), offsets))
        self._starts.append(first_doc)

    def size(self, doc: int) -> int:
        first, _, offsets = self._locate(doc)
        return int(offsets[doc - first + 1] - offsets[doc - first])

    def _locate(self, doc: int):
        import bisect
        return self.batches[bisect.bisect_right(self._starts, doc) - 1]

    def get(self, doc: int) -> np.ndarray:
        """Sorted unique shingle hashes of document `doc`."""
        hit = self._cache.get(doc)
        if hit is not None:
            self._cache.move_to_end(doc)
            return hit
        first, path, offsets = self._locate(doc)
        local = doc - first
        start, end = int(offsets[local]), int(offsets[local + 1])
        # read just this document's hashes (a memory map would pull whole pages and read-ahead into RSS)
        raw = os.pread(self._fd(path), (end - start) * 8, start * 8)
        out = unique_sorted(np.frombuffer(raw, dtype=np.uint64))
        self._cache[doc] = out
        self._cached += out.nbytes
        while self._cached > self._cache_bytes and len(self._cache) > 1:
            self._cached -= self._cache.popitem(last=False)[1].nbytes
        return out

    def _fd(self, path: Path) -> int:
        fd = self._files.get(path)
        if fd is None:
            fd = self._files[path] = os.open(path, os.O_RDONLY)
            if len(self._files) > 64:
                os.close(self._files.popitem(last=False)[1])
        else:
            self._files.move_to_end(path)
        return fd

    def jaccard(self, a: int, b: int) -> float:
        return jaccard_sorted(self.get(a), self.get(b))

    def verify(self, pairs: np.ndarray) -> np.ndarray:
        """Exact Jaccard of every candidate pair (in document order, so the cache of sets works)."""
        sims = np.empty(len(pairs), dtype=np.float64)
        order = np.lexsort((pairs[:, 1], pairs[:, 0]))
        for k in order:
            sims[k] = self.jaccard(int(pairs[k, 0]), int(pairs[k, 1]))
        return sims

    def remove(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()
        self._cache.clear()
        self._cached = 0
        for _, path, _ in self.batches:
            path.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass
