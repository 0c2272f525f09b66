"""Hybrid query latency against plain LangChain + Chroma dense retrieval at ~10,000 chunks, measured
directly (issue 15, point 4: hybrid p50 ≤ 1.5× plain dense).

    OMP_NUM_THREADS=1 python bench/rag_latency.py [--chunks 10000] [--queries 150] [--rounds 2]

The corpus (written once under bench/out/rag_latency/mixed_<N>/, fixed seeds, nothing tuned to it):
- `bundled/`: lab/samples/rag_docs as shipped (67 chunks);
- `recombined/`: 6% of the chunks, ~1,000-character files of Japanese sentences drawn with a fixed
  seed from the bundled corpora (lab/samples/pretrain_corpus.jsonl and rag_docs), as bench/rag.py
  writes them (250-character chunks);
- `generated/sNN/{towns,orgs,facilities}/`: the rest, bench/rag_sets.py's three generators at seeds
  1, 2, … (one short document per chunk: many look-alike places, organisations and facilities
  sharing templates, so common terms such as 代表取締役 or 休館日 occur in thousands of chunks).
The mix leans on short documents because embedding is the cost: the bundled e5 managed ~0.5
passages of 250 characters per second per process on the shared 2-core machine.

The lab side is the lab's own `rag_index` job (build_index: chunking, Sudachi terms, the bundled e5,
a real Chroma directory) into bench/out/rag_workspace/rag/latency-mixed-<N>/. Each chunk is embedded
once; that index is the cache: a re-run embeds nothing (build_index only embeds chunks it does not
hold, and a killed build keeps its finished batches). To halve the one-off wait, `--embed-worker 1`
beside `--build-only` embeds the longest chunks into bench/out/rag_latency/vectors_<N>/ (same
engine, same "passage: " input); a rerun of `--build-only` takes those vectors instead of embedding
the texts again. The plain side is a LangChain `Chroma` store
(langchain_chroma, cosine HNSW like the lab's) in bench/out/rag_latency/plain_<N>/, filled with the
SAME chunks and the SAME vectors read back from the lab index (Chroma.add_texts through an
Embeddings object that hands over the stored vectors), then queried through a separate, ordinary
instance of the same e5 embedder.

Timed per query, both including the query embedding:
- plain:  Chroma.similarity_search(question, k=5)
- hybrid: lab.rag.retrieve.retrieve(index, question, RetrievalSpec(k=5)): the default hybrid (dense +
  BM25 over every chunk, zscore fusion), the path the RAG chat takes (lab/rag/chain.py ask()).
- for reference, the lab's dense retrieve() (mode dense), which tells the lab's own plumbing from
  what BM25 and the fusion add; also a check that plain and lab dense return the same top 5.
Questions: bench/rag_sets.py's questions for the generated documents in the corpus plus the bundled
rag_qa.jsonl, a fixed-seed sample. Interleaved: for every question plain then hybrid, the order
alternating from one question (and round) to the next, so load from other processes hits both
sides alike. Printed: p50/p90 of each side, p50 ratio, median of per-question ratios, load
average, chunk count. The last stdout line is the JSON of every figure."""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out" / "rag_latency"
WORKSPACE = REPO / "bench" / "out" / "rag_workspace"
CHUNKS_PER_SEED = 200  # towns 60 + orgs 80 + facilities 60, one chunk each
# Long recombined passages are ~3x as costly to embed as the short generated documents (the bundled
# e5 runs at ~0.5 passages/s per process of 250 characters on this shared 2-core machine), so
# they are a small share; a re-run of a finished corpus embeds nothing either way.
RECOMBINED_SHARE = 0.06


def count_chunks(folder: Path) -> int:
    return len(corpus_chunks(folder))


