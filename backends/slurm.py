"""Slurm: render an sbatch script that starts one node launcher per node with srun, check its shell
syntax with `bash -n`, submit it with sbatch, follow the job's state, and cancel it with scancel.

Callers validate every string option against a strict pattern before it reaches `render` (the lab
does it in its spec); here each value is still written quoted or as a bare token that sbatch reads
as one word. Failures of the Slurm commands are `SlurmError` with the command's own message as one
line (for example sbatch's "invalid partition specified: gpu")."""
from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass

# Job states after which nothing more will run (squeue/scontrol/sacct spellings).
ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
         "DEADLINE", "REVOKED", "SPECIAL_EXIT")
# A pending job with one of these reasons will never start by itself.
NEVER_STARTS = ("DependencyNeverSatisfied", "InvalidAccount", "InvalidQOS", "BadConstraints")
INSTALL_HINT = ("install the Slurm client commands (Debian/Ubuntu: apt-get install slurm-client; `make slurm` "
                "installs a one-node test cluster), or submit the script on the cluster's login node")


class SlurmError(Exception):
    """A Slurm command failed; the message is its own stderr, as one line."""


@dataclass
class SbatchOptions:
    job_name: str
    nodes: int
    gpus_per_node: int
    cpus_per_task: int
    time: str
    output: str
    partition: str | None = None
    account: str | None = None
    extra: tuple[str, ...] = ()


def render(opts: SbatchOptions, node_command: list[str], env: dict[str, str] | None = None, workdir: str = ".") -> str:
    """The script. `node_command` runs once per node (one task per node, which starts that node's
    ranks); $MASTER_ADDR / $MASTER_PORT / $SLURM_NODEID are set for it (the first node of the
    allocation is the rendezvous host)."""
    lines = ["#!/bin/bash", f"#SBATCH --job-name={opts.job_name}", f"#SBATCH --nodes={int(opts.nodes)}",
             "#SBATCH --ntasks-per-node=1", f"#SBATCH --cpus-per-task={int(opts.cpus_per_task)}",
             f"#SBATCH --time={opts.time}", f"#SBATCH --output={opts.output}"]
    if opts.gpus_per_node:
        lines.append(f"#SBATCH --gpus-per-node={int(opts.gpus_per_node)}")
    if opts.partition:
        lines.append(f"#SBATCH --partition={opts.partition}")
    if opts.account:
        lines.append(f"#SBATCH --account={opts.account}")
    lines += [f"#SBATCH {x}" for x in opts.extra]
    lines += ["", "set -euo pipefail", f"cd {shlex.quote(workdir)}",
              'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
              # one port per job, so two jobs sharing a node do not meet on 29500
              "export MASTER_PORT=${MASTER_PORT:-$((20000 + SLURM_JOB_ID % 20000))}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    # Single quotes keep $SLURM_NODEID for the node's own shell, where srun sets it. Since Slurm
    # 22.05 srun no longer inherits --cpus-per-task from sbatch: without it the ranks share one CPU.
    inner = " ".join(shlex.quote(a) if not a.startswith("$") else a for a in node_command)
    lines += ["", f"srun --kill-on-bad-exit=1 --ntasks-per-node=1 --cpus-per-task={int(opts.cpus_per_task)} "
              f"bash -c {shlex.quote(inner)}", ""]
    return "\n".join(lines)


def syntax_error(script_path: str) -> str | None:
    """bash -n: None when the script parses, else bash's message."""
    proc = subprocess.run(["bash", "-n", script_path], capture_output=True, text=True)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"bash -n exited {proc.returncode}")


def available() -> bool:
    return all(shutil.which(c) for c in ("sbatch", "squeue", "scancel"))


def missing_message() -> str:
    return f"Slurm's sbatch is not on this machine: {INSTALL_HINT}"


def _one_line(stderr: str, fallback: str) -> str:
    """sbatch often says the same thing twice ("error: invalid partition specified: x" then
    "Batch job submission failed: Invalid partition name specified"): keep the first, most specific."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[0][:300] if lines else fallback


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)
    except FileNotFoundError:
        raise SlurmError(missing_message()) from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{argv[0]} did not answer within {timeout:.0f} s (is slurmctld up?)") from None


def submit(script_path: str, *args: str) -> str:
    """Submit; return the job id, or raise SlurmError with sbatch's own message."""
    proc = _run(["sbatch", "--parsable", *args, script_path])
    if proc.returncode != 0:
        raise SlurmError(_one_line(proc.stderr, f"sbatch exited with code {proc.returncode}"))
    return proc.stdout.strip().split(";")[0]


def dry_run(*args: str) -> str | None:
    """sbatch --test-only with these options on an empty script: None when Slurm would take the job,
    else sbatch's own message (a partition or account the cluster does not know, an impossible size)."""
    proc = subprocess.run(["sbatch", "--test-only", *args], input="#!/bin/bash\ntrue\n", capture_output=True,
                          text=True, timeout=60)
    if proc.returncode == 0:
        return None
    return _one_line(proc.stderr, f"sbatch --test-only exited with code {proc.returncode}")


@dataclass
class JobState:
    state: str          # PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, …; "" when unknown
    reason: str = ""    # why a pending job waits (Priority, Resources, Dependency, …)
    exit_code: str = ""  # "0:0" = exit code : signal, when known

    @property
    def ended(self) -> bool:
        return self.state.split()[0] in ENDED if self.state else False


def job_state(job_id: str) -> JobState:
    """Where a job is: squeue while it is queued or running, then scontrol (finished jobs stay there
    for MinJobAge), then sacct when the cluster keeps accounting. Unknown → JobState("")."""
    proc = _run(["squeue", "-h", "-j", str(job_id), "-o", "%T|%r"])
    head = proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and proc.stdout.strip() else ""
    if head:
        state, _, reason = head.partition("|")
        return JobState(state.strip(), "" if reason.strip() in ("None", "(null)") else reason.strip())
    proc = _run(["scontrol", "-o", "show", "job", str(job_id)])
    if proc.returncode == 0 and "JobState=" in proc.stdout:
        fields = dict(f.split("=", 1) for f in proc.stdout.split() if "=" in f)
        return JobState(fields.get("JobState", ""), fields.get("Reason", "").replace("None", ""), fields.get("ExitCode", ""))
    if shutil.which("sacct"):
        proc = _run(["sacct", "-n", "-X", "-P", "-j", str(job_id), "-o", "State,ExitCode"])
        line = proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and proc.stdout.strip() else ""
        if line:
            state, _, code = line.partition("|")
            return JobState(state.split()[0], "", code)
    return JobState("")


def in_queue(job_id: str) -> bool:
    out = _run(["squeue", "-h", "-j", str(job_id), "-o", "%i"])
    return bool(out.stdout.strip())


def cancel(*job_ids: str) -> None:
    """scancel; a job that already ended is not an error."""
    if job_ids:
        _run(["scancel", *map(str, job_ids)])
