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


def _is_within(real: Path, root: Path) -> bool:
    return real == root or real.is_relative_to(root)


def scrub(text: str) -> str:
    """`text` with the server's folders rewritten for a participant: their own workspace drops out of
    a path (`/…/users/alice/runs/x` → `runs/x`), the shared models and the bundled samples keep their
    short names, and any other server folder becomes `…`. Unchanged outside workshop mode."""
    if not confined() or not text:
        return text
    import sys
    home = workspace()
    folders = [(home, ""), (models_dir(), "models"), (SAMPLES_DIR, "samples"), (PACKAGE_DIR, "lab"),
               (shared_workspace(), "…"), (REPO_DIR, "…"), (Path(sys.prefix), "…"), (Path(sys.base_prefix), "…")]
    for folder, label in sorted(folders, key=lambda f: -len(str(f[0]))):
        prefix = str(folder)
        if len(prefix) <= 1:
            continue
        text = text.replace(prefix + "/", f"{label}/" if label else "")
        text = text.replace(prefix, label or "your workspace")
    return text


def shown(path: str | os.PathLike) -> str:
    """A path as the person being served may see it. A participant sees it relative to their workspace
    (`runs/sft-…`), or as `models/…` / `samples/…`; a server folder is never named to them."""
    if not confined():
        return str(path)
    real = Path(path).expanduser().resolve()
    for root, label in ((workspace(), ""), (models_dir(), "models"), (SAMPLES_DIR.resolve(), "samples")):
        if _is_within(real, root):
            return str(Path(label, real.relative_to(root))) if (label or real != root) else "your workspace"
    return "(a folder outside your workspace)"


def check_inside(path: Path, what: str, typed: str | None = None) -> Path:
    """In workshop mode, refuse a path outside the participant's workspace, the shared models and
    the bundled samples (symlinks resolved first, so a link cannot lead out). Checked before anything
    looks at whether the path exists, so the answer tells nothing about folders outside."""
    if not confined():
        return path
    real = Path(path).expanduser().resolve()
    if any(_is_within(real, root.resolve()) for root in allowed_roots()):
        return real
    raise UserError(f"{what}: {typed or path} is outside your workspace (use an upload, a bundled sample or a run of yours)")


def search_roots() -> list[Path]:
    """Relative paths a user types are looked up here, in order: the current folder,
    the workspace, then the lab package (so `samples/sft_ja.jsonl` finds the bundled data).
    A confined participant does not get the server's current folder."""
    roots = [workspace(), PACKAGE_DIR]
    return roots if confined() else [Path.cwd(), *roots]


def resolve_input(path: str, what: str = "file") -> Path:
    p = Path(path).expanduser()
    if p.is_absolute():
        check_inside(p, what)
        if p.exists():
            return check_inside(p, what)
        raise UserError(f"{what} not found: {path}")
    candidates = [(root / p).resolve() for root in search_roots()]
    if confined():
        # decided from the path alone, never from whether `../../<someone else>/…` exists
        candidates = [c for c in candidates if any(_is_within(c, r.resolve()) for r in allowed_roots())]
        if not candidates:
            raise UserError(f"{what}: {path} is outside your workspace (use an upload, a bundled sample or a run of yours)")
    for candidate in candidates:
        if candidate.exists():
            return check_inside(candidate, what)
    if confined():
        raise UserError(f"{what} not found: {path} (looked in your workspace and the bundled samples)")
    raise UserError(f"{what} not found: {path} (looked in {', '.join(str(r) for r in search_roots())})")


def writable_path(path: str | os.PathLike) -> Path:
    """The folder a user means by `path`: a relative one is inside their workspace when confined."""
    p = Path(path).expanduser()
    if confined() and not p.is_absolute():
        p = workspace() / p
    return p.resolve()


def check_writable(path: Path, what: str) -> Path:
    """In workshop mode, a folder the lab writes into (an index, an output) must be inside the
    participant's own workspace: the shared models and the bundled samples are read-only to them."""
    real = writable_path(path)
    if not confined() or real.is_relative_to(workspace()):
        return real
    raise UserError(f"{what}: {path} is outside your workspace (give a name, or a folder inside your workspace)")


# Folders of a workspace the lab itself manages: an output folder a participant names may not be one of
# them or inside one (a dedup output in uploads/ could be replaced by an upload; in runs/ it could overwrite
# a run's own status.json or job.yaml).
MANAGED = ("runs", "uploads", "presets", "rag", "cache", ".queue", ".workshop")


def check_output_folder(path: str | os.PathLike, what: str, within: str | None = None) -> Path:
    """A folder a job writes its results into (dedup output_dir, an export): inside the participant's
    workspace and not one of the folders the lab manages there (but may be inside `within`, one of them:
    an index folder in rag/). Single-user mode keeps its freedom."""
    real = check_writable(Path(path), what)
    if not confined():
        return real
    home = workspace()
    if within and real != home / within and _is_within(real, home / within):
        return real
    if real == home or any(_is_within(real, home / sub) for sub in MANAGED):
        raise UserError(f"{what}: {path} is a folder the lab manages; give a new folder name, e.g. 'dedup-out'")
    return real
