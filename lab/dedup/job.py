"""The `dedup` job: read a corpus, remove what the chosen methods call duplicates or low quality,
and write what stayed, what went and why.

  pass 1  stream the corpus in batches: quality rules, normalisation, a 128-bit digest of every
          document; documents whose digest was seen before are copies and cost nothing more; each
          new text is shingled into a MinHash signature (shingle sets spill to disk); embeddings for
          SemDeDup. Hashing goes to worker processes when the corpus is large; memory holds
          signatures of distinct texts, not texts.
  then    exact groups → LSH candidates → exact-Jaccard verification → union-find clusters →
          SemDeDup on what is left; each removal records its reason and measured value. MinHash
          works on copy groups (lab/dedup/copies.py) and removes exactly what it would remove
          working on every document.
  pass 2  stream the corpus again: kept.jsonl (records unchanged), removed.jsonl (with reason),
          clusters.jsonl, a preview of clusters with their texts, report.json.

Events: "progress" (step = documents done), "metric" docs_per_second while hashing, and the final
counts as metrics."""
from __future__ import annotations

import json
import multiprocessing
from collections import deque
import os
import re
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..paths import check_output_folder, resolve_input
from . import copies, lsh
from .clusters import Cluster, priority
from .exact import digest_bytes, exact_clusters
from .minhash import ShingleStore, engine_name, hash_batch
from .normalize import normalizer
from .quality import DEFAULT_NG_WORDS, RULES, QualityFilter
from .readers import open_corpus
from .shingles import choose_unit
from .spec import DedupSpec, NormalizeSpec, QualitySpec

PARALLEL_FROM = 200_000  # documents; below this, starting worker interpreters costs more than it saves
HISTOGRAM_BINS = 50


# ---- checks before a run folder is made ----------------------------------------------------------
def precheck(spec: DedupSpec) -> None:
    if spec.output_dir:
        check_output_folder(spec.output_dir, "output_dir")
    path = resolve_input(spec.input, "input")
    open_corpus(spec, path).check(limit=1000)
    ng_words(spec.quality)
    if "semantic" in spec.methods:
        from .semantic import model_path
        model_path(spec.semantic.model)


