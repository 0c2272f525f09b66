"""What the embedded tiny model teaches on a laptop, measured: SFT, DPO and RAG each visibly change
its answers, and no answer carries a broken character.

    .venv/bin/python bench/embedded_model.py                 # uses the built tiny model of $LAB_WORKSPACE
    .venv/bin/python bench/embedded_model.py --bootstrap     # first builds tiny in a fresh workspace (timed)

Prints, with wall and CPU seconds of every job it runs:
- SFT: mean character F1 against the reference on the first ten training questions (greedy),
  base tiny vs after presets/sft-tiny.yaml;
- UTF-8: U+FFFD count in 200 replies sampled at temperature 1.0 (base and SFT model);
- DPO: implicit reward accuracy on the held-out bundled pairs (policy vs its SFT reference), the share of
  held-out prompts whose greedy reply opens with the trait the pairs teach (SFT vs DPO), and a few
  replies of both side by side; `--seeds 42,7` repeats SFT + DPO for each training seed;
- RAG: share of bundled reading questions whose answer from tiny-rag (tiny after the bootstrap's
  reading stage) contains the gold span, with and without retrieval (train and held-out questions apart).

Runs in a temporary workspace (the models folder is linked, or built there with --bootstrap)."""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.models import embedded_checks as checks  # noqa: E402


def workers_cpu(runs: Path, before: set[str]) -> float | None:
    """CPU seconds of the training workers of the runs that appeared (each reports cpu_s when done);
    None when a run reported none (only training jobs do)."""
    total, reported = 0.0, False
    for run in sorted(runs.iterdir()):
        if run.name in before or not (run / "events.jsonl").exists():
            continue
        for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event.get("type") == "metric" and "cpu_s" in event:
                total += event["cpu_s"]
                reported = True
    return total if reported else None


def timed(argv: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, float | None]:
    """Run a CLI command; (result, wall s, CPU s of the CLI and of the workers it started, None when
    the worker reported no CPU time)."""
    runs = Path(env["LAB_WORKSPACE"]) / "runs"
    before_runs = {p.name for p in runs.iterdir()}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "lab.cli", *argv], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker = workers_cpu(runs, before_runs)
    cpu = None if worker is None else (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) + worker
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out, wall, cpu


def seconds(wall: float, cpu: float | None) -> str:
    return f"{wall:.0f} s wall, " + (f"{cpu:.0f} s CPU" if cpu is not None else "CPU not reported by the job")


