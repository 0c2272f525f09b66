"""The run queue: a global limit of runs per device slot, a per-user limit, first come first served
with fair share between users, a pause switch, and each waiting run's position.

There is no scheduler process to die: every worker waits in the queue itself. Under one lock file,
a waiting worker looks at the others (tickets in QUEUE/waiting, one per waiting worker) and at who
holds the device slots, computes the fair order, and takes a slot when it is its turn. A slot is an
flock on QUEUE/slot-N.lock: the kernel frees it when the holder exits, even on kill -9, so a crashed
run never keeps a slot, and a dead worker's ticket is dropped by whoever looks next.

The queue folder is the runs folder's `.queue` unless LAB_QUEUE_DIR names a shared one (workshop
mode: one queue for every participant's runs folder)."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from backends.local import is_alive, process_identity

POLL = 0.5


@dataclass(frozen=True)
class Ticket:
    run_id: str
    user: str
    created: float
    pid: int = 0
    pid_started: float | None = None
    run_dir: str = ""


@dataclass
class Slot:
    """A held device slot; keep the object for the run's life (closing the file frees the slot)."""
    index: int
    device: str
    file: object

    def release(self) -> None:
        self.file.close()


def queue_dir(runs_root: Path) -> Path:
    return Path(os.environ.get("LAB_QUEUE_DIR") or runs_root / ".queue")


def devices() -> list[str]:
    """One entry per slot. LAB_DEVICES ("cuda:0,cuda:1" or "cpu,cpu") wins; else every GPU
    nvidia-smi lists; else LAB_MAX_RUNS (default 1) CPU slots. A run on a GPU slot sees only that
    GPU (CUDA_VISIBLE_DEVICES), so a one-GPU box and an 8-GPU box both queue sensibly."""
    if os.environ.get("LAB_DEVICES"):
        return [d.strip() for d in os.environ["LAB_DEVICES"].split(",") if d.strip()]
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
            gpus = [line for line in out.splitlines() if line.startswith("GPU ")]
            if gpus:
                return [f"cuda:{i}" for i in range(len(gpus))]
        except (OSError, subprocess.SubprocessError):
            pass
    return ["cpu"] * max(1, int(os.environ.get("LAB_MAX_RUNS", "1")))


def per_user_limit() -> int | None:
    value = os.environ.get("LAB_MAX_RUNS_PER_USER")
    return max(1, int(value)) if value else None


def fair_order(waiting: list[Ticket], running: Counter, per_user: int | None,
               started: Counter | None = None) -> tuple[list[Ticket], set[str]]:
    """The order waiting runs get slots: repeatedly the user with the fewest runs running (counting
    those already placed ahead), then the fewest started so far, goes next with their oldest run;
    ties go to the older ticket. So someone who submits five runs does not hold the room up, and
    someone who has run less goes first. Runs of a user at their limit go last, in arrival order;
    their run ids are returned too."""
    pending: dict[str, deque[Ticket]] = {}
    for t in sorted(waiting, key=lambda t: (t.created, t.run_id)):
        pending.setdefault(t.user, deque()).append(t)
    counts, used = Counter(running), Counter(started or {})
    order: list[Ticket] = []
    while pending:
        eligible = [u for u in pending if per_user is None or counts[u] < per_user]
        if not eligible:
            break
        user = min(eligible, key=lambda u: (counts[u], used[u], pending[u][0].created, pending[u][0].run_id))
        order.append(pending[user].popleft())
        counts[user] += 1
        used[user] += 1
        if not pending[user]:
            del pending[user]
    blocked = sorted((t for q in pending.values() for t in q), key=lambda t: (t.created, t.run_id))
    return order + blocked, {t.run_id for t in blocked}


