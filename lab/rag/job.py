"""The `rag_index` job: read a folder of documents, chunk them, and bring the index up to date.

Chunk ids are `source#position:hash`, so the job only embeds chunks the index does not have yet and
only deletes chunks of re-read files that are gone. Re-indexing unchanged files therefore does
nothing; an edited file has its old chunks replaced; a killed job leaves whole batches behind and the
next run does the rest. A file that cannot be read is skipped with its error in the report, and its
chunks already in the index are kept (a transient read error must not empty an index).

Events: progress (chunks embedded / to embed), logs, and a final metric line with the counts;
artifacts/report.json lists every file with its chunks, what was added and removed, and errors."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..paths import resolve_input
from .chunking import Chunk, split_documents
from .embeddings import describe, get_embeddings, resolve_embedder
from .index import RagIndex, index_path
from .loaders import load_documents
from .spec import ChunkingSpec, EmbeddingSpec, RagIndexSpec
from .tokenizers import DEFAULT_ANALYSIS, get_tokenizer

Emit = Callable[..., None]


def _file_of(source: str) -> str:
    return source.split("#", 1)[0]


@dataclass
class Plan:
    """What a run must do: chunks to embed and ids to delete, per file."""
    chunks: list[Chunk]
    to_add: list[Chunk]
    to_delete: list[str]
    files: dict[str, dict] = field(default_factory=dict)


def plan_update(chunks: list[Chunk], existing: dict[str, str], loaded_files: set[str], all_files: set[str],
                prune: bool) -> Plan:
    """Compare planned chunks with the index (chunk id → source)."""
    planned = {c.id for c in chunks}
    to_add = [c for c in chunks if c.id not in existing]
    to_delete = []
    for chunk_id, source in existing.items():
        file = _file_of(source)
        if file in loaded_files and chunk_id not in planned:
            to_delete.append(chunk_id)      # a re-read file no longer has this chunk
        elif prune and file not in all_files:
            to_delete.append(chunk_id)      # the file left the folder
    files: dict[str, dict] = {}
    for c in chunks:
        entry = files.setdefault(_file_of(c.source), {"file": _file_of(c.source), "status": "unchanged", "chunks": 0,
                                                      "added": 0, "removed": 0})
        entry["chunks"] += 1
    for c in to_add:
        files[_file_of(c.source)]["added"] += 1
    for chunk_id in to_delete:
        file = _file_of(existing[chunk_id])
        entry = files.setdefault(file, {"file": file, "status": "removed", "chunks": 0, "added": 0, "removed": 0})
        entry["removed"] += 1
    for entry in files.values():
        if entry["status"] != "removed" and (entry["added"] or entry["removed"]):
            entry["status"] = "indexed"
    return Plan(chunks, to_add, to_delete, files)


def build_index(docs: str, index_name: str, chunking: ChunkingSpec, embedding: EmbeddingSpec, tokenizer: str = "sudachi",
                prune: bool = False, emit: Emit | None = None, cancelled: Callable[[], bool] = lambda: False) -> dict:
    emit = emit or (lambda *a, **k: None)
    started = time.time()
    root = resolve_input(docs, "docs")
    loaded = load_documents(root)
    if not loaded.files:
        raise UserError(f"docs: no txt, md, html, pdf or jsonl files in {root}")
    for err in loaded.errors:
        emit("log", message=f"skipped {err}")
    chunks = split_documents(loaded.documents, chunking.size, chunking.overlap)
    loaded_files = {_file_of(d.metadata["source"]) for d in loaded.documents}
    failed_files = {e.file for e in loaded.errors if e.line is None}
    emit("log", message=f"{len(loaded.files)} files, {len(loaded.documents)} documents, {len(chunks)} chunks"
                        f"{f', {len(loaded.errors)} errors' if loaded.errors else ''}")

    index = RagIndex.open_or_create(index_name, describe(embedding), tokenizer, chunking.model_dump())
    with index.writing():
        if index.analysis != DEFAULT_ANALYSIS:
            n = index.retokenize(get_tokenizer(tokenizer, DEFAULT_ANALYSIS), DEFAULT_ANALYSIS)
            emit("log", message=f"rewrote the BM25 terms of {n} chunks as {DEFAULT_ANALYSIS} (nothing re-embedded)")
        plan = plan_update(chunks, index.chunk_sources(), loaded_files - failed_files, set(loaded.files), prune)
        if plan.to_delete:
            index.delete_ids(plan.to_delete)
            emit("log", message=f"removed {len(plan.to_delete)} chunks of changed or removed files")
        added = _embed_and_add(index, plan.to_add, embedding, tokenizer, emit, cancelled)
        index.bump()
        total = index.count()

    for err in loaded.errors:
        entry = plan.files.setdefault(err.file, {"file": err.file, "status": "failed", "chunks": 0, "added": 0, "removed": 0})
        entry.setdefault("errors", []).append(err.as_dict())
        if err.line is None:
            entry["status"] = "failed"
    seconds = time.time() - started
    return {
        "docs": str(root), "index": index_name, "index_path": str(index.path),
        "chunks_total": total, "chunks_added": added, "chunks_removed": len(plan.to_delete),
        "chunks_unchanged": len(plan.chunks) - len(plan.to_add), "files": len(loaded.files),
        "files_failed": len(failed_files), "errors": [e.as_dict() for e in loaded.errors],
        "seconds": round(seconds, 3), "files_detail": sorted(plan.files.values(), key=lambda f: f["file"]),
        "cancelled": added < len(plan.to_add),
    }


def _embed_and_add(index: RagIndex, chunks: list[Chunk], embedding: EmbeddingSpec, tokenizer_name: str,
                   emit: Emit, cancelled: Callable[[], bool]) -> int:
    if not chunks:
        emit("progress", step=0, total=0, eta_s=0)
        return 0
    tokenize = get_tokenizer(tokenizer_name, index.analysis)
    store = index.vectorstore(get_embeddings(embedding))
    # Similar lengths in one batch waste the least padding in the embedder.
    ordered = sorted(chunks, key=lambda c: len(c.text))
    total, done, t0 = len(ordered), 0, time.time()
    emit("progress", step=0, total=total, eta_s=None)
    for start in range(0, total, embedding.batch_size):
        if cancelled():
            emit("log", message=f"stopped after {done} of {total} chunks (run again to finish)")
            break
        batch = ordered[start:start + embedding.batch_size]
        metadatas = [{**c.metadata(), "terms": " ".join(tokenize(c.text))} for c in batch]
        store.add_texts([c.text for c in batch], metadatas=metadatas, ids=[c.id for c in batch])
        index.bump()
        done += len(batch)
        rate = done / max(time.time() - t0, 1e-6)
        emit("progress", step=done, total=total, eta_s=round((total - done) / rate, 1))
        emit("metric", step=done, chunks_per_s=round(rate, 2))
    return done


def precheck(spec: RagIndexSpec) -> None:
    """Refuse a bad folder, index name or embedder at once, and pin `docs` to an absolute path."""
    spec.docs = str(resolve_input(spec.docs, "docs"))
    index_path(spec.index)
    resolve_embedder(spec.embedding.model)
    get_tokenizer(spec.tokenizer)


def run(spec: RagIndexSpec, ctx) -> dict:
    precheck(spec)
    report = build_index(spec.docs, spec.index, spec.chunking, spec.embedding, spec.tokenizer, spec.prune,
                         emit=ctx.emit, cancelled=ctx.cancel_requested)
    path = Path(ctx.artifacts) / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    ctx.emit("artifact", name="report", path=str(path))
    ctx.emit("metric", step=report["chunks_added"], chunks_total=report["chunks_total"], chunks_added=report["chunks_added"],
             chunks_removed=report["chunks_removed"], files_failed=report["files_failed"])
    return {k: v for k, v in report.items() if k not in ("files_detail", "errors")} | {"errors": report["errors"][:20]}
