"""`python -m lab.worker RUN_DIR [--resume]`: load RUN_DIR/job.yaml, wait for a free slot, run the
job's kind, and record how it ended. Any exception becomes a failed status with a one-line reason
(the traceback goes to worker.log); a stop request becomes `cancelled`."""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from backends.local import process_identity

from . import slots
from .context import RunContext
from .errors import UserError
from .jobs import job_module
from .runs import Run, now

EXIT_OK, EXIT_FAILED, EXIT_USER, EXIT_CANCELLED = 0, 1, 2, 130


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.worker")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    run = Run(args.run_dir)
    pid = os.getpid()
    run.set_status(state="queued", pid=pid, pgid=os.getpgid(0), pid_started=process_identity(pid))

    slot = slots.acquire(run.dir.parent, slots.default_limit(), run.cancel_requested)
    if slot is None:
        run.set_status(state="cancelled", ended_at=now(), exit_code=EXIT_CANCELLED, error="cancelled while queued")
        return EXIT_CANCELLED
    run.set_status(state="running", started_at=now())
    ctx = RunContext(run, resume=args.resume)
    try:
        spec = run.load_spec()
        result = job_module(spec.kind).run(spec, ctx) or {}
    except UserError as e:
        run.set_status(state="failed", ended_at=now(), exit_code=EXIT_USER, error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USER
    except BaseException as e:  # noqa: BLE001 - the worker's whole job is to record how it ended
        traceback.print_exc()
        if run.cancel_requested():
            run.set_status(state="cancelled", ended_at=now(), exit_code=EXIT_CANCELLED, error="cancelled")
            return EXIT_CANCELLED
        run.set_status(state="failed", ended_at=now(), exit_code=EXIT_FAILED, error=one_line(e))
        return EXIT_FAILED
    if run.cancel_requested():
        run.set_status(state="cancelled", ended_at=now(), exit_code=EXIT_CANCELLED, error="cancelled", result=result)
        return EXIT_CANCELLED
    run.set_status(state="succeeded", ended_at=now(), exit_code=EXIT_OK, error=None, result=result)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
