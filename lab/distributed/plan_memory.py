"""Memory planner: bytes of model states per GPU and per node for each ZeRO stage and offload choice,
plus a rough activation estimate.

Model states, two sources:

* ZeRO-2 and ZeRO-3 rows reproduce DeepSpeed's own estimators exactly —
  `estimate_zero2_model_states_mem_needs` (deepspeed/runtime/zero/stage_1_and_2.py) and
  `estimate_zero3_model_states_mem_needs` (deepspeed/runtime/zero/stage3.py), the functions behind
  their `*_all_cold` tables — including `additional_buffer_factor` (1.5) on CPU memory and, for ZeRO-3,
  the 4 bytes × largest layer gathered on the GPU. DeepSpeed counts 18 bytes per parameter for the
  partitioned states (2 fp16 grads + 4 fp32 grads + 4 fp32 params + 8 Adam moments) next to the
  2-byte fp16 weights. Its CPU figure is per node ("per CPU" in its table).
* ZeRO-0 and ZeRO-1 have no DeepSpeed estimator; they follow the ZeRO paper (Rajbhandari et al. 2020,
  §3 and Figure 1): mixed-precision Adam keeps 2Ψ fp16 weights + 2Ψ fp16 grads + KΨ optimizer states
  with K = 12 (fp32 master weights, momentum, variance), 16 bytes per parameter; stage 1 partitions
  the K part over the N_d data-parallel GPUs, stage 2 also the grads, stage 3 also the weights. Their
  CPU figure is DeepSpeed's no-offload one: every process on a node loads the fp32 weights once
  (4 bytes × params × GPUs per node × buffer factor). Stage 1 with optimizer offload keeps the fp16
  weights and full fp16 grads on the GPU (4Ψ) and DeepSpeed's ZeRO-Offload CPU figure.

The paper's own per-stage numbers (no buffer factor, no largest-layer term) are in `zero_paper`.

Activations (an estimate, not a measurement): Korthikanti et al. 2022, "Reducing Activation
Recomputation in Large Transformer Models", §4. Per transformer layer in 16-bit, without
recomputation: s·b·h·(34 + 5·a·s/h) bytes; with tensor parallel t: s·b·h·(10 + 24/t + 5·a·s/(h·t));
with sequence parallel too: s·b·h·(34 + 5·a·s/h)/t. With full recomputation (gradient checkpointing of
every layer) only each layer's input stays: 2·s·b·h bytes (/t with sequence parallel). s = sequence
length, b = micro batch, h = hidden size, a = attention heads, L layers multiply. A fused attention
kernel (FlashAttention, SDPA) never stores the s×s scores, which removes the 5·a·s/h term. When the
vocabulary v is known the output layer adds 4·s·b·h·(1 + v/h)/t (fp32 logits for the loss). Under
pipeline parallelism with 1F1B the first stage holds about L layers' worth, so this is per GPU there.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import UserError

GIB = 2**30
OPTIMIZER_BYTES_PER_PARAM = 12  # K in the ZeRO paper: fp32 master weights + momentum + variance
DEFAULT_BUFFER_FACTOR = 1.5  # DeepSpeed's additional_buffer_factor default


@dataclass(frozen=True)
class StageEstimate:
    stage: int
    offload_optimizer: bool
    offload_param: bool
    gpu_bytes_per_device: int
    cpu_bytes: int  # host memory per node

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ActivationEstimate:
    """Bytes per GPU for one micro batch. Labelled an estimate everywhere it is shown."""
    seq_length: int
    micro_batch: int
    hidden: int
    layers: int
    heads: int
    tensor_parallel: int
    sequence_parallel: bool
    fused_attention: bool
    vocab: int | None
    bytes_without_checkpointing: int
    bytes_with_checkpointing: int
    formula: str
    label: str = "estimate (Korthikanti et al. 2022), not a measurement"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MemoryPlan:
    params: int
    largest_layer_params: int
    gpus_per_node: int
    nodes: int
    additional_buffer_factor: float
    zero_init: bool
    stages: list[StageEstimate]
    zero_paper: list[dict]
    activations: ActivationEstimate | None = None
    notes: list[str] = field(default_factory=list)
    trainable_params: int | None = None  # LoRA; None = full fine-tuning

    def to_dict(self) -> dict:
        return {
            "params": self.params, "largest_layer_params": self.largest_layer_params,
            "trainable_params": self.trainable_params,
            "gpus_per_node": self.gpus_per_node, "nodes": self.nodes,
            "additional_buffer_factor": self.additional_buffer_factor, "zero_init": self.zero_init,
            "stages": [s.to_dict() for s in self.stages],
            "zero_paper": self.zero_paper,
            "activations": self.activations.to_dict() if self.activations else None,
            "notes": self.notes,
        }


# --- DeepSpeed's estimators, term for term (same float operations, so the same integers) -------------

def deepspeed_zero2(total_params, num_gpus_per_node=1, num_nodes=1, cpu_offload=True,
                    additional_buffer_factor=DEFAULT_BUFFER_FACTOR) -> tuple[int, int]:
    """(cpu_bytes, gpu_bytes) as `estimate_zero2_model_states_mem_needs` returns them."""
    total_gpus = num_nodes * num_gpus_per_node
    if cpu_offload:
        gpu_mem = 2 * total_params
        cpu_mem = total_params * max(4 * total_gpus, 16) * additional_buffer_factor
    else:
        gpu_mem = 2 * total_params + int(18 * total_params / total_gpus)
        cpu_mem = total_params * 4 * num_gpus_per_node * additional_buffer_factor
    return int(cpu_mem), int(gpu_mem)


def deepspeed_zero3(total_params, largest_layer_params, num_gpus_per_node=1, num_nodes=1, cpu_offload=True,
                    cpu_offload_params=True, zero_init=True,
                    additional_buffer_factor=DEFAULT_BUFFER_FACTOR) -> tuple[int, int, int]:
    """(cpu_bytes, gpu_bytes, largest_layer_bytes) as `estimate_zero3_model_states_mem_needs` returns them."""
    total_gpus = num_nodes * num_gpus_per_node
    gpus_factor = 1 / num_nodes
    largest_layer_memory = 4 * largest_layer_params  # its fp16 weights and fp16 grads, gathered
    # Kept in DeepSpeed's evaluation order: float products associate left to right, and a different
    # grouping can move int() by one byte.
    if cpu_offload:
        if cpu_offload_params:
            gpu_mem = largest_layer_memory
            if zero_init:
                cpu_mem = total_params * 18 * gpus_factor * additional_buffer_factor
            else:
                cpu_mem = total_params * max(4 * num_gpus_per_node, 18 * gpus_factor) * additional_buffer_factor
        else:
            gpu_mem = largest_layer_memory + int(2 * total_params / total_gpus)
            if zero_init:
                cpu_mem = total_params * 16 * gpus_factor * additional_buffer_factor
            else:
                cpu_mem = total_params * max(4 * num_gpus_per_node, 16 * gpus_factor) * additional_buffer_factor
    else:
        gpu_mem = largest_layer_memory + int(18 * total_params / total_gpus)
        if zero_init:
            cpu_mem = largest_layer_params * 4 * num_gpus_per_node * additional_buffer_factor
        else:
            cpu_mem = total_params * 4 * num_gpus_per_node * additional_buffer_factor
    return int(cpu_mem), int(gpu_mem), largest_layer_memory


# --- the ZeRO paper ----------------------------------------------------------------------------------

def zero_paper_bytes_per_device(params: float, stage: int, dp: int) -> float:
    """Model-state bytes per GPU in the ZeRO paper's accounting (Figure 1): 2Ψ + 2Ψ + KΨ, K = 12."""
    k = OPTIMIZER_BYTES_PER_PARAM
    if stage == 0:
        return (2 + 2 + k) * params
    if stage == 1:
        return (2 + 2) * params + k * params / dp
    if stage == 2:
        return 2 * params + (2 + k) * params / dp
    if stage == 3:
        return (2 + 2 + k) * params / dp
    raise UserError(f"zero stage: expected 0, 1, 2 or 3, got {stage!r}")


