"""MinHash near-duplicate removal: the lab against datasketch and rensa on the same corpora.

    python bench/dedup_vs_peers.py [--docs 25000] [--corpora low,heavy] [--ngram 5] [--threshold 0.8]
                                   [--num-perm 128] [--repeat 3] [--engines datasketch,rensa,lab,...]
                                   [--skip-memory] [--sizes 10000,100000,1000000]

Two generated Japanese corpora (sentences of the bundled sample recombined into new pages):
  low    a fifth of the pages with a planted near-duplicate whose exact Jaccard is known;
  heavy  every page with 8 exact copies plus one or two near-duplicates (some copied too), shuffled —
         what web crawls look like.
Every engine runs in its own process on the same texts with the same num_perm, character n-gram and
threshold, so each peak RSS is that engine's alone. Engines run in turns (the order reversed on every
other round) and each figure is the median of the rounds, because the machine may be shared.
Reported per engine:

  docs/s      documents over the time from texts in memory to the duplicate decision
              (shingling, MinHash, LSH and, for the lab, exact verification and clustering);
              for the lab also the whole job from the JSONL file to its output files
  peak MB     the process's maximum resident set size
  recall      share of planted pairs with Jaccard ≥ threshold that the engine catches
  false       removals whose duplicate partner has Jaccard < threshold − 0.1 (lab: verified, so 0)

Peers run the way their documentation shows: datasketch MinHash + MinHashLSH with its chosen
(b, r); rensa RMinHash + RMinHashLSH per document, and rensa's batch matrix API (rensa needs
num_perm divisible by the bands, so it gets the lab's (b, r)). The lab runs with its recall-weighted
(b, r), with datasketch's (b, r), and with two worker processes ("lab-2cores"; the job itself only
starts a second process from 200,000 documents on, where it pays). A last section checks that the
lab's memory grows with the number of documents (signatures), not with the amount of text.
`--sizes` adds a growth section: the lab alone (worker processes as the job chooses them) on heavy
corpora of pages of about 1,000 characters at each size, with its time and peak memory (main process
plus its largest worker times the number of workers). Speed is measured here, never asserted in tests."""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLE = REPO / "lab" / "samples" / "dedup_corpus.jsonl"


# ---- the corpus -------------------------------------------------------------------------------------
def sentences() -> list[str]:
    pool = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        pool += [s for s in re.findall(r"[^。\n]+。", text) if len(s) >= 15]
    return sorted(set(pool))


def make_corpus(n_docs: int, path: Path, seed: int = 0, sentences_per_doc=(8, 16)) -> list[tuple[int, int]]:
    """Write n_docs pages; return the planted (original, copy) index pairs."""
    rng = random.Random(seed)
    pool = sentences()
    docs, planted = [], []
    while len(docs) < n_docs:
        doc = "".join(rng.sample(pool, rng.randint(*sentences_per_doc)))
        docs.append(doc)
        if rng.random() < 0.2 and len(docs) < n_docs:
            parts = re.findall(r"[^。]+。", doc)
            for _ in range(rng.choice((0, 1, 1, 2, 3))):  # graded edits: replace a sentence
                parts[rng.randrange(len(parts))] = rng.choice(pool)
            if rng.random() < 0.3:
                parts = ["【転載】"] + parts + ["出典：くらしメモ。"]
            docs.append("".join(parts))
            planted.append((len(docs) - 2, len(docs) - 1))
    with open(path, "w", encoding="utf-8") as f:
        for i, text in enumerate(docs):
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    return planted


def make_heavy_corpus(n_docs: int, path: Path, seed: int = 0, copies: int = 8,
                      sentences_per_doc=(8, 16)) -> list[tuple[int, int]]:
    """Write n_docs pages: each text `copies` times plus one or two near-duplicates (a third of them
    copied again), shuffled. Return the planted (original, near-duplicate) index pairs."""
    rng = random.Random(seed)
    pool = sentences()
    families = []
    count = 0
    while count < n_docs:
        base = "".join(rng.sample(pool, rng.randint(*sentences_per_doc)))
        family = [(base, None)] * copies
        for _ in range(rng.choice((1, 2))):
            parts = re.findall(r"[^。]+。", base)
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                parts[rng.randrange(len(parts))] = rng.choice(pool)
            if rng.random() < 0.3:
                parts = ["【転載】"] + parts + ["出典：くらしメモ。"]
            family += [("".join(parts), base)] * rng.choice((1, 1, 2))
        families.append(family)
        count += len(family)
    docs = [d for family in families for d in family][:n_docs]
    rng.shuffle(docs)
    first = {}
    for i, (text, _) in enumerate(docs):
        first.setdefault(text, i)
    # a near-duplicate left unedited is a copy of its base, not a planted pair
    planted = sorted({(first[base], first[text]) for text, base in docs if base is not None and base in first and text != base})
    with open(path, "w", encoding="utf-8") as f:
        for i, (text, _) in enumerate(docs):
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    return planted


