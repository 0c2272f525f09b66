"""DPO on the tiny model: steps/s with and without precomputed reference log-probs, and peak memory
(process RSS) with LoRA vs full fine-tuning. Each variant is a real `lab run` of presets/dpo-tiny.yaml.

    python bench/dpo_speed_memory.py [--steps 40]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "lora, reference = adapter off": ["method=lora"],
    "lora, precomputed reference": ["method=lora", "train.precompute_ref_log_probs=true"],
    "full, reference copy": ["method=full"],
    "full, precomputed reference": ["method=full", "train.precompute_ref_log_probs=true"],
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=40)
    a = p.parse_args()
    models = Path(os.environ.get("LAB_WORKSPACE", REPO / "workspace")).resolve() / "models"
    print(f"DPO tiny, {a.steps} steps, batch 8, max_length 256 (train_steps_per_second is the Trainer's own;")
    print("precompute time is outside it, so wall time is shown too)")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "runs").mkdir()
        (ws / "models").symlink_to(models)
        for name, sets in VARIANTS.items():
            argv = [sys.executable, "-m", "lab.cli", "run", "presets/dpo-tiny.yaml", "--json"]
            for s in sets + [f"train.max_steps={a.steps}", "train.eval_strategy=no", "train.save_strategy=no"]:
                argv += ["--set", s]
            proc = subprocess.run(argv, cwd=REPO, env={**os.environ, "LAB_WORKSPACE": str(ws)}, capture_output=True, text=True)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            m = out["metrics"]
            status = json.loads((Path(out["run_dir"]) / "status.json").read_text())
            wall = status["ended_at"] - status["started_at"]
            print(f"  {name:32} {m['train_steps_per_second']:6.2f} steps/s   peak RSS {m['peak_rss_mb']:7.0f} MB"
                  f"   run wall {wall:5.1f} s   ({out['status']})")


if __name__ == "__main__":
    main()
