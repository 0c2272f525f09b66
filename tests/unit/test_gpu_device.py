"""Where generation and training run and in which number format, on faked GPU machines: bf16 only
where the card computes it natively, fp16 on a T4, fp32 on the CPU and for full fine-tuning's
master weights; `--set train.fp16=true` works on an Ampere card."""
from __future__ import annotations

import pytest
import torch

from lab.errors import UserError
from lab.models import device
from lab.models.device import mixed_precision, placement
from tests.gpu_fakes import eight_a100, no_gpu, one_t4, two_l4  # noqa: F401 - fixtures


def test_cpu_generation_is_fp32_even_when_auto(no_gpu):
    assert placement() == device.Placement("cpu", "float32")
    assert mixed_precision(None, False) == (False, False)


def test_t4_generates_in_fp16_because_its_bf16_is_emulated(one_t4):
    assert torch.cuda.is_bf16_supported()  # torch's default answer counts emulation…
    assert not device.bf16_native()  # …the lab asks for native units
    assert placement() == device.Placement("cuda:0", "float16")
    assert mixed_precision(None, False) == (False, True)


def test_a100_and_l4_use_bf16(eight_a100):
    assert placement() == device.Placement("cuda:0", "bfloat16")
    assert placement("cuda:7").device == "cuda:7"
    assert mixed_precision(None, False) == (True, False)


def test_full_fine_tuning_keeps_fp32_master_weights_lora_base_may_be_half(two_l4):
    assert placement(purpose="full").dtype == "float32"
    assert placement(purpose="lora").dtype == "bfloat16"
    assert placement(dtype="float16", purpose="full").dtype == "float16"  # an explicit choice stands


def test_explicit_fp16_wins_over_native_bf16_and_both_is_one_line(eight_a100):
    assert mixed_precision(None, True) == (False, True)
    assert mixed_precision(False, False) == (False, False)
    assert mixed_precision(None, False, "fp16") == (False, True)
    with pytest.raises(UserError, match="fp16 and bf16 are both true"):
        mixed_precision(True, True)


def test_asking_for_a_gpu_that_is_not_there_is_one_line(one_t4, monkeypatch):
    with pytest.raises(UserError, match=r"1 GPU\(s\) are visible"):
        device.pick_device("cuda:3")
    assert device.pick_device("cpu") == "cpu" and device.pick_device("cuda") == "cuda:0"
    with pytest.raises(UserError, match="use auto, cpu, cuda or cuda:N"):
        device.pick_device("gpu0")


def test_no_gpu_refuses_cuda_with_one_line(no_gpu):
    with pytest.raises(UserError, match="no CUDA GPU is visible"):
        device.pick_device("cuda")


class _Recorded:
    def __init__(self, dtype):
        self.dtype, self.moved_to = dtype, None

    def to(self, where):
        self.moved_to = where
        return self

    def eval(self):
        return self


@pytest.fixture
def recorded_loads(monkeypatch, tiny_workspace):
    import transformers
    calls = []

    def fake_from_pretrained(path, **kwargs):
        calls.append(kwargs)
        return _Recorded(kwargs["dtype"])
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", staticmethod(fake_from_pretrained))
    return calls


def test_load_causal_lm_puts_generation_on_the_gpu_in_its_half_format(one_t4, recorded_loads):
    from lab.models.load import load_causal_lm
    model, _ = load_causal_lm("tiny")
    assert model.dtype == torch.float16 and model.moved_to == "cuda:0"


def test_load_causal_lm_on_the_cpu_is_fp32_and_stays_put(no_gpu, recorded_loads):
    from lab.models.load import load_causal_lm
    model, _ = load_causal_lm("tiny")
    assert model.dtype == torch.float32 and model.moved_to is None
    model, _ = load_causal_lm("tiny", device="cpu")
    assert model.moved_to is None


def test_serve_takes_a_device(no_gpu, recorded_loads):
    from lab.evals.serve import ServedModel
    with pytest.raises(UserError, match="no CUDA GPU"):
        ServedModel("tiny", device="cuda:0")
    assert ServedModel("tiny", device="cpu").model.dtype == torch.float32
