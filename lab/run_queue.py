"""The run queue: a global limit of runs per device slot, a per-user limit, first come first served
with fair share between users, a pause switch, and each waiting run's position.

There is no scheduler process to die: every worker waits in the queue itself. Under one lock file,
a waiting worker looks at the others (tickets in QUEUE/waiting, one per waiting worker) and at who
holds the device slots, computes the fair order, and takes a slot when it is its turn. A slot is an
flock on QUEUE/slot-N.lock: the kernel frees it when the holder exits, even on kill -9, so a crashed
run never keeps a slot, and a dead worker's ticket is dropped by whoever looks next.

The queue folder is the runs folder's `.queue` unless LAB_QUEUE_DIR names a shared one (workshop
mode: one queue for every participant's runs folder).

On a GPU box each visible GPU has LAB_MAX_RUNS slots (`--max-runs`, default 1: several small runs may
share a card), and there are as many CPU slots for the kinds that need no GPU (dedup, an index on
the CPU, a judge that only calls endpoints). A distributed run takes one slot on each of as many
GPUs as it has local ranks and is pinned to them."""
from __future__ import annotations

import fcntl
import json
import os
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    needs: str = "device"  # "device": a GPU slot where the machine has GPUs, else a CPU slot; "cpu": a CPU slot
    count: int = 1        # GPU slots on distinct GPUs (a distributed run's local ranks)
    only: str = ""        # GPU ids the run is limited to (launch.gpus), comma-separated; "" = any


@dataclass
class Slot:
    """A held device slot; keep the object for the run's life (closing the file frees the slot).
    A distributed run holds one per GPU: `more` are the others, as (index, device, file)."""
    index: int
    device: str
    file: object
    more: list = field(default_factory=list)

    @property
    def devices(self) -> list[str]:
        return [self.device] + [d for _, d, _ in self.more]

    @property
    def cuda_visible_devices(self) -> str | None:
        """What to pin the run to: the GPU ids of its slots, or None for a CPU slot."""
        ids = [d.removeprefix("cuda:") for d in self.devices if d.startswith("cuda:")]
        return ",".join(ids) if ids else None

    def release(self) -> None:
        self.file.close()
        for _, _, f in self.more:
            f.close()


def queue_dir(runs_root: Path) -> Path:
    return Path(os.environ.get("LAB_QUEUE_DIR") or runs_root / ".queue")


def runs_per_device() -> int:
    return max(1, int(os.environ.get("LAB_MAX_RUNS", "1") or 1))


def devices() -> list[str]:
    """One entry per slot. LAB_DEVICES ("cuda:0,cuda:1" or "cpu,cpu") wins. Else every visible GPU
    (nvidia-smi's list narrowed by an existing CUDA_VISIBLE_DEVICES) LAB_MAX_RUNS times, plus as many
    CPU slots; with no GPU, LAB_MAX_RUNS (default 1) CPU slots. A run on GPU slots sees only those
    GPUs (CUDA_VISIBLE_DEVICES), so a one-GPU box and an 8-GPU box both queue sensibly."""
    if os.environ.get("LAB_DEVICES"):
        return [d.strip() for d in os.environ["LAB_DEVICES"].split(",") if d.strip()]
    from .models.device import visible_gpus
    per = runs_per_device()
    gpus = [f"cuda:{gpu_id}" for gpu_id, _ in visible_gpus()]
    return [g for g in gpus for _ in range(per)] + ["cpu"] * per


def gpu_count(slots: list[str]) -> int:
    return len({d for d in slots if d.startswith("cuda:")})


def slot_request(spec) -> tuple[str, int]:
    """(needs, count) for a spec: training, eval and anything that runs a local model want a device
    (a GPU where there is one); a distributed run wants one per local rank; the rest (dedup, an index
    embedded on the CPU, a judge or RAG evaluation that only calls endpoints, a Slurm submission that
    only waits) a CPU slot."""
    from .kinds import get

    kind = get(spec.kind)
    launch = getattr(spec, "launch", None)
    if launch is not None and launch.launcher == "slurm":
        return "cpu", 1
    if kind.makes_model or spec.kind == "eval":
        return "device", launch.nproc_per_node if launch is not None and launch.distributed else 1
    embedding = getattr(spec, "embedding", None)
    if embedding is not None and getattr(embedding, "device", "cpu") != "cpu":
        return "device", 1
    for read in kind.reads(spec) if kind.reads else ():
        if read.what == "model" and read.base_url is None and read.role != "embedder":
            return "device", 1
    return "cpu", 1


