"""Generated launch files and save paths on faked GPU machines: accelerate.yaml's mixed precision is
what the Trainer will use, DeepSpeed gets the pinned GPUs, a free master port on one node, the
hostfile's slots as its world size and a config it accepts with CPU optimizer offload; saving goes
through the Trainer on every rank and only the main process writes or merges."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from lab.distributed import ds_check
from lab.distributed.launch_plan import plan
from lab.presets import load_preset
from lab.train.common import config_kwargs, distributed_args, save_model
from tests.gpu_fakes import eight_a100, no_gpu, one_t4, two_l4  # noqa: F401 - fixtures

RUN = "/runs/sft-x"


def spec(*sets):
    return load_preset("sft-tiny", list(sets))


def accelerate_precision(s) -> str:
    return yaml.safe_load(plan(s, RUN, python="python").files["accelerate.yaml"])["mixed_precision"]


def trainer_precision(s, tmp_path) -> str:
    from trl import SFTConfig
    kw = config_kwargs(SFTConfig, s.train, tmp_path / "runs" / "r" / "artifacts" / "checkpoints", False, s.launch)
    return "bf16" if kw["bf16"] else "fp16" if kw["fp16"] else "no"


@pytest.mark.parametrize("sets, expected", [
    ((), {"one_t4": "fp16", "two_l4": "bf16", "no_gpu": "no"}),
    (("train.fp16=true",), {"one_t4": "fp16", "two_l4": "fp16", "no_gpu": "fp16"}),
    (("launch.mixed_precision=fp16",), {"one_t4": "fp16", "two_l4": "fp16", "no_gpu": "fp16"}),
    (("train.bf16=false",), {"one_t4": "no", "two_l4": "no", "no_gpu": "no"}),
])
@pytest.mark.parametrize("machine", ["one_t4", "two_l4", "no_gpu"])
def test_accelerate_yaml_and_the_trainer_agree_on_precision(machine, sets, expected, request, tmp_path):
    request.getfixturevalue(machine)
    s = spec("launch.launcher=accelerate", "launch.nproc_per_node=1", *sets)
    assert accelerate_precision(s) == trainer_precision(s, tmp_path) == expected[machine]


def test_deepspeed_runs_on_the_pinned_gpus_on_a_free_port(eight_a100):
    s = spec("launch.launcher=deepspeed", "launch.nproc_per_node=4", "launch.zero_stage=3")
    p = plan(s, RUN, python="python", gpus="1,2,3,4")
    assert p.argv[3:5] == ["--include", "localhost:1,2,3,4"] and p.env["CUDA_VISIBLE_DEVICES"] == "1,2,3,4"
    port = int(p.argv[p.argv.index("--master_port") + 1])
    assert port != 29500 and "DS_ACCELERATOR" not in p.env
    kept = plan(spec("launch.launcher=deepspeed", "launch.nproc_per_node=2", "launch.zero_stage=2",
                     "launch.master_port=29611"), RUN, python="python")
    assert kept.argv[kept.argv.index("--master_port") + 1] == "29611"  # a port the user chose stands


def test_a_hostfile_world_size_is_the_sum_of_its_slots(eight_a100):
    p = plan(spec("launch.launcher=deepspeed", "launch.nproc_per_node=8", "launch.zero_stage=2",
                  "launch.hostfile=[node1 slots=8, node2 slots=4]"), RUN, python="python")
    assert p.world_size == 12 and p.argv[p.argv.index("--master_port") + 1] == "29500"  # nodes agree on the port


def test_cpu_optimizer_offload_writes_what_deepspeed_needs_and_the_check_catches_its_absence(no_gpu):
    s = spec("launch.launcher=deepspeed", "launch.nproc_per_node=2", "launch.zero_stage=2", "launch.offload_optimizer=cpu")
    cfg = json.loads(plan(s, RUN, python="python").files["deepspeed.json"])
    assert cfg["zero_force_ds_cpu_optimizer"] is False
    pytest.importorskip("deepspeed")
    assert ds_check.check(cfg, 4, 1) is None
    del cfg["zero_force_ds_cpu_optimizer"]
    assert "ZeRORuntimeException" in ds_check.check(cfg, 4, 1)
    cfg["optimizer"] = {"type": "AdamW", "params": {"lr": 1e-4}}
    assert ds_check.offload_without_optimizer(cfg) is None


def test_fsdp_is_fsdp2_with_a_full_state_dict_on_save():
    out = distributed_args(spec("launch.launcher=accelerate", "launch.nproc_per_node=2", "launch.fsdp=true").launch,
                           Path("/runs/x"), cuda=True)
    assert out["fsdp"] is True
    assert out["fsdp_config"]["version"] == 2 and out["fsdp_config"]["state_dict_type"] == "FULL_STATE_DICT"
    assert "ddp_backend" not in out


class FakeTrainer:
    """Records what a rank does when the lab saves: ZeRO-3/FSDP need save_model on every rank."""

    def __init__(self, main: bool, log: list):
        self.main, self.log = main, log
        self.accelerator = SimpleNamespace(wait_for_everyone=lambda: log.append(("barrier", main)))

    def is_world_process_zero(self):
        return self.main

    def save_model(self, path):
        self.log.append(("save_model", self.main, Path(path).name))


class FakeTokenizer:
    def __init__(self, log):
        self.log = log

    def save_pretrained(self, path):
        self.log.append(("tokenizer", Path(path).name))


@pytest.mark.parametrize("main", [True, False])
def test_every_rank_saves_through_the_trainer_only_the_main_one_writes_and_merges(main, tmp_path, monkeypatch):
    log = []
    monkeypatch.setattr("lab.train.common.merge_adapter", lambda src, dst, load_base=None: log.append(("merge", dst.name)))
    out = save_model(FakeTrainer(main, log), FakeTokenizer(log), tmp_path, lora_merge=True)
    assert out == tmp_path / "model"
    assert ("save_model", main, "adapter") in log and ("barrier", main) in log
    assert (("merge", "model") in log) is main and (("tokenizer", "adapter") in log) is main
    log.clear()
    save_model(FakeTrainer(main, log), FakeTokenizer(log), tmp_path, lora_merge=None)  # full fine-tuning
    assert log[0] == ("save_model", main, "model") and (("tokenizer", "model") in log) is main
