"""The lab's overhead over plain TRL: the same SFT (model, data, batch, max length, steps, LoRA)
through `lab run` and through bench/plain_trl_sft.py, alternating, several rounds; also packing on
vs off. Prints samples/s of both (the Trainer's own train_samples_per_second, so process start and
model loading are not counted) and the ratio.

    python bench/sft_overhead.py [--steps 40] [--rounds 3] [--packing both|off|on]
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


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def lab_run(ws: Path, steps: int, packing: bool) -> dict:
    sets = [f"train.max_steps={steps}", "train.eval_strategy=no", "train.save_strategy=no", "dataset.eval_split=0",
            f"train.packing={'true' if packing else 'false'}", f"train.assistant_only_loss={'false' if packing else 'true'}"]
    argv = [sys.executable, "-m", "lab.cli", "run", "presets/sft-tiny.yaml", "--json"]
    for s in sets:
        argv += ["--set", s]
    proc = subprocess.run(argv, cwd=REPO, env={**os.environ, "LAB_WORKSPACE": str(ws)}, capture_output=True, text=True)
    out = last_json(proc.stdout)
    if out["status"] != "succeeded":
        raise SystemExit(f"lab run failed: {out}")
    return out["metrics"]


def plain_run(ws: Path, steps: int, packing: bool) -> dict:
    argv = [sys.executable, str(REPO / "bench" / "plain_trl_sft.py"), "--model", str(ws / "models" / "tiny"),
            "--data", str(REPO / "lab" / "samples" / "sft_ja.jsonl"), "--steps", str(steps), "--out", str(ws / "plain")]
    if packing:
        argv.append("--packing")
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    return last_json(proc.stdout)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--packing", choices=["both", "off", "on"], default="both")
    a = p.parse_args()
    packings = {"both": (False, True), "off": (False,), "on": (True,)}[a.packing]
    models = Path(os.environ.get("LAB_WORKSPACE", REPO / "workspace")).resolve() / "models"
    if not (models / "tiny" / "model.safetensors").exists():
        raise SystemExit("build the tiny model first: lab models bootstrap")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "runs").mkdir()
        (ws / "models").symlink_to(models)
        # The lab holds out no eval rows here (eval_split=0), so both train on the same 200 rows.
        results: dict[str, list[float]] = {}
        tokens: dict[str, list[float]] = {}
        for packing in packings:
            for i in range(a.rounds):
                # who goes first alternates, so a warm page cache or a load spike favours neither side
                if i % 2 == 0:
                    lab_m, plain_m = lab_run(ws, a.steps, packing), plain_run(ws, a.steps, packing)
                else:
                    plain_m = plain_run(ws, a.steps, packing)
                    lab_m = lab_run(ws, a.steps, packing)
                results.setdefault(f"lab packing={packing}", []).append(lab_m["train_samples_per_second"])
                results.setdefault(f"trl packing={packing}", []).append(plain_m["train_samples_per_second"])
                tokens.setdefault(f"lab packing={packing}", []).append(lab_m["num_tokens"] / lab_m["train_runtime"])
                tokens.setdefault(f"trl packing={packing}", []).append(plain_m["num_tokens"] / plain_m["train_runtime"])
    print(f"SFT tiny, {a.steps} steps, batch 8, max_length 256, LoRA r=16, median of {a.rounds} rounds (samples/s):")
    med = {k: statistics.median(v) for k, v in results.items()}
    for k, v in results.items():
        print(f"  {k:24} {med[k]:8.2f}   runs: {', '.join(f'{x:.2f}' for x in v)}")
    for packing in packings:
        ratio = med[f"lab packing={packing}"] / med[f"trl packing={packing}"]
        print(f"  lab / plain TRL, packing={packing}: {ratio:.3f}")
    tok = {k: statistics.median(v) for k, v in tokens.items()}
    print("tokens/s (num_tokens / train_runtime):")
    for k in tok:
        print(f"  {k:24} {tok[k]:8.0f}")
    if len(packings) == 2:
        print(f"  packing on / off (lab, tokens/s): {tok['lab packing=True'] / tok['lab packing=False']:.3f}")


if __name__ == "__main__":
    main()