def ng_words(quality: QualitySpec) -> tuple[str, ...]:
    words = list(DEFAULT_NG_WORDS if quality.ng_words is None else quality.ng_words)
    if quality.ng_words_file:
        path = resolve_input(quality.ng_words_file, "quality.ng_words_file")
        try:
            words += [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
        except UnicodeDecodeError as e:
            raise UserError(f"{path.name}: not UTF-8 text (byte {e.start})") from None
    return tuple(dict.fromkeys(words))


def output_dir(spec: DedupSpec, ctx) -> Path:
    # a participant's output folder is in their workspace and not one the lab manages (checked here, in the worker)
    out = check_output_folder(spec.output_dir, "output_dir") if spec.output_dir else Path(ctx.artifacts)
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---- one batch of pass 1 (runs in a worker process when there are several) -----------------------
@dataclass
class BatchJob:
    methods: tuple[str, ...]
    normalize: dict
    quality: dict
    ng_words: tuple[str, ...]
    unit: str
    ngram: int
    num_perm: int
    seed: int
    keep_texts: bool  # SemDeDup embeds in the main process


@dataclass
class BatchResult:
    verdicts: list                      # (local index, rule, value, threshold, lang) of removed documents
    languages: dict
    digests: bytes | None = None        # 16 bytes per document, of its normalised text
    texts: list[str] | None = None      # normalised texts
    seconds: float = 0.0


def prepare_batch(texts: list[str], job: BatchJob) -> BatchResult:
    """Quality rules, normalisation and digests of one batch (in a worker process when quality rules,
    the expensive part, run in several). The main process groups copies by digest and sends only new
    texts on to hashing."""
    start = time.perf_counter()
    verdicts, languages = [], {}
    alive = [True] * len(texts)
    if "quality" in job.methods:
        qf = QualityFilter(QualitySpec(**job.quality), job.ng_words)
        for i, text in enumerate(texts):
            v = qf.check(text)
            languages[v.lang] = languages.get(v.lang, 0) + 1
            if not v.keep:
                alive[i] = False
                verdicts.append((i, v.rule, v.value, v.threshold, v.lang))
    norm = normalizer(NormalizeSpec(**job.normalize))
    normalized = [norm(t) if ok else "" for t, ok in zip(texts, alive)]
    result = BatchResult(verdicts, languages)
    if "exact" in job.methods or "minhash" in job.methods:
        result.digests = b"".join(map(digest_bytes, normalized))
    if "minhash" in job.methods or job.keep_texts:
        result.texts = normalized
    result.seconds = time.perf_counter() - start
    return result


# ---- the job ---------------------------------------------------------------------------------------
@dataclass
class State:
    """What pass 1 learns about every document (arrays indexed by document index)."""
    n: int
    ids: list = field(default_factory=list)
    lengths: np.ndarray | None = None
    removed: dict = field(default_factory=dict)       # index → removal record
    languages: dict = field(default_factory=dict)
    digests: np.ndarray | None = None
    copy_group: np.ndarray | None = None  # per document: its row in signatures (first copy's), −1 when not hashed
    groups: dict = field(default_factory=dict)  # digest → row: the distinct texts seen so far
    signatures: np.ndarray | None = None  # per distinct text
    has_shingles: np.ndarray | None = None
    embeddings: list = field(default_factory=list)    # (indexes, vectors) per batch
    clusters: list[Cluster] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def run(spec: DedupSpec, ctx) -> dict:
    t0 = time.perf_counter()
    path = resolve_input(spec.input, "input")
    corpus = open_corpus(spec, path)
    out = output_dir(spec, ctx)
    n = len(corpus)
    ctx.emit("log", message=f"{corpus.name}: {n} documents ({corpus.format}); methods: {', '.join(spec.methods)}")
    if spec.executor != "lab":
        return _run_datatrove(spec, ctx, corpus, n, out, t0)

    state = State(n=n, lengths=np.zeros(n, dtype=np.int64))
    work = out / ".work"
    store = ShingleStore(work / "shingles")
    try:
        if not _first_pass(spec, ctx, corpus, state, store):
            return {"cancelled": True}
        rank = priority(spec.keep, state.lengths)
        compute = state.timings["pass1_compute_s"]
        if "exact" in spec.methods:
            compute += _exact(spec, state, rank)
        if "minhash" in spec.methods:
            compute += _minhash(spec, ctx, state, store, rank)
        if "semantic" in spec.methods:
            compute += _semantic(spec, ctx, state)
    finally:
        store.remove()
        shutil.rmtree(work, ignore_errors=True)
    state.timings["compute_s"] = compute
    docs_per_second = n / compute if compute > 0 else float(n)
    outputs = _second_pass(spec, ctx, corpus, state, out)
    report = _report(spec, corpus, state, outputs, docs_per_second, time.perf_counter() - t0)
    return _finish(ctx, out, report)


def _first_pass(spec: DedupSpec, ctx, corpus, state: State, store: ShingleStore) -> bool:
    methods = spec.methods
    batch_size = min(spec.batch_size, max(64, state.n // 8))
    workers = spec.workers or (min(2, os.cpu_count() or 1) if state.n >= PARALLEL_FROM else 1)
    if "exact" in methods or "minhash" in methods:
        state.digests = np.zeros((state.n, 2), dtype=np.uint64)
    if "minhash" in methods:
        state.copy_group = np.full(state.n, -1, dtype=np.int64)
        # rows are touched only as distinct texts arrive: a corpus of copies stays small in memory
        state.signatures = np.zeros((state.n, spec.num_perm), dtype=np.uint32)
        state.has_shingles = np.zeros(state.n, dtype=bool)
    embedder = None
    read_s = 0.0
    t_pass = time.perf_counter()
    # spawn, not fork: a forked child would inherit native thread pools (rensa) without their threads
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
    # quality rules and normalisation cost more than sending the texts to a worker; a bare digest does not
    prepare_in_pool = pool is not None and ("quality" in methods or any(spec.normalize.model_dump().values()))
    try:
        batches = corpus.batches(batch_size)
        prepared: deque = deque()   # (first doc, size, result or its future)
        hashing: deque = deque()    # (first row, rows, spill file, result or its future)
        done = 0
        job = None
        batch_no = 0
        while True:
            t_read = time.perf_counter()
            batch = next(batches, None)
            read_s += time.perf_counter() - t_read
            if batch is not None:
                if job is None:
                    unit = spec.shingle if spec.shingle != "auto" else choose_unit([d.text for d in batch])
                    state.info["shingle"] = unit
                    job = BatchJob(methods, spec.normalize.model_dump(), spec.quality.model_dump(), ng_words(spec.quality),
                                   unit, spec.ngram, spec.num_perm, spec.seed, "semantic" in methods)
                for d in batch:
                    state.ids.append(d.id)
                    state.lengths[d.index] = len(d.text)
                args = ([d.text for d in batch], job)
                prepared.append((batch[0].index, len(batch),
                                 pool.apply_async(prepare_batch, args) if prepare_in_pool else prepare_batch(*args)))
            # keep a few batches in flight; collect in order
            while prepared and (batch is None or len(prepared) > 2 * workers or not prepare_in_pool):
                first, size, result = prepared.popleft()
                result = result.get() if prepare_in_pool else result
                new_rows, new_texts = _collect(state, first, size, result)
                if new_texts:
                    spill = str(store.path_for(batch_no))
                    batch_no += 1
                    args = (new_texts, job.ngram, job.unit, job.num_perm, job.seed, spill)
                    hashing.append((new_rows, len(new_texts), spill,
                                    pool.apply_async(hash_batch, args) if pool else hash_batch(*args)))
                if job.keep_texts:
                    if embedder is None:
                        t_load = time.perf_counter()
                        embedder = _embedder(spec)
                        state.timings["model_load_s"] = time.perf_counter() - t_load
                    t_emb = time.perf_counter()
                    keep = [i for i in range(size) if first + i not in state.removed]
                    if keep:
                        vectors = embedder([result.texts[i] for i in keep])
                        state.embeddings.append((np.array(keep) + first, vectors))
                    state.timings["embed_s"] = state.timings.get("embed_s", 0.0) + time.perf_counter() - t_emb
                done += size
                elapsed = time.perf_counter() - t_pass - read_s
                rate = done / elapsed if elapsed > 0 else 0.0
                ctx.emit("progress", step=done, total=state.n, eta_s=round((state.n - done) / rate, 1) if rate else None)
                ctx.emit("metric", step=done, docs_per_second=round(rate, 1))
            while hashing and (batch is None or len(hashing) > 2 * workers or pool is None):
                first_row, rows, spill, result = hashing.popleft()
                signatures, offsets = result.get() if pool else result
                state.signatures[first_row:first_row + rows] = signatures
                state.has_shingles[first_row:first_row + rows] = np.diff(offsets) > 0
                store.add(first_row, Path(spill), offsets)
            if ctx.cancel_requested():
                return False
            if batch is None and not prepared and not hashing:
                break
    finally:
        if pool:
            pool.close()
            pool.join()
    state.timings["read_s"] = read_s
    # embedding time is counted with SemDeDup, and loading the model is a fixed cost, not throughput
    state.timings["pass1_compute_s"] = (time.perf_counter() - t_pass - read_s - state.timings.get("embed_s", 0.0)
                                        - state.timings.get("model_load_s", 0.0))
    state.info["workers"] = workers
    state.info["batch_size"] = batch_size
    if "minhash" in methods:
        state.info["distinct_texts"] = len(state.groups)
    return True


def _collect(state: State, first: int, size: int, result: BatchResult) -> tuple[int, list[str]]:
    """Record a prepared batch; return the first new signature row and the texts not seen before."""
    for i, rule, value, threshold, lang in result.verdicts:
        state.removed[first + i] = {"reason": rule, "method": "quality", "rule": rule, "value": round(value, 4),
                                    "threshold": threshold, "lang": lang}
    for lang, count in result.languages.items():
        state.languages[lang] = state.languages.get(lang, 0) + count
    if result.digests is not None:
        state.digests[first:first + size] = np.frombuffer(result.digests, dtype="<u8").reshape(size, 2)
    new_texts: list[str] = []
    first_row = len(state.groups)
    if state.copy_group is not None:
        groups, rows = state.groups, state.copy_group
        quality_removed = {i for i, *_ in result.verdicts}
        raw = result.digests
        for i in range(size):
            if i in quality_removed:
                continue
            key = raw[16 * i:16 * i + 16]
            row = groups.get(key)
            if row is None:
                row = groups[key] = len(groups)
                new_texts.append(result.texts[i])
            rows[first + i] = row
    return first_row, new_texts


def _embedder(spec: DedupSpec):
    from .semantic import embed, load_model
    model = load_model(spec.semantic.model, spec.semantic.max_seq_length)
    return lambda texts: embed(model, texts, spec.semantic.batch_size)


def _alive(state: State) -> np.ndarray:
    alive = np.ones(state.n, dtype=bool)
    if state.removed:
        alive[list(state.removed)] = False
    return alive


def _mark(state: State, clusters: list[Cluster]) -> None:
    """Record each cluster's removals (the cluster id is its position in clusters.jsonl)."""
    for cluster in clusters:
        cid = len(state.clusters)
        state.clusters.append(cluster)
        for doc, (other, sim) in cluster.removed.items():
            state.removed[doc] = {"reason": cluster.method, "method": cluster.method, "cluster_id": cid,
                                  "duplicate_of": other, "similarity": round(sim, 4)}


def _exact(spec: DedupSpec, state: State, rank: np.ndarray) -> float:
    t = time.perf_counter()
    clusters = exact_clusters(state.digests, _alive(state), rank, spec.keep)
    _mark(state, clusters)
    state.info["exact"] = {"clusters": len(clusters), "removed": sum(len(c.removed) for c in clusters)}
    return time.perf_counter() - t


def _minhash(spec: DedupSpec, ctx, state: State, store: ShingleStore, rank: np.ndarray) -> float:
    params = lsh.resolve(spec)
    t = time.perf_counter()
    alive = _alive(state) & (state.copy_group >= 0)
    alive[alive] = state.has_shingles[state.copy_group[alive]]
    docs = np.flatnonzero(alive)
    groups = copies.Groups.build(docs, state.copy_group[docs], state.n)
    keys = lsh.band_keys(state.signatures, params["bands"], params["rows"], index=groups.store_id)
    cand = copies.candidates(keys, groups)
    del keys
    t_lsh = time.perf_counter() - t
    t = time.perf_counter()
    verified = copies.verify(cand, groups, store.verify, spec.threshold, HISTOGRAM_BINS)
    t_verify = time.perf_counter() - t
    ctx.emit("log", message=f"LSH ({params['bands']} bands × {params['rows']} rows): {verified.candidate_pairs} "
                            f"candidate pairs among {len(docs)} documents, {len(groups)} distinct texts; "
                            f"{verified.group_pairs_checked} Jaccard computations")
    t = time.perf_counter()
    clusters = copies.star_clusters(verified, groups, rank, "minhash", spec.keep)
    _mark(state, clusters)
    t_cluster = time.perf_counter() - t
    rejected = verified.candidate_pairs - verified.verified_pairs
    ctx.emit("log", message=f"verified {verified.verified_pairs} of {verified.candidate_pairs} pairs at Jaccard ≥ "
                            f"{spec.threshold}; {len(clusters)} clusters")
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    state.timings.update(lsh_s=t_lsh, verify_s=t_verify, cluster_s=t_cluster)
    state.info["parameters"] = params
    state.info["minhash"] = {
        "candidate_pairs": verified.candidate_pairs, "verified_pairs": verified.verified_pairs,
        "rejected_pairs": rejected, "clusters": len(clusters), "removed": sum(len(c.removed) for c in clusters),
        "docs_without_shingles": int(np.count_nonzero(_alive(state) & ~alive)),
        "distinct_texts": len(groups), "jaccard_computations": verified.group_pairs_checked,
        "similarity_histogram": {"edges": [round(e, 4) for e in edges.tolist()], "counts": verified.histogram.tolist()},
    }
    return t_lsh + t_verify + t_cluster


def _semantic(spec: DedupSpec, ctx, state: State) -> float:
    from .semantic import semdedup
    t = time.perf_counter()
    alive = _alive(state)
    if state.embeddings:
        index = np.concatenate([i for i, _ in state.embeddings])
        vectors = np.concatenate([v for _, v in state.embeddings])
        keep = alive[index]
        index, vectors = index[keep], vectors[keep]
    else:
        index, vectors = np.empty(0, dtype=np.int64), np.empty((0, 1), dtype=np.float32)
    clusters, info = semdedup(vectors, index, spec.semantic.eps, spec.semantic.clusters, spec.semantic.keep, spec.seed)
    _mark(state, clusters)
    state.info["semantic"] = {"model": spec.semantic.model, "eps": spec.semantic.eps, "keep": spec.semantic.keep,
                              "clusters": len(clusters), "removed": sum(len(c.removed) for c in clusters), **info}
    ctx.emit("log", message=f"SemDeDup: {len(clusters)} groups, {state.info['semantic']['removed']} removed")
    state.timings["semantic_s"] = time.perf_counter() - t + state.timings.get("embed_s", 0.0)
    return state.timings["semantic_s"]


# ---- pass 2: the files -------------------------------------------------------------------------------
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+|[^\w\s]")


def approx_tokens(text: str) -> int:
    """A tokenizer-free size: one per kana/kanji, one per run of letters or digits, one per symbol."""
    return _TOKEN.subn("", text)[1]


_BMP_CLASSES: np.ndarray | None = None


def _char_classes(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(letter or digit, space or "_") of each code point: a table for the first 65,536, str methods beyond."""
    global _BMP_CLASSES
    if _BMP_CLASSES is None:
        _BMP_CLASSES = np.array([1 * chr(c).isalnum() + 2 * (chr(c).isspace() or c == 0x5F) for c in range(0x10000)],
                                dtype=np.uint8)
    classes = _BMP_CLASSES[np.minimum(cp, 0xFFFF)]
    beyond = np.flatnonzero(cp > 0xFFFF)
    if beyond.size:
        chars, inverse = np.unique(cp[beyond], return_inverse=True)
        classes[beyond] = np.array([1 * chr(c).isalnum() + 2 * chr(c).isspace() for c in chars.tolist()], dtype=np.uint8)[inverse]
    return (classes & 1).astype(bool), (classes & 2).astype(bool)


def approx_token_counts(texts: list[str]) -> np.ndarray:
    """`approx_tokens` of each text, for a batch at once (the regex costs ~100 µs per page).

    The regex, read left to right: a kana/kanji is a token of its own unless a run of letters or
    digits that began with something else is under way (the run swallows it); a letter or digit
    starts such a run unless it is a kana/kanji; anything else but spaces and "_" is a token."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cp = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if not cp.size:
        return np.zeros(len(texts), dtype=np.int64)
    alnum, space_or_underscore = _char_classes(cp)
    kanji = ((cp >= 0x3040) & (cp <= 0x30FF)) | ((cp >= 0x3400) & (cp <= 0x9FFF)) | ((cp >= 0xF900) & (cp <= 0xFAFF))
    index = np.arange(cp.size, dtype=np.int32 if cp.size < 2**31 else np.int64)
    doc_start = np.zeros(cp.size, dtype=bool)
    doc_start[np.cumsum(lengths)[:-1][lengths[1:] > 0]] = True
    doc_start[0] = True
    prev_alnum = np.empty_like(alnum)
    prev_alnum[0], prev_alnum[1:] = False, alnum[:-1]
    prev_alnum &= ~doc_start
    run_start = np.maximum.accumulate(np.where(alnum & ~prev_alnum, index, -1))
    last_plain = np.maximum.accumulate(np.where(alnum & ~kanji, index, -1))
    in_run = alnum & (last_plain >= run_start)
    swallowed = np.empty_like(in_run)
    swallowed[0], swallowed[1:] = False, in_run[:-1]
    swallowed &= alnum & ~doc_start
    token = ~swallowed & ~space_or_underscore
    ends = np.cumsum(lengths)
    # tokens so far at each document's last character, minus those at the previous one's
    totals = np.cumsum(token, dtype=np.int64)
    at_end = np.where(ends > 0, totals[np.maximum(ends - 1, 0)], 0)
    return np.diff(np.concatenate(([0], at_end)))


def _second_pass(spec: DedupSpec, ctx, corpus, state: State, out: Path) -> dict:
    t = time.perf_counter()
    preview_ids = _preview_selection(state.clusters, spec.preview_clusters)
    preview_members = {d for c in preview_ids for d in state.clusters[c].members}
    texts: dict[int, str] = {}
    sizes = {"chars_in": 0, "chars_removed": 0, "approx_tokens_removed": 0}
    # each distinct removed text is measured once, in batches; copies add its count again
    copies_of: dict[tuple[int, int], int] = {}   # (hash, length) of a removed text → how many times
    tokens_of: dict[tuple[int, int], int] = {}
    waiting: dict[tuple[int, int], str] = {}

    def measure() -> None:
        tokens_of.update(zip(waiting, approx_token_counts(list(waiting.values())).tolist()))
        waiting.clear()

    kept_path, removed_path = out / "kept.jsonl", out / "removed.jsonl"
    text_copy = None if spec.text_field == "text" else open(out / "kept_text.jsonl", "w", encoding="utf-8")
    with open(kept_path, "w", encoding="utf-8") as kept, open(removed_path, "w", encoding="utf-8") as removed:
        for doc in corpus.docs(check_ids=False):
            sizes["chars_in"] += len(doc.text)
            if doc.index in preview_members:
                texts[doc.index] = doc.text
            record = state.removed.get(doc.index)
            if record is None:
                kept.write(json.dumps(doc.record, ensure_ascii=False, default=str) + "\n")
                if text_copy:
                    text_copy.write(json.dumps({"id": doc.id, "text": doc.text}, ensure_ascii=False) + "\n")
                continue
            sizes["chars_removed"] += len(doc.text)
            key = (hash(doc.text), len(doc.text))
            if key not in copies_of:
                waiting[key] = doc.text
                if len(waiting) >= 1024:
                    measure()
            copies_of[key] = copies_of.get(key, 0) + 1
            line = {"id": doc.id, **record, "text": doc.text}
            if "duplicate_of" in line:
                line["duplicate_of"] = state.ids[line["duplicate_of"]]
            removed.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    measure()
    sizes["approx_tokens_removed"] = sum(tokens_of[key] * count for key, count in copies_of.items())
    if text_copy:
        text_copy.close()
    with open(out / "clusters.jsonl", "w", encoding="utf-8") as f:
        for cid, c in enumerate(state.clusters):
            f.write(json.dumps(_cluster_line(cid, c, state.ids), ensure_ascii=False, default=str) + "\n")
    with open(out / "clusters_preview.jsonl", "w", encoding="utf-8") as f:
        for cid in preview_ids:
            c = state.clusters[cid]
            line = _cluster_line(cid, c, state.ids)
            line["texts"] = [{"id": state.ids[d], "text": texts.get(d, ""), "kept": d == c.kept,
                              "length": int(state.lengths[d])} for d in c.members]
            f.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    state.timings["write_s"] = time.perf_counter() - t
    state.info["sizes"] = sizes
    outputs = {"kept": kept_path, "removed": removed_path, "clusters": out / "clusters.jsonl",
               "clusters_preview": out / "clusters_preview.jsonl"}
    if text_copy:
        outputs["kept_text"] = out / "kept_text.jsonl"
    if "minhash" in spec.methods:
        outputs.update(_slurm_export(spec, state, corpus, out))
    return {k: str(v) for k, v in outputs.items()}


def _preview_selection(clusters: list[Cluster], limit: int) -> list[int]:
    """Up to `limit` clusters, shared fairly between methods, biggest first within a method."""
    by_method: dict[str, list[int]] = {}
    for cid, c in enumerate(clusters):
        by_method.setdefault(c.method, []).append(cid)
    for ids in by_method.values():
        ids.sort(key=lambda cid: (-len(clusters[cid].members), cid))
    chosen: list[int] = []
    while len(chosen) < limit and any(by_method.values()):
        for ids in by_method.values():
            if ids and len(chosen) < limit:
                chosen.append(ids.pop(0))
    return sorted(chosen)


def _cluster_line(cid: int, c: Cluster, ids: list) -> dict:
    return {"cluster_id": cid, "method": c.method, "members": [ids[d] for d in c.members], "kept": ids[c.kept],
            "pairs": [[ids[a], ids[b], round(s, 4)] for a, b, s in c.pairs], "keep_reason": c.keep_reason,
            "removed": {str(ids[d]): {"duplicate_of": ids[o], "similarity": round(s, 4)} for d, (o, s) in c.removed.items()}}


def _slurm_export(spec: DedupSpec, state: State, corpus, out: Path) -> dict:
    """The same MinHash job as a datatrove pipeline for Slurm (a script to download, not run here)."""
    from .datatrove_pipeline import slurm_script
    params = state.info.get("parameters") or lsh.resolve(spec)
    path = out / "dedup_slurm.py"
    path.write_text(slurm_script(spec, state.info.get("shingle", "char"), params["bands"], params["rows"],
                                 str(corpus.path)), encoding="utf-8")
    return {"slurm_script": path}


# ---- report --------------------------------------------------------------------------------------------
def _report(spec: DedupSpec, corpus, state: State, outputs: dict, docs_per_second: float, total_s: float) -> dict:
    by_reason: dict[str, int] = {}
    by_method = {m: 0 for m in spec.methods}
    for record in state.removed.values():
        by_reason[record["reason"]] = by_reason.get(record["reason"], 0) + 1
        by_method[record["method"]] = by_method.get(record["method"], 0) + 1
    removed = len(state.removed)
    params = {"ngram": spec.ngram, "threshold": spec.threshold, "num_perm": spec.num_perm,
              "shingle": state.info.get("shingle"), "keep": spec.keep, "seed": spec.seed,
              "fp_weight": spec.fp_weight, "fn_weight": spec.fn_weight, "normalize": spec.normalize.model_dump(),
              "engine": engine_name(), "workers": state.info.get("workers"), "batch_size": state.info.get("batch_size")}
    if "minhash" in spec.methods:
        params.update(state.info.get("parameters") or lsh.resolve(spec))
    report = {
        "input": str(corpus.path), "format": corpus.format, "text_field": spec.text_field, "id_field": spec.id_field,
        "sample_size": spec.sample_size, "methods": list(spec.methods), "executor": "lab",
        "docs_in": state.n, "docs_kept": state.n - removed, "docs_removed": removed,
        **state.info.get("sizes", {}),
        "removed_by_method": by_method, "removed_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "docs_per_second": round(docs_per_second, 1),
        "docs_per_second_covers": "normalisation, quality rules, shingling, MinHash, LSH, verification, clustering, "
                                  "embedding (reading and writing files and loading the model excluded)",
        "timings": {k: round(v, 4) for k, v in state.timings.items()} | {"total_s": round(total_s, 3)},
        "parameters": params,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outputs": outputs,
    }
    for method in ("exact", "minhash", "semantic"):
        if method in state.info:
            report[method] = state.info[method]
    if "quality" in spec.methods:
        report["quality"] = _quality_report(spec, state)
    return report


def _quality_report(spec: DedupSpec, state: State) -> dict:
    counts = {name: 0 for name in RULES}
    for record in state.removed.values():
        if record["method"] == "quality":
            counts[record["rule"]] += 1
    langs = ("ja", "en") if spec.quality.language == "auto" else (spec.quality.language,)
    rules = [{"name": r.name, "lang": r.lang, "bound": r.bound, "threshold": spec.quality.thresholds.get(r.name, r.threshold),
              "label_en": r.label[0], "label_ja": r.label[1], "enabled": r.name not in spec.quality.disable,
              "removed": counts[r.name]} for r in RULES.values() if r.lang in langs]
    return {"language": spec.quality.language, "languages": state.languages, "rules": rules,
            "ng_words": list(ng_words(spec.quality))}


def _finish(ctx, out: Path, report: dict) -> dict:
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    for name, path in {**report["outputs"], "report": str(out / "report.json")}.items():
        ctx.emit("artifact", name=name, path=str(path))
    final = {"docs_in": report["docs_in"], "docs_kept": report["docs_kept"], "docs_removed": report["docs_removed"],
             "docs_per_second": report["docs_per_second"]}
    ctx.emit("metric", step=report["docs_in"], **final)
    ctx.emit("log", message=f"kept {report['docs_kept']} of {report['docs_in']} documents → {out}")
    return {**final, "output_dir": str(out)}


# ---- the datatrove executor --------------------------------------------------------------------------
def _run_datatrove(spec: DedupSpec, ctx, corpus, n: int, out: Path, t0: float) -> dict:
    from .datatrove_pipeline import run_pipeline, stage_corpus
    from .shingles import jaccard
    params = lsh.resolve(spec)
    work = out / ".datatrove"
    shutil.rmtree(work, ignore_errors=True)
    t = time.perf_counter()
    sample = [d.text for d, _ in zip(corpus.docs(), range(64))]
    unit = spec.shingle if spec.shingle != "auto" else choose_unit(sample)
    staged_n = stage_corpus(corpus.docs(), work / "input" / "corpus.jsonl")
    read_s = time.perf_counter() - t
    state = State(n=n, lengths=np.zeros(n, dtype=np.int64))
    state.info.update(shingle=unit, parameters=params, workers=spec.datatrove.workers)
    names = ["signatures", "buckets", "clusters", "filter"]

    def on_stage(i, _):
        ctx.emit("log", message=f"datatrove stage {i + 1}/4: {names[i]}")
        ctx.emit("progress", step=i * n // 4, total=n, eta_s=None)

    t = time.perf_counter()
    found = run_pipeline(spec, unit, params["bands"], params["rows"], work / "input" / "corpus.jsonl", work, on_stage,
                         ctx.cancel_requested)
    if found is None:
        return {"cancelled": True}
    cluster_of, removed_docs = found
    compute = time.perf_counter() - t
    ctx.emit("progress", step=n, total=n, eta_s=0)
    texts: dict[int, str] = {}
    norm = normalizer(spec.normalize)
    for doc in corpus.docs():
        state.ids.append(doc.id)
        state.lengths[doc.index] = len(doc.text)
        if doc.index in cluster_of:
            texts[doc.index] = norm(doc.text)
    groups: dict[int, list[int]] = {}
    for doc, cid in cluster_of.items():
        groups.setdefault(cid, []).append(doc)
    below = 0
    clusters = []
    for cid in sorted(groups, key=lambda c: min(groups[c])):
        members = sorted(groups[cid])
        kept = [d for d in members if d not in removed_docs]
        kept = kept[0] if kept else members[0]
        sims = {d: jaccard(texts[kept], texts[d], spec.ngram, unit) for d in members if d != kept}
        below += sum(1 for s in sims.values() if s < spec.threshold)
        clusters.append(Cluster(kept, [kept] + [d for d in members if d != kept],
                                [(min(kept, d), max(kept, d), s) for d, s in sims.items()], "minhash",
                                "the root of datatrove's union-find", {d: (kept, s) for d, s in sims.items()}))
    _mark(state, clusters)
    state.timings.update(read_s=read_s, compute_s=compute, datatrove_s=compute)
    state.info["minhash"] = {"clusters": len(clusters), "removed": len(removed_docs), "staged_docs": staged_n,
                             "unverified_pairs_below_threshold": below}
    outputs = _second_pass(spec, ctx, corpus, state, out)
    outputs["datatrove_work"] = str(work)
    report = _report(spec, corpus, state, outputs, n / compute if compute > 0 else float(n), time.perf_counter() - t0)
    report["executor"] = spec.executor
    return _finish(ctx, out, report)