CORPORA = {"low": make_corpus, "heavy": make_heavy_corpus}


def grams(text: str, n: int) -> set[str]:
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def jaccard(a: str, b: str, n: int) -> float:
    x, y = grams(a, n), grams(b, n)
    return len(x & y) / len(x | y) if x | y else 1.0


# ---- engines (each runs in a child process) -----------------------------------------------------------
def load_texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def run_datasketch(texts, n, threshold, num_perm, params):
    from datasketch import MinHash, MinHashLSH
    t = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    removed = {}
    for i, text in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([g.encode("utf-8") for g in grams(text, n)])
        hits = lsh.query(m)
        if hits:
            removed[i] = min(hits)
        else:
            lsh.insert(i, m)
    return time.perf_counter() - t, removed, {"bands": lsh.b, "rows": lsh.r}


def run_rensa(texts, n, threshold, num_perm, params):
    from rensa import RMinHash, RMinHashLSH
    t = time.perf_counter()
    lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=params["rensa_bands"])
    removed = {}
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=num_perm, seed=42)
        m.update(list(grams(text, n)))
        hits = lsh.query(m)
        if hits:
            removed[i] = min(hits)
        else:
            lsh.insert(i, m)
    return time.perf_counter() - t, removed, {"bands": params["rensa_bands"], "rows": num_perm // params["rensa_bands"]}


def run_rensa_batch(texts, n, threshold, num_perm, params):
    from rensa import RMinHash, RMinHashLSH
    t = time.perf_counter()
    matrix = RMinHash.digest_matrix_from_token_sets([grams(text, n) for text in texts], num_perm, 42)
    lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=params["rensa_bands"])
    flags = lsh.query_duplicate_flags_matrix_one_shot(matrix)
    elapsed = time.perf_counter() - t
    return elapsed, {i: None for i, f in enumerate(flags) if f}, {"bands": params["rensa_bands"], "rows": num_perm // params["rensa_bands"],
                                                                  "note": "flags only: every bucket member, the first too"}


