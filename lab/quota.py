"""Per-participant quotas in workshop mode: disk (runs, uploads, RAG indexes, presets: the whole of
their workspace; `launch.py --quota-gb`, default 5) and runs waiting in the queue
(`--max-queued-per-user`, default 3). Checked when a run is made or resumed (RunStore.create and
resume: every tab, Continue and Resume) and when a file is uploaded;
over a quota is a one-line refusal that names what to delete, biggest first.

Single-user mode has no quota. The limits reach workers and the UI as LAB_QUOTA_GB and
LAB_MAX_QUEUED_PER_USER, set by launch.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import UserError
from .paths import confined, runs_dir, workspace

GB = 1024 ** 3


def disk_limit() -> int | None:
    """Bytes a participant may hold; None when nobody is confined or no limit is set."""
    value = os.environ.get("LAB_QUOTA_GB")
    if not confined() or not value:
        return None
    return int(float(value) * GB)


def queued_limit() -> int | None:
    value = os.environ.get("LAB_MAX_QUEUED_PER_USER")
    if not confined() or not value:
        return None
    return int(value)


def tree_bytes(path: Path) -> int:
    """Bytes of the files under `path` (links are counted as links, never followed)."""
    total = 0
    try:
        if path.is_symlink() or path.is_file():
            return path.lstat().st_size
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    total += tree_bytes(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_size
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        pass
    return total


def usage(root: Path | None = None) -> list[tuple[str, int]]:
    """What takes the space of a workspace, biggest first: ('run <id>', bytes), ('index <name>', bytes),
    ('uploads', bytes), … — each run and each index on its own, the rest by top-level folder."""
    root = Path(root or workspace())
    parts: list[tuple[str, int]] = []
    if not root.is_dir():
        return parts
    for entry in sorted(root.iterdir()):
        if entry.name in ("runs", "rag") and entry.is_dir() and not entry.is_symlink():
            label = "run" if entry.name == "runs" else "index"
            for child in sorted(entry.iterdir()):
                parts.append((f"{label} {child.name}", tree_bytes(child)))
        else:
            parts.append((entry.name, tree_bytes(entry)))
    return sorted((p for p in parts if p[1] > 0), key=lambda p: -p[1])


def _size(n: int) -> str:
    return f"{n / GB:.2f} GB" if n >= GB / 10 else f"{n / 1024 ** 2:.1f} MB"


def check_disk(adding: int = 0, doing: str = "start a run") -> None:
    """Refuse (one line) when the participant's workspace plus `adding` bytes is over their quota."""
    limit = disk_limit()
    if limit is None:
        return
    parts = usage()
    used = sum(size for _, size in parts)
    if used + adding <= limit:
        return
    biggest = ", ".join(f"{name} ({_size(size)})" for name, size in parts[:3])
    raise UserError(f"disk quota: your workspace holds {_size(used)} of {_size(limit)}, so you cannot {doing}; "
                    f"delete some of your biggest first (a run: Runs tab, Delete run): {biggest or 'nothing to delete'}")


def queued_runs(root: Path | None = None) -> list[str]:
    """The participant's runs still waiting for a slot (status.json says queued and no slot yet)."""
    root = Path(root or runs_dir())
    out = []
    if not root.is_dir():
        return out
    for status_path in root.glob("*/status.json"):
        try:
            state = json.loads(status_path.read_text(encoding="utf-8")).get("state")
        except (OSError, ValueError, AttributeError):
            continue
        if state == "queued":
            out.append(status_path.parent.name)
    return sorted(out)


def check_queued(store=None) -> None:
    limit = queued_limit()
    if limit is None:
        return
    waiting = queued_runs()
    if store is not None:  # status.json corrected: a worker that died while waiting no longer counts
        waiting = [i for i in waiting if _state(store, i) == "queued"]
    if len(waiting) >= limit:
        raise UserError(f"queue quota: you already have {len(waiting)} runs waiting (the limit is {limit}); "
                        f"cancel one in the Runs tab ({', '.join(waiting[:3])}) or wait until it starts")


def _state(store, run_id: str) -> str | None:
    try:
        return store.status(run_id).get("state")
    except UserError:
        return None


def check_submit(store=None) -> None:
    """What RunStore asks before a participant's run gets a folder or is resumed."""
    check_queued(store)
    check_disk()


def check_upload(size: int) -> None:
    check_disk(size, "upload this file")


def delete_run(store, run_id: str) -> None:
    """Delete one finished run of the current user's (what a quota refusal asks for). The id is a
    name checked by the store; the folder must be a real folder inside the store's runs folder."""
    import shutil
    run = store.get(run_id)
    state = store.status(run_id).get("state")
    if state in ("queued", "running"):
        raise UserError(f"run {run_id} is still {state}: cancel it first")
    root = Path(store.root).resolve()
    if run.dir.is_symlink() or run.dir.resolve().parent != root:
        raise UserError(f"run {run_id}: not a run folder of yours")
    shutil.rmtree(run.dir)