def _check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < minimum:
        raise UserError(f"{name}: expected a whole number ≥ {minimum}, got {value!r}")
    return int(value)


def model_state_estimates(params: int, largest_layer_params: int, gpus_per_node: int = 1, nodes: int = 1,
                          additional_buffer_factor: float = DEFAULT_BUFFER_FACTOR,
                          zero_init: bool = True) -> list[StageEstimate]:
    """One row per (stage, offload) choice DeepSpeed offers: 0; 1, 1+optimizer offload; 2, 2+optimizer
    offload; 3, 3+optimizer offload, 3+optimizer and parameter offload."""
    n = _check_int(params, "--params")
    largest = _check_int(largest_layer_params, "--largest-layer-params")
    per_node = _check_int(gpus_per_node, "--gpus-per-node")
    nodes = _check_int(nodes, "--nodes")
    if largest > n:
        raise UserError(f"--largest-layer-params: {largest} is more than the whole model ({n})")
    if not additional_buffer_factor > 0:
        raise UserError(f"--buffer-factor: must be greater than zero, got {additional_buffer_factor!r}")
    dp = per_node * nodes
    load_cpu = int(n * 4 * per_node * additional_buffer_factor)
    rows = [
        StageEstimate(0, False, False, int(zero_paper_bytes_per_device(n, 0, dp)), load_cpu),
        StageEstimate(1, False, False, 4 * n + int(OPTIMIZER_BYTES_PER_PARAM * n / dp), load_cpu),
        StageEstimate(1, True, False, 4 * n, deepspeed_zero2(n, per_node, nodes, True, additional_buffer_factor)[0]),
    ]
    for offload in (False, True):
        cpu, gpu = deepspeed_zero2(n, per_node, nodes, offload, additional_buffer_factor)
        rows.append(StageEstimate(2, offload, False, gpu, cpu))
    for offload_optimizer, offload_param in ((False, False), (True, False), (True, True)):
        cpu, gpu, _ = deepspeed_zero3(n, largest, per_node, nodes, offload_optimizer, offload_param, zero_init,
                                      additional_buffer_factor)
        rows.append(StageEstimate(3, offload_optimizer, offload_param, gpu, cpu))
    return rows


