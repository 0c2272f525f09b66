"""Cores per CPU run. With several CPU slots (LAB_MAX_RUNS=2 on a CPU box, or a test suite running
files in parallel) every torch process would start one OpenMP thread per core; two such runs on two
cores then fight over them, and OpenMP's barriers make that several times slower than each run
using its share (bench/launch_scaling.py measured 4 vs 20 samples/s on this 2-core box under load).
So a CPU run gets cores // CPU slots threads, unless the user set OMP_NUM_THREADS themselves."""
from __future__ import annotations

import os
import sys


def threads_per_run(slots: list[str], cores: int | None = None) -> int | None:
    """The thread count a CPU run should use, or None to leave torch's default (one CPU slot)."""
    cpu_slots = sum(1 for s in slots if s == "cpu")
    if cpu_slots <= 1:
        return None
    return max(1, (cores or os.cpu_count() or 1) // cpu_slots)


def apply(slots: list[str]) -> int | None:
    """Set this process's (and its children's) thread count for a CPU run; returns what was set."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None  # the user's choice stands
    threads = threads_per_run(slots)
    if threads is None:
        return None
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:  # already loaded: the variable alone comes too late
        sys.modules["torch"].set_num_threads(threads)
    return threads
