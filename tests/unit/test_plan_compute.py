"""The compute planner: 6·N·D, Chinchilla's 20 tokens per parameter, wall-clock at an MFU, and both
compute-optimal curves with the user's point."""
from __future__ import annotations

import json

import pytest

from lab.distributed.plan_compute import (GPUS, chinchilla_loss, chinchilla_optimal, gpu_spec, kaplan_optimal,
                                   optimal_curves, plan_compute, training_flops)
from lab.errors import UserError
from tests.conftest import lab


def test_7b_chinchilla_optimal_on_64_a100s_hand_worked():
    plan = plan_compute(7e9, 64, "a100")
    assert plan.tokens == 140e9 and plan.tokens_source.startswith("chinchilla")
    assert plan.flops == pytest.approx(5.88e21)
    # 5.88e21 / (64 × 312e12 × 0.4) = 736,178.9 s ≈ 8.52 days, 13,088 GPU-hours.
    assert plan.seconds == pytest.approx(5.88e21 / (64 * 312e12 * 0.4))
    assert plan.days == pytest.approx(8.5206, abs=1e-3)
    assert plan.gpu_hours == pytest.approx(13_087.6, abs=0.1)


def test_given_tokens_and_mfu():
    # Llama-3-8B scale from the Swallow tutorial: 8B params on 15T tokens, far beyond Chinchilla's ~160B.
    plan = plan_compute(8e9, 16_000, "h100", tokens=15e12, mfu=0.5)
    assert plan.flops == pytest.approx(7.2e23) and plan.tokens_per_param == pytest.approx(1875)
    assert plan.chinchilla_tokens == 160e9 and plan.gpu_type == "h100-sxm"
    assert plan.seconds == pytest.approx(7.2e23 / (16_000 * 989e12 * 0.5))


@pytest.mark.parametrize("params, flops, tokens", [
    # Hoffmann et al. 2022, Table 3 (Approach 1): parameters, FLOPs, tokens.
    (400e6, 1.92e19, 8.0e9), (1e9, 1.21e20, 20.2e9), (10e9, 1.23e22, 205.1e9), (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12), (1e12, 1.27e26, 21.2e12),
])
def test_chinchilla_curve_reproduces_their_table_3(params, flops, tokens):
    n, d = chinchilla_optimal(flops)
    assert n == pytest.approx(params, rel=0.05)
    assert d == pytest.approx(tokens, rel=0.10)
    assert training_flops(n, d) == pytest.approx(flops)


def test_kaplan_curve_grows_params_5x_per_10x_compute():
    n1, d1 = kaplan_optimal(1e21)
    n10, d10 = kaplan_optimal(1e22)
    assert n10 / n1 == pytest.approx(10 ** 0.73) and d10 / d1 == pytest.approx(10 ** 0.27)
    n, d = kaplan_optimal(8.64e19)  # one PF-day
    assert n == pytest.approx(1.3e9) and training_flops(n, d) == pytest.approx(8.64e19)


def test_curves_cover_the_users_point():
    plan = plan_compute(70e9, 1024, "h100-sxm", tokens=1.4e12)
    curves = plan.curves
    assert curves["compute"][0] <= plan.flops <= curves["compute"][-1]
    assert len(curves["kaplan"]["params"]) == len(curves["chinchilla"]["tokens"]) == len(curves["compute"])
    assert "0.73" in curves["kaplan"]["fit"] and "C/120" in curves["chinchilla"]["fit"]
    # Chinchilla itself: 70B on 1.4T sits on its own curve (≈20 tokens per parameter).
    assert plan.chinchilla_optimal_at_this_compute["params"] == pytest.approx(70e9, rel=0.01)
    huge = optimal_curves(1e30, 1e34, 5)
    assert huge["compute"][0] == pytest.approx(1e30) and huge["compute"][-1] == pytest.approx(1e34)


def test_chinchilla_loss_fit_falls_with_more_data():
    assert chinchilla_loss(70e9, 1.4e12) < chinchilla_loss(70e9, 140e9)
    assert chinchilla_loss(70e9, 1.4e12) == pytest.approx(1.69 + 406.4 / 70e9 ** 0.34 + 410.7 / 1.4e12 ** 0.28)


def test_gpu_table_and_aliases():
    assert GPUS["a100"].peak_tflops == 312 and GPUS["h100-sxm"].peak_tflops == 989
    assert GPUS["l4"].peak_tflops == 121 and GPUS["rtx4090"].peak_tflops == 165 and GPUS["v100"].dtype == "fp16"
    assert gpu_spec("H100").key == "h100-sxm" and gpu_spec("RTX 4090").key == "rtx4090"


@pytest.mark.parametrize("kwargs, needle", [
    (dict(params=-1.0), "--params"), (dict(gpus=0), "--gpus"), (dict(gpu_type="tpu-v9"), "unknown GPU"),
    (dict(mfu=1.5), "--mfu"), (dict(tokens=0), "--tokens"),
])
def test_bad_input_is_a_user_error(kwargs, needle):
    with pytest.raises(UserError, match=needle):
        plan_compute(**(dict(params=7e9, gpus=8, gpu_type="a100") | kwargs))


def test_cli_json(workspace):
    proc = lab("plan", "compute", "--params", "7B", "--tokens", "1.4e11", "--gpus", "64", "--gpu-type", "a100",
               "--mfu", "0.4", "--json", workspace=workspace, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["flops"] == pytest.approx(5.88e21) and data["days"] == pytest.approx(8.5206, abs=1e-3)
    assert set(data["curves"]) == {"compute", "kaplan", "chinchilla"}


def test_cli_tokens_default_to_chinchilla_from_a_model(workspace):
    proc = lab("plan", "compute", "--model", "llama-2-7b", "--gpus", "8", "--gpu-type", "h100", "--json",
               "--no-curves", workspace=workspace, timeout=60)
    data = json.loads(proc.stdout)
    assert data["params"] == 6_738_415_616 and data["tokens"] == 20 * 6_738_415_616 and "curves" not in data


@pytest.mark.parametrize("args, needle", [
    (["--params", "7e9", "--gpus", "8", "--gpu-type", "abacus"], "unknown GPU 'abacus'"),
    (["--params", "7e9", "--gpus", "0", "--gpu-type", "a100"], "--gpus"),
    (["--params", "lots", "--gpus", "8", "--gpu-type", "a100"], "--params"),
])
def test_cli_bad_input_exits_2_with_one_line(workspace, args, needle):
    proc = lab("plan", "compute", *args, workspace=workspace, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
