"""MinHash-LSH with exact copies collapsed: documents whose normalised texts are equal form a copy
group, hashed, bucketed and verified once; the decisions are still made per document, and they are
exactly those of `lsh.candidate_pairs` + `ShingleStore.verify` + `clusters.star_clusters` run on every
document (tests/unit/test_dedup_equivalence.py keeps it so).

Why that is exact. Copies have the same shingle set, so the same signature and the same bucket in
every band, a Jaccard of 1 with each other and the same Jaccard with anything else. An LSH bucket of
at most `full_bucket` documents makes every two of its documents a candidate, so it links whole
groups: every member of g with every member of h (a group pair), and the members of g among
themselves. A bigger bucket is linked document by document (a chain in document order plus a star on
its first document), as before; those few single pairs are kept as such. Verification is one Jaccard
per group pair. Then documents are visited in keep-policy order, as `star_clusters` does: a document
goes if it has a verified link to a document already kept, to the most similar one (the best-ranked on
a tie). Among the kept members of a linked group the best-ranked is the first one kept, so one entry
per group is enough."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clusters import KEEP_REASON, Cluster


@dataclass
class Groups:
    """Copy groups of the documents in play, numbered 0 … g−1 in order of their first document."""
    members: np.ndarray   # documents, grouped, ascending inside each group
    ptr: np.ndarray       # group i holds members[ptr[i]:ptr[i+1]]
    of_doc: np.ndarray    # group of each document (−1: not in play)
    store_id: np.ndarray  # each group's row in the signature array / shingle store

    @classmethod
    def build(cls, docs: np.ndarray, store_of_doc: np.ndarray, n: int) -> "Groups":
        """docs: ascending documents in play; store_of_doc: their copy group's row in the store."""
        rows, first, inverse = np.unique(store_of_doc, return_index=True, return_inverse=True)
        by_first = np.argsort(first, kind="stable")          # number groups by first document
        local = np.empty(len(rows), dtype=np.int64)
        local[by_first] = np.arange(len(rows))
        group = local[inverse.ravel()]
        order = np.argsort(group, kind="stable")              # docs ascending inside each group
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(group, minlength=len(rows)), out=ptr[1:])
        of_doc = np.full(n, -1, dtype=np.int64)
        of_doc[docs] = group
        return cls(docs[order], ptr, of_doc, rows[by_first])

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.ptr)

    def __len__(self) -> int:
        return len(self.ptr) - 1


@dataclass
class Candidates:
    group_pairs: np.ndarray     # (p, 2) g < h: every member of g with every member of h
    self_linked: np.ndarray     # per group: every two of its members
    doc_pairs: np.ndarray       # (q, 2) a < b: single pairs from buckets of more than full_bucket documents


def candidates(keys: np.ndarray, groups: Groups, full_bucket: int = 64) -> Candidates:
    """keys: (groups, bands) band keys of each group's signature."""
    g_count, n_bands = keys.shape
    sizes = groups.sizes
    self_linked = np.zeros(g_count, dtype=bool)
    gp, dp = [], []
    for band in range(n_bands):
        order = np.argsort(keys[:, band], kind="stable")
        k = keys[order, band]
        same = k[1:] == k[:-1]
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        counts = np.diff(np.concatenate((starts, [g_count])))
        docs = np.add.reduceat(sizes[order], starts) if g_count else np.empty(0, np.int64)
        small = docs <= full_bucket
        bucket = np.repeat(np.arange(len(starts)), counts)
        self_linked[order[small[bucket] & (sizes[order] >= 2)]] = True
        two = np.flatnonzero(same & (counts[bucket[:-1]] == 2) & small[bucket[:-1]])
        gp.append(np.stack((order[two], order[two + 1]), axis=1))
        for b in np.flatnonzero(small & (counts > 2)):
            members = order[starts[b]:starts[b] + counts[b]]
            i, j = np.triu_indices(len(members), k=1)
            gp.append(np.stack((members[i], members[j]), axis=1))
        for b in np.flatnonzero(~small):
            docs_in = np.sort(np.concatenate([groups.members[groups.ptr[g]:groups.ptr[g + 1]]
                                              for g in order[starts[b]:starts[b] + counts[b]]]))
            dp.append(np.stack((docs_in[:-1], docs_in[1:]), axis=1))
            dp.append(np.stack((np.full(len(docs_in) - 1, docs_in[0]), docs_in[1:]), axis=1))
    return Candidates(_unique_pairs(gp), self_linked, _unique_pairs(dp))


