"""The memory planner reproduces the ZeRO paper's Figure 1 and DeepSpeed's own estimators byte for byte."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from lab.distributed.plan_memory import (activation_estimate, deepspeed_zero2, deepspeed_zero3, format_table,
                                  model_state_estimates, plan_memory, zero_paper_bytes_per_device)
from lab.errors import UserError
from tests.conftest import REPO, lab


def rows_by_choice(rows):
    return {(r.stage, r.offload_optimizer, r.offload_param): r for r in rows}


def test_zero_paper_figure_1_for_7_5b_params_on_64_gpus():
    # Rajbhandari et al. 2020, Figure 1: Ψ = 7.5B, N_d = 64, K = 12 → 120, 31.4, 16.6 and 1.9 GB per GPU.
    gb = [round(zero_paper_bytes_per_device(7.5e9, stage, 64) / 1e9, 1) for stage in (0, 1, 2, 3)]
    assert gb == [120.0, 31.4, 16.6, 1.9]


def test_zero_paper_reductions_approach_4x_and_8x_with_many_gpus():
    psi, many = 1e9, 10**9
    baseline = zero_paper_bytes_per_device(psi, 0, many)
    assert baseline == 16 * psi  # mixed-precision Adam: 2 + 2 + 12 bytes per parameter
    assert baseline / zero_paper_bytes_per_device(psi, 1, many) == pytest.approx(4, rel=1e-6)
    assert baseline / zero_paper_bytes_per_device(psi, 2, many) == pytest.approx(8, rel=1e-6)
    assert zero_paper_bytes_per_device(psi, 3, 64) == 16 * psi / 64


def test_hand_worked_7b_on_one_node_of_8_gpus():
    rows = rows_by_choice(model_state_estimates(7_000_000_000, 131_000_000, gpus_per_node=8, nodes=1))
    assert list(rows) == [(0, False, False), (1, False, False), (1, True, False), (2, False, False),
                          (2, True, False), (3, False, False), (3, True, False), (3, True, True)]
    # ZeRO-0/1 from the paper: 16 Ψ, and 4 Ψ + 12 Ψ / 8.
    assert rows[0, False, False].gpu_bytes_per_device == 112_000_000_000
    assert rows[1, False, False].gpu_bytes_per_device == 28_000_000_000 + 10_500_000_000
    # ZeRO-2 (DeepSpeed): 2 Ψ + 18 Ψ / 8 on the GPU; 4 bytes × Ψ × 8 processes × 1.5 on the host.
    assert rows[2, False, False].gpu_bytes_per_device == 14_000_000_000 + 15_750_000_000
    assert rows[2, False, False].cpu_bytes == 336_000_000_000
    assert rows[2, True, False].gpu_bytes_per_device == 14_000_000_000
    assert rows[2, True, False].cpu_bytes == 7_000_000_000 * 32 * 1.5
    # ZeRO-3 (DeepSpeed, zero.Init): the largest layer's 4 bytes/param always sits on the GPU.
    assert rows[3, False, False].gpu_bytes_per_device == 524_000_000 + 15_750_000_000
    assert rows[3, False, False].cpu_bytes == 131_000_000 * 4 * 8 * 1.5
    assert rows[3, True, False].gpu_bytes_per_device == 524_000_000 + 1_750_000_000
    assert rows[3, True, False].cpu_bytes == 7_000_000_000 * 16 * 1.5
    assert rows[3, True, True].gpu_bytes_per_device == 524_000_000
    assert rows[3, True, True].cpu_bytes == 7_000_000_000 * 18 * 1.5


def test_more_gpus_never_need_more_gpu_memory_per_device():
    small = rows_by_choice(model_state_estimates(13_000_000_000, 200_000_000, gpus_per_node=8, nodes=1))
    large = rows_by_choice(model_state_estimates(13_000_000_000, 200_000_000, gpus_per_node=8, nodes=4))
    for key in small:
        assert large[key].gpu_bytes_per_device <= small[key].gpu_bytes_per_device


def test_deepspeed_formulas_as_written_in_its_source():
    # stage_1_and_2.py / stage3.py, transcribed: an odd parameter count, 3 nodes, and a non-default buffer.
    n, big, g, nodes, f = 1_234_567_891, 98_765_432, 4, 3, 1.23
    assert deepspeed_zero2(n, g, nodes, False, f) == (int(n * 4 * g * f), int(2 * n + int(18 * n / 12)))
    assert deepspeed_zero2(n, g, nodes, True, f) == (int(n * max(4 * 12, 16) * f), 2 * n)
    assert deepspeed_zero3(n, big, g, nodes, True, True, False, f) == (
        int(n * max(4 * g, 18 / 3) * f), 4 * big, 4 * big)
    assert deepspeed_zero3(n, big, g, nodes, False, False, True, f)[:2] == (
        int(big * 4 * g * f), 4 * big + int(18 * n / 12))


def test_activation_estimate_hand_worked():
    # s=4, b=2, h=8, a=2, L=3: s·b·h = 64 and 5·a·s/h = 5.
    plain = activation_estimate(4, 2, 8, 3, 2)
    assert plain.bytes_without_checkpointing == 3 * 64 * (34 + 5)
    assert plain.bytes_with_checkpointing == 3 * 2 * 64
    assert "estimate" in plain.label
    tp = activation_estimate(4, 2, 8, 3, 2, tensor_parallel=2)
    assert tp.bytes_without_checkpointing == 3 * 64 * (10 + 24 / 2 + 5 / 2)
    sp = activation_estimate(4, 2, 8, 3, 2, tensor_parallel=2, sequence_parallel=True)
    assert sp.bytes_without_checkpointing == 3 * 64 * 39 / 2 and sp.bytes_with_checkpointing == 3 * 64
    assert activation_estimate(4, 2, 8, 3, 2, fused_attention=True).bytes_without_checkpointing == 3 * 64 * 34
    with_logits = activation_estimate(4, 2, 8, 3, 2, vocab=16)
    assert with_logits.bytes_without_checkpointing == 3 * 64 * 39 + 4 * 64 * (1 + 16 / 8)


def test_bad_input_is_one_user_error():
    with pytest.raises(UserError, match="--params"):
        model_state_estimates(-7, 1)
    with pytest.raises(UserError, match="--gpus-per-node"):
        model_state_estimates(7_000, 10, gpus_per_node=0)
    with pytest.raises(UserError, match="largest-layer"):
        model_state_estimates(7_000, 10_000)
    with pytest.raises(UserError, match="--seq-length"):
        activation_estimate(0, 1, 8, 1, 1)


def test_table_is_in_gib():
    text = format_table(plan_memory(7_000_000_000, 131_000_000, 8, 1))
    assert "GPU/device GiB" in text and "104.31" in text and "27.71" in text


def test_cli_json_has_the_documented_keys(workspace):
    proc = lab("plan", "memory", "--params", "7e9", "--largest-layer-params", "131e6", "--gpus-per-node", "8",
               "--nodes", "1", "--json", workspace=workspace, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["stages"]) == 8
    for row in data["stages"]:
        assert set(row) == {"stage", "offload_optimizer", "offload_param", "gpu_bytes_per_device", "cpu_bytes"}
    zero2 = [r for r in data["stages"] if r["stage"] == 2 and not r["offload_optimizer"]][0]
    assert zero2["gpu_bytes_per_device"] == 29_750_000_000


def test_cli_counts_params_from_the_tiny_model_and_adds_activations(tiny_workspace):
    proc = lab("plan", "memory", "--model", "tiny", "--gpus-per-node", "2", "--json", workspace=tiny_workspace,
               timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["params"] == 2_410_176 and data["largest_layer_params"] == 4096 * 192
    assert data["activations"]["bytes_with_checkpointing"] < data["activations"]["bytes_without_checkpointing"]


@pytest.mark.parametrize("args, needle", [
    (["--params=-7e9", "--largest-layer-params", "1"], "--params"),
    (["--params", "7e9", "--largest-layer-params", "1e6", "--gpus-per-node", "0"], "--gpus-per-node"),
    (["--params", "7e9"], "--largest-layer-params"),
    (["--model", "/nonexistent/model-folder"], "nonexistent"),
])
def test_cli_bad_input_exits_2_with_one_line(workspace, args, needle):
    proc = lab("plan", "memory", *args, workspace=workspace, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_cli_unreadable_config_names_the_file_and_line(workspace, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{"num_hidden_layers": 2,\n  "hidden_size": oops}\n', encoding="utf-8")
    proc = lab("plan", "memory", "--model", str(bad), workspace=workspace, timeout=60)
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and "line 2" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --- against DeepSpeed itself ------------------------------------------------------------------------

DEEPSPEED_PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from deepspeed.runtime.zero.stage_1_and_2 import (estimate_zero2_model_states_mem_needs,
                                                      estimate_zero2_model_states_mem_needs_all_cold)
    from deepspeed.runtime.zero.stage3 import (estimate_zero3_model_states_mem_needs,
                                               estimate_zero3_model_states_mem_needs_all_cold, model_to_params)
    cases = json.loads(sys.argv[1])
    out = {"zero2": [], "zero3": [], "tables": []}
    for n, big, g, nodes, f in cases:
        for off in (True, False):
            out["zero2"].append(estimate_zero2_model_states_mem_needs(n, g, nodes, off, f))
        for off, off_p in ((False, False), (True, False), (True, True)):
            for zi in (True, False):
                out["zero3"].append(estimate_zero3_model_states_mem_needs(n, big, g, nodes, off, off_p, zi, f))
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            estimate_zero2_model_states_mem_needs_all_cold(n, g, nodes, f)
            estimate_zero3_model_states_mem_needs_all_cold(n, big, g, nodes, f)
        out["tables"].append(buf.getvalue())
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(sys.argv[2])
    out["tiny"] = model_to_params(model)
    print("JSON:" + json.dumps(out))
""")