def write_corpus(n_chunks: int) -> tuple[Path, list[str]]:
    """The corpus folder (written once) and its questions."""
    from bench.rag import write_docs
    from bench.rag_sets import GENERATED
    from lab.paths import SAMPLES_DIR
    folder = OUT / f"mixed_{n_chunks}"
    done = folder / "corpus.json"
    if not done.exists():
        shutil.copytree(SAMPLES_DIR / "rag_docs", folder / "bundled", dirs_exist_ok=True)
        if (folder / "recombined").exists():
            shutil.rmtree(folder / "recombined")
        write_docs(folder / "recombined", max(4, round(n_chunks * RECOMBINED_SHARE)), seed=0)
        have = count_chunks(folder)
        seeds = max(1, -(-(n_chunks - have) // CHUNKS_PER_SEED))
    else:
        seeds = json.loads(done.read_text(encoding="utf-8"))["generated_seeds"]
    questions = [json.loads(line)["question"] for line in
                 (SAMPLES_DIR / "rag_qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    for seed in range(1, seeds + 1):
        for name, make in GENERATED.items():
            docs, qa = make(seed)
            questions += [q["question"] for q in qa]
            if not done.exists():
                sub = folder / "generated" / f"s{seed:02d}" / name
                sub.mkdir(parents=True, exist_ok=True)
                for source, text in docs.items():
                    (sub / source).write_text(text, encoding="utf-8")
    if not done.exists():
        done.write_text(json.dumps({"generated_seeds": seeds, "chunks": count_chunks(folder)}), encoding="utf-8")
    return folder, questions


def corpus_chunks(folder: Path) -> list:
    from lab.rag.chunking import split_documents
    from lab.rag.loaders import load_documents
    from lab.rag.spec import ChunkingSpec
    spec = ChunkingSpec()
    return split_documents(load_documents(folder).documents, spec.size, spec.overlap)


def vector_cache(n_chunks: int) -> dict[str, list[float]]:
    """Passage vectors computed by `--embed-worker` processes: chunk text → vector."""
    import numpy as np
    out: dict[str, list[float]] = {}
    for part in sorted((OUT / f"vectors_{n_chunks}").glob("part-*.npz")):
        data = np.load(part, allow_pickle=False)
        out |= dict(zip(data["texts"].tolist(), data["vectors"].tolist()))
    return out


def embed_worker(folder: Path, n_chunks: int, worker: int, skip: int = 0, batch: int = 64) -> None:
    """Embed the corpus's chunks, longest first, into the vector cache. On a shared 2-core machine a
    second single-threaded process next to the build halves the wall time of the one-off embedding;
    the build then takes these vectors instead of embedding the same texts again (same engine,
    same "passage: " input)."""
    import numpy as np

    from lab.rag.embeddings import BundledE5Embeddings, e5_model_path
    cache_dir = OUT / f"vectors_{n_chunks}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    have = vector_cache(n_chunks)
    texts = sorted({c.text for c in corpus_chunks(folder)} - set(have), key=len, reverse=True)[skip:]
    engine = BundledE5Embeddings(str(e5_model_path()))
    for n, start in enumerate(range(0, len(texts), batch)):
        part = texts[start:start + batch]
        vectors = np.asarray(engine.embed_documents(part), dtype=np.float32)
        tmp = cache_dir / f".w{worker}-{n:05d}.npz"
        np.savez(tmp, texts=np.asarray(part), vectors=vectors)
        tmp.rename(cache_dir / f"part-w{worker}-{n:05d}.npz")
        print(f"  worker {worker}: {start + len(part)}/{len(texts)} longest chunks embedded", file=sys.stderr, flush=True)


class CachedPassages:
    """The lab's e5 embedder, taking passage vectors from the cache when it has them."""

    def __init__(self, engine, cache: dict[str, list[float]]):
        self.engine, self.cache = engine, cache

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.cache]
        self.cache |= dict(zip(missing, self.engine.embed_documents(missing)))
        return [self.cache[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.engine.embed_query(text)


def lab_index(folder: Path, n_chunks: int):
    from lab.rag.index import RagIndex
    from lab.rag.job import build_index
    from lab.rag.spec import ChunkingSpec, EmbeddingSpec
    name = f"latency-mixed-{n_chunks}"
    t = time.perf_counter()

    def emit(kind, **kw):
        if kind == "progress" and kw.get("step") and kw["step"] % 640 == 0:
            print(f"  embedded {kw['step']}/{kw['total']} (eta {kw.get('eta_s')} s, load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr, flush=True)
        elif kind == "log":
            print(f"  {kw.get('message')}", file=sys.stderr, flush=True)

    from lab.rag import embeddings as lab_embeddings
    cache = vector_cache(n_chunks)
    if cache:  # the lab's job, with passages embedded by --embed-worker taken from the cache
        engine = lab_embeddings.get_embeddings(EmbeddingSpec())
        key = next(k for k, v in lab_embeddings._CACHE.items() if v is engine)
        lab_embeddings._CACHE[key] = CachedPassages(engine, cache)
        print(f"  {len(cache)} passage vectors in the cache {OUT / f'vectors_{n_chunks}'}", file=sys.stderr, flush=True)
    try:
        report = build_index(str(folder), name, ChunkingSpec(), EmbeddingSpec(), emit=emit, prune=True)
    finally:
        if cache:
            lab_embeddings._CACHE[key] = engine
    return RagIndex.open(name), report["chunks_added"], round(time.perf_counter() - t, 1)


class StoredVectors:
    """An Embeddings stand-in that hands Chroma.from_texts the vectors the lab already computed."""

    def __init__(self, by_text: dict[str, list[float]]):
        self.by_text = by_text

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.by_text[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("the plain store is queried through the real embedder")


def plain_store(index, n_chunks: int):
    """LangChain's Chroma over the same chunks and vectors, reopened with a real e5 embedder for queries."""
    from langchain_chroma import Chroma

    from lab.rag.embeddings import BundledE5Embeddings, e5_model_path
    got = index.collection().get(include=["embeddings", "documents", "metadatas"])
    path = OUT / f"plain_{n_chunks}"
    meta = {"hnsw:space": "cosine"}
    store = Chroma(collection_name="plain", persist_directory=str(path), collection_metadata=meta,
                   embedding_function=BundledE5Embeddings(str(e5_model_path())))
    if store._collection.count() != len(got["ids"]):
        store.delete_collection()
        by_text = dict(zip(got["documents"], (list(map(float, v)) for v in got["embeddings"])))
        filler = Chroma(collection_name="plain", persist_directory=str(path), collection_metadata=meta,
                        embedding_function=StoredVectors(by_text))
        for start in range(0, len(got["ids"]), 2000):
            filler.add_texts(got["documents"][start:start + 2000], ids=got["ids"][start:start + 2000],
                             metadatas=[{"source": m.get("source", "")} for m in got["metadatas"][start:start + 2000]])
        store = Chroma(collection_name="plain", persist_directory=str(path), collection_metadata=meta,
                       embedding_function=store.embeddings)
    return store


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(samples: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(samples) * 1000, 2), "p90_ms": round(pct(samples, 0.9) * 1000, 2),
            "n": len(samples)}


def timed(index, plain, questions: list[str], rounds: int) -> dict:
    from lab.rag.retrieve import retrieve
    from lab.rag.spec import RetrievalSpec
    spec = RetrievalSpec(k=5)
    dense = RetrievalSpec(mode="dense", k=5)
    sides = {"plain": lambda q: plain.similarity_search(q, k=5), "hybrid": lambda q: retrieve(index, q, spec),
             "lab_dense": lambda q: retrieve(index, q, dense)}
    for q in questions[:5]:  # warm: e5 engines, the BM25 matrix, Chroma's HNSW segment
        for fn in sides.values():
            fn(q)
    samples: dict[str, list[float]] = {k: [] for k in sides}
    loads = [os.getloadavg()[0]]
    n = 0
    for r in range(rounds):
        for q in questions:
            order = ("plain", "hybrid") if (n + r) % 2 == 0 else ("hybrid", "plain")
            order = order + ("lab_dense",) if n % 4 < 2 else ("lab_dense",) + order
            for side in order:
                t = time.perf_counter()
                sides[side](q)
                samples[side].append(time.perf_counter() - t)
            n += 1
            if n % 50 == 0:
                loads.append(os.getloadavg()[0])
    loads.append(os.getloadavg()[0])
    out = {side: summary(v) for side, v in samples.items()}
    out["p50_ratio"] = round(out["hybrid"]["p50_ms"] / out["plain"]["p50_ms"], 3)
    out["median_per_question_ratio"] = round(statistics.median(h / p for h, p in zip(samples["hybrid"], samples["plain"])), 3)
    same = sum([d.metadata["source"] for d in plain.similarity_search(q, k=5)] ==
               [h.source for h in retrieve(index, q, dense)] for q in questions)
    out["plain_top5_equals_lab_dense"] = f"{same}/{len(questions)}"
    out["load_avg_1min"] = {"min": round(min(loads), 2), "max": round(max(loads), 2), "mean": round(statistics.mean(loads), 2)}
    out["raw_s"] = samples
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--chunks", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=150)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--build-only", action="store_true", help="write the corpus and build / finish the index, no timing")
    p.add_argument("--embed-worker", type=int, default=None, metavar="N",
                   help="only embed chunks, longest first, into the vector cache (run beside a --build-only, then rerun it)")
    p.add_argument("--skip", type=int, default=0, help="--embed-worker: start after this many of the longest chunks")
    a = p.parse_args()
    os.environ["LAB_WORKSPACE"] = str(WORKSPACE)
    folder, questions = write_corpus(a.chunks)
    if a.embed_worker is not None:
        embed_worker(folder, a.chunks, a.embed_worker, a.skip)
        return
    print(f"corpus {folder}: building or reusing the lab index (embeds only chunks it lacks)…", file=sys.stderr, flush=True)
    index, embedded, build_s = lab_index(folder, a.chunks)
    cache = "reused the cached index, embedded nothing" if not embedded else f"embedded {embedded} chunks in {build_s} s"
    print(f"lab index {index.path}: {index.count()} chunks ({cache})", flush=True)
    if a.build_only:
        return
    t = time.perf_counter()
    plain = plain_store(index, a.chunks)
    print(f"plain LangChain + Chroma store {OUT / f'plain_{a.chunks}'}: {plain._collection.count()} chunks, "
          f"same vectors ({round(time.perf_counter() - t, 1)} s, no embedding)", flush=True)
    rng = random.Random(3)
    sample = rng.sample(questions, min(a.queries, len(questions)))
    res = timed(index, plain, sample, a.rounds)
    chunks = index.count()
    _, texts, metas = index.all_chunks()
    res["chars_per_chunk"] = round(statistics.mean(len(t) for t in texts), 1)
    res["bm25_terms_per_chunk"] = round(statistics.mean(len((m.get("terms") or "").split()) for m in metas), 1)
    print(f"\nQuery latency at {chunks} chunks, {len(sample)} questions × {a.rounds} rounds, interleaved "
          f"(1-min load average {res['load_avg_1min']['min']}–{res['load_avg_1min']['max']} on {os.cpu_count()} CPUs; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}):")
    for side, label in (("plain", "plain LangChain + Chroma dense (similarity_search, k=5)"),
                        ("hybrid", "lab hybrid retrieve() (dense + BM25, zscore, k=5)"),
                        ("lab_dense", "lab dense retrieve() (for reference, k=5)")):
        print(f"  {label:58} p50 {res[side]['p50_ms']:>7} ms   p90 {res[side]['p90_ms']:>7} ms")
    print(f"  hybrid p50 / plain p50: {res['p50_ratio']}   median of per-question ratios: {res['median_per_question_ratio']}"
          f"   (target ≤ 1.5)")
    print(f"  corpus: {res['chars_per_chunk']} characters and {res['bm25_terms_per_chunk']} BM25 terms per chunk on average")
    print(f"  plain and lab dense return the same top 5 sources on {res['plain_top5_equals_lab_dense']} questions "
          f"(same chunks and vectors; both are approximate HNSW graphs, built in different orders, so near-ties "
          f"among look-alike documents can come out differently)")
    res.pop("raw_s")
    print(json.dumps({"chunks": chunks, "embedded_now": embedded, "build_s": build_s, "questions": len(sample),
                      "rounds": a.rounds, "cpus": os.cpu_count(), **res}, ensure_ascii=False))


if __name__ == "__main__":
    main()
