"""RAG indexing and retrieval against a plain LangChain + Chroma baseline with the same embedder.

    python bench/rag.py [--chunks 10000] [--queries 200] [--torch-threads 1]

1. Indexing: N Japanese chunks (sentences of the bundled corpora recombined with a fixed seed into
   unique passages), indexed by the lab (`build_index`: load files, chunk, Japanese BM25 terms,
   embed, write to Chroma in batches) and by the baseline (`Chroma.from_texts` / `add_texts` on the
   lab's chunk texts, so the baseline skips loading and chunking), in rounds that alternate the two
   sides. Chunks per wall second and per CPU second, model load excluded for both.
2. Retrieval latency at N chunks: p50/p95 over the same queries for the lab's dense, BM25 and hybrid
   retrievers and the baseline's `similarity_search` (warm: the first query of each is not counted).
3. Quality: recall@5 and MRR of dense, BM25 and hybrid on the bundled Japanese QA set, beside the
   baseline's dense search over the same chunks.

The last stdout line is the JSON of every figure. Both sides run in this one process, one after the
other, with the same torch thread count; the machine's load average is printed beside the figures
(on a shared 2-core box other processes move every number)."""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def corpus_sentences() -> list[str]:
    from lab.paths import SAMPLES_DIR
    texts = [json.loads(line)["text"] for line in (SAMPLES_DIR / "pretrain_corpus.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip() and json.loads(line).get("lang") == "ja"]
    texts += [p.read_text(encoding="utf-8") for p in sorted((SAMPLES_DIR / "rag_docs").iterdir())]
    sentences = []
    for text in texts:
        for s in re.split(r"(?<=[。！？])", re.sub(r"<[^>]+>|#+ ", "", text)):
            s = s.strip()
            if 8 <= len(s) <= 200:
                sentences.append(s)
    return sorted(set(sentences))


def write_docs(folder: Path, n_chunks: int, seed: int = 0) -> None:
    """Files of ~1,000 characters (four chunks of 250 at the default settings) until the chunker
    yields about n_chunks."""
    rng = random.Random(seed)
    sentences = corpus_sentences()
    folder.mkdir(parents=True)
    n_files = max(1, n_chunks // 4)
    for i in range(n_files):
        paragraphs = []
        for _ in range(4):
            para, length = [], 0
            while length < 200:
                s = rng.choice(sentences)
                para.append(s)
                length += len(s)
            paragraphs.append("".join(para))
        (folder / f"doc{i:05d}.txt").write_text(f"文書 {i}\n\n" + "\n\n".join(paragraphs), encoding="utf-8")


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2), "n": len(ordered)}


def time_queries(fn, queries: list[str]) -> dict:
    fn(queries[0])  # warm-up
    samples, cpu = [], []
    for q in queries:
        t, c = time.perf_counter(), time.process_time()
        fn(q)
        samples.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {**percentiles(samples), "cpu_p50_ms": round(statistics.median(cpu) * 1000, 2)}


def quality(index_name: str, baseline_store) -> dict:
    from lab.rag.evaluate import gold_rank, load_qa
    from lab.rag.retrieve import retrieve
    from lab.rag.spec import RetrievalSpec
    questions = load_qa("samples/rag_qa.jsonl")
    out = {}

    def score(ranks):
        return {"recall_at_5": round(sum(r is not None for r in ranks) / len(ranks), 3),
                "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 3)}
    for mode in ("dense", "bm25", "hybrid"):
        settings = RetrievalSpec(mode=mode, k=5)
        out[mode] = score([gold_rank([h.source for h in retrieve(index_name, q.question, settings)], q.sources)
                           for q in questions])
    out["baseline_dense"] = score([gold_rank([d.metadata["source"] for d in baseline_store.similarity_search(q.question, k=5)],
                                             q.sources) for q in questions])
    out["questions"] = len(questions)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--chunks", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--rounds", type=int, default=4, help="indexing rounds, alternating baseline and lab")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch intra-op threads for both sides (0 = torch's choice); 1 is steadier on a busy machine")
    a = p.parse_args()
    if a.torch_threads:
        import torch
        torch.set_num_threads(a.torch_threads)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LAB_WORKSPACE"] = tmp
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings

        from lab.paths import SAMPLES_DIR
        from lab.rag.chunking import split_documents
        from lab.rag.embeddings import embedded_model_path, get_embeddings
        from lab.rag.index import RagIndex
        from lab.rag.job import build_index
        from lab.rag.loaders import load_documents
        from lab.rag.retrieve import retrieve
        from lab.rag.spec import ChunkingSpec, EmbeddingSpec, RetrievalSpec

        import torch
        results: dict = {"chunks_requested": a.chunks, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                         "load_avg_start": os.getloadavg()[0]}
        chunking, embedding = ChunkingSpec(), EmbeddingSpec()
        get_embeddings(embedding).embed_query("ウォームアップ")  # model load not timed
        baseline_embeddings = HuggingFaceEmbeddings(model_name=str(embedded_model_path()))
        baseline_embeddings.embed_query("ウォームアップ")

        # ---- quality on the bundled QA set (small, first) -------------------------------------------------
        build_index(str(SAMPLES_DIR / "rag_docs"), "qa", chunking, embedding)
        qa_docs = load_documents(SAMPLES_DIR / "rag_docs").documents
        qa_chunks = split_documents(qa_docs, chunking.size, chunking.overlap)
        qa_baseline = Chroma.from_texts([c.text for c in qa_chunks], baseline_embeddings,
                                        metadatas=[{"source": c.source} for c in qa_chunks],
                                        persist_directory=str(Path(tmp) / "baseline-qa"), collection_name="baseline_qa")
        results["quality"] = quality("qa", qa_baseline)
        print("quality on the bundled QA set:", json.dumps(results["quality"], ensure_ascii=False), file=sys.stderr)

        # ---- indexing N chunks, in rounds that alternate the two sides (load drifts cancel out) --------------
        docs = Path(tmp) / "docs"
        write_docs(docs, a.chunks)
        files = sorted(docs.iterdir())
        parts = []
        for r in range(a.rounds):
            part = Path(tmp) / f"part{r}"
            part.mkdir()
            for f in files[r::a.rounds]:
                f.rename(part / f.name)
            parts.append(part)
        part_texts = [[c.text for c in split_documents(load_documents(p).documents, chunking.size, chunking.overlap)]
                      for p in parts]
        texts = [t for pt in part_texts for t in pt]
        results["chunks"] = len(texts)
        print(f"indexing {len(texts)} chunks in {a.rounds} alternating rounds…", file=sys.stderr)
        spent = {"baseline": [0.0, 0.0], "lab": [0.0, 0.0]}  # wall, CPU seconds
        baseline = None
        for part, pt in zip(parts, part_texts):
            w, c = time.perf_counter(), time.process_time()
            if baseline is None:
                baseline = Chroma.from_texts(pt, baseline_embeddings, persist_directory=str(Path(tmp) / "baseline"),
                                             collection_name="baseline")
            else:
                baseline.add_texts(pt)
            spent["baseline"][0] += time.perf_counter() - w
            spent["baseline"][1] += time.process_time() - c
            w, c = time.perf_counter(), time.process_time()
            build_index(str(part), "big", chunking, embedding)
            spent["lab"][0] += time.perf_counter() - w
            spent["lab"][1] += time.process_time() - c
            print(f"  round done: {spent}", file=sys.stderr)
        assert RagIndex.open("big").count() == len(texts) == baseline._collection.count()
        results["indexing"] = {f"{side}_chunks_per_s": round(len(texts) / spent[side][0], 1) for side in spent}
        results["indexing"].update({f"{side}_chunks_per_cpu_s": round(len(texts) / spent[side][1], 1) for side in spent})
        print("indexing:", results["indexing"], file=sys.stderr)
        t = time.perf_counter()
        for part in parts:
            again = build_index(str(part), "big", chunking, embedding)
            assert again["chunks_added"] == 0
        results["indexing"]["lab_reindex_unchanged_s"] = round(time.perf_counter() - t, 2)

        # ---- retrieval latency at N chunks ---------------------------------------------------------------------
        rng = random.Random(1)
        questions = [json.loads(line)["question"] for line in (SAMPLES_DIR / "rag_qa.jsonl").read_text(encoding="utf-8").splitlines()]
        queries = [rng.choice(questions) if i % 2 else rng.choice(texts)[:40] for i in range(a.queries)]
        latency = {"baseline_dense": time_queries(lambda q: baseline.similarity_search(q, k=5), queries)}
        t = time.perf_counter()
        retrieve("big", "最初の検索で BM25 の行列を作る", RetrievalSpec(mode="bm25"))
        latency["bm25_build_s"] = round(time.perf_counter() - t, 2)
        for mode in ("dense", "bm25", "hybrid"):
            settings = RetrievalSpec(mode=mode, k=5)
            latency[mode] = time_queries(lambda q, s=settings: retrieve("big", q, s), queries)
        latency["hybrid_p50_over_baseline"] = round(latency["hybrid"]["p50_ms"] / latency["baseline_dense"]["p50_ms"], 2)
        results["latency"] = latency
        print("latency:", json.dumps(latency), file=sys.stderr)

    results["load_avg_end"] = os.getloadavg()[0]
    q = results["quality"]
    print(f"\nRAG bench: {results['chunks']} chunks, {os.cpu_count()} CPUs, torch threads {results['torch_threads']}, "
          f"load average {results['load_avg_start']:.1f} → {results['load_avg_end']:.1f}")
    ix = results["indexing"]
    print(f"  indexing chunks/s       lab {ix['lab_chunks_per_s']:>7} (per CPU-s {ix['lab_chunks_per_cpu_s']})   "
          f"plain LangChain+Chroma {ix['baseline_chunks_per_s']:>7} (per CPU-s {ix['baseline_chunks_per_cpu_s']})   "
          f"re-index unchanged: {ix['lab_reindex_unchanged_s']} s")
    for mode in ("baseline_dense", "dense", "bm25", "hybrid"):
        lat = results["latency"][mode]
        print(f"  latency {mode:15} p50 {lat['p50_ms']:>7} ms   p95 {lat['p95_ms']:>7} ms   CPU p50 {lat['cpu_p50_ms']:>7} ms")
    print(f"  hybrid p50 / baseline p50: {results['latency']['hybrid_p50_over_baseline']}")
    for mode in ("baseline_dense", "dense", "bm25", "hybrid"):
        print(f"  QA ({q['questions']} questions) {mode:15} recall@5 {q[mode]['recall_at_5']:.3f}   MRR {q[mode]['mrr']:.3f}")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
