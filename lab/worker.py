"""`python -m lab.worker RUN_DIR [--resume]`: load RUN_DIR/job.yaml, wait for a free slot, run the
job, and record how it ended. Any exception becomes a failed status with a one-line reason (the
traceback goes to worker.log); a stop request becomes `cancelled`.

A distributed job (`launch.launcher` other than local) runs in two roles: this process supervises
(slot, status, the launcher child, the verdict), and the launcher starts the ranks as
`python -m lab.worker RUN_DIR --rank`. Ranks never write status: rank 0 writes the events, every rank
writes its own log (ranks/rankN.log) and, when it fails, its one-line error (ranks/rankN.error)."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import traceback

from backends import slurm as slurm_backend
from backends.local import process_identity

from . import cpu_share, memory_estimate, run_queue
from .context import RunContext
from .errors import UserError
from .jobs import job_module
from .paths import scrub
from .runs import Run, now

EXIT_OK, EXIT_FAILED, EXIT_USER, EXIT_CANCELLED = 0, 1, 2, 130


def one_line(exc: BaseException) -> str:
    text = scrub(str(exc)).strip().splitlines()  # a participant's page never names a server folder
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.worker")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--rank", action="store_true", help="run as one rank of a distributed launch")
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)  # added by deepspeed
    args = parser.parse_args(argv)
    run = Run(args.run_dir)
    if args.rank:
        return rank_main(run, args.resume)
    pid = os.getpid()
    run.set_status(state="queued", pid=pid, pgid=os.getpgid(0), pid_started=process_identity(pid))

    # A Slurm job queues on the cluster, not for a slot of this machine: the supervisor only follows it.
    on_slurm = _launcher_of(run) == "slurm"
    try:
        request = None if on_slurm else slot_request(run)
    except UserError as e:  # more ranks than GPUs: one line, before waiting in the queue for ever
        run.set_status(state="failed", ended_at=now(), exit_code=EXIT_USER, error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USER
    slot = None if on_slurm else take_slot(run, *request)
    if slot is None and not on_slurm:
        run.set_status(state="cancelled", ended_at=now(), exit_code=EXIT_CANCELLED, error="cancelled while queued",
                       queue_position=None, queue_reason=None)
        return EXIT_CANCELLED
    if slot is not None:
        run.set_status(state="running", started_at=now(), device=",".join(slot.devices), queue_position=None,
                       queue_reason=None)
    try:
        spec = run.load_spec()
        launch = getattr(spec, "launch", None)
        if slot is not None:  # memory admission: the slot's free memory now, against the spec's estimate
            memory_estimate.check_slot(spec, slot.device)
        if slot is not None and slot.cuda_visible_devices:
            # Pinned to the slots' GPUs before torch sees CUDA; a launcher's ranks inherit it.
            os.environ["CUDA_VISIBLE_DEVICES"] = slot.cuda_visible_devices
        if slot is not None and slot.device == "cpu":
            cpu_share.apply(run_queue.devices())
        if launch is not None and launch.distributed:
            return supervise(run, spec, args.resume)
        result = job_module(spec.kind).run(spec, RunContext(run, resume=args.resume)) or {}
    except UserError as e:
        run.set_status(state="failed", ended_at=now(), exit_code=EXIT_USER, error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USER
    except BaseException as e:  # noqa: BLE001 - the worker's whole job is to record how it ended
        traceback.print_exc()
        if run.cancel_requested():
            return _end(run, "cancelled", EXIT_CANCELLED, "cancelled")
        return _end(run, "failed", EXIT_FAILED, one_line(e))
    return _finish(run, result)


def _launcher_of(run: Run) -> str | None:
    """The spec's launcher, or None when the spec does not load (the job reports that itself)."""
    try:
        launch = getattr(run.load_spec(), "launch", None)
    except Exception:  # noqa: BLE001 - a bad spec fails below with its own one-line message
        return None
    return getattr(launch, "launcher", None)


def slot_request(run: Run) -> tuple[str, int, str]:
    """(needs, count, only) for the queue: a CPU slot for kinds that need no GPU, one GPU slot per
    local rank of a distributed run (refused in one line when this machine has fewer GPUs)."""
    try:
        spec = run.load_spec()
    except Exception:  # noqa: BLE001 - a bad spec fails later with its own one-line message
        return "device", 1, ""
    needs, count = run_queue.slot_request(spec)
    launch = getattr(spec, "launch", None)
    if launch is None or not launch.distributed:
        return needs, count, ""
    from .distributed.launch_plan import check_ranks
    slots = run_queue.devices()
    check_ranks(launch, run_queue.gpu_count(slots),
                list(dict.fromkeys(d.removeprefix("cuda:") for d in slots if d.startswith("cuda:"))))
    return needs, count, launch.gpus or ""


