"""Every thread the lab starts runs in the context of whoever started it.

In workshop mode the participant being served lives in a ContextVar (lab/paths.as_user); a plain
`threading.Thread` or `ThreadPoolExecutor` starts with an empty context, so `run:<id>` would resolve
in the shared workspace instead of the participant's. So no code starts a thread any other way:
`start_thread` and `context_pool` copy the caller's context into the new thread."""
from __future__ import annotations

import contextvars
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def start_thread(target, *args, name: str | None = None, daemon: bool = True, **kwargs) -> threading.Thread:
    """Start `target(*args, **kwargs)` in a daemon thread that sees the caller's context."""
    thread = threading.Thread(target=contextvars.copy_context().run, args=(target, *args), kwargs=kwargs, name=name, daemon=daemon)
    thread.start()
    return thread


class ContextPool(ThreadPoolExecutor):  # each submit runs in copy_context()
    """A ThreadPoolExecutor whose every task runs in a copy of the submitter's context."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def context_pool(max_workers: int) -> ContextPool:
    return ContextPool(max_workers=max_workers)


def bounded_map(fn: Callable[[T], R], items: Iterable[T], concurrency: int,
                should_stop: Callable[[], bool] = lambda: False) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) as each finishes, with at most `concurrency` calls in flight. Stops
    submitting new work once `should_stop()` is true (calls in flight still finish)."""
    items = iter(items)
    with context_pool(concurrency) as pool:
        running = {}
        for item in items:
            running[pool.submit(fn, item)] = item
            if len(running) >= concurrency:
                break
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                item = running.pop(future)
                yield item, future.result()
            if not should_stop():
                for item in items:
                    running[pool.submit(fn, item)] = item
                    if len(running) >= concurrency:
                        break