CASES = [
    [7_000_000_000, 131_000_000, 8, 1, 1.5],
    [7_500_000_000, 131_072_000, 8, 8, 1.5],
    [1_234_567_891, 98_765_432, 4, 3, 1.23],
    [2_410_176, 786_432, 2, 1, 1.5],
    [175_000_000_000, 617_000_000, 8, 16, 1.0],
]


@pytest.fixture(scope="module")
def deepspeed_numbers(tiny_models_dir):
    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("DeepSpeed is not installed in this venv (pip install --no-build-isolation deepspeed)")
    env = {**os.environ, "DS_ACCELERATOR": "cpu"}
    proc = subprocess.run([sys.executable, "-c", DEEPSPEED_PROBE, json.dumps(CASES), str(tiny_models_dir / "tiny")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON:")][-1]
    return json.loads(line.removeprefix("JSON:"))


@pytest.mark.integration
def test_every_row_matches_deepspeeds_estimators_exactly(deepspeed_numbers):
    zero2, zero3 = iter(deepspeed_numbers["zero2"]), iter(deepspeed_numbers["zero3"])
    for n, big, g, nodes, f in CASES:
        for off in (True, False):
            assert list(deepspeed_zero2(n, g, nodes, off, f)) == next(zero2)
        for off, off_p in ((False, False), (True, False), (True, True)):
            for zi in (True, False):
                assert list(deepspeed_zero3(n, big, g, nodes, off, off_p, zi, f)) == next(zero3)
        rows = rows_by_choice(model_state_estimates(n, big, g, nodes, f))
        for (stage, off, off_p), row in rows.items():
            if stage == 2:
                assert (row.cpu_bytes, row.gpu_bytes_per_device) == tuple(deepspeed_zero2(n, g, nodes, off, f))
            if stage == 3:
                assert (row.cpu_bytes, row.gpu_bytes_per_device) == deepspeed_zero3(n, big, g, nodes, off, off_p,
                                                                                    True, f)[:2]


@pytest.mark.integration
def test_all_cold_tables_print_our_numbers(deepspeed_numbers):
    # DeepSpeed's *_all_cold print "  per CPU  |  per GPU" in GB of 2**30; our rows must appear there.
    for (n, big, g, nodes, f), table in zip(CASES, deepspeed_numbers["tables"]):
        for row in model_state_estimates(n, big, g, nodes, f):
            if row.stage in (2, 3):
                assert f" {row.cpu_bytes / 2**30:7.2f}GB | {row.gpu_bytes_per_device / 2**30:6.2f}GB |" in table


@pytest.mark.integration
def test_largest_layer_of_the_tiny_model_matches_deepspeeds_model_to_params(deepspeed_numbers, tiny_models_dir):
    from lab.distributed.model_size import count_params, load_shape
    counted = count_params(load_shape(str(tiny_models_dir / "tiny")))
    assert [counted.total, counted.largest_layer] == deepspeed_numbers["tiny"]


# ---- LoRA and Hub ids ---------------------------------------------------------------------------------
LLM_JP_3_1_8B = {"model_type": "llama", "num_hidden_layers": 24, "hidden_size": 2048, "num_attention_heads": 16,
                 "num_key_value_heads": 16, "intermediate_size": 7168, "vocab_size": 99584,
                 "max_position_embeddings": 4096}


def test_lora_counts_adapters_on_every_linear_layer_by_hand():
    from lab.distributed.model_size import ModelShape, lora_params
    shape = ModelShape.from_mapping(LLM_JP_3_1_8B)
    # per layer: q, k, v, o are 2048→2048 (r·4096 each) and gate, up, down 2048↔7168 (r·9216 each)
    assert lora_params(shape, 32) == 24 * 32 * (4 * 4096 + 3 * 9216)


def test_lora_needs_a_fraction_of_full_fine_tuning_memory():
    from lab.distributed.model_size import ModelShape, count_params, lora_params
    from lab.distributed.plan_memory import plan_memory
    shape = ModelShape.from_mapping(LLM_JP_3_1_8B)
    counted, trainable = count_params(shape), lora_params(shape, 32)
    full = plan_memory(counted.total, counted.largest_layer)
    lora = plan_memory(counted.total, counted.largest_layer, trainable_params=trainable)
    full0, lora0 = full.stages[0].gpu_bytes_per_device, lora.stages[0].gpu_bytes_per_device
    assert lora0 == 2 * (counted.total - trainable) + 16 * trainable  # 16-bit frozen base + fp32 adapter states
    assert full0 / lora0 > 6  # the old planner's full-fine-tuning figure overstated a LoRA preset this much
    eight = plan_memory(counted.total, counted.largest_layer, 8, trainable_params=trainable)
    assert all(a.gpu_bytes_per_device <= b.gpu_bytes_per_device for a, b in zip(eight.stages, lora.stages))
    assert "LoRA" in format_table(lora) and lora.to_dict()["trainable_params"] == trainable


def test_cli_lora_rank_from_the_tiny_model(tiny_workspace):
    proc = lab("plan", "memory", "--model", "tiny", "--lora-r", "8", "--json", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert 0 < data["trainable_params"] < data["params"]


def test_a_hub_id_works_from_the_cache_and_is_one_line_offline(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants
    from lab.distributed.model_size import load_shape
    config = tmp_path / "config.json"
    config.write_text(json.dumps(LLM_JP_3_1_8B))
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: str(config))
    assert load_shape("llm-jp/llm-jp-3-1.8b").layers == 24
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: None)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="not in the local Hugging Face cache and the Hub is not reachable") as e:
        load_shape("llm-jp/llm-jp-3-1.8b")
    assert "\n" not in str(e.value)
