"""The Launch tab's hardware panel on faked GPU machines: it reads nvidia-smi and never creates a CUDA
context in the UI process; bf16 is marked only where the card has it natively; the process count
starts at the number of visible GPUs."""
from __future__ import annotations

import pytest

from lab.distributed import hardware
from tests.gpu_fakes import TOPOLOGIES, ContextCreated, install


@pytest.fixture
def machine(monkeypatch, tmp_path):
    def make(name, visible=None):
        monkeypatch.delenv("LAB_DEVICES", raising=False)
        if visible is None:
            monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        else:
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        return install(monkeypatch, TOPOLOGIES[name], tmp_path, forbid_context=True)
    return make


def test_the_fake_forbids_what_would_create_a_context(machine):
    import torch
    machine("one_t4")
    with pytest.raises(ContextCreated):
        torch.cuda.mem_get_info(0)


def test_t4_has_no_bf16_mark_and_one_process(machine):
    machine("one_t4")
    hw = hardware.detect()
    assert [(g["name"], g["memory_gb"], g["bf16"]) for g in hw["gpus"]] == [("Tesla T4", 16.0, False)]
    assert hw["backend"] == "nccl" and hardware.default_nproc() == 1


def test_eight_a100_all_marked_bf16_eight_processes(machine):
    machine("eight_a100")
    hw = hardware.detect()
    assert len(hw["gpus"]) == 8 and all(g["bf16"] for g in hw["gpus"]) and hardware.default_nproc() == 8
    assert hw["gpus"][0]["free_gb"] == 79.0


def test_an_existing_cuda_visible_devices_narrows_the_list(machine):
    machine("eight_a100", visible="2,5")
    assert [g["index"] for g in hardware.detect()["gpus"]] == [2, 5] and hardware.default_nproc() == 2
    machine("eight_a100", visible="")
    assert hardware.detect()["gpus"] == [] and hardware.default_nproc() == 2  # no GPU: the 2-rank gloo demo


def test_no_gpu_keeps_the_gloo_demo(machine):
    machine("no_gpu")
    assert hardware.detect()["gpus"] == [] and hardware.default_nproc() == 2


def test_the_panel_shows_native_bf16_only(machine):
    pytest.importorskip("gradio")
    from ui.tabs.launch import hardware_markdown
    machine("two_l4")
    assert hardware_markdown("en").count("| ✓ |") == 2
    machine("one_t4")
    text = hardware_markdown("en")
    assert "Tesla T4" in text and "| – |" in text and "✓" not in text