def _class(ticket: Ticket, slots: list[str]) -> str:
    """Which slots serve a ticket: 'gpu' or 'cpu' (a class with no slot on this machine falls back
    to the other, so a CPU box runs training on its CPU slots and a GPU-only LAB_DEVICES runs dedup)."""
    has_gpu = any(d.startswith("cuda:") for d in slots)
    has_cpu = any(not d.startswith("cuda:") for d in slots)
    if ticket.needs == "cpu":
        return "cpu" if has_cpu else "gpu"
    return "gpu" if has_gpu else "cpu"


def _choose(ticket: Ticket, slots: list[str], free: list[int], load: Counter) -> list[int] | None:
    """Free slot indexes for the ticket, or None. GPU slots go to the least-loaded GPUs first, and a
    multi-rank run gets each rank on a different GPU."""
    klass = _class(ticket, slots)
    matching = [i for i in free if slots[i].startswith("cuda:") == (klass == "gpu")]
    if klass == "gpu" and ticket.only:
        allowed = {f"cuda:{x.strip()}" for x in ticket.only.split(",")}
        matching = [i for i in matching if slots[i] in allowed]
    if klass == "cpu":
        return matching[:1] or None
    by_device: dict[str, int] = {}
    for i in sorted(matching, key=lambda i: (load[slots[i]], i)):
        by_device.setdefault(slots[i], i)
    want = max(1, ticket.count)
    if len(by_device) < want:
        return None
    return list(by_device.values())[:want]


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
            running = _running_users(holders)
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
        running = _running_users(holders)
        order, blocked = fair_order(self.waiting(), running, per_user_limit(), self.started())
        if ticket.run_id not in {t.run_id for t in order}:
            order.append(ticket)
        mine = _class(ticket, slots)
        same_class = [t for t in order if _class(t, slots) == mine]
        pos = next(i for i, t in enumerate(same_class) if t.run_id == ticket.run_id)
        if self.paused:
            return None, pos + 1, "paused"
        if ticket.run_id in blocked:
            return None, pos + 1, f"per-user limit: {running[ticket.user]} of your runs are running"
        # Hand out free slots in the fair order. Within a class the first run that does not fit
        # holds back the ones behind it, so a run waiting for four GPUs is not overtaken forever.
        free = [i for i, t in holders.items() if t is None]
        load = Counter(slots[i] for i, t in holders.items() if t is not None)
        stuck: set[str] = set()
        for t in order:
            if t.run_id in blocked:
                continue
            klass = _class(t, slots)
            chosen = None if klass in stuck else _choose(t, slots, free, load)
            if t.run_id == ticket.run_id:
                if chosen is None:
                    return None, pos + 1, _waiting_reason(ticket, slots)
                return self._take(ticket, slots, chosen, pos)
            if chosen is None:
                stuck.add(klass)
                continue
            free = [i for i in free if i not in chosen]
            load.update(slots[i] for i in chosen)
        return None, pos + 1, _waiting_reason(ticket, slots)

    def _take(self, ticket: Ticket, slots: list[str], chosen: list[int], pos: int) -> tuple[Slot | None, int, str]:
        held = []
        for i in chosen:
            f = open(self.dir / f"slot-{i}.lock", "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                for _, _, g in held:
                    g.close()
                return None, pos + 1, _waiting_reason(ticket, slots)
            held.append((i, slots[i], f))
        for i, _, _ in held:
            (self.dir / f"slot-{i}.json").write_text(json.dumps(ticket.__dict__), encoding="utf-8")
        self._count_start(ticket.user)
        first, *more = held
        return Slot(first[0], first[1], first[2], more), 0, "running"


def _running_users(holders: dict[int, Ticket | None]) -> Counter:
    """Runs per user among the holders (a run holding several GPU slots counts once)."""
    runs = {t.run_id: t.user for t in holders.values() if t}
    return Counter(runs.values())


def _waiting_reason(ticket: Ticket, slots: list[str]) -> str:
    if _class(ticket, slots) == "gpu" and ticket.count > 1:
        return f"waiting for {ticket.count} GPUs"
    return "waiting for a free slot"


def ticket_for(run_id: str, user: str | None, run_dir: str = "", needs: str = "device", count: int = 1,
               only: str = "") -> Ticket:
    pid = os.getpid()
    return Ticket(run_id=run_id, user=user or "", created=time.time(), pid=pid,
                  pid_started=process_identity(pid), run_dir=run_dir, needs=needs, count=count, only=only)
