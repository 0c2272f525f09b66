"""What a job's `run(spec, ctx)` gets from the worker: its run folder, its event log, and whether
somebody asked it to stop."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .events import EventLog
from .runs import Run


@dataclass
class RunContext:
    run: Run
    resume: bool = False
    is_main_process: bool = True  # under torchrun only rank 0 writes events

    @property
    def artifacts(self) -> Path:
        return self.run.artifacts

    @property
    def events(self) -> EventLog:
        return self.run.events

    def emit(self, type: str, **fields) -> None:
        if self.is_main_process:
            self.events.emit(type, **fields)

    def cancel_requested(self) -> bool:
        return self.run.cancel_requested()
