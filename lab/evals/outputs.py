"""Where a judge or eval run keeps its files: RUN_DIR/artifacts/, as every other kind does.

Runs made before this layout kept them in the run folder itself (RUN_DIR/summary.json, RUN_DIR/answers/,
...). Such a folder keeps its layout: it is read there, and a re-run of it appends there, so one run's
files are never split between two places. Every writer and reader of these files asks here."""
from __future__ import annotations

from pathlib import Path

# What judge and eval runs wrote into the run folder itself before they wrote under artifacts/.
LEGACY_NAMES = ("questions.jsonl", "answers", "judgments.jsonl", "summary.json", "predictions", "results.json")


def outputs_dir(run_dir: str | Path) -> Path:
    """RUN_DIR/artifacts, or RUN_DIR for a run made with the old layout."""
    run_dir = Path(run_dir)
    if any((run_dir / name).exists() for name in LEGACY_NAMES):
        return run_dir
    return run_dir / "artifacts"


def run_output(run_dir: str | Path, name: str) -> Path:
    """The path of one output (a file or a folder, e.g. "summary.json", "answers") of a judge or eval run."""
    return outputs_dir(run_dir) / name