FROZEN_BYTES_PER_PARAM = 2       # a LoRA base in bf16/fp16: weights only, no grads, no optimizer states
TRAINABLE_BYTES_PER_PARAM = 16   # adapter weights in fp32 (PEFT keeps them so under autocast) + fp32 grads + Adam's 2 moments


def lora_state_estimates(params: int, trainable_params: int, largest_layer_params: int, gpus_per_node: int = 1,
                         nodes: int = 1, additional_buffer_factor: float = DEFAULT_BUFFER_FACTOR) -> list[StageEstimate]:
    """The same rows for LoRA: only the T trainable parameters carry gradients and optimizer states;
    the P − T frozen ones are 16-bit weights. ZeRO-1/2 partition the trainable states, ZeRO-3 all
    weights too (and gathers the largest layer); offload moves the trainable states (and, at stage 3,
    the weights) to the CPU. The lab's own accounting in DeepSpeed's terms — DeepSpeed has no LoRA
    estimator."""
    n = _check_int(params, "--params")
    t = _check_int(trainable_params, "trainable parameters")
    largest = _check_int(largest_layer_params, "--largest-layer-params")
    per_node = _check_int(gpus_per_node, "--gpus-per-node")
    nodes = _check_int(nodes, "--nodes")
    if t > n:
        raise UserError(f"trainable parameters: {t} is more than the whole model ({n})")
    dp = per_node * nodes
    frozen = FROZEN_BYTES_PER_PARAM * (n - t)
    states = TRAINABLE_BYTES_PER_PARAM * t
    weights_fp32, grads, optim = 4 * t, 4 * t, 8 * t
    buffer = additional_buffer_factor
    load_cpu = int(FROZEN_BYTES_PER_PARAM * n * per_node * buffer)  # each process loads the 16-bit base once
    offloaded = int(states * buffer)  # the trainable states in host memory, once per node's share
    gathered = 2 * largest  # the 16-bit largest layer, gathered for its forward/backward
    return [
        StageEstimate(0, False, False, frozen + states, load_cpu),
        StageEstimate(1, False, False, frozen + weights_fp32 + grads + int(optim / dp), load_cpu),
        StageEstimate(1, True, False, frozen + weights_fp32 + grads, load_cpu + offloaded),
        StageEstimate(2, False, False, frozen + weights_fp32 + int((grads + optim) / dp), load_cpu),
        StageEstimate(2, True, False, frozen + weights_fp32, load_cpu + offloaded),
        StageEstimate(3, False, False, gathered + int((frozen + states) / dp), int(2 * largest * per_node * buffer)),
        StageEstimate(3, True, False, gathered + int((frozen + weights_fp32) / dp), int(2 * largest * per_node * buffer) + offloaded),
        StageEstimate(3, True, True, gathered, int((frozen + states) * buffer / nodes)),
    ]


