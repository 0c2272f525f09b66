"""What a browser session knows about the run it is watching: an incremental reader of its
events and the series, progress and status read so far. Rebuilt from the folder at any time."""
from __future__ import annotations

from dataclasses import dataclass, field

from lab.events import EventTail
from lab.runs import RunStore


@dataclass
class RunView:
    run_id: str
    tail: EventTail
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    progress: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    status: dict = field(default_factory=dict)
    rendered_final: bool = False

    @classmethod
    def open(cls, store: RunStore, run_id: str) -> "RunView":
        return cls(run_id, EventTail(store.get(run_id).events_path))

    def poll(self, store: RunStore) -> bool:
        """Read what is new; True when anything changed since the last poll."""
        events = self.tail.new()
        for ev in events:
            kind = ev.get("type")
            if kind == "metric":
                step = ev.get("step", 0)
                for key, value in ev.items():
                    if key not in ("t", "type", "step", "epoch") and isinstance(value, (int, float)) and not isinstance(value, bool):
                        self.series.setdefault(key, []).append((step, float(value)))
            elif kind == "progress":
                self.progress = ev
            elif kind == "env":
                self.env = ev
            elif kind == "log":
                self.logs.append(ev.get("message", ""))
        old_state = self.status.get("state")
        self.status = store.status(self.run_id)
        changed = bool(events) or self.status.get("state") != old_state
        if self.finished and not changed:
            if self.rendered_final:
                return False
            self.rendered_final = True
            return True
        return changed

    @property
    def state(self) -> str:
        return self.status.get("state", "?")

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")