class RunQueue:
    def __init__(self, folder: Path):
        self.dir = Path(folder)
        self.waiting_dir = self.dir / "waiting"
        self.waiting_dir.mkdir(parents=True, exist_ok=True)

    # ---- the switch the facilitator turns ---------------------------------------------------------
    @property
    def paused(self) -> bool:
        return (self.dir / "paused").exists()

    def pause(self) -> None:
        (self.dir / "paused").write_text(str(time.time()))

    def resume(self) -> None:
        (self.dir / "paused").unlink(missing_ok=True)

    # ---- reading the queue --------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        with open(self.dir / "queue.lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def waiting(self) -> list[Ticket]:
        """Live tickets; those of workers that died while waiting are removed."""
        out = []
        for path in self.waiting_dir.glob("*.json"):
            try:
                t = Ticket(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if t.pid and not is_alive(t.pid, t.pid_started):
                path.unlink(missing_ok=True)
                continue
            out.append(t)
        return out

    def started(self) -> Counter:
        """Runs each user has started from this queue (the fair-share history)."""
        try:
            return Counter(json.loads((self.dir / "started.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return Counter()

    def _count_start(self, user: str) -> None:
        counts = self.started()
        counts[user] += 1
        tmp = self.dir / "started.json.tmp"
        tmp.write_text(json.dumps(counts), encoding="utf-8")
        os.replace(tmp, self.dir / "started.json")

    def holders(self, n_slots: int) -> dict[int, Ticket | None]:
        """Slot index → the ticket of the run holding it (None when free)."""
        out: dict[int, Ticket | None] = {}
        for i in range(n_slots):
            with open(self.dir / f"slot-{i}.lock", "a+") as probe:
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(probe, fcntl.LOCK_UN)
                    out[i] = None
                    continue
                except BlockingIOError:
                    pass
            try:
                out[i] = Ticket(**json.loads((self.dir / f"slot-{i}.json").read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                out[i] = Ticket(run_id="?", user="?", created=0.0)
        return out

    def snapshot(self, slots: list[str] | None = None) -> dict:
        """What the facilitator view shows: running (per slot), waiting in order, paused."""
        slots = slots or devices()
        with self._locked():
            holders = self.holders(len(slots))
            running = Counter(t.user for t in holders.values() if t)
            order, blocked = fair_order(self.waiting(), running, per_user_limit(), self.started())
        return {"paused": self.paused, "slots": [{"device": d, "run": holders[i]} for i, d in enumerate(slots)],
                "waiting": order, "blocked": blocked}

    # ---- waiting for a turn -------------------------------------------------------------------------
    def wait_for_slot(self, ticket: Ticket, should_give_up: Callable[[], bool],
                      on_position: Callable[[int, str], None] = lambda pos, why: None) -> Slot | None:
        """Block until it is this ticket's turn and a slot is free; return the held slot, or None
        when `should_give_up()` turns true while waiting. `on_position(pos, why)` is called when
        the 1-based position or the reason changes."""
        slots = devices()
        ticket_path = self.waiting_dir / f"{ticket.run_id}.json"
        ticket_path.write_text(json.dumps(ticket.__dict__), encoding="utf-8")
        last = None
        try:
            while True:
                with self._locked():
                    slot, pos, why = self._try_take(ticket, slots)
                    if slot is not None:
                        ticket_path.unlink(missing_ok=True)
                        return slot
                if (pos, why) != last:
                    on_position(pos, why)
                    last = (pos, why)
                if should_give_up():
                    return None
                time.sleep(POLL)
        finally:
            ticket_path.unlink(missing_ok=True)

    def _try_take(self, ticket: Ticket, slots: list[str]) -> tuple[Slot | None, int, str]:
        holders = self.holders(len(slots))
        running = Counter(t.user for t in holders.values() if t)
        order, blocked = fair_order(self.waiting(), running, per_user_limit(), self.started())
        ids = [t.run_id for t in order]
        pos = ids.index(ticket.run_id) if ticket.run_id in ids else len(ids)
        free = [i for i, t in holders.items() if t is None]
        if self.paused:
            return None, pos + 1, "paused"
        if ticket.run_id in blocked:
            return None, pos + 1, f"per-user limit: {running[ticket.user]} of your runs are running"
        if pos >= len(free):
            return None, pos + 1, "waiting for a free slot"
        for i in free:
            f = open(self.dir / f"slot-{i}.lock", "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            (self.dir / f"slot-{i}.json").write_text(json.dumps(ticket.__dict__), encoding="utf-8")
            self._count_start(ticket.user)
            return Slot(i, slots[i], f), 0, "running"
        return None, pos + 1, "waiting for a free slot"


def ticket_for(run_id: str, user: str | None, run_dir: str = "") -> Ticket:
    pid = os.getpid()
    return Ticket(run_id=run_id, user=user or "", created=time.time(), pid=pid,
                  pid_started=process_identity(pid), run_dir=run_dir)
