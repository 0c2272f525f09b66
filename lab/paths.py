"""Where things live: the workspace (runs, models, saved presets) and the bundled samples."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLES_DIR = PACKAGE_DIR / "samples"
REPO_DIR = PACKAGE_DIR.parent
PRESETS_DIR = REPO_DIR / "presets"


def workspace() -> Path:
    return Path(os.environ.get("LAB_WORKSPACE", "workspace")).resolve()


def runs_dir(override: str | os.PathLike | None = None) -> Path:
    if override:
        return Path(override).resolve()
    return workspace() / "runs"


def models_dir() -> Path:
    return workspace() / "models"


def user_presets_dir() -> Path:
    return workspace() / "presets"


def search_roots() -> list[Path]:
    """Relative paths a user types are looked up here, in order: the current folder,
    the workspace, then the lab package (so `samples/sft_ja.jsonl` finds the bundled data)."""
    return [Path.cwd(), workspace(), PACKAGE_DIR]


def resolve_input(path: str, what: str = "file") -> Path:
    p = Path(path).expanduser()
    if p.is_absolute():
        if p.exists():
            return p
        raise UserError(f"{what} not found: {path}")
    for root in search_roots():
        candidate = (root / p).resolve()
        if candidate.exists():
            return candidate
    raise UserError(f"{what} not found: {path} (looked in {', '.join(str(r) for r in search_roots())})")
