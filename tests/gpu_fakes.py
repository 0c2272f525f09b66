"""Fake GPU machines for tests on a box without one: torch's CUDA queries and `nvidia-smi` answer as
a described topology would. Only decisions can be tested this way (which device, which dtype, which
GPUs a run is pinned to, what files are generated) — nothing here runs a kernel.

Fixtures (import them into a test module): `one_t4` (1× T4 16 GB, sm75: bf16 only emulated),
`eight_a100` (8× A100 80 GB, sm80), `two_l4` (2× L4 24 GB, sm89), `no_gpu`. Each returns the list
of FakeGPU it installed."""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

GB = 2**30


@dataclass(frozen=True)
class FakeGPU:
    name: str
    total_gb: float
    major: int
    minor: int
    free_gb: float | None = None
    utilization: int = 0

    @property
    def native_bf16(self) -> bool:
        return self.major >= 8


T4 = FakeGPU("Tesla T4", 16, 7, 5, free_gb=15.5)
A100 = FakeGPU("NVIDIA A100-SXM4-80GB", 80, 8, 0, free_gb=79.0)
L4 = FakeGPU("NVIDIA L4", 24, 8, 9, free_gb=22.0)
TOPOLOGIES = {"one_t4": [T4], "eight_a100": [A100] * 8, "two_l4": [L4] * 2, "no_gpu": []}


class ContextCreated(AssertionError):
    """Raised by the fake when code would create a CUDA context (allocate, query free memory, …)."""


def install(monkeypatch, gpus: list[FakeGPU], tmp_path=None, forbid_context: bool = False) -> list[FakeGPU]:
    """Make torch.cuda (and, given tmp_path, an `nvidia-smi` first on PATH) describe `gpus`.
    With forbid_context, the calls that would create a CUDA context raise ContextCreated."""
    import torch

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    seen = gpus if visible is None else [gpus[int(i)] for i in visible.split(",") if i.strip().isdigit()
                                        and int(i) < len(gpus)]
    state = {"current": 0}

    def check(index):
        index = state["current"] if index is None else (index.index if hasattr(index, "index") else int(index))
        if not 0 <= index < len(seen):
            raise RuntimeError(f"CUDA error: invalid device ordinal {index}")
        return index

    def props(index=None):
        g = seen[check(index)]
        return SimpleNamespace(name=g.name, total_memory=int(g.total_gb * GB), major=g.major, minor=g.minor,
                               multi_processor_count=80)

    def context_call(result):
        def call(index=None):
            if forbid_context:
                raise ContextCreated("this call creates a CUDA context")
            return result(seen[check(index)])
        return call

    def bf16(including_emulation=True):
        if not seen:
            return False
        g = seen[state["current"]]
        return g.native_bf16 or bool(including_emulation)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: bool(seen))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(seen))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: state["current"])
    monkeypatch.setattr(torch.cuda, "get_device_properties", props)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: props(index).name)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: (props(index).major, props(index).minor))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", bf16)
    monkeypatch.setattr(torch.cuda, "mem_get_info", context_call(
        lambda g: (int((g.free_gb if g.free_gb is not None else g.total_gb) * GB), int(g.total_gb * GB))))
    monkeypatch.setattr(torch.cuda, "utilization", context_call(lambda g: g.utilization))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", context_call(lambda g: 0))
    if tmp_path is not None:
        fake_nvidia_smi(monkeypatch, gpus, tmp_path)
    return list(gpus)


def fake_nvidia_smi(monkeypatch, gpus: list[FakeGPU], tmp_path) -> None:
    """An `nvidia-smi` script on PATH answering `-L` and the --query-gpu CSV the lab asks for (it
    lists every GPU of the machine, ignoring CUDA_VISIBLE_DEVICES, as the real one does)."""
    folder = tmp_path / "fake-bin"
    folder.mkdir(exist_ok=True)
    listing = "".join(f"GPU {i}: {g.name} (UUID: GPU-fake-{i:04d})\\n" for i, g in enumerate(gpus))
    csv = "".join(f"{i}, GPU-fake-{i:04d}, {g.name}, {int(g.total_gb * 1024)}, {int((g.free_gb or g.total_gb) * 1024)}, "
                  f"{g.utilization}, {g.major}.{g.minor}\\n" for i, g in enumerate(gpus))
    script = folder / "nvidia-smi"
    script.write_text("#!/bin/sh\n"
                      'case "$*" in\n'
                      f'  *-L*) printf "{listing}" ;;\n'
                      f'  *--query-gpu*) printf "{csv}" ;;\n'
                      '  *) echo "fake nvidia-smi"; exit 0 ;;\n'
                      "esac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


def _fixture(name):
    @pytest.fixture(name=name)
    def fixture(monkeypatch, tmp_path):
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        monkeypatch.delenv("LAB_DEVICES", raising=False)
        return install(monkeypatch, TOPOLOGIES[name], tmp_path)
    return fixture


one_t4 = _fixture("one_t4")
eight_a100 = _fixture("eight_a100")
two_l4 = _fixture("two_l4")
no_gpu = _fixture("no_gpu")
