"""Retrieval over an index: dense (the embedder + Chroma), BM25 (Japanese terms), or hybrid (both,
merged by lab/rag/fusion.py: by default each list's scores as z-scores, summed with equal weights;
`fusion: rrf` is LangChain's EnsembleRetriever's weighted reciprocal rank fusion), optionally
reranked by a local cross-encoder. Every hit says where it came from and why: source, chunk id,
score, and the dense similarity and BM25 score behind a fused rank.

Scores by mode: dense = cosine similarity; bm25 = Okapi BM25; hybrid = Σ weight · z over the two
lists (zscore), Σ weight · (min-max scaled score) (minmax) or Σ weight / (rank + c) (rrf);
reranked = the cross-encoder's score."""
from __future__ import annotations

import threading
import warnings
from typing import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from ..errors import UserError
from ..paths import check_inside, confined, workspace
from .bm25 import SparseBM25
from .embeddings import get_embeddings
from .fusion import fuse
from .index import _STATE_LOCK, RagIndex
from .spec import EmbeddingSpec, RetrievalSpec
from .tokenizers import get_tokenizer

with warnings.catch_warnings():  # langchain-community announces its sunset on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.retrievers import BM25Retriever
from langchain_classic.retrievers import EnsembleRetriever


@dataclass
class Hit:
    rank: int
    source: str
    chunk_id: str
    score: float
    text: str
    title: str = ""
    dense_score: float | None = None
    bm25_score: float | None = None

    def as_json(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items() if v is not None}


class DenseRetriever(BaseRetriever):
    """Nearest chunks by the embedder's cosine similarity, each carrying `dense_score`."""
    store: Any
    k: int = 20

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        vector = self.store.embeddings.embed_query(query)
        with _STATE_LOCK:
            pairs = self.store.similarity_search_by_vector_with_relevance_scores(vector, k=self.k)
        return [Document(page_content=d.page_content, id=d.id, metadata={**d.metadata, "dense_score": 1.0 - float(dist)})
                for d, dist in pairs]


class ScoredEnsembleRetriever(EnsembleRetriever):
    """EnsembleRetriever's weighted reciprocal rank fusion, keeping the fused score and each list's own score."""

    def weighted_reciprocal_rank(self, doc_lists: list[list[Document]]) -> list[Document]:
        fused: dict[str, float] = {}
        merged: dict[str, Document] = {}
        for doc_list, weight in zip(doc_lists, self.weights):
            for rank, doc in enumerate(doc_list, start=1):
                key = doc.metadata[self.id_key] if self.id_key else doc.page_content
                fused[key] = fused.get(key, 0.0) + weight / (rank + self.c)
                if key in merged:
                    merged[key].metadata.update({k: v for k, v in doc.metadata.items() if k.endswith("_score")})
                else:
                    merged[key] = Document(page_content=doc.page_content, id=doc.id, metadata=dict(doc.metadata))
        for key, doc in merged.items():
            doc.metadata["score"] = fused[key]
        return sorted(merged.values(), key=lambda d: fused[d.metadata[self.id_key] if self.id_key else d.page_content],
                      reverse=True)


