"""Shingles as 64-bit hashes, computed for a whole batch of documents at once with numpy.

Character n-grams suit Japanese (no spaces between words); word n-grams suit space-delimited text.
The batch is one long array of code points; a rolling hash over it gives every window, and windows
that cross a document boundary are dropped. No Python string per shingle is ever made, which is
where pure-Python MinHash spends most of its time.

Hashes are deterministic (no Python `hash()`), so worker processes agree. Two shingles collide with
probability about 2⁻⁶⁴, so Jaccard on the hash sets is Jaccard on the shingle sets."""
from __future__ import annotations

import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_P = 0x100000001B3  # odd, so it has an inverse modulo 2⁶⁴
_P_INV = pow(_P, -1, 1 << 64)
_SPACES = np.array([0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0xA0, 0x3000], dtype=np.uint64)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the whole word."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M2
    x = x ^ (x >> np.uint64(27))
    x = x * _M3
    return x ^ (x >> np.uint64(31))


def _codepoints(texts: list[str]) -> np.ndarray:
    return np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _windows(values: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash of every run of n consecutive values owned by one document → (hashes, owner per hash)."""
    count = values.size - n + 1
    if count <= 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    h = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        h = (h * _M1) ^ values[k:k + count]
    keep = owner[:count] == owner[n - 1:n - 1 + count]
    return _mix(h[keep] + np.uint64(n)), owner[:count][keep]


def _short_docs(values: np.ndarray, owner: np.ndarray, lengths: np.ndarray, n: int):
    """A document shorter than n units is one shingle: all of it."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    hashes, owners = [], []
    for doc in np.flatnonzero((lengths > 0) & (lengths < n)):
        h = np.uint64(0)
        for v in values[starts[doc]:starts[doc] + lengths[doc]]:
            h = (h * _M1) ^ v
        hashes.append(_mix(np.array([h + np.uint64(lengths[doc])], dtype=np.uint64))[0])
        owners.append(doc)
    return np.array(hashes, dtype=np.uint64), np.array(owners, dtype=np.int64)


def _words(cp: np.ndarray, doc_of_char: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hash of each space-delimited word, its document), in reading order."""
    space = np.isin(cp, _SPACES)
    prev_space = np.concatenate(([True], space[:-1]))
    next_space = np.concatenate((space[1:], [True]))
    doc_change = np.concatenate(([True], doc_of_char[1:] != doc_of_char[:-1]))
    doc_end = np.concatenate((doc_of_char[1:] != doc_of_char[:-1], [True]))
    starts = np.flatnonzero(~space & (prev_space | doc_change))
    ends = np.flatnonzero(~space & (next_space | doc_end)) + 1
    # Polynomial hash of any span from prefix sums: Σ cp[j]·P^j over the span, divided by P^start.
    powers = np.cumprod(np.full(cp.size, _P, dtype=np.uint64)) * np.uint64(_P_INV)  # P^0 … P^(N−1)
    inverse = np.cumprod(np.full(cp.size, _P_INV, dtype=np.uint64)) * np.uint64(_P)
    prefix = np.concatenate((np.zeros(1, np.uint64), np.cumsum(cp * powers, dtype=np.uint64)))
    word_hash = (prefix[ends] - prefix[starts]) * inverse[starts]
    return _mix(word_hash), doc_of_char[starts]


def _char_windows(cp: np.ndarray, lengths: np.ndarray, n: int, chunk: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    """Character n-gram hashes of a batch (the values `_windows` and `_short_docs` give, in the same
    order) without a per-character owner array: the windows that cross a document boundary are known
    from the lengths. The work goes through the batch in cache-sized chunks, in place."""
    count = cp.size - n + 1
    per_doc = np.where(lengths >= n, lengths - n + 1, np.where(lengths > 0, 1, 0))
    if count <= 0:
        h = np.empty(0, np.uint64)
    else:
        h = np.empty(count, dtype=np.uint64)
        t = np.empty(min(chunk, count), dtype=np.uint64)
        for start in range(0, count, chunk):
            end = min(start + chunk, count)
            part, tmp = h[start:end], t[:end - start]
            part[:] = cp[start:end]
            for k in range(1, n):
                np.multiply(part, _M1, out=part)
                np.bitwise_xor(part, cp[start + k:end + k], out=part, casting="unsafe")
            np.add(part, np.uint64(n), out=part)
            _mix_inplace(part, tmp)
        ends = np.cumsum(lengths)
        # a window starting in the last n−1 characters of a document reads into the next one
        crossing = (ends[:, None] - np.arange(n - 1, 0, -1)[None, :])[lengths > 0].ravel()
        crossing = crossing[(crossing >= 0) & (crossing < count)]
        if crossing.size:
            h = np.delete(h, np.unique(crossing))
    short = np.flatnonzero((lengths > 0) & (lengths < n))
    if short.size:  # rare: a document shorter than n is one shingle, all of it
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        values = np.empty(short.size, np.uint64)
        for j, doc in enumerate(short):
            v = np.uint64(0)
            for c in cp[starts[doc]:starts[doc] + lengths[doc]]:
                v = (v * _M1) ^ np.uint64(c)
            values[j] = v + np.uint64(lengths[doc])
        full = np.where(lengths >= n, lengths - n + 1, 0)
        h = np.insert(h, np.cumsum(full)[short], _mix(values))  # where the document's windows would be
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(per_doc, out=offsets[1:])
    return h, offsets


def _mix_inplace(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """`_mix` in place (t: scratch space of x's size)."""
    for shift, mult in ((30, _M2), (27, _M3)):
        np.right_shift(x, np.uint64(shift), out=t)
        np.bitwise_xor(x, t, out=x)
        np.multiply(x, mult, out=x)
    np.right_shift(x, np.uint64(31), out=t)
    np.bitwise_xor(x, t, out=x)
    return x


def batch_hashes(texts: list[str], n: int, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """(flat shingle hashes, offsets) for a batch: document i owns hashes[offsets[i]:offsets[i+1]].
    Duplicates within a document are kept (MinHash ignores them; verification takes unique sets)."""
    with np.errstate(over="ignore"):
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        if unit != "word":
            return _char_windows(np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32), lengths, n)
        cp = _codepoints(texts)
        doc_of_char = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        values, owner = _words(cp, doc_of_char)
        lengths = np.bincount(owner, minlength=len(texts))
        hashes, owners = _windows(values, owner, n)
        short_h, short_o = _short_docs(values, owner, lengths, n)
    if short_h.size:
        hashes, owners = np.concatenate((hashes, short_h)), np.concatenate((owners, short_o))
        order = np.argsort(owners, kind="stable")
        hashes, owners = hashes[order], owners[order]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=len(texts)), out=offsets[1:])
    return hashes, offsets


