"""Distributed runs on this CPU machine: 2 ranks with gloo under torchrun and under accelerate. Rank 0
writes the events, every rank its own log; a failing rank fails the run with its error line; cancel
stops every rank."""
from __future__ import annotations

import json
import math
import os

import pytest

from backends.local import group_members, wait_until
from lab.events import read_events
from tests.conftest import lab

pytestmark = pytest.mark.integration


def result(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def events(run_dir, type_):
    return [e for e in read_events(os.path.join(run_dir, "events.jsonl"))[0] if e["type"] == type_]


def show(run_id, ws):
    return json.loads(lab("runs", "show", run_id, "--json", workspace=ws).stdout)


def test_torchrun_two_ranks_report_world_size_rank_stats_and_cancel_stops_all(tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=torchrun", "--set", "launch.nproc_per_node=2",
               "--set", "train.max_steps=300", "--set", "train.eval_strategy=no", "--detach", "--json",
               workspace=tiny_workspace)
    out = result(proc)
    run_dir = out["run_dir"]
    assert wait_until(lambda: len([e for e in events(run_dir, "metric") if "loss" in e]) >= 2, 180)
    assert events(run_dir, "env")[0]["world_size"] == 2
    assert events(run_dir, "launch")[0]["command"].split()[1:4] == ["-m", "torch.distributed.run", "--nproc_per_node"]
    metric = [e for e in events(run_dir, "metric") if "loss" in e][-1]
    assert {"rank0/step_time_s", "rank1/step_time_s", "rank0/rss_mb", "rank1/rss_mb"} <= set(metric)
    assert sorted(os.listdir(os.path.join(run_dir, "ranks")))[:2] == ["rank0.log", "rank1.log"]
    pgid = show(out["run_id"], tiny_workspace)["pgid"]
    cancel = lab("runs", "cancel", out["run_id"], "--json", workspace=tiny_workspace)
    assert result(cancel)["status"] == "cancelled"
    assert group_members(pgid) == []


def test_accelerate_two_ranks_succeed(tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=accelerate", "--set", "launch.nproc_per_node=2",
               "--set", "train.max_steps=3", "--set", "train.eval_strategy=no", "--json", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = result(proc)
    assert out["status"] == "succeeded"
    assert events(out["run_dir"], "env")[0]["world_size"] == 2
    config = open(os.path.join(out["run_dir"], "launch", "accelerate.yaml")).read()
    assert "num_processes: 2" in config


def test_a_failing_rank_fails_the_run_with_its_error(tiny_workspace, monkeypatch):
    monkeypatch.setenv("LAB_FAULT_RANK", "1")
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=torchrun", "--set", "launch.nproc_per_node=2",
               "--set", "train.max_steps=3", "--json", workspace=tiny_workspace)
    assert proc.returncode == 1
    out = result(proc)
    assert out["status"] == "failed"
    assert out["error"] == "rank 1: RuntimeError: injected fault in rank 1"


def test_deepspeed_zero2_step_on_cpu(tiny_workspace):
    """DeepSpeed's CPU accelerator with gloo: two ranks take ZeRO-2 steps on the tiny model."""
    pytest.importorskip("deepspeed")
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=deepspeed", "--set", "launch.nproc_per_node=2",
               "--set", "launch.zero_stage=2", "--set", "method=full", "--set", "train.max_steps=2",
               "--set", "train.eval_strategy=no", "--set", "train.save_strategy=no", "--json", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = result(proc)
    assert out["status"] == "succeeded" and math.isfinite(out["metrics"]["loss"])
    assert events(out["run_dir"], "env")[0]["world_size"] == 2
    assert json.load(open(os.path.join(out["run_dir"], "launch", "deepspeed.json")))["zero_optimization"]["stage"] == 2