def take_slot(run: Run, needs: str = "device", count: int = 1, only: str = ""):
    """Wait in the run queue (lab/run_queue.py), showing the position in status.json."""
    queue = run_queue.RunQueue(run_queue.queue_dir(run.dir.parent))
    status = run.read_status()
    ticket = run_queue.ticket_for(run.id, os.environ.get("LAB_USER"), str(run.dir), needs, count, only)
    ticket = run_queue.Ticket(**{**ticket.__dict__, "created": status.get("created_at") or ticket.created})

    def show(position: int, reason: str) -> None:
        run.set_status(queue_position=position, queue_reason=reason)
        run.events.emit("log", message=f"queued: position {position} ({reason})")

    return queue.wait_for_slot(ticket, run.cancel_requested, show)


def _end(run: Run, state: str, code: int, error: str | None, **extra) -> int:
    run.set_status(state=state, ended_at=now(), exit_code=code, error=error, **extra)
    return code


def _finish(run: Run, result: dict) -> int:
    if run.cancel_requested():
        return _end(run, "cancelled", EXIT_CANCELLED, "cancelled", result=result)
    return _end(run, "succeeded", EXIT_OK, None, result=result)


# ---- distributed ---------------------------------------------------------------------------------
def _rank() -> int:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))


def rank_main(run: Run, resume: bool) -> int:
    rank = _rank()
    folder = run.dir / "ranks"
    folder.mkdir(exist_ok=True)
    log = open(folder / f"rank{rank}.log", "ab", buffering=0)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    ctx = RunContext(run, resume=resume, is_main_process=rank == 0)
    try:
        if os.environ.get("LAB_FAULT_RANK") == str(rank):  # fault injection, for testing how a rank failure is reported
            raise RuntimeError(f"injected fault in rank {rank}")
        spec = run.load_spec()
        result = job_module(spec.kind).run(spec, ctx) or {}
    except BaseException as e:  # noqa: BLE001 - recorded for the supervisor, which decides the verdict
        traceback.print_exc()
        record = {"error": str(e) if isinstance(e, UserError) else one_line(e), "user": isinstance(e, UserError)}
        (folder / f"rank{rank}.error").write_text(json.dumps(record), encoding="utf-8")
        return EXIT_USER if isinstance(e, UserError) else EXIT_FAILED
    if rank == 0:
        (folder / "result.json").write_text(json.dumps(result), encoding="utf-8")
    _leave_process_group()
    return EXIT_OK