def _unique_pairs(parts: list) -> np.ndarray:
    if not parts:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(parts).astype(np.int64)
    pairs.sort(axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        return pairs.reshape(0, 2)
    top = int(pairs.max()) + 1
    code = np.unique(pairs[:, 0] * top + pairs[:, 1])
    return np.stack((code // top, code % top), axis=1)


@dataclass
class Verified:
    """The verified links and what the report counts, in documents as `candidate_pairs` would."""
    group_pairs: np.ndarray     # (p, 2) verified group pairs
    group_sims: np.ndarray
    self_linked: np.ndarray
    doc_pairs: np.ndarray       # (q, 2) verified single pairs
    doc_sims: np.ndarray
    candidate_pairs: int
    verified_pairs: int
    histogram: np.ndarray       # counts of document pairs per similarity bin
    group_pairs_checked: int


def verify(cand: Candidates, groups: Groups, jaccard_rows, threshold: float, bins: int = 50) -> Verified:
    """jaccard_rows((m, 2) store rows) → exact Jaccard of each pair of groups."""
    of = groups.of_doc
    da, db = (cand.doc_pairs[:, 0], cand.doc_pairs[:, 1]) if len(cand.doc_pairs) else (np.empty(0, np.int64),) * 2
    ga, gb = of[da], of[db]
    cross = ga != gb
    needed = _unique_pairs([cand.group_pairs, np.stack((ga[cross], gb[cross]), axis=1)])
    sims = jaccard_rows(groups.store_id[needed]) if len(needed) else np.empty(0)
    g_count = len(groups)
    code = needed[:, 0] * g_count + needed[:, 1]

    def sim_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return sims[np.searchsorted(code, lo * g_count + hi)] if len(a) else np.empty(0)

    g_sims = sim_of(cand.group_pairs[:, 0], cand.group_pairs[:, 1])
    d_sims = np.ones(len(da))
    d_sims[cross] = sim_of(ga[cross], gb[cross])
    # a single pair already inside a group pair (or a linked group) is one candidate, counted once
    covered = np.where(cross, np.isin(np.minimum(ga, gb) * g_count + np.maximum(ga, gb),
                                      cand.group_pairs[:, 0] * g_count + cand.group_pairs[:, 1]),
                       cand.self_linked[ga] if len(ga) else np.empty(0, bool))
    sizes = groups.sizes
    weights = np.concatenate((sizes[cand.group_pairs[:, 0]] * sizes[cand.group_pairs[:, 1]],
                              (sizes * (sizes - 1) // 2)[cand.self_linked], np.ones(int((~covered).sum()), np.int64)))
    values = np.concatenate((g_sims, np.ones(int(cand.self_linked.sum())), d_sims[~covered]))
    ok = values >= threshold - 1e-12
    counts, _ = np.histogram(values, bins=bins, range=(0.0, 1.0), weights=weights)
    keep_g = g_sims >= threshold - 1e-12
    keep_d = d_sims >= threshold - 1e-12
    return Verified(cand.group_pairs[keep_g], g_sims[keep_g], cand.self_linked, cand.doc_pairs[keep_d], d_sims[keep_d],
                    int(weights.sum()), int(weights[ok].sum()), np.rint(counts).astype(np.int64), len(needed))


def star_clusters(v: Verified, groups: Groups, rank: np.ndarray, method: str, policy: str) -> list[Cluster]:
    """`clusters.star_clusters` on the document pairs `v` stands for (same clusters, same order)."""
    sizes = groups.sizes
    g_nb: dict[int, list] = {}
    for (a, b), s in zip(v.group_pairs.tolist(), v.group_sims.tolist()):
        g_nb.setdefault(a, []).append((b, s))
        g_nb.setdefault(b, []).append((a, s))
    d_nb: dict[int, list] = {}
    for (a, b), s in zip(v.doc_pairs.tolist(), v.doc_sims.tolist()):
        d_nb.setdefault(a, []).append((b, s))
        d_nb.setdefault(b, []).append((a, s))
    self_linked = v.self_linked & (sizes >= 2)
    linked_groups = np.zeros(len(groups), dtype=bool)
    linked_groups[self_linked] = True
    if len(v.group_pairs):
        linked_groups[v.group_pairs.ravel()] = True
    in_play = np.zeros(len(rank), dtype=bool)
    in_play[_expand(groups, np.flatnonzero(linked_groups))] = True
    if d_nb:
        in_play[np.fromiter(d_nb, dtype=np.int64)] = True
    involved = np.flatnonzero(in_play)
    if not involved.size:
        return []
    involved = involved[np.argsort(rank[involved], kind="stable")]

    of = groups.of_doc
    rank_l = rank.tolist()
    first_kept: dict[int, int] = {}
    kept: set[int] = set()
    removed: dict[int, tuple[int, float]] = {}
    self_l = self_linked.tolist()
    for d, g in zip(involved.tolist(), of[involved].tolist()):
        best_s, best_r, best = -1.0, 0, -1
        if self_l[g]:
            k = first_kept.get(g)
            if k is not None:
                best_s, best_r, best = 1.0, -rank_l[k], k
        for h, s in g_nb.get(g, ()):
            k = first_kept.get(h)
            if k is not None and (s > best_s or (s == best_s and -rank_l[k] > best_r)):
                best_s, best_r, best = s, -rank_l[k], k
        for e, s in d_nb.get(d, ()):
            if e in kept and (s > best_s or (s == best_s and -rank_l[e] > best_r)):
                best_s, best_r, best = s, -rank_l[e], e
        if best >= 0:
            removed[d] = (best, best_s)
        else:
            kept.add(d)
            first_kept.setdefault(g, d)
    if not removed:
        return []
    return _stars(v, groups, rank, involved, removed, self_linked, linked_groups, method, policy)


def _expand(groups: Groups, which: np.ndarray) -> np.ndarray:
    """All members of the groups `which`."""
    if not which.size:
        return np.empty(0, dtype=np.int64)
    starts, ends = groups.ptr[which], groups.ptr[which + 1]
    lengths = ends - starts
    index = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) + np.arange(lengths.sum())
    return groups.members[index]


def _stars(v: Verified, groups: Groups, rank, involved, removed, self_linked, linked_groups, method, policy):
    """Star clusters in `star_clusters`' order: connected components of the verified links by their
    first document, and inside one the kept documents by rank; each with every verified pair inside it."""
    n = len(rank)
    chain = _expand(groups, np.flatnonzero(linked_groups))
    group_of_chain = groups.of_doc[chain]
    same = group_of_chain[1:] == group_of_chain[:-1]
    firsts = groups.members[groups.ptr[:-1]]
    edges = [np.stack((chain[:-1][same], chain[1:][same]), axis=1), firsts[v.group_pairs] if len(v.group_pairs) else
             np.empty((0, 2), np.int64), v.doc_pairs]
    label = _components(n, np.concatenate(edges).astype(np.int64))
    low = np.full(n, n, dtype=np.int64)
    np.minimum.at(low, label[involved], involved)

    removed_docs = np.fromiter(removed, dtype=np.int64, count=len(removed))
    owners = np.fromiter((k for k, _ in removed.values()), dtype=np.int64, count=len(removed))
    kept_docs = np.unique(owners)
    kept_docs = kept_docs[np.lexsort((rank[kept_docs], low[label[kept_docs]]))]
    # members of each star: the kept document, then the removed ones ascending
    order = np.lexsort((removed_docs, owners))
    removed_sorted, owner_sorted = removed_docs[order], owners[order]
    slot = np.searchsorted(np.sort(kept_docs), owner_sorted)     # star of each, by kept document ascending
    counts = np.bincount(slot, minlength=len(kept_docs))
    output_of_slot = np.argsort(kept_docs)                         # kept_docs is in output order
    ptr = np.zeros(len(kept_docs) + 1, dtype=np.int64)
    np.cumsum(counts[np.argsort(output_of_slot)] + 1, out=ptr[1:])
    flat = np.empty(int(ptr[-1]), dtype=np.int64)
    flat[ptr[:-1]] = kept_docs
    within = np.arange(len(slot)) - np.concatenate(([0], np.cumsum(counts)[:-1]))[slot]
    flat[ptr[output_of_slot[slot]] + 1 + within] = removed_sorted
    pairs = _star_pairs(v, groups, flat, ptr, self_linked)
    clusters = []
    reason = KEEP_REASON[policy]
    for i, k in enumerate(kept_docs.tolist()):
        star = flat[ptr[i]:ptr[i + 1]].tolist()
        clusters.append(Cluster(k, star, pairs[i], method, reason, {d: removed[d] for d in star[1:]}))
    return clusters


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """A component label per node: hook each edge's larger root under the smaller, then jump
    pointers to the roots, until no edge joins two roots."""
    parent = np.arange(n, dtype=np.int64)
    a, b = edges[:, 0], edges[:, 1]
    while True:
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return parent
        np.minimum.at(parent, np.maximum(ra, rb)[apart], np.minimum(ra, rb)[apart])
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up


def _star_pairs(v: Verified, groups: Groups, flat: np.ndarray, ptr: np.ndarray, self_linked: np.ndarray) -> list:
    """For each star, its verified pairs (a, b, similarity), a < b, sorted."""
    sizes = np.diff(ptr)
    star = np.repeat(np.arange(len(sizes)), sizes)
    pos = np.arange(len(flat)) - ptr[star]
    after = sizes[star] - pos - 1                       # partners later in the same star
    left = np.repeat(np.arange(len(flat)), after)
    run_start = np.repeat(np.cumsum(after) - after, after)
    right = left + 1 + (np.arange(len(left)) - run_start)
    a, b = flat[left], flat[right]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    of = groups.of_doc
    ga, gb = of[lo], of[hi]
    g_count = len(groups)
    sims = np.ones(len(lo))
    linked = (ga == gb) & self_linked[ga]
    if len(v.group_pairs):
        codes = v.group_pairs[:, 0] * g_count + v.group_pairs[:, 1]
        want = np.minimum(ga, gb) * g_count + np.maximum(ga, gb)
        at = np.minimum(np.searchsorted(codes, want), len(codes) - 1)
        hit = (ga != gb) & (codes[at] == want)
        sims[hit] = v.group_sims[at[hit]]
        linked |= hit
    if len(v.doc_pairs):
        top = len(of)
        codes = v.doc_pairs[:, 0] * top + v.doc_pairs[:, 1]
        want = lo * top + hi
        at = np.minimum(np.searchsorted(codes, want), len(codes) - 1)
        hit = codes[at] == want
        sims[hit & ~linked] = v.doc_sims[at[hit & ~linked]]
        linked |= hit
    keep = np.flatnonzero(linked)
    s_star, s_lo, s_hi, s_sim = star[left[keep]], lo[keep], hi[keep], sims[keep]
    order = np.lexsort((s_hi, s_lo, s_star))
    table = (s_lo[order], s_hi[order], s_sim[order])
    bounds = np.searchsorted(s_star[order], np.arange(len(sizes) + 1)).tolist()
    return [PairSlice(table, bounds[i], bounds[i + 1]) for i in range(len(sizes))]


class PairSlice:
    """One star's verified pairs as (a, b, similarity) tuples, read from arrays shared by all stars:
    a million documents of copies have millions of pairs, too many to hold as Python tuples."""
    __slots__ = ("table", "start", "end")

    def __init__(self, table: tuple, start: int, end: int):
        self.table, self.start, self.end = table, start, end

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self):
        a, b, s = (x[self.start:self.end].tolist() for x in self.table)
        return iter(zip(a, b, s))

    def __eq__(self, other) -> bool:
        return list(self) == list(other)
