"""Workshop mode: one lab server for a room. Each participant works in WORKSPACE/users/<name>
(runs, RAG indexes, uploads, saved presets); the tiny model and other models stay shared; every
run waits in one queue with a global limit per device and a per-user limit; the facilitator sees
everyone's runs, can pause the queue, cancel any run and broadcast a message.

Nothing here knows about Gradio: ui/workshop.py maps each HTTP request's logged-in user onto
`paths.as_user`, and everything below reads the workspace from there."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from . import run_queue
from .cancel import cancel_in_background
from .errors import UserError
from .names import check_name, inside
from .paths import as_user, runs_dir, shared_workspace
from .runs import RunStore
from .users import Account, LoginGuard, check_password


class UserStores:
    """A RunStore that is always the current participant's (one per runs folder, made on first use)."""

    def __init__(self):
        self._stores: dict[Path, RunStore] = {}
        self._lock = threading.Lock()

    def current(self) -> RunStore:
        root = runs_dir()
        with self._lock:
            if root not in self._stores:
                self._stores[root] = RunStore(root)
            return self._stores[root]

    def __getattr__(self, name):
        return getattr(self.current(), name)


class Workshop:
    def __init__(self, accounts: list[Account], base: Path | None = None, max_runs: int | None = None,
                 per_user: int | None = 1, max_upload_mb: int = 20):
        self.accounts = {a.name: a for a in accounts}
        self.base = Path(base or shared_workspace()).resolve()
        self.folder = self.base / ".workshop"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_upload_mb = max_upload_mb
        # Workers inherit these: one queue for every participant's runs, and its limits.
        os.environ["LAB_QUEUE_DIR"] = str(self.base / ".queue")
        if max_runs:
            os.environ["LAB_MAX_RUNS"] = str(max_runs)
        if per_user:
            os.environ["LAB_MAX_RUNS_PER_USER"] = str(per_user)
        os.environ["LAB_MAX_UPLOAD_MB"] = str(max_upload_mb)
        self._stores = UserStores()
        self._guard = LoginGuard()
        device_load()  # the first CPU reading is always 0%: take it now, so the facilitator's first one is real

    # ---- who --------------------------------------------------------------------------------------
    def login(self, name: str, password: str) -> bool:
        """Right name and password, and the account not locked by repeated failures (lab/users.py)."""
        if self._guard.locked_for(name):
            return False
        if check_password(list(self.accounts.values()), name, password) is not None:
            self._guard.succeeded(name)
            return True
        if self._guard.failed(name) == self._guard.max_failures:
            print(f"login: {name[:64]!r} refused for {self._guard.lock_seconds:.0f} s after "
                  f"{self._guard.max_failures} wrong passwords", flush=True)
        return False

    def account(self, name: str | None) -> Account | None:
        return self.accounts.get(name or "")

    def is_facilitator(self, name: str | None) -> bool:
        account = self.account(name)
        return bool(account and account.is_facilitator)

    def user_dir(self, name: str) -> Path:
        if name not in self.accounts:
            # Nobody without an account gets a workspace; an anonymous request sees an empty one.
            return self.folder / "nobody"
        return inside(self.base / "users", name, "user name")

    def as_user(self, name: str | None):
        return as_user(name or "", self.user_dir(name or ""))

    def store(self) -> UserStores:
        return self._stores

    # ---- the facilitator's view -------------------------------------------------------------------
    def all_runs(self) -> list[dict]:
        """Every participant's runs, newest first, each with its `user`."""
        out = []
        for name in self.accounts:
            root = self.user_dir(name) / "runs"
            if not root.is_dir():
                continue
            store = self._stores._stores.get(root) or RunStore(root)
            for summary in store.list():
                out.append({"user": name, **summary})
        return sorted(out, key=lambda r: r.get("created_at") or 0, reverse=True)

    def cancel(self, user: str, run_id: str) -> None:
        if user not in self.accounts:  # a name typed into the API, not a folder: only an account has runs
            raise UserError(f"no participant '{user[:64]}'")
        check_name(run_id, "run id")
        with self.as_user(user):
            store = self._stores.current()
            cancel_in_background(store, run_id)

    def queue(self) -> run_queue.RunQueue:
        return run_queue.RunQueue(Path(os.environ["LAB_QUEUE_DIR"]))

    # ---- broadcast ------------------------------------------------------------------------------------
    @property
    def broadcast_path(self) -> Path:
        return self.folder / "broadcast.json"

    def broadcast(self, message: str) -> None:
        message = (message or "").strip()
        if not message:
            self.broadcast_path.unlink(missing_ok=True)
            return
        tmp = self.broadcast_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"message": message[:500], "at": time.time()}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.broadcast_path)

    def current_broadcast(self) -> str:
        try:
            return json.loads(self.broadcast_path.read_text(encoding="utf-8"))["message"]
        except (OSError, ValueError, KeyError):
            return ""


_cpu_primed = False


def device_load() -> dict:
    """CPU and memory use of the box, and each GPU's utilisation and memory when nvidia-smi is there."""
    import psutil

    global _cpu_primed
    # psutil's non-blocking figure is the use since the previous call, and 0.0 on the first: sample the first
    # one over a short interval instead of showing an idle box that is busy.
    cpu = psutil.cpu_percent(interval=None if _cpu_primed else 0.2)
    _cpu_primed = True
    load = {"cpu_percent": cpu, "cpus": psutil.cpu_count(),
            "mem_percent": psutil.virtual_memory().percent, "loadavg": os.getloadavg()[0], "gpus": []}
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used,memory.total",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5).stdout
            for line in out.strip().splitlines():
                i, util, used, total = (x.strip() for x in line.split(","))
                load["gpus"].append({"index": int(i), "util_percent": float(util), "mem_used_mb": float(used),
                                     "mem_total_mb": float(total)})
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    return load
