"""Can the embedded tiny model learn to read (issue 18, point 4)? The two ways tried, measured by the
share of bundled reading questions whose RAG answer contains the gold span (the RAG chain as the chat
runs it: retrieval from the bundled documents, the default prompt, greedy), with and without retrieval:

1. whole reading examples in pre-training: the bootstrap as shipped, except that each ~500-token
   reading example continues in the next block (`packing_strategy=bfd_split`) instead of being cut at
   256 tokens before its answer (`bfd`, the shipped preset);
2. a reading stage after pre-training (presets/reading-tiny.yaml: sft, full, loss on the answer only) on the reading questions in
   the RAG chain's own prompt — the passage holding the answer among others (mostly those retrieval
   would rank near it), fitted to the model's window as the chain fits them (lab/rag/chain.fit_hits),
   questions on one passage sharing its prompts — from the shipped tiny model. With `--window 512` and
   200 steps it is the shipped reading stage (tiny-rag); `--copies` sets the prompts per passage;
   `--window 1024` gives tiny a 1,024-token window (five passages fit), as it had before.

    .venv/bin/python bench/embedded_reading.py                                  # 1: whole examples; 2: window 1024, 150 steps
    .venv/bin/python bench/embedded_reading.py --skip-pretrain --window 512 --stage-steps 200
    .venv/bin/python bench/embedded_reading.py --skip-pretrain --window 512 --stage-steps 200 --copies 3,6,10,16 --seeds 1234,1

Runs in a temporary workspace (the shipped tiny model is copied from $LAB_SOURCE_WORKSPACE or
./workspace); prints every figure with the wall and CPU time of each job."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from embedded_model import run_json, seconds  # noqa: E402

from lab.models import embedded_checks as checks  # noqa: E402


def reading_file(path: Path, window: int, copies: int | None = None) -> tuple[Path, int, float]:
    """The reading stage's own data (lab/models/tiny.reading_stage_conversations) fitted to a
    `window`-token context, `copies` prompts per passage; (path, examples, mean prompt tokens)."""
    from lab.models import tiny
    from lab.models.cache import cached_model
    from lab.rag.chain import token_counter

    _, tok = cached_model("tiny")
    rows = tiny.reading_stage_conversations(tok, window=window, copies=copies)
    count = token_counter(tok)
    lengths = [count(r["messages"][:-1]) for r in rows]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, len(rows), sum(lengths) / max(1, len(lengths))


def hits_rows(label: str, model: str) -> list[tuple[str, str]]:
    out = []
    for split, r in checks.rag_span_hits(model).items():
        out.append((f"{label}: gold span in the answer, {r.n} {split} questions",
                    f"with retrieval {r.with_retrieval:.0%}, without {r.without_retrieval:.0%}"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage-steps", type=int, default=150, help="steps of the reading stage (batch 8)")
    p.add_argument("--window", type=int, default=1024, help="the reading stage's context (tiny's config says it; shipped: 512)")
    p.add_argument("--skip-pretrain", action="store_true", help="only the reading stage")
    p.add_argument("--copies", default="", help="prompts per passage, comma-separated (one reading stage each; default: shipped)")
    p.add_argument("--seeds", default="1234", help="training seeds of the reading stage, comma-separated")
    args = p.parse_args()

    ws = Path(tempfile.mkdtemp(prefix="embedded-reading-"))
    (ws / "runs").mkdir()
    (ws / "models").mkdir()
    source = Path(os.environ.get("LAB_SOURCE_WORKSPACE", REPO / "workspace")) / "models"
    shutil.copytree((source / "tiny").resolve(), ws / "models" / "tiny")
    for name in ("config.json", "tokenizer_config.json"):  # the window the reading stage trains and is asked in
        path = ws / "models" / "tiny" / name
        data = json.loads(path.read_text(encoding="utf-8"))
        data["max_position_embeddings" if name == "config.json" else "model_max_length"] = args.window
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    env = {**os.environ, "LAB_WORKSPACE": str(ws)}
    os.environ["LAB_WORKSPACE"] = str(ws)
    rows = []
    _, wall, cpu = run_json(["run", "presets/rag-index.yaml", "--set", "index=default"], env)
    rows.append(("rag-index (bundled documents)", seconds(wall, cpu)))
    rows += hits_rows("tiny (pre-trained only)", "tiny")

    if not args.skip_pretrain:
        from lab.models import tiny
        init = ws / "models" / "tiny-init"
        tiny.build_init_model(init)
        result, wall, cpu = run_json(["run", "presets/pretrain-tiny.yaml", "--set", f"model.name={init}",
                                      "--set", f"dataset.path={init / tiny.BOOTSTRAP_CORPUS}",
                                      "--set", "train.packing_strategy=bfd_split"], env)
        rows.append(("1. pre-training with whole reading examples (bfd_split)",
                     f"{seconds(wall, cpu)}, final loss {result['metrics'].get('loss', float('nan')):.2f}"))
        rows += hits_rows("1. that model", f"run:{result['run_id']}")

    for copies in [int(c) for c in args.copies.split(",") if c] or [None]:
        data, n, mean_tokens = reading_file(ws / f"reading-{copies}.jsonl", args.window, copies)
        for seed in [int(x) for x in args.seeds.split(",")]:
            result, wall, cpu = run_json(["run", "presets/reading-tiny.yaml", "--set", "model.name=tiny", "--set", f"dataset.path={data}",
                                          "--set", f"train.max_length={args.window}", "--set", f"train.max_steps={args.stage_steps}",
                                          "--set", f"train.seed={seed}"], env)
            m = result["metrics"]
            label = f"2. reading stage, window {args.window}, {copies or 'shipped'} prompts per passage, seed {seed}"
            rows.append((f"{label}: {n} examples (mean prompt {mean_tokens:.0f} tokens), {args.stage_steps} steps × 8",
                         f"{seconds(wall, cpu)}, final loss {m.get('loss', float('nan')):.2f}, token accuracy {m.get('mean_token_accuracy', 0):.2f}"))
            rows += hits_rows(f"   that model (seed {seed})", f"run:{result['run_id']}")

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nreading, measured on this machine ({os.cpu_count()} CPUs, load average {load} at the end)")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    main()