class HybridRetriever(BaseRetriever):
    """Dense and BM25 heads (fetch_k each) merged by a score rule of lab/rag/fusion.py. BM25 scores
    every chunk, so each hit carries its exact BM25 score, and BM25's head keeps zero scores (a lone
    match among many must stand out)."""
    store: Any
    bm25: Any
    docs: list
    rows: dict  # chunk id → row of `bm25` and `docs`
    tokenize: Callable[[str], list[str]]
    fetch_k: int = 20
    weights: tuple[float, float] = (0.5, 0.5)
    rule: str = "zscore"

    def dense_head(self, query: str) -> list[Document]:
        return DenseRetriever(store=self.store, k=self.fetch_k).invoke(query)

    def bm25_scores(self, query: str) -> np.ndarray:
        return self.bm25.get_scores(self.tokenize(query))

    def merge(self, dense: list[Document], scores: np.ndarray) -> list[Document]:
        n = min(self.fetch_k, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if 0 < n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        bm25_head = [(self.docs[i].metadata["chunk_id"], float(scores[i])) for i in top
                     if self.rule != "rrf" or scores[i] > 0]  # ranks need matches; z and min-max need the zeros
        dense_head = [(d.metadata["chunk_id"], d.metadata["dense_score"]) for d in dense]
        by_id = {d.metadata["chunk_id"]: d for d in dense}
        out = []
        for key, fused in fuse([dense_head, bm25_head], self.weights, self.rule)[:self.fetch_k]:
            row = self.rows.get(key)
            doc = by_id.get(key) or self.docs[row]
            meta = {**doc.metadata, "score": fused}
            if row is not None:
                meta["bm25_score"] = float(scores[row])
            out.append(Document(page_content=doc.page_content, id=doc.id, metadata=meta))
        return out

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return self.merge(self.dense_head(query), self.bm25_scores(query))


@dataclass
class _Snapshot:
    """What one generation of an index needs in memory: its Chroma view and its BM25 matrix (each
    built on first use, so BM25-only queries never load the embedder)."""
    generation: int
    store: Any = None
    bm25_docs: list[Document] | None = None
    bm25: SparseBM25 | None = None
    rows: dict[str, int] | None = None


_SNAPSHOTS: dict[str, _Snapshot] = {}
_SNAP_LOCK = threading.Lock()


def _snapshot(index: RagIndex, need_dense: bool, need_bm25: bool) -> _Snapshot:
    index.refresh()
    key = str(index.path)
    with _SNAP_LOCK:
        snap = _SNAPSHOTS.get(key)
        if snap is None or snap.generation != index.generation:
            snap = _SNAPSHOTS[key] = _Snapshot(index.generation)
        if need_dense and snap.store is None:
            embedding = EmbeddingSpec(**{k: v for k, v in index.manifest.get("embedding", {}).items()
                                         if k in ("model", "query_prefix", "passage_prefix")})
            snap.store = index.vectorstore(get_embeddings(embedding))
        if need_bm25 and snap.bm25 is None:
            ids, texts, metas = index.all_chunks()
            snap.bm25_docs = [Document(page_content=t, id=i, metadata=m) for i, t, m in zip(ids, texts, metas)]
            snap.bm25 = SparseBM25([(m.get("terms") or "").split() for m in metas])
            snap.rows = {i: row for row, i in enumerate(ids)}
        return snap


def _reranker(path: str):
    model_dir = Path(path).expanduser()
    if confined():
        model_dir = check_inside(model_dir if model_dir.is_absolute() else workspace() / model_dir, "retrieval.rerank_model", path)
    if not model_dir.exists():
        raise UserError(f"retrieval.rerank_model: no such folder: {path} (reranking needs a local cross-encoder)")
    return _cached_cross_encoder(str(model_dir.resolve()))


_CE_CACHE: dict[str, Any] = {}


def _cached_cross_encoder(path: str):
    if path not in _CE_CACHE:
        from sentence_transformers import CrossEncoder
        try:
            _CE_CACHE[path] = CrossEncoder(path, device="cpu")
        except (OSError, ValueError) as e:
            raise UserError(f"retrieval.rerank_model: cannot load {path} ({str(e).splitlines()[0][:160]})") from None
    return _CE_CACHE[path]


def build_retriever(index: RagIndex, settings: RetrievalSpec) -> BaseRetriever:
    """The LangChain retriever for these settings (candidates: fetch_k per list)."""
    use_dense = settings.mode == "dense" or (settings.mode == "hybrid" and settings.dense_weight > 0)
    use_bm25 = settings.mode == "bm25" or (settings.mode == "hybrid" and settings.bm25_weight > 0)
    snap = _snapshot(index, need_dense=use_dense, need_bm25=use_bm25)
    fetch = max(settings.fetch_k, settings.k)
    tokenize = get_tokenizer(index.manifest.get("tokenizer", "sudachi"), index.analysis)
    if settings.mode == "hybrid" and use_dense and use_bm25 and settings.fusion != "rrf":
        return HybridRetriever(store=snap.store, bm25=snap.bm25, docs=snap.bm25_docs, rows=snap.rows, tokenize=tokenize,
                               fetch_k=fetch,
                               weights=(settings.dense_weight, settings.bm25_weight), rule=settings.fusion)
    parts, weights = [], []
    if use_dense:
        parts.append(DenseRetriever(store=snap.store, k=fetch))
        weights.append(settings.dense_weight)
    if use_bm25:
        parts.append(BM25Retriever(vectorizer=snap.bm25, docs=snap.bm25_docs, k=fetch, preprocess_func=tokenize))
        weights.append(settings.bm25_weight)
    if settings.mode == "hybrid" and len(parts) == 2:
        return ScoredEnsembleRetriever(retrievers=parts, weights=weights, id_key="chunk_id", c=settings.rrf_c)
    return parts[0]


def retrieve(index: RagIndex | str, query: str, settings: RetrievalSpec | None = None) -> list[Hit]:
    settings = settings or RetrievalSpec()
    if isinstance(index, str):
        index = RagIndex.open(index)
    query = (query or "").strip()
    if not query:
        raise UserError("question: empty")
    docs = build_retriever(index, settings).invoke(query)
    if settings.rerank_model and docs:
        model = _reranker(settings.rerank_model)
        scores = model.predict([(query, d.page_content) for d in docs])
        for d, s in zip(docs, scores):
            d.metadata["rerank_score"] = float(s)
        docs = sorted(docs, key=lambda d: d.metadata["rerank_score"], reverse=True)
    hits = []
    for rank, d in enumerate(docs[:settings.k], start=1):
        m = d.metadata
        score = m.get("rerank_score", m.get("score", m.get("dense_score", m.get("bm25_score", 0.0))))
        hits.append(Hit(rank=rank, source=m.get("source", ""), chunk_id=m.get("chunk_id", d.id or ""), score=float(score),
                        text=d.page_content, title=m.get("title", ""), dense_score=m.get("dense_score"),
                        bm25_score=m.get("bm25_score")))
    return hits
