"""Copy groups are an exact shortcut: on random corpora of copies (random band keys that collide,
buckets that overflow, similarities that tie, every keep order) the grouped engine gives the very
clusters — kept document, members, verified pairs, partner and similarity of each removal — that the
per-document engine (lsh.candidate_pairs → verification → clusters.star_clusters) gives."""
import numpy as np
import pytest

from lab.dedup import copies, lsh
from lab.dedup.clusters import star_clusters


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(3, 40))
    sizes = rng.choice([1, 1, 2, 3, 5, 9], size=n_groups)
    n = int(sizes.sum()) + int(rng.integers(0, 5))           # a few documents not in play
    docs = np.sort(rng.choice(n, size=int(sizes.sum()), replace=False))
    store_of_doc = rng.permutation(np.repeat(np.arange(n_groups) * 3 + 7, sizes))  # rows in a store
    n_bands = int(rng.integers(1, 5))
    keys = rng.integers(0, int(rng.integers(2, 8)), size=(n_groups, n_bands)).astype(np.uint64)
    sim_table = rng.choice([0.5, 0.7, 0.8, 0.85, 0.9, 1.0], size=(n_groups * 3 + 8, n_groups * 3 + 8))
    sim_table = np.maximum(sim_table, sim_table.T)
    rank = rng.permutation(n)
    return n, docs, store_of_doc, keys, sim_table, rank


@pytest.mark.parametrize("seed", range(150))
def test_grouped_engine_gives_the_per_document_clusters(seed):
    n, docs, store_of_doc, group_keys, sim_table, rank = random_case(seed)
    threshold, full_bucket = 0.8, int(np.random.default_rng(seed).integers(2, 12))
    row_index = {row: i for i, row in enumerate(np.unique(store_of_doc))}

    # per document, as before
    doc_keys = group_keys[[row_index[r] for r in store_of_doc]]
    pairs = lsh.candidate_pairs(doc_keys, docs, full_bucket=full_bucket)
    row_of = dict(zip(docs.tolist(), store_of_doc.tolist()))
    sims = np.array([1.0 if row_of[a] == row_of[b] else sim_table[row_of[a], row_of[b]] for a, b in pairs.tolist()])
    ok = sims >= threshold - 1e-12
    want = star_clusters(pairs[ok], sims[ok], rank, "minhash", "first")

    # per copy group
    groups = copies.Groups.build(docs, store_of_doc, n)
    keys = group_keys[[row_index[r] for r in groups.store_id]]
    cand = copies.candidates(keys, groups, full_bucket=full_bucket)
    verified = copies.verify(cand, groups, lambda rows: sim_table[rows[:, 0], rows[:, 1]], threshold)
    got = copies.star_clusters(verified, groups, rank, "minhash", "first")

    assert verified.candidate_pairs == len(pairs) and verified.verified_pairs == int(ok.sum())
    assert [(c.kept, c.members, c.removed) for c in got] == [(c.kept, c.members, c.removed) for c in want]
    assert [list(c.pairs) for c in got] == [c.pairs for c in want]
