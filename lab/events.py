"""events.jsonl: the append-only history of a run (metrics, logs, progress, artifacts, status).

Writers append whole lines; readers keep a byte offset and only consume complete lines, so a
reader never sees half an event even while the worker is writing."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any


def _clean(value: Any) -> Any:
    # JSON has no NaN/inf; keep the line parseable and say what it was.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class EventLog:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def emit(self, type: str, **fields: Any) -> dict:
        event = {"t": round(time.time(), 3), "type": type, **{k: _clean(v) for k, v in fields.items()}}
        line = json.dumps(event, ensure_ascii=False) + "\n"
        # One write() of a whole line on an O_APPEND fd: concurrent writers never interleave lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return event


def read_events(path: str | os.PathLike, offset: int = 0) -> tuple[list[dict], int]:
    """Events from byte `offset` up to the last complete line, and the offset to continue from."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return [], offset
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], offset
    events = []
    for raw in chunk[: end + 1].splitlines():
        if raw.strip():
            try:
                events.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return events, offset + end + 1


class EventTail:
    """Incremental reader that remembers its offset (one per viewer)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.offset = 0

    def new(self) -> list[dict]:
        events, self.offset = read_events(self.path, self.offset)
        return events


def metric_series(events: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """{metric name: [(step, value), …]} from metric events."""
    out: dict[str, list[tuple[int, float]]] = {}
    for ev in events:
        if ev.get("type") != "metric":
            continue
        step = ev.get("step")
        for key, value in ev.items():
            if key in ("t", "type", "step", "epoch") or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            out.setdefault(key, []).append((step, float(value)))
    return out


def last_metrics(events: list[dict]) -> dict[str, float]:
    return {k: v[-1][1] for k, v in metric_series(events).items()}