def run_lab(path: Path, n, threshold, num_perm, params, workers: int, bands=None, rows=None, score_removals=True):
    from lab.context import RunContext
    from lab.dedup import job
    from lab.dedup.spec import DedupSpec
    from lab.runs import RunStore
    out = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    spec = DedupSpec(input=str(path), method="minhash", ngram=n, threshold=threshold, num_perm=num_perm, shingle="char",
                     workers=workers, bands=bands, rows=rows, normalize={"nfkc": False, "whitespace": False},
                     preview_clusters=0)
    run = RunStore(out / "runs").create(spec)
    t = time.perf_counter()
    job.run(spec, RunContext(run))
    wall = time.perf_counter() - t
    peak = high_water_mb()  # before this script reads the outputs back to score them
    report = json.loads((run.artifacts / "report.json").read_text())
    removed = {}
    if score_removals:
        for line in (run.artifacts / "removed.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            removed[r["id"]] = r["duplicate_of"]
    p = report["parameters"]
    # pool workers have exited by now: the largest one's peak, times their number, bounds their share
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if p["workers"] > 1 else 0.0
    return report["timings"]["compute_s"], removed, {"peak_mb": peak, "bands": p["bands"], "rows": p["rows"], "job_wall_s": round(wall, 2),
                                                     "job_docs_per_second": round(report["docs_in"] / wall, 1),
                                                     "verified_pairs": report["minhash"]["verified_pairs"],
                                                     "candidate_pairs": report["minhash"]["candidate_pairs"],
                                                     "distinct_texts": report["minhash"].get("distinct_texts"),
                                                     "workers": p["workers"], "workers_peak_mb": workers_peak,
                                                     "docs_removed": report["docs_removed"],
                                                     "timings": report["timings"]}


def high_water_mb() -> float:
    """This process image's peak RSS (VmHWM; getrusage's maxrss would include the parent's before exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args) -> None:
    path = Path(args.corpus)
    params = json.loads(args.params)
    if args.engine.startswith("lab"):
        import lab.dedup.job  # noqa: F401 - imports are not part of the timing
        import rensa  # noqa: F401
        rss0 = high_water_mb()
        bands, rows = (params["peer_bands"], params["peer_rows"]) if args.engine.endswith("same-br") else (None, None)
        workers = 2 if "2cores" in args.engine else 0 if args.engine == "lab-auto" else 1
        # the growth section only needs the count: a million removals read back would dwarf the job's memory
        seconds, removed, extra = run_lab(path, args.ngram, args.threshold, args.num_perm, params, workers, bands, rows,
                                          score_removals=args.engine != "lab-auto")
        n_docs = sum(1 for _ in open(path, encoding="utf-8"))
    else:
        import datasketch  # noqa: F401
        import rensa  # noqa: F401
        rss0 = high_water_mb()
        texts = load_texts(path)
        n_docs = len(texts)
        fn = {"datasketch": run_datasketch, "rensa": run_rensa, "rensa-batch": run_rensa_batch}[args.engine]
        seconds, removed, extra = fn(texts, args.ngram, args.threshold, args.num_perm, params)
    extra.setdefault("peak_mb", high_water_mb())
    print(json.dumps({"engine": args.engine, "docs": n_docs, "seconds": seconds, "docs_per_second": n_docs / seconds,
                      "baseline_mb": rss0, "removed": {str(k): v for k, v in removed.items()},
                      **extra}))


# ---- the parent: build the corpus, run every engine, score and print -----------------------------------------
def spawn(engine: str, corpus: Path, args, params: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--corpus", str(corpus), "--ngram", str(args.ngram),
           "--threshold", str(args.threshold), "--num-perm", str(args.num_perm), "--params", json.dumps(params)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"})
    if out.returncode:
        raise SystemExit(f"{engine} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def score(result: dict, texts: list[str], planted: list[tuple[int, int]], n: int, threshold: float) -> dict:
    removed = {int(k): v for k, v in result["removed"].items()}
    above = [(a, b) for a, b in planted if jaccard(texts[a], texts[b], n) >= threshold]
    caught = sum(1 for a, b in above if a in removed or b in removed)
    false = sum(1 for d, partner in removed.items()
                if partner is not None and jaccard(texts[d], texts[int(partner)], n) < threshold - 0.1)
    return {"recall": caught / len(above) if above else 1.0, "planted_above": len(above), "removed": len(removed),
            "false_removals": false if result["engine"] != "rensa-batch" else None}


def compare(name: str, corpus: Path, planted, engines: list[str], args, params: dict) -> dict:
    """Every engine `args.repeat` times, in turns (reversed order every other round); medians."""
    texts = load_texts(corpus)
    chars = sum(map(len, texts))
    print(f"{name} corpus: {len(texts):,} docs, {chars / len(texts):.0f} chars/doc, {len(set(texts)):,} distinct texts, "
          f"{len(planted):,} planted near-duplicates; load {os.getloadavg()[0]:.1f}", flush=True)
    runs: dict[str, list] = {e: [] for e in engines}
    for round_no in range(args.repeat):
        for engine in (engines if round_no % 2 == 0 else engines[::-1]):
            runs[engine].append(spawn(engine, corpus, args, params))
    rows = {}
    for engine in engines:
        result = dict(runs[engine][-1])
        result["docs_per_second"] = statistics.median(r["docs_per_second"] for r in runs[engine])
        result["all_docs_per_second"] = [round(r["docs_per_second"]) for r in runs[engine]]
        result["peak_mb"] = max(r["peak_mb"] for r in runs[engine])
        if "job_docs_per_second" in result:
            result["job_docs_per_second"] = statistics.median(r["job_docs_per_second"] for r in runs[engine])
        result.update(score(result, texts, planted, args.ngram, args.threshold))
        rows[engine] = result
        br = f"{result.get('bands', '')}×{result.get('rows', '')}"
        extra = f" · job end to end {result['job_docs_per_second']:,.0f} docs/s" if "job_docs_per_second" in result else ""
        print(f"  {engine:12} {result['docs_per_second']:>9,.0f} docs/s  peak {result['peak_mb']:5.0f} MB "
              f"(+{result['peak_mb'] - result['baseline_mb']:4.0f} over imports)  b×r {br:6} "
              f"recall {result['recall']:.3f}  removed {result['removed']:>5}  false {result['false_removals']}{extra}"
              f"  runs {result['all_docs_per_second']}", flush=True)
    return rows


def ratios(rows: dict) -> str:
    labs = {e: r for e, r in rows.items() if e.startswith("lab")}
    peers = {e: r for e, r in rows.items() if e.startswith("rensa") or e == "datasketch"}
    if not labs or not peers:
        return ""
    mine = max(labs.values(), key=lambda r: r["docs_per_second"])
    parts = [f"{mine['engine']} {mine['docs_per_second']:,.0f} docs/s"]
    for engine, r in peers.items():
        parts.append(f"{mine['docs_per_second'] / r['docs_per_second']:.2f}× {engine}")
    return ", ".join(parts)


def growth(sizes: list[int], args, params: dict, work: Path) -> None:
    """The lab alone on heavy corpora of ~1,000-character pages, as the job runs by default."""
    print("\nlab growth (heavy corpus, pages of ~1,000 characters, workers as the job chooses):", flush=True)
    for size in sizes:
        path = work / f"growth-{size}.jsonl"
        t = time.perf_counter()
        make_heavy_corpus(size, path, seed=2, sentences_per_doc=(20, 37))
        made = time.perf_counter() - t
        r = spawn("lab-auto", path, args, params)
        mem = r["peak_mb"] + r["workers_peak_mb"] * (r["workers"] if r["workers"] > 1 else 0)
        timings = r["timings"]
        print(f"  {size:>9,} docs ({path.stat().st_size / 2**20:,.0f} MB file, made in {made:.0f} s): "
              f"job {r['job_wall_s']:8.1f} s wall, compute {r['seconds']:7.1f} s = {r['docs_per_second']:>7,.0f} docs/s "
              f"(read {timings.get('read_s', 0):.1f} s, write {timings.get('write_s', 0):.1f} s); "
              f"{r['workers']} worker(s); peak {mem:6,.0f} MB (main {r['peak_mb']:,.0f} + workers); "
              f"{r['distinct_texts']:,} distinct texts, removed {r['docs_removed']:,}", flush=True)
        path.unlink()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=25_000)
    ap.add_argument("--corpora", default="low,heavy", help="low: few duplicates; heavy: 8 copies per text plus near-duplicates")
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--engines", default="datasketch,rensa,rensa-batch,lab,lab-same-br,lab-2cores")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of every engine; the median is reported (a shared machine is noisy)")
    ap.add_argument("--skip-memory", action="store_true", help="skip the memory-versus-text-size section")
    ap.add_argument("--sizes", default="", help="comma-separated corpus sizes for the lab's growth section, e.g. 10000,100000,1000000")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--engine")
    ap.add_argument("--corpus")
    ap.add_argument("--params", default="{}")
    args = ap.parse_args()
    if args.child:
        return child(args)

    from datasketch.lsh import _optimal_param

    from lab.dedup.lsh import optimal_params
    peer_bands, peer_rows = _optimal_param(args.threshold, args.num_perm, 0.5, 0.5)
    # rensa wants num_perm divisible by the bands: give it the lab's recall-weighted (b, r), which is
    lab_bands, lab_rows = optimal_params(args.threshold, args.num_perm, 0.05, 0.95)
    rensa_bands = lab_bands if args.num_perm % lab_bands == 0 else max(
        b for b in range(1, args.num_perm + 1) if args.num_perm % b == 0 and b <= peer_bands)
    params = {"peer_bands": peer_bands, "peer_rows": peer_rows, "rensa_bands": rensa_bands}
    work = Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    engines = [e for e in args.engines.split(",") if e]
    print(f"char {args.ngram}-grams, num_perm {args.num_perm}, threshold {args.threshold}; "
          f"datasketch (b, r) = ({peer_bands}, {peer_rows}), rensa and lab ({rensa_bands}, {args.num_perm // rensa_bands}); "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; medians of {args.repeat} rounds\n", flush=True)
    summary = {}
    for name in [c for c in args.corpora.split(",") if c]:
        corpus = work / f"{name}.jsonl"
        planted = CORPORA[name](args.docs, corpus)
        rows = compare(name, corpus, planted, engines, args, params)
        summary[name] = ratios(rows)
        print(flush=True)
    for name, line in summary.items():
        if line:
            print(f"{name:6} fastest lab: {line}")

    # memory grows with the number of documents (signatures), not with the text: batches are capped in
    # characters and shingle sets wait on disk
    if not args.skip_memory:
        print("\nlab memory (text size vs peak):")
        for label, n_docs, per_doc in (("short pages", 5_000, (8, 16)), ("4× more short pages", 20_000, (8, 16)),
                                       ("pages 10× longer", 5_000, (80, 160)), ("4× more long pages", 20_000, (80, 160))):
            path = work / f"mem-{n_docs}-{per_doc[0]}.jsonl"
            make_corpus(n_docs, path, seed=1, sentences_per_doc=per_doc)
            r = spawn("lab", path, args, params)
            total = sum(map(len, load_texts(path)))
            print(f"  {label:20} {n_docs:>6,} docs × {total / n_docs:5.0f} chars = {total / 1e6:5.1f} M chars: "
                  f"peak {r['peak_mb']:5.0f} MB, "
                  f"+{r['peak_mb'] - r['baseline_mb']:4.0f} MB over imports "
                  f"(signatures {n_docs * args.num_perm * 4 / 2**20:4.1f} MB)", flush=True)
    if args.sizes:
        growth([int(x) for x in args.sizes.split(",")], args, params, work)


if __name__ == "__main__":
    main()
