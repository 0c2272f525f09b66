"""The run store: a run is a folder, and the folder is the truth.

RUN_DIR/
  job.yaml       the resolved spec
  status.json    kind and creation time (written at creation), state, pid, pgid, timestamps, exit code,
                 one-line error (written by the worker)
  events.jsonl   append-only history
  worker.log     the worker's stdout/stderr
  artifacts/     checkpoints, the trained model, reports
  cancel.request present once somebody asked the run to stop

The UI and the CLI only read these files (and start or signal workers), so either can die and come
back and every run, live or finished, is still there with its whole history. A run id is a name:
its kind and age are read from status.json, never parsed out of it."""
from __future__ import annotations

import json
import os
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml

from backends import local as backend

from .errors import UserError
from .kinds import KINDS
from .events import EventLog, EventTail, metric_series
from .names import RULE, is_name
from .paths import confined, current_user, models_dir, runs_dir, shown, workspace
from .presets import dump_spec, read_yaml, validate

ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")
NEVER_STARTED_AFTER = 60.0  # seconds a created run may wait for its worker to appear


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


class Run:
    """Paths and small helpers for one run folder."""

    def __init__(self, path: str | os.PathLike):
        self.dir = Path(path)
        self.id = self.dir.name

    job_path = property(lambda self: self.dir / "job.yaml")
    status_path = property(lambda self: self.dir / "status.json")
    events_path = property(lambda self: self.dir / "events.jsonl")
    log_path = property(lambda self: self.dir / "worker.log")
    artifacts = property(lambda self: self.dir / "artifacts")
    cancel_path = property(lambda self: self.dir / "cancel.request")
    launcher_path = property(lambda self: self.dir / "launcher.json")

    @property
    def events(self) -> EventLog:
        return EventLog(self.events_path)

    def load_spec(self):
        data, tree = read_yaml(self.job_path)
        return validate(data, str(self.job_path), tree)

    def read_status(self) -> dict:
        return read_json(self.status_path)

    def set_status(self, **changes) -> dict:
        status = {**self.read_status(), **changes}
        write_json_atomic(self.status_path, status)
        if "state" in changes:
            self.events.emit("status", state=changes["state"], **({"error": changes["error"]} if changes.get("error") else {}))
        return status

    def cancel_requested(self) -> bool:
        return self.cancel_path.exists()

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def kind_and_created(run_dir: Path) -> tuple[str, float]:
    """A run's kind and creation time from status.json. Runs made before both were written there:
    job.yaml's kind and its modification time (job.yaml is written once, at creation; the folder's own
    mtime moves whenever a file such as cancel.request appears in it)."""
    status = read_json(run_dir / "status.json")
    kind, created = status.get("kind"), status.get("created_at")
    if not isinstance(kind, str) or not kind:
        try:
            job = yaml.safe_load((run_dir / "job.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            job = None
        kind = str(job.get("kind") or "") if isinstance(job, dict) else ""
    if isinstance(created, bool) or not isinstance(created, (int, float)):
        try:
            created = (run_dir / "job.yaml").stat().st_mtime
        except OSError:
            created = 0.0
    return kind, float(created)


def new_run_id(kind: str) -> str:
    return f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def now() -> float:
    return round(time.time(), 3)


class RunStore:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = runs_dir(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tails: dict[str, tuple[EventTail, dict]] = {}
        self._facts: dict[str, tuple[str, float]] = {}  # run id → (kind, created_at): fixed once known

    # ---- create and start -------------------------------------------------------------------
    def create(self, spec, parent: str | None = None) -> Run:
        from .lineage import inputs_of
        from .quota import check_submit
        check_submit(self)  # a workshop participant's disk and waiting-runs quotas, however the run was started
        inputs = inputs_of(spec, self.root)  # before the folder exists, so the run is not its own input
        run = Run(self.root / new_run_id(spec.kind))
        run.dir.mkdir(parents=True)
        run.artifacts.mkdir()
        run.job_path.write_text(dump_spec(spec), encoding="utf-8")
        write_json_atomic(run.status_path, {"state": "queued", "kind": spec.kind, "created_at": now(),
                                            "parent": parent or _parent_of(spec, self.root), "inputs": inputs})
        run.events.emit("status", state="queued")
        run.events.emit("inputs", **inputs)
        return run

    def launch(self, run: Run, resume: bool = False):
        argv = [sys.executable, "-m", "lab.worker", str(run.dir)] + (["--resume"] if resume else [])
        env = {**os.environ, "LAB_RUNS_DIR": str(self.root), "PYTHONUNBUFFERED": "1", **worker_identity()}
        proc = backend.start(argv, cwd=os.getcwd(), log_path=run.log_path, env=env)
        write_json_atomic(run.launcher_path, {"pid": proc.pid, "launched_at": now(), "argv": argv})
        return proc

    def submit(self, spec, parent: str | None = None) -> Run:
        run = self.create(spec, parent)
        self.launch(run)
        return run

    def ended_training_run(self, run_id: str, verb: str) -> Run:
        """The run, if it is a training run that has ended: what resume and continue start from."""
        run = self.get(run_id)
        status = self.status(run_id)
        if status.get("state") in ACTIVE:
            raise UserError(f"run {run_id} is still {status['state']}")
        kind = self.kind(run_id)
        if kind not in KINDS or not KINDS[kind].makes_model:
            raise UserError(f"run {run_id} is a {kind} run; only training runs {verb}")
        return run

    def resume(self, run_id: str) -> Run:
        from .quota import check_submit
        self.get(run_id)
        check_submit(self)
        run = self.ended_training_run(run_id, "resume")
        run.cancel_path.unlink(missing_ok=True)
        run.launcher_path.unlink(missing_ok=True)
        run.set_status(state="queued", resumed_at=now(), ended_at=None, exit_code=None, error=None, pid=None)
        self.launch(run, resume=True)
        return run

    # ---- read ----------------------------------------------------------------------------------
    def get(self, run_id: str) -> Run:
        if not is_name(run_id or ""):  # a run id is a name: `..` or `/` must not reach another folder
            raise UserError(f"no run '{run_id}' ({RULE})")
        run = Run(self.root / run_id)
        if not run.job_path.exists() or not run.dir.resolve().is_relative_to(self.root.resolve()):
            raise UserError(f"no run '{run_id}' in {shown(self.root)}")
        return run

    def ids(self) -> list[str]:
        """Every run, newest first across kinds (by creation time; the id breaks a tie)."""
        names = [p.name for p in self.root.iterdir() if (p / "job.yaml").exists()]
        return sorted(names, key=lambda name: (self._facts_of(name)[1], name), reverse=True)

    def _facts_of(self, run_id: str) -> tuple[str, float]:
        if run_id not in self._facts:
            facts = kind_and_created(self.root / run_id)
            if not facts[0]:
                return facts  # job.yaml half written: look again next time
            self._facts[run_id] = facts
        return self._facts[run_id]

    def kind(self, run_id: str) -> str:
        """The run's kind ('' when neither status.json nor job.yaml says)."""
        self.get(run_id)
        return self._facts_of(run_id)[0]

    def created_at(self, run_id: str) -> float:
        self.get(run_id)
        return self._facts_of(run_id)[1]

    def find(self, kind: str | tuple[str, ...] | None = None, state: str | tuple[str, ...] | None = None,
             has_model: bool | None = None) -> list[str]:
        """The run ids that match, newest first: of `kind` (one or several), in `state` (one or several;
        the corrected state, so a worker that died counts as failed), and with has_model=True only runs
        of a kind that makes a model and whose model is saved (artifacts/model or artifacts/adapter)."""
        from .models.load import run_model_dir
        kinds = (kind,) if isinstance(kind, str) else kind
        states = (state,) if isinstance(state, str) else state
        out = []
        for run_id in self.ids():
            this = self._facts_of(run_id)[0]
            if kinds is not None and this not in kinds:
                continue
            if has_model is not None:
                saved = this in KINDS and KINDS[this].makes_model and run_model_dir(self.root / run_id) is not None
                if saved != has_model:
                    continue
            if states is not None:
                try:
                    if self.status(run_id).get("state") not in states:
                        continue
                except UserError:  # deleted meanwhile
                    continue
            out.append(run_id)
        return out

    def status(self, run_id: str) -> dict:
        """status.json, corrected when its worker died without saying so."""
        run = self.get(run_id)
        status = run.read_status()
        if status.get("state") in ACTIVE and not self._worker_alive(run, status):
            status = run.read_status()  # it may have finished between the two reads
            if status.get("state") in ACTIVE and not self._worker_alive(run, status):
                status = self._mark_dead(run, status)
        return status

    def _worker_alive(self, run: Run, status: dict) -> bool:
        if status.get("pid"):
            return backend.is_alive(status["pid"], status.get("pid_started"))
        launcher = read_json(run.launcher_path)
        if launcher.get("pid"):  # launched, and the worker has not written its pid yet
            return backend.is_alive(launcher["pid"])
        created = max(status.get("created_at") or 0, status.get("resumed_at") or 0)
        return time.time() - created < NEVER_STARTED_AFTER

    def _mark_dead(self, run: Run, status: dict) -> dict:
        if run.cancel_requested():
            return run.set_status(state="cancelled", ended_at=now(), exit_code=130, error="cancelled")
        last = [line for line in run.log_tail(5).splitlines() if line.strip()]
        hint = f"; last log line: {last[-1][:200]}" if last else ""
        pid = status.get("pid") or read_json(run.launcher_path).get("pid")
        error = f"worker process {pid} died without reporting (killed?){hint}"
        return run.set_status(state="failed", ended_at=now(), exit_code=None, error=error)

    def summary(self, run_id: str) -> dict:
        """Status plus the last value of each metric (read incrementally, cached per run)."""
        run = self.get(run_id)
        tail, last = self._tails.setdefault(run_id, (EventTail(run.events_path), {}))
        for name, points in metric_series(tail.new()).items():
            last[name] = points[-1][1]
        status = self.status(run_id)
        start, end = status.get("started_at"), status.get("ended_at")
        duration = ((end or now()) - start) if start else None
        kind, created = self._facts_of(run_id)
        return {"run_id": run_id, "run_dir": str(run.dir), "kind": kind, "created_at": created, **status,
                "duration": duration, "metrics": dict(last)}

    def list(self, kind=None, state=None, has_model: bool | None = None) -> list[dict]:
        """The summaries of the runs `find` picks, newest first."""
        return [self.summary(i) for i in self.find(kind, state, has_model)]

    # ---- stop -----------------------------------------------------------------------------------
    def request_cancel(self, run_id: str) -> Run:
        run = self.get(run_id)
        run.cancel_path.write_text(str(now()))
        run.events.emit("log", message="stop requested")
        return run

    def cancel(self, run_id: str, grace: float = 30.0, kill_grace: float = 5.0) -> dict:
        """Ask politely (the trainer saves and stops at the next step), then terminate the
        process group if it is still there after `grace` seconds."""
        self.request_cancel(run_id)
        status = self.status(run_id)
        pgid = status.get("pgid")
        if status.get("state") in ACTIVE:
            backend.wait_until(lambda: self.status(run_id).get("state") not in ACTIVE, grace, 0.2)
        # Whether it stopped cleanly or not, nothing of the run's process group may outlive the cancel.
        if pgid and not backend.wait_until(lambda: not backend.group_members(pgid), kill_grace, 0.2):
            backend.terminate_group(pgid, kill_grace)
        return self.status(run_id)


def worker_identity() -> dict:
    """Who the worker runs for: their workspace, the shared models, and (workshop mode) their
    name for the queue's fair share and the confinement of their paths."""
    env = {"LAB_WORKSPACE": str(workspace()), "LAB_MODELS_DIR": str(models_dir())}
    if current_user():
        env["LAB_USER"] = current_user()
    if confined():
        env["LAB_CONFINE"] = "1"
    from .endpoints import worker_env
    env.update(worker_env())  # a key pasted in the page reaches this one worker only, never a file
    return env


def _parent_of(spec, root: Path | None = None) -> str | None:
    """The run whose model the spec starts from (`run:<ID>`, a run id, or a folder inside a run)."""
    from .lineage import model_parent
    return model_parent(spec, root or runs_dir())
