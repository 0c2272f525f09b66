"""The launch plan is what runs and what the Launch tab previews: golden checks of the command line
and of every generated file, DeepSpeed's own parser on the JSON, and bash -n on the sbatch script."""
import json
import subprocess

import pytest
import yaml

from backends import slurm
from lab.distributed.launch_plan import plan
from lab.errors import UserError
from lab.presets import load_preset

RUN = "/runs/sft-x"


def spec(*sets):
    return load_preset("sft-tiny", list(sets))


def test_torchrun_single_node_is_standalone():
    p = plan(spec("launch.launcher=torchrun", "launch.nproc_per_node=2"), RUN, python="python", cuda=False)
    assert p.argv == ["python", "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
                      "-m", "lab.worker", RUN, "--rank"]
    assert p.world_size == 2 and "command.sh" in p.files


def test_torchrun_multi_node_and_rendezvous():
    p = plan(spec("launch.launcher=torchrun", "launch.nproc_per_node=8", "launch.nnodes=2", "launch.node_rank=1",
                  "launch.master_addr=10.0.0.1", "launch.master_port=29600"), RUN, python="python", cuda=True)
    assert p.argv[5:13] == ["--nnodes", "2", "--node_rank", "1", "--master_addr", "10.0.0.1", "--master_port", "29600"]
    p = plan(spec("launch.launcher=torchrun", "launch.nnodes=2", "launch.rdzv_endpoint=head:29400"), RUN, python="python")
    assert "--rdzv_endpoint" in p.argv and "head:29400" in p.argv and "--rdzv_id" in p.argv


def test_accelerate_config_fields():
    p = plan(spec("launch.launcher=accelerate", "launch.nproc_per_node=4", "launch.mixed_precision=bf16",
                  "launch.gpus=0,1,2,3"), RUN, python="python", cuda=True)
    cfg = yaml.safe_load(p.files["accelerate.yaml"])
    assert cfg["distributed_type"] == "MULTI_GPU" and cfg["num_processes"] == 4 and cfg["mixed_precision"] == "bf16"
    assert cfg["gpu_ids"] == "0,1,2,3" and p.env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    assert p.argv[:5] == ["python", "-m", "accelerate.commands.launch", "--config_file", f"{RUN}/launch/accelerate.yaml"]
    fsdp = yaml.safe_load(plan(spec("launch.launcher=accelerate", "launch.nproc_per_node=2", "launch.fsdp=true"),
                               RUN, cuda=True).files["accelerate.yaml"])
    assert fsdp["distributed_type"] == "FSDP" and fsdp["fsdp_config"]["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_deepspeed_json_uses_auto_values_and_passes_deepspeeds_parser(stage):
    sets = ["launch.launcher=deepspeed", "launch.nproc_per_node=2", f"launch.zero_stage={stage}",
            "launch.offload_optimizer=cpu"] + (["launch.offload_param=cpu"] if stage == 3 else [])
    s = spec(*sets)
    p = plan(s, RUN, python="python", cuda=False)
    cfg = json.loads(p.files["deepspeed.json"])
    assert cfg["train_micro_batch_size_per_gpu"] == "auto" and cfg["zero_optimization"]["stage"] == stage
    assert cfg["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert p.env["DS_ACCELERATOR"] == "cpu"
    assert p.argv[:3] == ["python", "-m", "deepspeed.launcher.runner"] and "--module" in p.argv
    pytest.importorskip("deepspeed")
    from lab.distributed import ds_check
    assert ds_check.check(cfg, s.train.per_device_train_batch_size, s.train.gradient_accumulation_steps) is None
    cfg["zero_optimization"]["stage"] = 9
    assert "ValidationError" in ds_check.check(cfg, 8, 1)


def test_deepspeed_hostfile():
    p = plan(spec("launch.launcher=deepspeed", "launch.nproc_per_node=8", "launch.zero_stage=2",
                  "launch.hostfile=[node1 slots=8, node2 slots=8]"), RUN, python="python", cuda=True)
    assert p.files["hostfile"] == "node1 slots=8\nnode2 slots=8\n"
    assert p.argv[3:5] == ["--hostfile", f"{RUN}/launch/hostfile"] and p.world_size == 16


@pytest.mark.parametrize("node_launcher", ["torchrun", "accelerate"])
def test_sbatch_script_renders_and_parses(tmp_path, node_launcher):
    p = plan(spec("launch.launcher=slurm", "launch.nnodes=4", "launch.nproc_per_node=8", "launch.slurm.partition=gpu",
                  "launch.slurm.time=12:00:00", f"launch.slurm.node_launcher={node_launcher}",
                  "launch.slurm.extra_sbatch=[--qos=high]"), RUN, python="python", cuda=True)
    script = p.files["job.sbatch"]
    for line in ("#SBATCH --nodes=4", "#SBATCH --gpus-per-node=8", "#SBATCH --partition=gpu",
                 "#SBATCH --time=12:00:00", "#SBATCH --qos=high", "srun --kill-on-bad-exit=1"):
        assert line in script
    assert ("$MASTER_ADDR:$MASTER_PORT" if node_launcher == "torchrun" else "--machine_rank $SLURM_NODEID") in script
    path = tmp_path / "job.sbatch"
    path.write_text(script)
    assert slurm.syntax_error(str(path)) is None
    path.write_text(script + "\nif then fi\n")
    assert slurm.syntax_error(str(path))
    assert p.argv == ["sbatch", "--parsable", f"{RUN}/launch/job.sbatch"]


def test_incoherent_launch_blocks_are_refused():
    for sets, message in ((["launch.node_rank=2"], "launch.node_rank"),
                          (["launch.launcher=deepspeed", "launch.offload_param=cpu", "launch.zero_stage=2"], "launch.offload_param"),
                          (["launch.nproc_per_node=2"], "launch.launcher"),
                          (["launch.launcher=torchrun", "launch.fsdp=true", "launch.zero_stage=2"], "launch.fsdp")):
        with pytest.raises(UserError, match=message):
            spec(*sets)


def test_bash_is_there():
    assert subprocess.run(["bash", "-c", "true"]).returncode == 0
