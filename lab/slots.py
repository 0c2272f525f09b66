"""A machine-wide limit on how many runs train at once, so extra runs queue instead of thrashing
a small box. A slot is an flock on a file in the runs folder: the kernel frees it when the holder
exits, even on kill -9, so a crashed run never keeps a slot."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Callable


def default_limit() -> int:
    return max(1, int(os.environ.get("LAB_MAX_RUNS", "1")))


def acquire(root: Path, limit: int, should_give_up: Callable[[], bool], poll: float = 0.5):
    """Block until one of `limit` slots is free and return its open file (hold it for the run's
    life), or None when `should_give_up()` turns true while waiting."""
    folder = root / ".slots"
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(limit):
            f = open(folder / f"slot-{i}.lock", "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return f
            except BlockingIOError:
                f.close()
        if should_give_up():
            return None
        time.sleep(poll)
