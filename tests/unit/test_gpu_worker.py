"""The worker on a faked GPU box (an `nvidia-smi` on PATH; torch here has no CUDA): a distributed run
with more ranks than GPUs fails at once with one line instead of waiting in the queue for ever, and a
kind that needs no GPU runs on a CPU slot."""
from __future__ import annotations

import json

from tests.conftest import lab
from tests.gpu_fakes import L4, T4, fake_nvidia_smi


def test_more_ranks_than_gpus_fails_with_one_line(tiny_workspace, tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    fake_nvidia_smi(monkeypatch, [T4], tmp_path)
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=torchrun", "--set", "launch.nproc_per_node=2",
               "--json", workspace=tiny_workspace, timeout=300)
    assert proc.returncode == 2
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["error"].startswith("launch.nproc_per_node: 2 ranks but 1 GPU(s) are visible")
    assert "\n" not in out["error"]


def test_dedup_takes_a_cpu_slot_on_a_gpu_box(workspace, tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    fake_nvidia_smi(monkeypatch, [L4, L4], tmp_path)
    proc = lab("run", "presets/dedup-exact.yaml", "--json", workspace=workspace, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    status = json.loads((workspace / "runs" / out["run_id"] / "status.json").read_text())
    assert status["device"] == "cpu"
