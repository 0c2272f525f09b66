"""3D-parallelism planner: from GPUs, tensor (TP) and pipeline (PP) parallel sizes, batch sizes and a
model shape, derive the data-parallel size DP = GPUs / (TP·PP) and the gradient-accumulation steps,
check the constraints Megatron-LM enforces, explain each violated one (en and ja), and emit the
Megatron-LM `pretrain_gpt.py` arguments.

Constraints (Megatron-LM's `validate_args` and `initialize_model_parallel` refuse the others):
GPUs % (TP·PP) = 0; attention heads % TP = 0; key/value heads (query groups) % TP = 0; hidden % TP = 0;
FFN size % TP = 0; layers % PP = 0 (even stages); global batch % (micro batch × DP) = 0, and then
gradient accumulation = global / (micro × DP). The pipeline bubble is (PP − 1)/m of the ideal step
time with m = micro-batches per step (Narayanan et al. 2021, 1F1B schedule).
"""
from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field

from ..errors import UserError
from .model_size import KNOWN_ARCHITECTURES, ModelShape

# The book's chapter-14 recipe: Llama-2-7B with TP=2, PP=2 (on one 8-GPU node that leaves DP=2) and
# Llama 2's 4M-token batches: 1024 sequences of 4096 tokens.
LLAMA2_7B_EXAMPLE = dict(gpus=8, tp=2, pp=2, micro_batch=1, global_batch=1024, gpus_per_node=8)


@dataclass(frozen=True)
class Violation:
    constraint: str
    en: str
    ja: str


@dataclass
class ParallelPlan:
    gpus: int
    gpus_per_node: int
    nodes: int
    tp: int
    pp: int
    dp: int | None
    micro_batch: int
    global_batch: int
    grad_accum_steps: int | None
    model: ModelShape
    seq_length: int
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    megatron_args: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.violations

    @property
    def pipeline_bubble(self) -> float | None:
        if self.grad_accum_steps is None:
            return None
        return (self.pp - 1) / self.grad_accum_steps

    def command(self, script: str = "pretrain_gpt.py") -> str:
        """A torchrun line per node (node_rank and the master address come from the launcher)."""
        head = ["torchrun", "--nproc_per_node", str(self.gpus_per_node), "--nnodes", str(self.nodes), script]
        pairs: list[str] = []
        args = self.megatron_args
        i = 0
        while i < len(args):
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                pairs.append(f"{args[i]} {shlex.quote(args[i + 1])}")
                i += 2
            else:
                pairs.append(args[i])
                i += 1
        return " \\\n  ".join([" ".join(head), *pairs])

    def to_dict(self) -> dict:
        return {
            "gpus": self.gpus, "gpus_per_node": self.gpus_per_node, "nodes": self.nodes,
            "tp": self.tp, "pp": self.pp, "dp": self.dp,
            "micro_batch": self.micro_batch, "global_batch": self.global_batch,
            "grad_accum_steps": self.grad_accum_steps, "pipeline_bubble": self.pipeline_bubble,
            "seq_length": self.seq_length, "model": asdict(self.model),
            "valid": self.valid,
            "violations": [asdict(v) for v in self.violations],
            "warnings": [asdict(w) for w in self.warnings],
            "megatron_args": self.megatron_args,
            "command": self.command(),
        }