def activation_estimate(seq_length: int, micro_batch: int, hidden: int, layers: int, heads: int,
                        tensor_parallel: int = 1, sequence_parallel: bool = False, fused_attention: bool = False,
                        vocab: int | None = None) -> ActivationEstimate:
    s = _check_int(seq_length, "--seq-length")
    b = _check_int(micro_batch, "--micro-batch")
    h = _check_int(hidden, "hidden size")
    n_layers = _check_int(layers, "layers")
    a = _check_int(heads, "attention heads")
    t = _check_int(tensor_parallel, "--tp")
    sp = sequence_parallel and t > 1
    scores = 0.0 if fused_attention else 5 * a * s / h
    if sp:
        per_layer = s * b * h * (34 + scores) / t
    else:
        per_layer = s * b * h * (10 + 24 / t + scores / t)
    checkpointed_layer = 2 * s * b * h / (t if sp else 1)
    output = 4 * s * b * h * (1 + vocab / h) / t if vocab else 0.0
    formula = ("L·s·b·h·(34 + 5·a·s/h)/t" if sp else "L·s·b·h·(10 + 24/t + 5·a·s/(h·t))") if not fused_attention else \
        ("L·s·b·h·34/t" if sp else "L·s·b·h·(10 + 24/t)")
    formula += "; checkpointed: L·2·s·b·h" + ("/t" if sp else "") + ("; + output 4·s·b·h·(1 + v/h)/t" if vocab else "")
    return ActivationEstimate(
        seq_length=s, micro_batch=b, hidden=h, layers=n_layers, heads=a, tensor_parallel=t, sequence_parallel=sp,
        fused_attention=fused_attention, vocab=vocab,
        bytes_without_checkpointing=int(n_layers * per_layer + output),
        bytes_with_checkpointing=int(n_layers * checkpointed_layer + output),
        formula=formula)


