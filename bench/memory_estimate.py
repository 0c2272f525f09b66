"""Memory admission's estimate (lab/memory_estimate.py) against the measured peak RSS of real CPU runs
of the tiny model, in settings where different parts dominate: the runtime (small LoRA run), the model
states (full fine-tuning), the activations (batch 16 × 512 tokens, packed so every row is full), and
gradient checkpointing. Each row is a real `lab run` (a few optimizer steps); the measured figure is
the worker's `peak_rss_mb` event (getrusage maxrss after training). The target: within 30%.

    LAB_WORKSPACE=/tmp/memws python bench/memory_estimate.py [--steps 2] [--only NAME]

The workspace needs `models/` (e.g. `ln -s <repo>/workspace/models /tmp/memws/models`).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CACHE = REPO / "bench" / "out" / "memory_estimate.json"
QUIET = ["train.eval_strategy=no", "train.save_strategy=no", "train.logging_steps=1"]
SETTINGS = {
    "sft lora b8x256 (runtime)": ("presets/sft-tiny.yaml", ["method=lora", "lora.save_merged=false"]),
    "sft full b8x256 (states)": ("presets/sft-tiny.yaml", ["method=full"]),
    "pretrain full b16x512 (activations)": ("presets/pretrain-tiny.yaml", [
        "model.name=tiny", "train.per_device_train_batch_size=16", "train.max_length=512"]),
    "pretrain full b16x512 + checkpointing": ("presets/pretrain-tiny.yaml", [
        "model.name=tiny", "train.per_device_train_batch_size=16", "train.max_length=512",
        "train.gradient_checkpointing=true"]),
    "sft lora packed b16x512 (activations)": ("presets/sft-tiny.yaml", [
        "train.per_device_train_batch_size=16", "train.max_length=512", "train.packing=true",
        "train.assistant_only_loss=false", "method=lora", "lora.save_merged=false"]),
    "dpo lora b8x256": ("presets/dpo-tiny.yaml", ["method=lora", "lora.save_merged=false"]),
    "dpo full b8x512": ("presets/dpo-tiny.yaml", ["method=full", "train.max_length=512"]),
}


def measure(preset: str, sets: list[str], steps: int) -> tuple[float | None, float, str]:
    argv = [sys.executable, "-m", "lab.cli", "run", preset, "--json"]
    for s in sets + QUIET + [f"train.max_steps={steps}"]:
        argv += ["--set", s]
    t0 = time.time()
    proc = subprocess.run(argv, cwd=REPO, env={**os.environ, "LAB_SKIP_MEMORY_CHECK": "1"},
                          capture_output=True, text=True)
    wall = time.time() - t0
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, wall, (proc.stderr.strip().splitlines() or ["no output"])[-1][:120]
    peaks = [json.loads(line).get("peak_rss_mb") for line in
             (Path(out["run_dir"]) / "events.jsonl").read_text().splitlines()]
    peaks = [p for p in peaks if p]
    return (peaks[-1] if peaks else None), wall, out.get("status", "?")


def main() -> None:
    from lab.memory_estimate import MIB, estimate
    from lab.presets import load_preset

    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--only", help="run only the settings whose name contains this")
    p.add_argument("--reuse", action="store_true",
                   help=f"take the measured peaks from {CACHE.relative_to(REPO)} (written by every run)")
    a = p.parse_args()
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    print(f"CPU, fp32, tiny model, {a.steps} optimizer steps per run (measured on a loaded, shared 2-core machine)")
    print(f"{'setting':40} {'estimate MiB':>12} {'measured MiB':>12} {'error':>7}  breakdown (MiB)")
    for name, (preset, sets) in SETTINGS.items():
        if a.only and a.only not in name:
            continue
        est = estimate(load_preset(REPO / preset, sets), "cpu")
        parts = " ".join(f"{k[:5]}={v / MIB:.0f}" for k, v in est.breakdown.items() if k != "total")
        if a.reuse and name in cache:
            peak, wall, status = cache[name]
        else:
            peak, wall, status = measure(preset, sets, a.steps)
            cache[name] = [peak, wall, status]
            CACHE.parent.mkdir(exist_ok=True)
            CACHE.write_text(json.dumps(cache, indent=1))
        total = est.total / MIB
        if peak is None:
            print(f"{name:40} {total:12.0f} {'-':>12} {'-':>7}  {parts}  ({status})")
            continue
        print(f"{name:40} {total:12.0f} {peak:12.0f} {(total - peak) / peak:+7.0%}  {parts}  ({status}, {wall:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
