"""Slurm: render an sbatch script that starts one node launcher per node with srun, check its shell
syntax with `bash -n`, submit it with sbatch, and poll the job until it leaves the queue."""
from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass


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
    """The script. `node_command` runs once per node; $MASTER_ADDR / $MASTER_PORT / $SLURM_NODEID are
    set for it (the first node of the allocation is the rendezvous host)."""
    lines = ["#!/bin/bash", f"#SBATCH --job-name={opts.job_name}", f"#SBATCH --nodes={opts.nodes}",
             "#SBATCH --ntasks-per-node=1", f"#SBATCH --cpus-per-task={opts.cpus_per_task}",
             f"#SBATCH --time={opts.time}", f"#SBATCH --output={opts.output}"]
    if opts.gpus_per_node:
        lines.append(f"#SBATCH --gpus-per-node={opts.gpus_per_node}")
    if opts.partition:
        lines.append(f"#SBATCH --partition={opts.partition}")
    if opts.account:
        lines.append(f"#SBATCH --account={opts.account}")
    lines += [f"#SBATCH {x}" for x in opts.extra]
    lines += ["", "set -euo pipefail", f"cd {shlex.quote(workdir)}",
              'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
              "export MASTER_PORT=${MASTER_PORT:-29500}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    # Single quotes keep $SLURM_NODEID for the node's own shell, where srun sets it.
    inner = " ".join(shlex.quote(a) if not a.startswith("$") else a for a in node_command)
    lines += ["", f"srun --kill-on-bad-exit=1 bash -c {shlex.quote(inner)}", ""]
    return "\n".join(lines)


def syntax_error(script_path: str) -> str | None:
    """bash -n: None when the script parses, else bash's message."""
    proc = subprocess.run(["bash", "-n", script_path], capture_output=True, text=True)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"bash -n exited {proc.returncode}")


def available() -> bool:
    return shutil.which("sbatch") is not None


def submit(script_path: str) -> str:
    """Submit; return the job id (raises CalledProcessError with sbatch's message)."""
    out = subprocess.run(["sbatch", "--parsable", script_path], capture_output=True, text=True, check=True)
    return out.stdout.strip().split(";")[0]


def in_queue(job_id: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True)
    return bool(out.stdout.strip())


def cancel(job_id: str) -> None:
    subprocess.run(["scancel", job_id], capture_output=True)
