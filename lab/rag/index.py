"""A RAG index is a folder: a persistent Chroma database (one collection of chunks, reached through
langchain_chroma) and `index.json` (which embedder and tokenizer built it, and a generation number).

By name, an index lives in $LAB_WORKSPACE/rag/<name>; anything that looks like a path is used as the
folder itself. Each chunk's metadata holds its source, position, title and its BM25 terms, so the
BM25 side is rebuilt from Chroma alone and can never disagree with the dense side.

Several processes share an index (the UI reads while a job writes). Chroma keeps a process-wide
in-memory copy of the vector index that does not see another process's writes, so every writer
bumps `generation` in index.json after each batch, and a reader whose cached client is older drops
its Chroma clients and reopens. Only one writer at a time: writers hold an exclusive lock file."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Iterator

from ..errors import UserError
from ..names import inside
from ..paths import check_output_folder, shown, workspace

COLLECTION = "lab_rag_chunks"
MANIFEST = "index.json"
LOCK_FILE = ".writer.lock"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$")
MANIFEST_VERSION = 1

_STATE_LOCK = threading.RLock()  # guards the Chroma clients of this process (see module docstring)
_CLIENTS: dict[str, tuple[int, object]] = {}


def indexes_root() -> Path:
    return workspace() / "rag"


def looks_like_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.startswith((".", "~"))


def index_path(name: str) -> Path:
    name = (name or "").strip()
    if not name:
        raise UserError("index: empty (give a name such as 'default' or a folder)")
    if looks_like_path(name):  # a folder: in a participant's workspace, never in uploads/ or a run's folder
        return check_output_folder(Path(name), "index", within="rag")
    if not NAME_RE.match(name):
        raise UserError(f"index: '{name}' is not a valid name (letters, digits, '.', '_' or '-', up to 127 characters)")
    return inside(indexes_root(), name, "index")


def display_name(path: Path) -> str:
    try:
        path.relative_to(indexes_root())
        return path.name
    except ValueError:
        return shown(path)


def read_manifest(path: Path) -> dict | None:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        raise UserError(f"{shown(path / MANIFEST)}: not valid JSON (the index folder is damaged)") from None


def write_manifest(path: Path, manifest: dict) -> None:
    tmp = path / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path / MANIFEST)


def _client(path: Path, generation: int):
    """This process's Chroma client for `path`, reopened when another process has written since."""
    import chromadb
    from chromadb.api.client import SharedSystemClient
    from chromadb.config import Settings
    key = str(path)
    with _STATE_LOCK:
        cached = _CLIENTS.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        if cached is not None:
            # Chroma can only drop all of a process's systems at once; every client reopens lazily.
            SharedSystemClient.clear_system_cache()
            _CLIENTS.clear()
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
        _CLIENTS[key] = (generation, client)
        return client


def forget_clients() -> None:
    from chromadb.api.client import SharedSystemClient
    with _STATE_LOCK:
        SharedSystemClient.clear_system_cache()
        _CLIENTS.clear()


