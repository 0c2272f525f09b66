"""Real runs of the tiny model in worker subprocesses, driven through the `lab` CLI."""
from __future__ import annotations

import json
import os
import signal

import pytest

from backends.local import group_members, wait_until
from lab.events import read_events
from tests.conftest import lab

pytestmark = pytest.mark.integration


def result(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def events_of(run_dir, type_=None):
    events, _ = read_events(os.path.join(run_dir, "events.jsonl"))
    return [e for e in events if type_ is None or e["type"] == type_]


def metric_steps(run_dir, key="loss"):
    return [e["step"] for e in events_of(run_dir, "metric") if key in e]


def show(run_id, ws):
    return json.loads(lab("runs", "show", run_id, "--json", workspace=ws).stdout)


def test_sft_tiny_trains_evaluates_saves_and_chats(tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "method=lora", "--set", "train.max_steps=8", "--set", "train.eval_steps=4",
               "--json", workspace=tiny_workspace)  # the preset fine-tunes fully; the LoRA path is checked here
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = result(proc)
    assert set(out) >= {"run_id", "run_dir", "status", "metrics"} and out["status"] == "succeeded"
    assert out["metrics"]["loss"] > 0 and "eval_loss" in out["metrics"]
    env = events_of(out["run_dir"], "env")[0]
    assert env["world_size"] == 1 and env["device"] == "cpu" and env["dtype"] == "float32"
    assert metric_steps(out["run_dir"]) == list(range(1, 9))
    metric = events_of(out["run_dir"], "metric")[0]
    assert {"loss", "learning_rate", "grad_norm", "step"} <= set(metric)
    assert os.path.exists(os.path.join(out["run_dir"], "artifacts", "adapter", "adapter_config.json"))

    os.environ["LAB_WORKSPACE"] = str(tiny_workspace)
    from lab.models.chat import stream_many
    replies = list(stream_many([f"run:{out['run_id']}", "tiny"], [[{"role": "user", "content": "日本の首都は？"}]] * 2,
                               max_new_tokens=8, temperature=0))
    assert all(isinstance(r, str) for r in replies[-1]) and any(replies[-1])


def test_full_finetune_with_packing_on_alpaca_data(tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "method=full", "--set", "train.packing=true",
               "--set", "train.assistant_only_loss=false", "--set", "dataset.path=samples/sft_alpaca_ja.jsonl",
               "--set", "train.max_steps=3", "--set", "train.eval_strategy=no", "--json", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = result(proc)
    assert os.path.exists(os.path.join(out["run_dir"], "artifacts", "model", "model.safetensors"))


def _start_long(ws, *extra):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "train.max_steps=400", "--set", "train.eval_strategy=no",
               *extra, "--detach", "--json", workspace=ws)
    assert proc.returncode == 0, proc.stderr
    return result(proc)


def test_cancel_saves_stops_the_group_and_resume_continues(tiny_workspace):
    out = _start_long(tiny_workspace, "--set", "train.max_steps=40", "--set", "train.save_steps=1000")
    run_id, run_dir = out["run_id"], out["run_dir"]
    assert wait_until(lambda: len(metric_steps(run_dir)) >= 3, 120), "no training steps seen"
    pgid = show(run_id, tiny_workspace)["pgid"]
    cancel = lab("runs", "cancel", run_id, "--json", workspace=tiny_workspace)
    assert cancel.returncode == 0 and result(cancel)["status"] == "cancelled"
    info = show(run_id, tiny_workspace)
    assert info["status"] == "cancelled" and info["pid"] and info["created_at"] and info["ended_at"]
    assert group_members(pgid) == []
    stopped_at = metric_steps(run_dir)[-1]
    assert stopped_at < 40
    checkpoints = os.listdir(os.path.join(run_dir, "artifacts", "checkpoints"))
    assert any(c.startswith("checkpoint-") for c in checkpoints), "no checkpoint saved at the stop"

    resumed = lab("run", "--resume", run_id, "--json", workspace=tiny_workspace)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert result(resumed)["status"] == "succeeded"
    steps = metric_steps(run_dir)
    assert steps[-1] == 40
    restart = steps.index(stopped_at) + 1
    assert steps[restart] > stopped_at - 1, "resume started over instead of continuing"


def test_killed_worker_is_failed_with_reason_and_keeps_events(tiny_workspace):
    out = _start_long(tiny_workspace)
    run_id, run_dir = out["run_id"], out["run_dir"]
    assert wait_until(lambda: len(metric_steps(run_dir)) >= 2, 120)
    os.killpg(show(run_id, tiny_workspace)["pgid"], signal.SIGKILL)
    assert wait_until(lambda: show(run_id, tiny_workspace)["status"] == "failed", 10)
    info = show(run_id, tiny_workspace)
    assert "died" in info["error"]
    assert len(metric_steps(run_dir)) >= 2


def test_bad_data_file_is_one_line_exit_2_and_no_run(tiny_workspace, tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}'
    bad.write_text(f"{good}\n{good}\n" + '{"messages": [{"role": "user"}, {"role": "assistant", "content": "b"}]}\n')
    proc = lab("run", "presets/sft-tiny.yaml", "--set", f"dataset.path={bad}", workspace=tiny_workspace)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: bad.jsonl:3: messages[0].content: field required"
    assert "Traceback" not in proc.stderr + proc.stdout
    assert os.listdir(tiny_workspace / "runs") == []


def test_bad_preset_key_and_value_exit_2(tiny_workspace, tmp_path):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "train.nonsense=1", workspace=tiny_workspace)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --set train.nonsense: unknown key (not a field of SFTConfig)"
    preset = tmp_path / "p.yaml"
    preset.write_text("kind: sft\ndataset:\n  path: samples/sft_ja.jsonl\ntrain:\n  learning_rate: fast\n")
    proc = lab("run", str(preset), workspace=tiny_workspace)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {preset}:5: train.learning_rate: input should be a valid number, unable to parse string as a number"


def test_two_runs_at_once_queue_and_both_complete(tiny_workspace):
    a = _start_long(tiny_workspace, "--set", "train.max_steps=6")
    b = _start_long(tiny_workspace, "--set", "train.max_steps=6")
    assert a["run_dir"] != b["run_dir"]
    assert wait_until(lambda: show(b["run_id"], tiny_workspace)["status"] in ("succeeded", "failed"), 300)
    assert wait_until(lambda: show(a["run_id"], tiny_workspace)["status"] in ("succeeded", "failed"), 300)
    sa, sb = show(a["run_id"], tiny_workspace), show(b["run_id"], tiny_workspace)
    assert sa["status"] == sb["status"] == "succeeded"
    first, second = sorted([sa, sb], key=lambda s: s["started_at"])
    assert second["started_at"] >= first["ended_at"] - 0.5, "the second run trained while the first still held the slot"


def test_runs_list_and_follow(tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "train.max_steps=2", "--set", "train.eval_strategy=no",
               "--json", workspace=tiny_workspace)
    run_id = result(proc)["run_id"]
    listing = json.loads(lab("runs", "list", "--json", workspace=tiny_workspace).stdout)
    assert [r["run_id"] for r in listing] == [run_id]
    follow = lab("runs", "follow", run_id, "--json", workspace=tiny_workspace)
    assert follow.returncode == 0
    lines = [json.loads(line) for line in follow.stdout.splitlines()]
    assert any(e["type"] == "metric" for e in lines) and lines[-1]["type"] == "status"