def run_json(argv: list[str], env: dict) -> tuple[dict, float, float | None]:
    out, wall, cpu = timed([*argv, "--json"], env)
    return json.loads(out.stdout.strip().splitlines()[-1]), wall, cpu


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap", action="store_true", help="build the tiny model first, in the temporary workspace")
    p.add_argument("--samples", type=int, default=200, help="replies sampled for the U+FFFD count")
    p.add_argument("--seeds", default="42", help="training seeds of sft-tiny and dpo-tiny, comma-separated (one SFT + DPO pair each)")
    p.add_argument("--no-rag", action="store_true", help="skip the RAG index and the span questions")
    p.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = p.parse_args()

    ws = Path(tempfile.mkdtemp(prefix="embedded-bench-"))
    (ws / "runs").mkdir()
    env = {**os.environ, "LAB_WORKSPACE": str(ws)}
    os.environ["LAB_WORKSPACE"] = str(ws)
    rows = []
    if args.bootstrap:
        _, wall, cpu = timed(["models", "bootstrap", "--force"], env)
        rows.append(("bootstrap (lab models bootstrap)", f"{seconds(wall, cpu)}"))
    else:
        source = Path(os.environ.get("LAB_SOURCE_WORKSPACE", REPO / "workspace")) / "models"
        (ws / "models").symlink_to(source.resolve())

    pairs = []  # (seed, sft model, dpo model)
    for seed in [int(x) for x in args.seeds.split(",")]:
        sft, wall, cpu = run_json(["run", "presets/sft-tiny.yaml", "--set", f"train.seed={seed}"], env)
        rows.append((f"sft-tiny (seed {seed})", f"{seconds(wall, cpu)} ({sft['status']})"))
        dpo, wall, cpu = run_json(["run", "presets/dpo-tiny.yaml", "--set", f"model.name=run:{sft['run_id']}",
                                   "--set", f"train.seed={seed}"], env)
        rows.append((f"dpo-tiny from that SFT run (seed {seed})", f"{seconds(wall, cpu)} ({dpo['status']})"))
        pairs.append((seed, f"run:{sft['run_id']}", f"run:{dpo['run_id']}"))
    if not args.no_rag:
        _, wall, cpu = run_json(["run", "presets/rag-index.yaml", "--set", "index=default"], env)
        rows.append(("rag-index (bundled documents)", f"{seconds(wall, cpu)}"))

    t0 = time.perf_counter()
    f1_base = checks.sft_f1("tiny")
    bad_base = checks.fffd_count("tiny", args.samples)
    examples = {}
    for seed, sft_model, dpo_model in pairs:
        f1_sft = checks.sft_f1(sft_model)
        rows.append((f"SFT: char F1, first ten training questions (greedy), seed {seed}", f"base {f1_base.mean:.2f} -> trained {f1_sft.mean:.2f}"))
        bad_sft = checks.fffd_count(sft_model, args.samples)
        rows.append((f"U+FFFD in {args.samples} replies at temperature 1.0, seed {seed}", f"base {bad_base}, SFT {bad_sft}"))
        acc = checks.dpo_reward_accuracy(dpo_model, sft_model)
        rows.append((f"DPO: implicit reward accuracy, {acc.n} held-out pairs, seed {seed}", f"{acc.accuracy:.2f} (mean margin {acc.margin:+.2f})"))
        before, after = checks.dpo_trait(sft_model), checks.dpo_trait(dpo_model)
        rows.append((f"DPO: held-out replies opening with 「{checks.DPO_TRAIT}」, seed {seed}", f"SFT {before.share:.0%} -> DPO {after.share:.0%} of {after.n}"))
        examples.setdefault("sft", (f1_base, f1_sft))
        examples.setdefault("dpo", (sft_model, dpo_model))
    rag = {} if args.no_rag else checks.rag_span_hits(checks.RAG_MODEL)
    for split, r in rag.items():
        rows.append((f"RAG: gold span in the answer, {r.n} {split} questions ({checks.RAG_MODEL})",
                     f"with retrieval {r.with_retrieval:.0%}, without {r.without_retrieval:.0%}"))
    rows.append(("measuring", f"{time.perf_counter() - t0:.0f} s wall"))

    f1_base, f1_sft = examples["sft"]
    print("\nSFT: the first questions, base vs trained (greedy)")
    for q, ref, base, trained in list(zip(f1_sft.questions, f1_sft.references, f1_base.answers, f1_sft.answers))[:3]:
        print(f"  Q: {q}\n    reference: {ref}\n    base:      {base[:80]!r}\n    SFT:       {trained[:80]!r}")
    print("\nDPO: held-out prompts, SFT vs DPO (greedy)")
    for q, a, b in checks.side_by_side(*examples["dpo"], n=3):
        print(f"  Q: {q}\n    SFT: {a[:80]!r}\n    DPO: {b[:80]!r}")
    if rag:
        print(f"\nRAG: with vs without retrieval ({checks.RAG_MODEL})")
        for q, span, with_r, without_r in rag["train"].examples[:3]:
            print(f"  Q: {q}   gold: {span}\n    with:    {with_r[:80]!r}\n    without: {without_r[:80]!r}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nembedded model, measured on this machine ({os.cpu_count()} CPUs, load average {load} at the end; "
          "figures from a loaded machine are slower)")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    if args.keep:
        print(f"workspace kept: {ws}")
    else:
        shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    main()