class RagIndex:
    def __init__(self, path: Path, manifest: dict):
        self.path = path
        self.manifest = manifest

    # ---- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, name: str) -> "RagIndex":
        path = index_path(name)
        manifest = read_manifest(path)
        if manifest is None:
            raise UserError(f"index '{name}' not found ({shown(path)} has no {MANIFEST}); build it first: "
                            f"lab run presets/rag-index.yaml --set index={name}")
        return cls(path, manifest)

    @classmethod
    def open_or_create(cls, name: str, embedding: dict, tokenizer: str, chunking: dict) -> "RagIndex":
        """The index for writing; refuses an existing index built with another embedder or tokenizer,
        whose vectors or terms the new chunks could not be compared with."""
        path = index_path(name)
        manifest = read_manifest(path)
        if manifest is None:
            if path.exists() and any(path.iterdir()):
                raise UserError(f"index: {shown(path)} is a non-empty folder that is not a RAG index (choose another)")
            path.mkdir(parents=True, exist_ok=True)
            from .tokenizers import DEFAULT_ANALYSIS
            manifest = {"version": MANIFEST_VERSION, "collection": COLLECTION, "embedding": embedding,
                        "tokenizer": tokenizer, "analysis": DEFAULT_ANALYSIS, "chunking": chunking,
                        "created_at": round(time.time(), 3), "generation": 0}
            write_manifest(path, manifest)
            return cls(path, manifest)
        old = manifest.get("embedding", {})
        same = {k: old.get(k) for k in ("model", "query_prefix", "passage_prefix")} == \
               {k: embedding.get(k) for k in ("model", "query_prefix", "passage_prefix")}
        if not same:
            raise UserError(f"index '{name}' was built with embedder '{old.get('model')}' "
                            f"(prefixes {old.get('query_prefix')!r}/{old.get('passage_prefix')!r}); "
                            f"use another index name or delete {shown(path)}")
        if manifest.get("tokenizer") != tokenizer:
            raise UserError(f"index '{name}' was built with the {manifest.get('tokenizer')} tokenizer; "
                            f"use tokenizer={manifest.get('tokenizer')} or another index name")
        index = cls(path, manifest)
        index.manifest["chunking"] = chunking
        return index

    # ---- chroma ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.manifest = read_manifest(self.path) or self.manifest

    @property
    def analysis(self) -> str | None:
        """The granularities of this index's BM25 terms (lab/rag/tokenizers.py); None = legacy "B"."""
        return self.manifest.get("analysis")

    @property
    def generation(self) -> int:
        return int(self.manifest.get("generation", 0))

    def collection(self):
        self.refresh()
        client = _client(self.path, self.generation)
        return client.get_or_create_collection(COLLECTION, embedding_function=None,
                                               configuration={"hnsw": {"space": "cosine"}})

    def vectorstore(self, embeddings):
        """The LangChain view of the same collection (queries and writes embed through `embeddings`)."""
        from langchain_chroma import Chroma
        self.refresh()
        return Chroma(collection_name=COLLECTION, embedding_function=embeddings,
                      client=_client(self.path, self.generation),
                      collection_configuration={"hnsw": {"space": "cosine"}})

    def bump(self) -> None:
        self.manifest["generation"] = self.generation + 1
        self.manifest["updated_at"] = round(time.time(), 3)
        write_manifest(self.path, self.manifest)
        with _STATE_LOCK:  # our own writes are visible to our own client: keep it
            cached = _CLIENTS.get(str(self.path))
            if cached is not None:
                _CLIENTS[str(self.path)] = (self.generation, cached[1])

    @contextlib.contextmanager
    def writing(self) -> Iterator["RagIndex"]:
        """Exclusive write access across processes (the lock dies with its process)."""
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"index '{display_name(self.path)}' is being written by another job; try again when it ends") from None
            yield self
        finally:
            os.close(fd)

    # ---- reading ----------------------------------------------------------------------------
    def count(self) -> int:
        with _STATE_LOCK:
            return self.collection().count()

    def chunk_sources(self) -> dict[str, str]:
        """chunk id → source, for every chunk."""
        with _STATE_LOCK:
            got = self.collection().get(include=["metadatas"])
        return {i: (m or {}).get("source", "") for i, m in zip(got["ids"], got["metadatas"])}

    def sources(self) -> list[dict]:
        """[{source, title, chunks}] sorted by source."""
        with _STATE_LOCK:
            got = self.collection().get(include=["metadatas"])
        out: dict[str, dict] = {}
        for meta in got["metadatas"]:
            meta = meta or {}
            src = meta.get("source", "")
            entry = out.setdefault(src, {"source": src, "title": meta.get("title", src), "chunks": 0})
            entry["chunks"] += 1
        return [out[k] for k in sorted(out)]

    def all_chunks(self) -> tuple[list[str], list[str], list[dict]]:
        with _STATE_LOCK:
            got = self.collection().get(include=["documents", "metadatas"])
        return got["ids"], got["documents"], [m or {} for m in got["metadatas"]]

    def chunks_of(self, source: str) -> list[dict]:
        with _STATE_LOCK:
            got = self.collection().get(where={"source": source}, include=["documents", "metadatas"])
        rows = [{"chunk_id": i, "text": d, **(m or {})} for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return sorted(rows, key=lambda r: r.get("position", 0))

    # ---- writing (inside `writing()`) ---------------------------------------------------------
    def delete_ids(self, ids: list[str]) -> None:
        if ids:
            with _STATE_LOCK:
                collection = self.collection()
                for start in range(0, len(ids), 5000):
                    collection.delete(ids=ids[start:start + 5000])
            self.bump()

    def delete_source(self, source: str) -> int:
        """Remove a source (a file; for a JSONL file also every row `file.jsonl#…`); returns chunks removed."""
        ids = [i for i, s in self.chunk_sources().items() if s == source or s.startswith(source + "#")]
        if not ids:
            raise UserError(f"index '{display_name(self.path)}' has no source '{source}'")
        self.delete_ids(ids)
        return len(ids)

    def retokenize(self, tokenize, analysis: str, batch: int = 1000) -> int:
        """Rewrite every chunk's BM25 terms under another analysis (vectors untouched: nothing is
        re-embedded), so an index built before an analysis change gets it on its next update."""
        ids, texts, metas = self.all_chunks()
        with _STATE_LOCK:
            collection = self.collection()
            for start in range(0, len(ids), batch):
                part = slice(start, start + batch)
                collection.update(ids=ids[part], metadatas=[{**m, "terms": " ".join(tokenize(t))}
                                                            for t, m in zip(texts[part], metas[part])])
        self.manifest["analysis"] = analysis
        self.bump()
        return len(ids)

    def summary(self) -> dict:
        sources = self.sources()
        return {"name": display_name(self.path), "path": str(self.path), "chunks": sum(s["chunks"] for s in sources),
                "sources": len(sources), "embedder": self.manifest.get("embedding", {}).get("model"),
                "tokenizer": self.manifest.get("tokenizer"), "updated_at": self.manifest.get("updated_at")}


def delete_source(name: str, source: str) -> int:
    index = RagIndex.open(name)
    with index.writing():
        return index.delete_source(source)


def list_indexes() -> list[dict]:
    root = indexes_root()
    out = []
    for manifest in sorted(root.glob(f"*/{MANIFEST}")) if root.exists() else []:
        try:
            out.append(RagIndex(manifest.parent, read_manifest(manifest.parent) or {}).summary())
        except Exception as e:  # noqa: BLE001 - one damaged index must not hide the others
            out.append({"name": manifest.parent.name, "path": str(manifest.parent), "error": str(e)[:200]})
    return out
