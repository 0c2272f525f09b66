"""Memory admission's estimate: the breakdown on hand-worked numbers, the one-line refusal, and the
note the training forms show."""
from __future__ import annotations

from dataclasses import replace

import pytest

from lab import memory_estimate as me
from lab.distributed import plan_memory as pm
from lab.distributed.model_size import ModelShape, load_shape
from lab.errors import UserError
from lab.presets import read_yaml, validate

# 1 layer, hidden 4, 1 head, gated MLP of 8, vocab 16, untied: q,k,v,o 4×4 each (64) + MLP 3×4×8 (96)
# + 2 norms (8) = 168 a layer; embedding 64 + head 64 + final norm 4 → 300 parameters.
SMALL = ModelShape.from_mapping(dict(num_hidden_layers=1, hidden_size=4, num_attention_heads=1,
                                     num_key_value_heads=1, intermediate_size=8, vocab_size=16))
BASE = me.Settings(kind="sft", model="small", method="full", lora_r=2, lora_targets="all-linear", batch=1,
                   max_length=8, gradient_checkpointing=False, zero_stage=None, offload_optimizer=False,
                   offload_param=False, fsdp=False, ranks_per_node=1, nodes=1, dtype="auto")
# Activations at b=1, s=8, h=4, one layer, fused attention: 16-bit s·b·h·34 = 1088 bytes, fp32 twice that;
# logits: four fp32 copies of s·b·vocab = 4·8·16·4 = 2048 bytes.
ACT_CPU = 2 * 1088 + 2048


def test_full_fine_tuning_on_cpu_is_16_bytes_a_parameter_plus_activations_and_runtime():
    est = me.estimate_settings(BASE, SMALL, "cpu")
    assert est.params == 300 and est.trainable == 300
    b = est.breakdown
    assert (b["weights"], b["grads"], b["optimizer"]) == (1200, 1200, 2400)  # 4 + 4 + 8 bytes
    assert b["activations"] == ACT_CPU
    assert b["runtime"] == me.RUNTIME_CPU_BYTES
    assert b["total"] == 4800 + ACT_CPU + me.RUNTIME_CPU_BYTES


def test_lora_counts_only_the_trainable_parameters():
    # r=2 on q,k,v,o (4+4 each) and gate, up, down (4+8 each): 2·(32 + 36) = 136 trainable.
    est = me.estimate_settings(replace(BASE, method="lora"), SMALL, "cpu")
    assert est.trainable == 136
    b = est.breakdown
    assert (b["weights"], b["grads"], b["optimizer"]) == (4 * 300, 4 * 136, 8 * 136)


def test_gpu_states_are_the_planners_rows():
    full = me.estimate_settings(BASE, SMALL, "cuda")
    row0 = pm.model_state_estimates(300, 64)[0]
    assert full.breakdown["weights"] + full.breakdown["grads"] + full.breakdown["optimizer"] == row0.gpu_bytes_per_device
    lora = me.estimate_settings(replace(BASE, method="lora"), SMALL, "cuda")
    lrow = pm.lora_state_estimates(300, 136, 64)[0]
    assert lora.breakdown["weights"] + lora.breakdown["grads"] + lora.breakdown["optimizer"] == lrow.gpu_bytes_per_device


def test_checkpointing_dpo_pairs_and_zero3_offload_move_the_right_parts():
    deep = replace(SMALL, layers=8)  # with one layer, checkpointing saves nothing (that layer is recomputed whole)
    plain = me.estimate_settings(replace(BASE, batch=4, max_length=64), deep, "cpu")
    ckpt = me.estimate_settings(replace(plain.settings, gradient_checkpointing=True), deep, "cpu")
    assert ckpt.breakdown["activations"] < plain.breakdown["activations"]
    dpo = me.estimate_settings(replace(plain.settings, kind="dpo"), deep, "cpu")
    assert dpo.breakdown["activations"] == 2 * plain.breakdown["activations"]  # chosen + rejected
    assert dpo.breakdown["weights"] == 2 * plain.breakdown["weights"]  # the reference copy
    seven = load_shape("llama-2-7b")
    big = replace(BASE, model="llama-2-7b")
    z0 = me.estimate_settings(big, seven, "cuda")
    z3 = me.estimate_settings(replace(big, zero_stage=3, offload_optimizer=True, offload_param=True), seven, "cuda")
    assert z3.breakdown["optimizer"] == 0 and z3.total < z0.total / 10


def test_refusal_gives_both_numbers_and_the_settings_that_would_fit():
    seven = load_shape("llama-2-7b")
    est = me.estimate_settings(replace(BASE, model="llama-2-7b", batch=4, max_length=1024), seven, "cuda")
    free = 40 * me.GIB  # LoRA (13 GB frozen base + 20 GB activations) fits, full fine-tuning (~120 GiB) does not
    assert not est.fits(free)
    line = me.refusal(est, free, "cuda:0")
    assert "\n" not in line
    assert f"needs ~{me.human(est.total)}" in line and "cuda:0 has 40.0 GiB free" in line
    assert "method: lora" in line and "launch.zero_stage: 3" in line
    for fix in est.suggestions(free):  # each suggestion alone fits
        assert fix in line


def test_suggested_batch_and_length_each_fit_alone():
    est = me.estimate_settings(replace(BASE, batch=64, max_length=2048), SMALL, "cpu")
    free = me.RUNTIME_CPU_BYTES + est.breakdown["activations"] // 3
    fixes = est.suggestions(free)
    batch = next(f for f in fixes if f.startswith("train.per_device_train_batch_size"))
    b = int(batch.rsplit(" ", 1)[1])
    assert me.estimate_settings(replace(est.settings, batch=b), SMALL, "cpu").fits(free)
    assert not me.estimate_settings(replace(est.settings, batch=b * 2), SMALL, "cpu").fits(free)
    assert any(f.startswith("train.max_length") for f in fixes)


def test_fits_when_the_free_memory_is_large(tiny_workspace, monkeypatch):
    data, _ = read_yaml(me_preset("sft-tiny.yaml"))
    spec = validate(data, "sft-tiny.yaml")
    est = me.estimate(spec, "cpu")
    assert est.fits(10**12)
    monkeypatch.setenv(me.FAKE_FREE_ENV, str(10**6))  # a terabyte free: admitted
    me.check_slot(spec, "cpu")
    monkeypatch.setenv(me.FAKE_FREE_ENV, "100")
    with pytest.raises(UserError, match=r"needs ~.*, cpu has 100 MiB free"):
        me.check_slot(spec, "cpu")
    monkeypatch.setenv(me.SKIP_ENV, "1")
    me.check_slot(spec, "cpu")  # the escape hatch


def test_the_sft_forms_estimate_changes_with_max_length(tiny_workspace):
    from ui.memory_note import note_text
    data, _ = read_yaml(me_preset("sft-tiny.yaml"))
    data["train"]["per_device_train_batch_size"] = 16
    short = note_text({**data, "train": {**data["train"], "max_length": 128}}, "cpu", 64 * me.GIB)
    long = note_text({**data, "train": {**data["train"], "max_length": 2048}}, "cpu", 64 * me.GIB)
    assert "Memory estimate" in short and short != long
    tight = note_text({**data, "train": {**data["train"], "max_length": 2048}}, "cpu", me.RUNTIME_CPU_BYTES + 300 * me.MIB)
    assert "⚠ cpu has" in tight and "train.max_length:" in tight


def me_preset(name):
    from lab.presets import PRESETS_DIR
    return PRESETS_DIR / name
