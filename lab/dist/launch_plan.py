"""From a training spec's `launch:` block to what actually runs: the exact argv, its environment and
the generated files. The worker (as supervisor) executes the plan; the Launch tab previews the very
same plan before anything starts, so what a user sees is what runs."""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backends import accelerate as accelerate_backend
from backends import deepspeed as deepspeed_backend
from backends import slurm as slurm_backend
from backends import torchrun as torchrun_backend

from .. import shell_safe
from ..errors import UserError
from . import configs

LAUNCH_DIR = "launch"


@dataclass
class LaunchPlan:
    launcher: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file name (under RUN_DIR/launch) → content
    world_size: int = 1

    def command_line(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + shlex.join(self.argv)


def _cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def plan(spec, run_dir: str | Path, resume: bool = False, python: str | None = None, cuda: bool | None = None) -> LaunchPlan:
    launch = spec.launch
    run_dir = str(run_dir)
    python = python or sys.executable
    cuda = _cuda() if cuda is None else cuda
    folder = f"{run_dir}/{LAUNCH_DIR}"
    module_argv = ["lab.worker", run_dir, "--rank"] + (["--resume"] if resume else [])
    files: dict[str, str] = {}
    env: dict[str, str] = {}
    if launch.gpus:
        env["CUDA_VISIBLE_DEVICES"] = launch.gpus
    if launch.zero_stage is not None:
        files["deepspeed.json"] = configs.dump_json(configs.deepspeed_config(launch))
        if not cuda:
            env["DS_ACCELERATOR"] = "cpu"
    world = launch.nproc_per_node * launch.nnodes

    def node_command(which: str, overrides: dict[str, str] | None = None) -> list[str]:
        if which == "accelerate":
            files["accelerate.yaml"] = configs.dump_yaml(configs.accelerate_config(
                launch, cuda, f"{folder}/deepspeed.json" if launch.zero_stage is not None else None))
            return accelerate_backend.command(python, module_argv, config_file=f"{folder}/accelerate.yaml",
                                              overrides=overrides)
        return torchrun_backend.command(python, module_argv, nproc_per_node=launch.nproc_per_node,
                                        nnodes=launch.nnodes, node_rank=launch.node_rank,
                                        master_addr=launch.master_addr, master_port=launch.master_port,
                                        rdzv_endpoint=launch.rdzv_endpoint, run_id=Path(run_dir).name)

    if launch.launcher in ("torchrun", "accelerate"):
        argv = node_command(launch.launcher)
    elif launch.launcher == "deepspeed":
        if launch.hostfile:
            files["hostfile"] = configs.hostfile(launch)
        argv = deepspeed_backend.command(python, module_argv, nproc_per_node=launch.nproc_per_node,
                                         hostfile=f"{folder}/hostfile" if launch.hostfile else None,
                                         master_addr=launch.master_addr, master_port=launch.master_port,
                                         gpus=launch.gpus)
        world = launch.nproc_per_node * max(1, len(launch.hostfile)) if launch.hostfile else launch.nproc_per_node
    elif launch.launcher == "slurm":
        # Every node starts the same launcher; Slurm tells each which node it is and who is first.
        if launch.slurm.node_launcher == "torchrun":
            node = torchrun_backend.command(python, module_argv, nproc_per_node=launch.nproc_per_node,
                                            nnodes=launch.nnodes, run_id=Path(run_dir).name,
                                            rdzv_endpoint="$MASTER_ADDR:$MASTER_PORT" if launch.nnodes > 1 else None)
        else:
            node = node_command("accelerate", {"machine_rank": "$SLURM_NODEID", "main_process_ip": "$MASTER_ADDR",
                                               "main_process_port": "$MASTER_PORT"})
        s = launch.slurm
        if not shell_safe.is_safe(folder, "path"):
            raise UserError(f"launch.launcher: slurm writes the run folder into an sbatch script; "
                            f"{shell_safe.refusal('run folder', folder, 'path')}")
        files["job.sbatch"] = slurm_backend.render(
            slurm_backend.SbatchOptions(job_name=s.job_name, nodes=launch.nnodes,
                                        gpus_per_node=slurm_gpus_per_node(launch, cuda),
                                        cpus_per_task=slurm_cpus_per_task(spec), time=s.time,
                                        output=f"{folder}/slurm-%j.out",
                                        partition=s.partition, account=s.account, extra=tuple(s.extra_sbatch)),
            node, env, workdir=str(Path.cwd()))
        argv = ["sbatch", "--parsable", f"{folder}/job.sbatch"]
    else:
        argv = [python, "-m", *module_argv[:2]]
        world = 1
    files["command.sh"] = "#!/bin/bash\n# what the lab runs for this job\n" + LaunchPlan(launch.launcher, argv, env).command_line() + "\n"
    return LaunchPlan(launch.launcher, argv, env, files, world)


def slurm_gpus_per_node(launch, cuda: bool) -> int:
    """What the run asks for, not a fixed 8: one GPU per rank where GPUs are in play."""
    if launch.slurm.gpus_per_node is not None:
        return launch.slurm.gpus_per_node
    return launch.nproc_per_node if cuda else 0


def slurm_cpus_per_task(spec) -> int:
    """One task per node starts all of that node's ranks: a CPU per rank and per data-loader worker."""
    if spec.launch.slurm.cpus_per_task is not None:
        return spec.launch.slurm.cpus_per_task
    train = getattr(spec, "train", None)
    return spec.launch.nproc_per_node * (1 + int(getattr(train, "dataloader_num_workers", 0) or 0))


def write_files(p: LaunchPlan, run_dir: str | Path) -> Path:
    folder = Path(run_dir) / LAUNCH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in p.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
