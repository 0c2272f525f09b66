"""From a training spec's `launch:` block to what actually runs: the exact argv, its environment and
the generated files. The worker (as supervisor) executes the plan; the Launch tab previews the very
same plan before anything starts, so what a user sees is what runs."""
from __future__ import annotations

import re
import shlex
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backends import accelerate as accelerate_backend
from backends import deepspeed as deepspeed_backend
from backends import slurm as slurm_backend
from backends import torchrun as torchrun_backend

from .. import shell_safe
from ..errors import UserError
from ..paths import confined
from . import configs

LAUNCH_DIR = "launch"
DEFAULT_MASTER_PORT = 29500


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
    """GPUs visible here, asked of nvidia-smi: the UI previews plans and must not start CUDA."""
    from ..models.device import visible_gpus
    return bool(visible_gpus())


def check_ranks(launch, visible_gpus: int, visible_ids: list[str] | None = None) -> None:
    """One line when a node's ranks outnumber its GPUs, or launch.gpus names one that is not visible
    (with no GPU, ranks are CPU processes)."""
    ranks = launch.nproc_per_node
    named = [g.strip() for g in (launch.gpus or "").split(",") if g.strip()]
    if named and ranks > len(named):
        raise UserError(f"launch.nproc_per_node: {ranks} ranks but launch.gpus names {len(named)} GPU(s) ({launch.gpus})")
    missing = [g for g in named if visible_ids is not None and visible_gpus and g not in visible_ids]
    if missing:
        raise UserError(f"launch.gpus: GPU {','.join(missing)} is not visible here (visible: {','.join(visible_ids)})")
    if visible_gpus and ranks > visible_gpus:
        raise UserError(f"launch.nproc_per_node: {ranks} ranks but {visible_gpus} GPU(s) are visible on this machine "
                        f"(nvidia-smi, CUDA_VISIBLE_DEVICES); use at most {visible_gpus}")


def hostfile_world_size(launch) -> int:
    """Ranks a DeepSpeed hostfile starts: the sum of its `slots=` (a host without slots= counts one)."""
    total = 0
    for line in launch.hostfile:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.search(r"\bslots=(\d+)", line)
        total += int(match.group(1)) if match else 1
    return total


def precision(spec, cuda: bool) -> str:
    """'bf16', 'fp16' or 'no': what the Trainer will use (lab/models/device.py), so accelerate.yaml
    says the same. Native bf16 is read from nvidia-smi's compute capability (no CUDA in this process)."""
    from ..models.device import mixed_precision, visible_gpus
    train = getattr(spec, "train", None)
    native = None
    if cuda:
        caps = [info.bf16_native for _, info in visible_gpus() if info is not None]
        native = bool(caps) and all(caps)
    bf16, fp16 = mixed_precision(getattr(train, "bf16", None), getattr(train, "fp16", False),
                                 spec.launch.mixed_precision, cuda, native)
    return "bf16" if bf16 else "fp16" if fp16 else "no"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plan(spec, run_dir: str | Path, resume: bool = False, python: str | None = None, cuda: bool | None = None,
         gpus: str | None = None) -> LaunchPlan:
    """`gpus`: the GPU ids the run queue pinned this run to (they win over launch.gpus, which only
    limited which GPUs the queue could give)."""
    launch = spec.launch
    run_dir = str(run_dir)
    python = python or sys.executable
    cuda = _cuda() if cuda is None else cuda
    gpus = gpus or launch.gpus
    folder = f"{run_dir}/{LAUNCH_DIR}"
    module_argv = ["lab.worker", run_dir, "--rank"] + (["--resume"] if resume else [])
    files: dict[str, str] = {}
    env: dict[str, str] = {}
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus
    if launch.zero_stage is not None:
        files["deepspeed.json"] = configs.dump_json(configs.deepspeed_config(launch))
        if not cuda:
            env["DS_ACCELERATOR"] = "cpu"
    world = launch.nproc_per_node * launch.nnodes

    def node_command(which: str, overrides: dict[str, str] | None = None) -> list[str]:
        if which == "accelerate":
            files["accelerate.yaml"] = configs.dump_yaml(configs.accelerate_config(
                launch, cuda, f"{folder}/deepspeed.json" if launch.zero_stage is not None else None,
                mixed_precision=precision(spec, cuda), gpu_ids=gpus))
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
        # One node: a free port, as torchrun --standalone has, so two runs never collide on 29500;
        # across a hostfile's nodes the port must be the agreed one.
        port = launch.master_port if launch.hostfile or launch.master_port != DEFAULT_MASTER_PORT else free_port()
        argv = deepspeed_backend.command(python, module_argv, nproc_per_node=launch.nproc_per_node,
                                         hostfile=f"{folder}/hostfile" if launch.hostfile else None,
                                         master_addr=launch.master_addr, master_port=port,
                                         gpus=gpus if cuda else None)
        world = hostfile_world_size(launch) if launch.hostfile else launch.nproc_per_node
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
        if confined() and shell_safe.participant_sbatch_refusal(s.extra_sbatch):
            raise UserError(shell_safe.participant_sbatch_refusal(s.extra_sbatch))
        if not shell_safe.is_safe(folder, "sbatch_path"):
            raise UserError(f"launch.launcher: slurm writes the run folder into an sbatch script; "
                            f"{shell_safe.refusal('run folder', folder, 'sbatch_path')}")
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
