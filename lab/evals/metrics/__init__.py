"""The lab's automatic metrics as local `evaluate` modules, loaded by path (evaluate.load of a Hub
name needs the network): <name>/<name>.py defines an evaluate.Metric. Text is compared after the
normalisation in textnorm.py, the same for every metric."""
from __future__ import annotations

from pathlib import Path

METRICS_DIR = Path(__file__).resolve().parent
NAMES = ("exact_match", "char_f1", "set_f1")


def load(name: str):
    import evaluate
    if name not in NAMES:
        raise KeyError(name)
    return evaluate.load(str(METRICS_DIR / name))
