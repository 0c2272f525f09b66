"""Hybrid fusion: the list that is confident about a query keeps its hit in the top k, whichever list
it is, while the other list is weak and disagrees (the RAG issue: weighted rank fusion let a weak
BM25 list push a confident dense hit out of the top 5, and the other way round)."""
from __future__ import annotations

import numpy as np
import pytest
from langchain_core.documents import Document

from lab.rag.bm25 import SparseBM25
from lab.rag.fusion import fuse
from lab.rag.retrieve import BM25Retriever, HybridRetriever, ScoredEnsembleRetriever

OTHERS = [f"d{i}" for i in range(1, 20)]


def confident(gold: str, top: float, rest_from: float, rest_to: float) -> list[tuple[str, float]]:
    """A head with `gold` far above 19 near-tied others."""
    rest = np.linspace(rest_from, rest_to, len(OTHERS))
    return [(gold, top)] + list(zip(OTHERS, rest.tolist()))


def weak(keys: list[str], high: float, low: float) -> list[tuple[str, float]]:
    """A head of evenly spread scores: no chunk stands out."""
    return list(zip(keys, np.linspace(high, low, len(keys)).tolist()))


def rank_of(key: str, fused: list[tuple[str, float]]) -> int:
    return [k for k, _ in fused].index(key) + 1


def test_a_confident_dense_hit_stays_first_when_a_weak_bm25_list_disagrees():
    dense = confident("gold", 0.90, 0.80, 0.78)
    bm25 = weak(OTHERS + ["x"], 3.0, 2.5)  # the gold chunk shares no term with the question
    assert rank_of("gold", fuse([dense, bm25], (0.5, 0.5), "zscore")) == 1
    # what the old default did with the same lists: every chunk on both lists overtook it
    assert rank_of("gold", fuse([dense, bm25], (0.7, 0.3), "rrf", c=60)) > 5


def test_a_confident_bm25_hit_stays_first_when_a_weak_dense_list_disagrees():
    dense = weak(OTHERS + ["y"], 0.86, 0.84)  # look-alike documents: the embedder cannot tell them apart
    bm25 = confident("gold", 14.0, 3.0, 2.0)  # the only chunk holding the question's code
    assert "gold" not in dict(dense)
    assert rank_of("gold", fuse([dense, bm25], (0.5, 0.5), "zscore")) == 1
    assert rank_of("gold", fuse([dense, bm25], (0.7, 0.3), "rrf", c=60)) > 5


@pytest.mark.parametrize("rule", ["zscore", "minmax"])
def test_a_list_with_no_opinion_leaves_the_other_lists_order(rule):
    dense = weak([f"c{i}" for i in range(10)], 0.9, 0.5)
    flat = [(f"c{i}", 1.0) for i in range(9, -1, -1)]  # BM25 found no query term: every score the same
    assert [k for k, _ in fuse([dense, flat], (0.5, 0.5), rule)] == [f"c{i}" for i in range(10)]


def test_agreement_between_the_lists_wins_over_a_lone_middling_hit():
    dense = weak(["a", "b", "c", "d"], 0.9, 0.6)
    bm25 = weak(["b", "e", "a", "f"], 8.0, 2.0)
    fused = fuse([dense, bm25], (0.5, 0.5), "zscore")
    assert [k for k, _ in fused][:2] in (["a", "b"], ["b", "a"])
    assert set(k for k, _ in fused) == set("abcdef")


def test_rrf_rule_ranks_like_langchains_ensemble_retriever():
    def doc(cid):
        return Document(page_content=cid, metadata={"chunk_id": cid})
    dense, bm25 = ["a", "b", "c", "d"], ["c", "e", "a"]
    lists = [BM25Retriever(vectorizer=SparseBM25([["x"]]), docs=[doc("x")]) for _ in range(2)]
    ensemble = ScoredEnsembleRetriever(retrievers=lists, weights=[0.7, 0.3], id_key="chunk_id", c=60) \
        .weighted_reciprocal_rank([[doc(k) for k in dense], [doc(k) for k in bm25]])
    ours = fuse([[(k, 0.0) for k in dense], [(k, 0.0) for k in bm25]], (0.7, 0.3), "rrf", c=60)
    assert [k for k, _ in ours] == [d.metadata["chunk_id"] for d in ensemble]
    assert [s for _, s in ours] == pytest.approx([d.metadata["score"] for d in ensemble])


def test_hybrid_retriever_keeps_bm25_zeros_so_a_lone_code_match_stands_out():
    """100 look-alike chunks; only one holds the code. BM25's head keeps chunks that score zero, so
    the one match is an outlier (without the zeros it would be a head of one, with no spread)."""
    docs = [Document(page_content=f"chunk {i}", id=f"c{i}", metadata={"chunk_id": f"c{i}", "source": f"s{i}.md"})
            for i in range(100)]
    terms = [["会社", "本社"] + (["tk-3307"] if i == 42 else []) for i in range(100)]
    bm25 = SparseBM25(terms)
    retriever = HybridRetriever(store=None, bm25=bm25, docs=docs, rows={d.metadata["chunk_id"]: i for i, d in enumerate(docs)},
                                tokenize=lambda q: q.split(), fetch_k=20)
    dense = [Document(page_content=f"chunk {i}", id=f"c{i}", metadata={"chunk_id": f"c{i}", "source": f"s{i}.md",
                                                                         "dense_score": 0.85 - i * 0.001}) for i in range(20)]
    merged = retriever.merge(dense, retriever.bm25_scores("tk-3307"))
    assert merged[0].metadata["chunk_id"] == "c42"
    assert merged[0].metadata["bm25_score"] > 0 and "dense_score" not in merged[0].metadata
    assert len(merged) == 20
    assert all("bm25_score" in d.metadata for d in merged)  # every chunk's exact BM25 score, zero or not