def unique_sorted(hashes: np.ndarray) -> np.ndarray:
    """np.unique for the small arrays of one document, without its overhead."""
    a = np.sort(hashes)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def shingle_set(text: str, n: int, unit: str) -> np.ndarray:
    """Sorted unique shingle hashes of one text."""
    hashes, _ = batch_hashes([text], n, unit)
    return unique_sorted(hashes)


def jaccard_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays."""
    if a.size == 0 and b.size == 0:
        return 1.0
    if a.size > b.size:
        a, b = b, a
    pos = np.searchsorted(b, a)
    pos[pos == b.size] = 0
    inter = int(np.count_nonzero(b[pos] == a)) if b.size else 0
    return inter / (a.size + b.size - inter)


def jaccard(text_a: str, text_b: str, n: int, unit: str) -> float:
    return jaccard_sorted(shingle_set(text_a, n, unit), shingle_set(text_b, n, unit))


def choose_unit(texts: list[str]) -> str:
    """char when a good part of the letters are Japanese/CJK, else word."""
    letters = cjk = 0
    for text in texts:
        for ch in text[:2000]:
            if ch.isalpha():
                letters += 1
                if "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uac00" <= ch <= "\ud7af":
                    cjk += 1
    return "char" if letters and cjk / letters >= 0.2 else "word"
