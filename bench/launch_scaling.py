"""Data-parallel scaling of the tiny SFT on this machine: the same preset run in one process and as
2 ranks under torchrun (gloo all-reduce on CPU), through `lab run` exactly as the Launch tab starts
it. Per-rank batch stays 8, so 2 ranks do twice the samples per step. Prints samples/s and tokens/s
(the Trainer's own figures, so process start and model loading are not counted), the speed-up and
the scaling efficiency; also one process pinned to 1 thread, which is what each rank gets
(torchrun sets OMP_NUM_THREADS=1), to separate "more processes" from "fewer threads each".

    python bench/launch_scaling.py [--steps 30] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CASES = {
    "1 process (torch threads = cores)": ([], {}),
    "1 process, 1 thread": ([], {"OMP_NUM_THREADS": "1"}),
    "torchrun, 2 ranks x 1 thread": (["launch.launcher=torchrun", "launch.nproc_per_node=2"], {}),
}


def run(ws: Path, steps: int, sets: list[str], env: dict) -> dict:
    argv = [sys.executable, "-m", "lab.cli", "run", "presets/sft-tiny.yaml", "--json"]
    for s in [f"train.max_steps={steps}", "train.eval_strategy=no", "train.save_strategy=no", "dataset.eval_split=0",
              "lora.save_merged=false", *sets]:
        argv += ["--set", s]
    proc = subprocess.run(argv, cwd=REPO, env={**os.environ, "LAB_WORKSPACE": str(ws), **env}, capture_output=True,
                          text=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["status"] != "succeeded":
        raise SystemExit(f"run failed: {out}")
    return out["metrics"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    models = Path(os.environ.get("LAB_WORKSPACE", REPO / "workspace")).resolve() / "models"
    if not (models / "tiny" / "model.safetensors").exists():
        raise SystemExit("build the tiny model first: lab models bootstrap")
    samples: dict[str, list[float]] = {}
    tokens: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "runs").mkdir()
        (ws / "models").symlink_to(models)
        for _ in range(a.rounds):
            for name, (sets, env) in CASES.items():
                m = run(ws, a.steps, sets, env)
                samples.setdefault(name, []).append(m["train_samples_per_second"])
                tokens.setdefault(name, []).append(m["num_tokens"] / m["train_runtime"])
    print(f"SFT tiny, {a.steps} steps, per-rank batch 8, LoRA r=16, median of {a.rounds} rounds, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    med = {k: statistics.median(v) for k, v in samples.items()}
    tok = {k: statistics.median(v) for k, v in tokens.items()}
    for k in CASES:
        print(f"  {k:36} {med[k]:7.2f} samples/s {tok[k]:8.0f} tokens/s   runs: "
              f"{', '.join(f'{x:.1f}' for x in samples[k])}")
    one, two = "1 process (torch threads = cores)", "torchrun, 2 ranks x 1 thread"
    speedup = tok[two] / tok[one]
    print(f"  speed-up 2 ranks vs 1 process: {speedup:.2f}x (efficiency {speedup / 2:.0%} of linear)")
    print(f"  speed-up 2 ranks vs 1 single-thread process: {tok[two] / tok['1 process, 1 thread']:.2f}x")


if __name__ == "__main__":
    main()
