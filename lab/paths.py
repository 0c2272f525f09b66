"""Where things live: the workspace (runs, models, saved presets) and the bundled samples.

In workshop mode each participant has a workspace of their own (WORKSPACE/users/<name>): the UI
sets it for the duration of each request (`as_user`), and a worker gets it as LAB_WORKSPACE. The
models folder stays shared (LAB_MODELS_DIR), and paths a participant types are confined to their
workspace, the shared models and the bundled samples (LAB_CONFINE=1)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from .errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLES_DIR = PACKAGE_DIR / "samples"
REPO_DIR = PACKAGE_DIR.parent
PRESETS_DIR = REPO_DIR / "presets"

# (user name, their workspace) for the request being served; None outside workshop mode.
_USER: ContextVar[tuple[str, Path] | None] = ContextVar("lab_user", default=None)


@contextmanager
def as_user(name: str, folder: Path):
    token = _USER.set((name, Path(folder).resolve()))
    try:
        yield
    finally:
        _USER.reset(token)


def current_user() -> str | None:
    """The participant being served (UI) or who submitted this run (worker); None when single-user."""
    user = _USER.get()
    return user[0] if user else os.environ.get("LAB_USER") or None


def shared_workspace() -> Path:
    return Path(os.environ.get("LAB_WORKSPACE", "workspace")).resolve()


def workspace() -> Path:
    user = _USER.get()
    return user[1] if user else shared_workspace()


def runs_dir(override: str | os.PathLike | None = None) -> Path:
    if override:
        return Path(override).resolve()
    if _USER.get() is None and os.environ.get("LAB_RUNS_DIR"):
        return Path(os.environ["LAB_RUNS_DIR"]).resolve()
    return workspace() / "runs"


def models_dir() -> Path:
    return Path(os.environ.get("LAB_MODELS_DIR") or shared_workspace() / "models").resolve()


def user_presets_dir() -> Path:
    return workspace() / "presets"


def confined() -> bool:
    return _USER.get() is not None or os.environ.get("LAB_CONFINE") == "1"


def allowed_roots() -> list[Path]:
    return [workspace(), SAMPLES_DIR, models_dir()]


def check_inside(path: Path, what: str) -> Path:
    """In workshop mode, refuse a path outside the participant's workspace, the shared models and
    the bundled samples (symlinks resolved first, so a link cannot lead out)."""
    if not confined():
        return path
    real = Path(path).resolve()
    if any(real == root or real.is_relative_to(root) for root in allowed_roots()):
        return real
    raise UserError(f"{what}: {path} is outside your workspace (use an upload, a bundled sample or a run of yours)")


def search_roots() -> list[Path]:
    """Relative paths a user types are looked up here, in order: the current folder,
    the workspace, then the lab package (so `samples/sft_ja.jsonl` finds the bundled data).
    A confined participant does not get the server's current folder."""
    roots = [workspace(), PACKAGE_DIR]
    return roots if confined() else [Path.cwd(), *roots]


def resolve_input(path: str, what: str = "file") -> Path:
    p = Path(path).expanduser()
    if p.is_absolute():
        if p.exists():
            return check_inside(p, what)
        raise UserError(f"{what} not found: {path}")
    for root in search_roots():
        candidate = (root / p).resolve()
        if candidate.exists():
            return check_inside(candidate, what)
    raise UserError(f"{what} not found: {path} (looked in {', '.join(str(r) for r in search_roots())})")


def check_writable(path: Path, what: str) -> Path:
    """In workshop mode, a folder the lab writes into (an index, an output) must be inside the
    participant's own workspace: the shared models and the bundled samples are read-only to them."""
    real = Path(path).expanduser().resolve()
    if not confined() or real.is_relative_to(workspace()):
        return real
    raise UserError(f"{what}: {path} is outside your workspace (give a name, or a folder inside your workspace)")