def _leave_process_group() -> None:
    """A rank that ends with its process group still open leaves its teardown to the interpreter's exit,
    where gloo (or NCCL) may abort the process (seen once: SIGABRT in rank 1 after a finished FSDP run);
    PyTorch asks for destroy_process_group() before exit. No barrier: a peer that died would hang it."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception as e:  # noqa: BLE001 - the work is saved; a failed teardown is only worth a log line
            print(f"destroy_process_group: {one_line(e)}", file=sys.stderr)


def first_rank_error(run: Run) -> tuple[str, bool] | None:
    """The earliest error any rank recorded, as ('rank N: …', was it the user's) — later ones are
    usually knock-on effects of the first."""
    errors = sorted((run.dir / "ranks").glob("rank*.error"), key=lambda p: p.stat().st_mtime)
    if not errors:
        return None
    record = json.loads(errors[0].read_text(encoding="utf-8"))
    return f"rank {errors[0].stem.removeprefix('rank')}: {record['error']}", record["user"]


def supervise(run: Run, spec, resume: bool) -> int:
    from .distributed.launch_plan import plan, write_files

    p = plan(spec, run.dir, resume=resume, gpus=os.environ.get("CUDA_VISIBLE_DEVICES") or None)
    write_files(p, run.dir)
    run.events.emit("launch", launcher=p.launcher, world_size=p.world_size, command=p.command_line())
    (run.dir / "ranks").mkdir(exist_ok=True)
    for stale in (run.dir / "ranks").glob("*"):  # a resumed run starts with a clean slate
        if stale.suffix in (".error", ".json"):
            stale.unlink()
    env = {**os.environ, **p.env, "PYTHONUNBUFFERED": "1"}
    if p.launcher == "slurm":
        code, ended = _run_on_slurm(run, p)
    else:
        code = subprocess.run(p.argv, env=env, stdin=subprocess.DEVNULL).returncode
        ended = f"{p.launcher} exited with code {code}"
    result_path = run.dir / "ranks" / "result.json"
    if run.cancel_requested():
        return _end(run, "cancelled", EXIT_CANCELLED, "cancelled")
    if code == 0 and result_path.exists():
        return _finish(run, json.loads(result_path.read_text(encoding="utf-8")))
    error, user = first_rank_error(run) or (ended, False)
    return _end(run, "failed", EXIT_USER if user else EXIT_FAILED, error)


# ---- Slurm ---------------------------------------------------------------------------------------
SLURM_POLL_S = 1.0
SLURM_STOP_GRACE_S = 20.0  # a stop request first lets the ranks save and leave; then scancel
SLURM_SILENCE_S = 300.0  # how long squeue may fail to answer before the run gives up following the job


def _run_on_slurm(run: Run, p) -> tuple[int, str]:
    """Submit the sbatch script and follow the job until it ends: the run is `queued` while Slurm
    holds it PENDING and `running` once it starts; a stop request, or SIGTERM to this supervisor,
    becomes scancel. Returns (0 when rank 0 left its result, else 1; how the job ended)."""
    script = run.dir / "launch" / "job.sbatch"
    problem = slurm_backend.syntax_error(str(script))
    if problem:
        raise UserError(f"{script}: {problem}")
    if not slurm_backend.available():
        raise UserError(slurm_backend.missing_message())
    try:
        job_id = slurm_backend.submit(str(script))
    except slurm_backend.SlurmError as e:
        raise UserError(str(e)) from None  # sbatch's own words ("sbatch: error: invalid partition specified: x")
    run.set_status(slurm_job=job_id, slurm_state="PENDING")
    run.events.emit("log", message=f"submitted Slurm job {job_id}")

    def scancel_and_leave(*_):
        slurm_backend.cancel(job_id)
        raise SystemExit(EXIT_CANCELLED)

    previous = signal.signal(signal.SIGTERM, scancel_and_leave)
    try:
        ended = _follow_slurm_job(run, job_id)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if (run.dir / "ranks" / "result.json").exists():
        return 0, ended
    out = run.dir / "launch" / f"slurm-{job_id}.out"
    last = [ln for ln in (out.read_text(errors="replace").splitlines() if out.exists() else []) if ln.strip()]
    return 1, ended + (f"; last line of {out.name}: {last[-1].strip()[:200]}" if last else "")


def _follow_slurm_job(run: Run, job_id: str) -> str:
    shown, stop_asked, scancelled, never, silent_since = None, None, False, None, None
    while True:
        try:
            job = slurm_backend.job_state(job_id)
            silent_since = None
        except slurm_backend.SlurmError:  # slurmctld busy or restarting: the job goes on, keep asking a while
            silent_since = silent_since or time.monotonic()
            if time.monotonic() - silent_since > SLURM_SILENCE_S:
                raise
            time.sleep(SLURM_POLL_S)
            continue
        if (job.state, job.reason) != shown:
            shown = (job.state, job.reason)
            changes = {"slurm_state": job.state or "gone", "queue_reason": job.reason or None}
            if job.state in ("RUNNING", "COMPLETING") and run.read_status().get("state") != "running":
                changes.update(state="running", started_at=now())
            run.set_status(**changes)
            run.events.emit("log", message=f"Slurm job {job_id}: {job.state or 'gone'}"
                                           + (f" ({job.reason})" if job.reason else ""))
        if job.ended or not job.state:
            if never:
                return f"Slurm job {job_id} could never start ({never}): cancelled it"
            return (f"Slurm job {job_id} ended {job.state or 'without a trace in squeue/scontrol/sacct'}"
                    + (f" (exit code {job.exit_code})" if job.exit_code and job.exit_code != "0:0" else ""))
        if job.state == "PENDING" and job.reason in slurm_backend.NEVER_STARTS and not scancelled:
            slurm_backend.cancel(job_id)
            scancelled, never = True, job.reason
        if run.cancel_requested() and not scancelled:
            stop_asked = stop_asked or time.monotonic()
            if job.state == "PENDING" or time.monotonic() - stop_asked > SLURM_STOP_GRACE_S:
                slurm_backend.cancel(job_id)
                scancelled = True
                run.events.emit("log", message=f"scancel {job_id}")
        time.sleep(SLURM_POLL_S)


if __name__ == "__main__":
    sys.exit(main())