def _whole(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        raise UserError(f"{name}: expected a whole number ≥ 1, got {value!r}")
    return int(value)


def check_constraints(gpus: int, tp: int, pp: int, micro_batch: int, global_batch: int,
                      model: ModelShape) -> list[Violation]:
    found: list[Violation] = []
    mp = tp * pp
    if gpus % mp:
        found.append(Violation(
            "gpus_divisible",
            f"{gpus} GPUs do not divide into model replicas of TP×PP = {tp}×{pp} = {mp} GPUs: "
            f"the GPU count must be a multiple of TP×PP so that data parallelism gets whole replicas.",
            f"GPU数 {gpus} が TP×PP = {tp}×{pp} = {mp} で割り切れません。データ並列の各レプリカは "
            f"TP×PP 台の GPU を丸ごと使うので、GPU数は TP×PP の倍数にしてください。"))
    if model.heads % tp:
        found.append(Violation(
            "heads_tp",
            f"{model.heads} attention heads do not divide by TP = {tp}: tensor parallelism gives every GPU "
            f"the same whole number of heads.",
            f"アテンションヘッド数 {model.heads} が TP = {tp} で割り切れません。テンソル並列では各 GPU が"
            f"同じ数のヘッドを丸ごと受け持ちます。"))
    if model.kv_heads != model.heads and model.kv_heads % tp:
        found.append(Violation(
            "kv_heads_tp",
            f"{model.kv_heads} key/value heads (query groups) do not divide by TP = {tp}: each GPU needs whole "
            f"key/value groups for its query heads.",
            f"キー/バリューのヘッド数(クエリグループ数){model.kv_heads} が TP = {tp} で割り切れません。"
            f"各 GPU は担当するクエリヘッドのグループを丸ごと持つ必要があります。"))
    if model.hidden % tp:
        found.append(Violation(
            "hidden_tp",
            f"hidden size {model.hidden} does not divide by TP = {tp}: the attention and MLP weight matrices "
            f"are split into TP equal column/row blocks.",
            f"隠れ層の次元 {model.hidden} が TP = {tp} で割り切れません。アテンションと MLP の重み行列は"
            f"列・行方向に TP 等分されます。"))
    if model.intermediate % tp:
        found.append(Violation(
            "ffn_tp",
            f"FFN size {model.intermediate} does not divide by TP = {tp}: the MLP's first matrix is split by "
            f"columns into TP equal parts.",
            f"FFN の次元 {model.intermediate} が TP = {tp} で割り切れません。MLP の最初の行列は列方向に"
            f"TP 等分されます。"))
    if model.layers % pp:
        found.append(Violation(
            "layers_pp",
            f"{model.layers} layers do not divide by PP = {pp}: each pipeline stage holds the same number of "
            f"layers.",
            f"層数 {model.layers} が PP = {pp} で割り切れません。パイプライン並列では各ステージが同じ数の"
            f"層を持ちます。"))
    if not gpus % mp:
        dp = gpus // mp
        if global_batch % (micro_batch * dp):
            found.append(Violation(
                "global_batch",
                f"global batch {global_batch} is not a multiple of micro batch × DP = {micro_batch}×{dp} = "
                f"{micro_batch * dp}: one step is DP replicas × gradient-accumulation steps × micro batch "
                f"sequences, so it must divide evenly.",
                f"グローバルバッチ {global_batch} がマイクロバッチ×DP = {micro_batch}×{dp} = {micro_batch * dp} "
                f"の倍数ではありません。1ステップは DP × 勾配累積ステップ数 × マイクロバッチ分の系列なので、"
                f"割り切れる必要があります。"))
    return found


def megatron_args(tp: int, pp: int, micro_batch: int, global_batch: int, model: ModelShape, seq_length: int,
                  sequence_parallel: bool = True, distributed_optimizer: bool = True,
                  precision: str = "bf16") -> list[str]:
    """Megatron-LM `pretrain_gpt.py` arguments for a Llama-architecture model (RoPE, RMSNorm, SwiGLU,
    no linear biases). Data, tokenizer, optimizer and checkpoint paths are the user's to add."""
    args = ["--tensor-model-parallel-size", str(tp), "--pipeline-model-parallel-size", str(pp)]
    if sequence_parallel and tp > 1:
        args.append("--sequence-parallel")
    if distributed_optimizer:
        args.append("--use-distributed-optimizer")
    args += ["--num-layers", str(model.layers), "--hidden-size", str(model.hidden),
             "--ffn-hidden-size", str(model.intermediate), "--num-attention-heads", str(model.heads)]
    if model.kv_heads != model.heads:
        args += ["--group-query-attention", "--num-query-groups", str(model.kv_heads)]
    args += ["--seq-length", str(seq_length), "--max-position-embeddings", str(seq_length),
             "--micro-batch-size", str(micro_batch), "--global-batch-size", str(global_batch),
             "--position-embedding-type", "rope"]
    if model.rope_theta and model.rope_theta != 10000.0:
        args += ["--rotary-base", f"{model.rope_theta:g}"]
    args += ["--normalization", "RMSNorm"]
    if model.norm_eps:
        args += ["--norm-epsilon", f"{model.norm_eps:g}"]
    if model.gated_mlp:
        args.append("--swiglu")
    if not model.tie_embeddings:
        args.append("--untie-embeddings-and-output-weights")
    if not (model.attention_bias or model.mlp_bias):
        args.append("--disable-bias-linear")
    args += ["--attention-dropout", "0.0", "--hidden-dropout", "0.0"]
    if precision in ("bf16", "fp16"):
        args.append(f"--{precision}")
    elif precision != "fp32":
        raise UserError(f"--precision: expected bf16, fp16 or fp32, got {precision!r}")
    return args


def plan_parallel(gpus: int, tp: int, pp: int, micro_batch: int, global_batch: int, model: ModelShape,
                  seq_length: int | None = None, gpus_per_node: int | None = None, sequence_parallel: bool = True,
                  distributed_optimizer: bool = True, precision: str = "bf16") -> ParallelPlan:
    gpus = _whole(gpus, "--gpus")
    tp, pp = _whole(tp, "--tp"), _whole(pp, "--pp")
    micro_batch, global_batch = _whole(micro_batch, "--micro-batch"), _whole(global_batch, "--global-batch")
    per_node = _whole(gpus_per_node, "--gpus-per-node") if gpus_per_node else min(gpus, 8)
    seq = _whole(seq_length, "--seq-length") if seq_length else (model.seq_length or 2048)
    violations = check_constraints(gpus, tp, pp, micro_batch, global_batch, model)
    dp = gpus // (tp * pp) if not gpus % (tp * pp) else None
    accum = global_batch // (micro_batch * dp) if dp and not global_batch % (micro_batch * dp) else None
    warnings: list[Violation] = []
    if gpus % per_node:
        warnings.append(Violation(
            "whole_nodes", f"{gpus} GPUs do not fill whole nodes of {per_node}: the last node would be partial.",
            f"GPU数 {gpus} がノードあたり {per_node} 台の倍数ではなく、最後のノードが半端になります。"))
    if tp > per_node:
        warnings.append(Violation(
            "tp_across_nodes",
            f"TP = {tp} spans more than one node of {per_node} GPUs: tensor parallelism all-reduces inside every "
            f"layer and wants the fast links within a node.",
            f"TP = {tp} がノードあたりの GPU 数 {per_node} を超えています。テンソル並列は層ごとに all-reduce "
            f"するので、ノード内の高速な接続の中に収めるのが定石です。"))
    plan = ParallelPlan(gpus=gpus, gpus_per_node=per_node, nodes=-(-gpus // per_node), tp=tp, pp=pp, dp=dp,
                        micro_batch=micro_batch, global_batch=global_batch, grad_accum_steps=accum, model=model,
                        seq_length=seq, violations=violations, warnings=warnings)
    plan.megatron_args = megatron_args(tp, pp, micro_batch, global_batch, model, seq, sequence_parallel,
                                       distributed_optimizer, precision)
    return plan


def llama2_7b_example(gpus: int = 8) -> ParallelPlan:
    """The book's recipe: Llama-2-7B (32 layers, 32 heads, hidden 4096, FFN 11008, 4096 tokens), TP=2, PP=2."""
    shape = ModelShape.from_mapping(KNOWN_ARCHITECTURES["llama-2-7b"], name="llama-2-7b")
    example = {**LLAMA2_7B_EXAMPLE, "gpus": gpus, "gpus_per_node": min(gpus, 8)}
    return plan_parallel(model=shape, seq_length=4096, **example)
