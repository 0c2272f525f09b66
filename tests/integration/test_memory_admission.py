"""Memory admission through real runs: a worker whose slot has too little free memory fails the run at
once with one line (both numbers and what would fit), exit code 2; a run that cannot fit even this
machine's RAM is refused at submit, before any run folder exists."""
from __future__ import annotations

import json

from lab.memory_estimate import FAKE_FREE_ENV
from tests.conftest import lab


def test_a_run_that_does_not_fit_its_slot_fails_with_one_line_and_exit_code_2(tiny_workspace, monkeypatch):
    # LAB_FAKE_FREE_MEMORY_MB is the documented test hook: the worker takes it as its slot's free memory.
    monkeypatch.setenv(FAKE_FREE_ENV, "700")
    proc = lab("run", "presets/pretrain-tiny.yaml", "--json", "--set", "model.name=tiny",
               "--set", "train.per_device_train_batch_size=16", "--set", "train.max_length=512",
               "--set", "train.max_steps=1", workspace=tiny_workspace, timeout=300)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == "failed"
    status = json.loads((tiny_workspace / "runs" / out["run_id"] / "status.json").read_text())
    assert status["exit_code"] == 2
    error = status["error"]
    assert "\n" not in error
    assert error.startswith("memory: needs ~") and "cpu has 700 MiB free: try " in error
    assert "train.per_device_train_batch_size: " in error
    events = (tiny_workspace / "runs" / out["run_id"] / "events.jsonl").read_text()
    assert '"step"' not in events  # refused before any training step


def test_a_run_bigger_than_this_machine_is_refused_at_submit(tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "train.per_device_train_batch_size=4096",
               "--set", "train.max_length=8192", workspace=tiny_workspace, timeout=120)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: memory: needs ~") and "this machine's RAM (total) has" in line
    assert not any((tiny_workspace / "runs").iterdir())
