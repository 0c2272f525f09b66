"""The 3D-parallelism planner derives DP and gradient accumulation, explains every violated constraint in
English and Japanese, and emits the Megatron-LM arguments of the book's Llama-2-7B TP=2/PP=2 recipe."""
from __future__ import annotations

import json

import pytest

from lab.distributed.model_size import load_shape
from lab.distributed.plan_parallel import llama2_7b_example, plan_parallel
from lab.errors import UserError
from tests.conftest import lab

LLAMA2_7B_ARGS = [
    "--tensor-model-parallel-size", "2", "--pipeline-model-parallel-size", "2",
    "--sequence-parallel", "--use-distributed-optimizer",
    "--num-layers", "32", "--hidden-size", "4096", "--ffn-hidden-size", "11008", "--num-attention-heads", "32",
    "--seq-length", "4096", "--max-position-embeddings", "4096",
    "--micro-batch-size", "1", "--global-batch-size", "1024",
    "--position-embedding-type", "rope", "--normalization", "RMSNorm", "--norm-epsilon", "1e-05", "--swiglu",
    "--untie-embeddings-and-output-weights", "--disable-bias-linear",
    "--attention-dropout", "0.0", "--hidden-dropout", "0.0", "--bf16",
]


def test_llama_2_7b_tp2_pp2_on_8_gpus():
    plan = llama2_7b_example()
    assert plan.valid and plan.violations == []
    assert (plan.tp, plan.pp, plan.dp) == (2, 2, 2)
    assert plan.grad_accum_steps == 1024 // (1 * 2) == 512
    assert plan.pipeline_bubble == pytest.approx(1 / 512)
    assert plan.megatron_args == LLAMA2_7B_ARGS
    command = plan.command()
    assert command.startswith("torchrun --nproc_per_node 8 --nnodes 1 pretrain_gpt.py \\\n")
    assert "  --tensor-model-parallel-size 2 \\\n" in command


def test_grouped_query_attention_adds_query_groups():
    plan = plan_parallel(64, 8, 4, 1, 1024, load_shape("llama-2-70b"))
    assert plan.valid and plan.dp == 2 and plan.grad_accum_steps == 512 and plan.nodes == 8
    i = plan.megatron_args.index("--num-query-groups")
    assert plan.megatron_args[i - 1] == "--group-query-attention" and plan.megatron_args[i + 1] == "8"


def test_llama_3_rope_base_is_carried_over():
    args = plan_parallel(8, 2, 1, 1, 64, load_shape("llama-3-8b")).megatron_args
    assert args[args.index("--rotary-base") + 1] == "500000"


@pytest.mark.parametrize("gpus, tp, pp, micro, global_batch, expected", [
    (8, 3, 1, 1, 64, {"gpus_divisible", "heads_tp", "hidden_tp", "ffn_tp"}),
    (12, 1, 5, 1, 12, {"gpus_divisible", "layers_pp"}),
    (16, 2, 2, 2, 100, {"global_batch"}),
    (8, 2, 3, 1, 8, {"gpus_divisible", "layers_pp"}),
    (8, 2, 2, 1, 1024, set()),
])
def test_constraint_checker_names_each_violation(gpus, tp, pp, micro, global_batch, expected):
    plan = plan_parallel(gpus, tp, pp, micro, global_batch, load_shape("llama-2-7b"))
    assert {v.constraint for v in plan.violations} == expected
    assert plan.valid is (not expected)
    for v in plan.violations:
        assert v.en.endswith(".") and v.ja.endswith("。") and len(v.en.split(". ")) == 1


def test_violation_sentences_carry_the_numbers():
    plan = plan_parallel(16, 2, 2, 2, 100, load_shape("llama-2-7b"))
    (v,) = plan.violations
    assert "100" in v.en and "2×4 = 8" in v.en and "100" in v.ja and "勾配累積" in v.ja
    assert plan.dp == 4 and plan.grad_accum_steps is None and plan.pipeline_bubble is None


def test_kv_heads_must_divide_by_tp():
    plan = plan_parallel(16, 16, 1, 1, 16, load_shape("llama-2-70b"))
    assert "kv_heads_tp" in {v.constraint for v in plan.violations}
    assert "tp_across_nodes" in {w.constraint for w in plan.warnings}


def test_sequence_parallel_only_with_tensor_parallel():
    assert "--sequence-parallel" not in plan_parallel(4, 1, 2, 1, 8, load_shape("llama-2-7b")).megatron_args


@pytest.mark.parametrize("kwargs, needle", [
    (dict(gpus=0), "--gpus"), (dict(tp=-2), "--tp"), (dict(micro_batch=0), "--micro-batch"),
    (dict(precision="int4"), "--precision"),
])
def test_bad_numbers_are_user_errors(kwargs, needle):
    args = dict(gpus=8, tp=2, pp=2, micro_batch=1, global_batch=1024, model=load_shape("llama-2-7b")) | kwargs
    with pytest.raises(UserError, match=needle):
        plan_parallel(**args)


def test_cli_example_json(workspace):
    proc = lab("plan", "parallel", "--example", "llama-2-7b", "--json", workspace=workspace, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["dp"] == 2 and data["grad_accum_steps"] == 512 and data["valid"] is True
    assert data["megatron_args"] == LLAMA2_7B_ARGS


def test_cli_flags_and_explanations(workspace):
    proc = lab("plan", "parallel", "--gpus", "8", "--tp", "3", "--pp", "1", "--micro-batch", "1",
               "--global-batch", "64", "--layers", "32", "--heads", "32", "--hidden", "4096", workspace=workspace,
               timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "✗ heads_tp" in proc.stdout and "アテンションヘッド数 32" in proc.stdout
    assert "constraints: 4 violated" in proc.stdout  # gpus, heads, hidden and ffn (4×4096) by TP=3


def test_cli_without_a_model_is_one_line(workspace):
    proc = lab("plan", "parallel", "--gpus", "8", "--global-batch", "64", "--layers", "32", workspace=workspace,
               timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: lab plan parallel: give --model PATH_OR_NAME, or --heads, --hidden"]