def plan_memory(params: int, largest_layer_params: int, gpus_per_node: int = 1, nodes: int = 1,
                additional_buffer_factor: float = DEFAULT_BUFFER_FACTOR, zero_init: bool = True,
                activations: ActivationEstimate | None = None, trainable_params: int | None = None) -> MemoryPlan:
    """`trainable_params`: LoRA (or any partly frozen model) — only those carry grads and optimizer
    states; None = full fine-tuning."""
    if trainable_params is not None:
        rows = lora_state_estimates(params, trainable_params, largest_layer_params, gpus_per_node, nodes,
                                    additional_buffer_factor)
        notes = [f"LoRA: {int(trainable_params):,} trainable parameters carry fp32 weights, grads and Adam states "
                 f"({TRAINABLE_BYTES_PER_PARAM} bytes each); the frozen base is 16-bit ({FROZEN_BYTES_PER_PARAM} bytes each)",
                 "the lab's accounting in DeepSpeed's terms (DeepSpeed has no LoRA estimator); an estimate",
                 f"cpu_bytes is host memory per node, with DeepSpeed's buffer factor {additional_buffer_factor}"]
        return MemoryPlan(params=int(params), largest_layer_params=int(largest_layer_params),
                          gpus_per_node=int(gpus_per_node), nodes=int(nodes),
                          additional_buffer_factor=additional_buffer_factor, zero_init=zero_init,
                          stages=rows, zero_paper=[], activations=activations, notes=notes,
                          trainable_params=int(trainable_params))
    rows = model_state_estimates(params, largest_layer_params, gpus_per_node, nodes, additional_buffer_factor,
                                 zero_init)
    dp = int(gpus_per_node) * int(nodes)
    paper = [{"stage": st, "gpu_bytes_per_device": int(zero_paper_bytes_per_device(int(params), st, dp))}
             for st in (0, 1, 2, 3)]
    notes = [
        "stages 2 and 3: DeepSpeed's estimate_zero2/zero3_model_states_mem_needs, term for term",
        "stages 0 and 1: the ZeRO paper's 16 bytes/param (2 fp16 weights + 2 fp16 grads + 12 fp32 optimizer)",
        f"cpu_bytes is host memory per node, with DeepSpeed's buffer factor {additional_buffer_factor}",
        "stage 3 rows assume zero.Init (zero_init)" if zero_init else "stage 3 rows assume no zero.Init",
    ]
    return MemoryPlan(params=int(params), largest_layer_params=int(largest_layer_params),
                      gpus_per_node=int(gpus_per_node), nodes=int(nodes),
                      additional_buffer_factor=additional_buffer_factor, zero_init=zero_init,
                      stages=rows, zero_paper=paper, activations=activations, notes=notes)


def human_count(n: float) -> str:
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:g}"


def format_table(plan: MemoryPlan) -> str:
    """The plan as a readable table in GiB (what `lab plan memory` prints without --json)."""
    def gib(x: float) -> str:
        value = x / GIB
        return f"{value:.2f}" if value >= 10 else f"{value:.3g}"
    lora = f", LoRA: {human_count(plan.trainable_params)} trainable" if plan.trainable_params is not None else ""
    lines = [f"Model states for {human_count(plan.params)} params (largest layer {human_count(plan.largest_layer_params)}{lora}) "
             f"on {plan.nodes} node(s) × {plan.gpus_per_node} GPU(s), buffer factor {plan.additional_buffer_factor}",
             f"{'ZeRO':>4}  {'offload_optimizer':>17}  {'offload_param':>13}  {'GPU/device GiB':>14}  {'CPU/node GiB':>12}"]
    for row in plan.stages:
        lines.append(f"{row.stage:>4}  {('cpu' if row.offload_optimizer else '-'):>17}  "
                     f"{('cpu' if row.offload_param else '-'):>13}  {gib(row.gpu_bytes_per_device):>14}  "
                     f"{gib(row.cpu_bytes):>12}")
    if plan.zero_paper:
        lines.append("ZeRO paper (16 bytes/param, no buffers): " + ", ".join(
            f"stage {p['stage']} {gib(p['gpu_bytes_per_device'])}" for p in plan.zero_paper) + " GiB per GPU")
    act = plan.activations
    if act:
        lines.append(f"Activations per GPU, ESTIMATE ({act.formula}; s={act.seq_length}, b={act.micro_batch}, "
                     f"t={act.tensor_parallel}): {gib(act.bytes_without_checkpointing)} GiB without checkpointing, "
                     f"{gib(act.bytes_with_checkpointing)} GiB with full gradient checkpointing")
    return "\n".join(lines)
