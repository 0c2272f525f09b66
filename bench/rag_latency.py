"""Hybrid query latency against plain LangChain + Chroma dense retrieval at ~10,000 chunks, measured
directly (issue 15, point 4: hybrid p50 ≤ 1.5× plain dense).

    OMP_NUM_THREADS=1 python bench/rag_latency.py [--chunks 10000] [--queries 150] [--rounds 2]

The corpus (written once under bench/out/rag_latency/docs_<N>/, fixed seeds, nothing tuned to it):
- `bundled/`: lab/samples/rag_docs as shipped;
- `generated/sNN/{towns,orgs,facilities}/`: bench/rag_sets.py's three generators at seeds 1, 2, … (one
  short document per chunk: many look-alike places, organisations and facilities), half the chunks;
- `recombined/`: the rest, ~1,000-character files of Japanese sentences drawn with a fixed seed from
  the bundled corpora (lab/samples/pretrain_corpus.jsonl and rag_docs), as bench/rag.py writes them.

The lab side is the lab's own `rag_index` job (build_index: chunking, Sudachi terms, the bundled e5,
a real Chroma directory) into bench/out/rag_workspace/rag/latency-mixed-<N>/. It embeds each chunk
once; that index is the cache: a re-run embeds nothing (build_index only embeds chunks it does not
hold, and a killed build keeps its finished batches). The plain side is a LangChain `Chroma` store
(langchain_chroma, cosine HNSW like the lab's) in bench/out/rag_latency/plain_<N>/, filled with the
SAME chunks and the SAME vectors read back from the lab index (Chroma.from_texts through an
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


def count_chunks(folder: Path) -> int:
    from lab.rag.chunking import split_documents
    from lab.rag.loaders import load_documents
    from lab.rag.spec import ChunkingSpec
    spec = ChunkingSpec()
    return len(split_documents(load_documents(folder).documents, spec.size, spec.overlap))


def write_corpus(n_chunks: int) -> tuple[Path, list[str]]:
    """The corpus folder (written once) and its questions."""
    from bench.rag import write_docs
    from bench.rag_sets import GENERATED
    from lab.paths import SAMPLES_DIR
    folder = OUT / f"docs_{n_chunks}"
    seeds = range(1, 1 + max(1, n_chunks // 2 // CHUNKS_PER_SEED))
    questions = [json.loads(line)["question"] for line in
                 (SAMPLES_DIR / "rag_qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    for seed in seeds:
        for name, make in GENERATED.items():
            docs, qa = make(seed)
            questions += [q["question"] for q in qa]
            if not (folder / ".complete").exists():
                sub = folder / "generated" / f"s{seed:02d}" / name
                sub.mkdir(parents=True, exist_ok=True)
                for source, text in docs.items():
                    (sub / source).write_text(text, encoding="utf-8")
    if not (folder / ".complete").exists():
        shutil.copytree(SAMPLES_DIR / "rag_docs", folder / "bundled", dirs_exist_ok=True)
        have = count_chunks(folder)
        if (folder / "recombined").exists():
            shutil.rmtree(folder / "recombined")
        write_docs(folder / "recombined", max(4, n_chunks - have), seed=0)
        (folder / ".complete").write_text("", encoding="utf-8")
    return folder, questions


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

    report = build_index(str(folder), name, ChunkingSpec(), EmbeddingSpec(), emit=emit)
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
    a = p.parse_args()
    os.environ["LAB_WORKSPACE"] = str(WORKSPACE)
    folder, questions = write_corpus(a.chunks)
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
    print(f"\nQuery latency at {chunks} chunks, {len(sample)} questions × {a.rounds} rounds, interleaved "
          f"(1-min load average {res['load_avg_1min']['min']}–{res['load_avg_1min']['max']} on {os.cpu_count()} CPUs; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}):")
    for side, label in (("plain", "plain LangChain + Chroma dense (similarity_search, k=5)"),
                        ("hybrid", "lab hybrid retrieve() (dense + BM25, zscore, k=5)"),
                        ("lab_dense", "lab dense retrieve() (for reference, k=5)")):
        print(f"  {label:58} p50 {res[side]['p50_ms']:>7} ms   p90 {res[side]['p90_ms']:>7} ms")
    print(f"  hybrid p50 / plain p50: {res['p50_ratio']}   median of per-question ratios: {res['median_per_question_ratio']}"
          f"   (target ≤ 1.5)")
    print(f"  plain and lab dense return the same top 5 sources on {res['plain_top5_equals_lab_dense']} questions "
          f"(same chunks, same vectors)")
    res.pop("raw_s")
    print(json.dumps({"chunks": chunks, "embedded_now": embedded, "build_s": build_s, "questions": len(sample),
                      "rounds": a.rounds, "cpus": os.cpu_count(), **res}, ensure_ascii=False))


if __name__ == "__main__":
    main()
