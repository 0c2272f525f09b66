"""Memory admission: a training run's peak memory, estimated from its spec before it takes a slot.

The numbers are the memory planner's own (lab/distributed/plan_memory.py): model states from
`model_state_estimates` (full fine-tuning: the ZeRO paper's 16 bytes per parameter, DeepSpeed's
estimators for ZeRO-2/3) or `lora_state_estimates` (only the trainable parameters carry fp32 weights,
grads and Adam moments), the row picked by the spec's ZeRO stage and offload; activations from
`activation_estimate` (Korthikanti et al. 2022) at per_device_train_batch_size × max_length, with or
without gradient checkpointing. Parameters come from the model's config (lab/distributed/model_size.py; never
imports torch).

On a CPU training runs in fp32: weights are 4 bytes (a frozen LoRA base too), the activations are twice
the 16-bit formula, and the fp32 logits (s·b·vocab·4) are held with their gradient; the process's own
resident memory (torch, transformers, TRL, PEFT, datasets imported) is added as RUNTIME_CPU_BYTES. With
padding-free packing (TRL's default for `packing: true`) the attention over the packed row adds a term
quadratic in batch × max_length (see `estimate_settings`). On a
GPU the CUDA context and allocator reserve are added as RUNTIME_GPU_BYTES (not measured here: no GPU).
Preference kinds (dpo, kto) run chosen and rejected (or the KL pair) through the model together, so the
activations are those of twice the batch; full-parameter DPO/KTO also holds a frozen reference copy.

Distributed runs are per rank (per GPU); on the CPU the ranks of a node share its RAM, so the node's
figure is the per-rank one times nproc_per_node.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from .distributed import plan_memory as pm
from .distributed.model_size import ModelShape, count_params, load_shape, lora_params
from .errors import UserError

GIB, MIB = 2**30, 2**20
# VmRSS of `import torch, transformers, trl, peft, datasets; from lab.train import sft, dpo` (torch
# 2.13.0 CPU, transformers 5.24, TRL 1.16), measured once on this project's CPU box: 507–520 MiB; a
# worker holds that plus the tokenizer, the tokenized dataset and the Trainer, hence 600.
RUNTIME_CPU_BYTES = 600 * MIB
# CUDA context, cuBLAS workspaces and the caching allocator's slack: a typical figure (300–700 MiB
# per device on recent drivers), an assumption until measured on a GPU.
RUNTIME_GPU_BYTES = 768 * MIB
TRAINING_KINDS = ("sft", "dpo", "kto", "pretrain")
# A test hook: the worker pretends its slot has this many MiB free (tests/integration/test_memory_admission.py).
FAKE_FREE_ENV = "LAB_FAKE_FREE_MEMORY_MB"
# Knobs a user may set to skip admission (a better measurement of their own, an unusual model).
SKIP_ENV = "LAB_SKIP_MEMORY_CHECK"

_LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Settings:
    """The knobs of a spec that move memory, in one flat record (what suggestions vary)."""
    kind: str
    model: str
    method: str  # lora | full
    lora_r: int
    lora_targets: object
    batch: int
    max_length: int
    gradient_checkpointing: bool
    zero_stage: int | None
    offload_optimizer: bool
    offload_param: bool
    fsdp: bool
    ranks_per_node: int
    nodes: int
    dtype: str  # the spec's model.dtype
    fp32_training: bool | None = None  # None: decided by the device (CPU: fp32; GPU: 16-bit unless asked)
    precompute_ref: bool = False
    packed: bool = False  # padding-free packing: the batch runs as one row of batch × max_length tokens


@dataclass
class Estimate:
    settings: Settings
    device: str  # "cpu" or "cuda"
    params: int
    trainable: int
    breakdown: dict = field(default_factory=dict)  # weights, grads, optimizer, activations, runtime, total (bytes)
    shape: ModelShape | None = None

    @property
    def total(self) -> int:
        return self.breakdown["total"]

    def fits(self, free_bytes: float) -> bool:
        return self.total <= free_bytes

    def suggestions(self, free_bytes: float, shape: ModelShape | None = None) -> list[str]:
        """Settings that, each alone, would make the run fit `free_bytes` (the spec's dotted keys)."""
        return suggestions(self, free_bytes, shape or self.shape)

    def summary(self) -> str:
        b = self.breakdown
        parts = ", ".join(f"{k} {human(b[k])}" for k in ("weights", "grads", "optimizer", "activations", "runtime") if b[k])
        return f"~{human(self.total)} ({parts})"


def human(n: float) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB else f"{n / MIB:.0f} MiB"


def settings_of(spec) -> Settings:
    train, launch = spec.train, getattr(spec, "launch", None)
    lora = getattr(spec, "lora", None)
    distributed = launch is not None and launch.distributed
    fp32 = None
    if spec.model.dtype == "float32" and not (train.bf16 or train.fp16):
        fp32 = True
    return Settings(
        kind=spec.kind, model=spec.model.name, method=getattr(spec, "method", "full"),
        lora_r=lora.r if lora is not None else 8, lora_targets=lora.target_modules if lora is not None else "all-linear",
        batch=train.per_device_train_batch_size, max_length=getattr(train, "max_length", None) or 1024,
        gradient_checkpointing=bool(train.gradient_checkpointing),
        zero_stage=launch.zero_stage if launch is not None else None,
        offload_optimizer=launch is not None and launch.offload_optimizer != "none",
        offload_param=launch is not None and launch.offload_param != "none",
        fsdp=bool(launch is not None and launch.fsdp),
        ranks_per_node=launch.nproc_per_node if distributed else 1,
        nodes=launch.nnodes if distributed else 1,
        dtype=spec.model.dtype, fp32_training=fp32,
        precompute_ref=bool(getattr(train, "precompute_ref_log_probs", False)),
        packed=_padding_free(train))


def _padding_free(train) -> bool:
    """TRL turns padding-free on for packing with its default 'bfd' strategy (SFTTrainer.__init__)."""
    extra = train.model_extra or {}
    if extra.get("padding_free"):
        return True
    return bool(getattr(train, "packing", False)) and extra.get("packing_strategy", "bfd") in ("bfd", "bfd_split")


def trainable_lora(shape: ModelShape, r: int, targets) -> int:
    """LoRA's trainable parameters: lora_params for all-linear, else only the named projections."""
    if isinstance(targets, str) and targets in ("all-linear", "all_linear"):
        return lora_params(shape, r)
    names = [targets] if isinstance(targets, str) else list(targets)
    h, q, kv, i = shape.hidden, shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim, shape.intermediate
    dims = {"q_proj": h + q, "k_proj": h + kv, "v_proj": h + kv, "o_proj": q + h,
            "gate_proj": h + i, "up_proj": h + i, "down_proj": i + h}
    per_layer = sum(d for name, d in dims.items() if any(name == t or name.endswith(t) for t in names))
    if not per_layer:  # names this count does not know (another family): fall back to all-linear
        return lora_params(shape, r)
    return shape.layers * r * per_layer


def _row(rows: list[pm.StageEstimate], s: Settings) -> pm.StageEstimate:
    stage = 3 if s.fsdp else (s.zero_stage or 0)
    for row in rows:
        if row.stage == stage and row.offload_optimizer == (s.offload_optimizer and stage > 0) \
                and row.offload_param == (s.offload_param and stage == 3):
            return row
    return rows[0]


def estimate_settings(s: Settings, shape: ModelShape, device: str = "cpu") -> Estimate:
    """Peak bytes of one training process (one rank) on `device` ("cpu" or "cuda"); on the CPU, of all
    the node's ranks together."""
    counts = count_params(shape)
    n, largest = counts.total, counts.largest_layer
    lora = s.method == "lora" and s.kind != "pretrain"
    t = min(trainable_lora(shape, s.lora_r, s.lora_targets), n) if lora else n
    dp = s.ranks_per_node * s.nodes
    cpu = device == "cpu"
    fp32 = cpu if s.fp32_training is None else s.fp32_training
    stage = 3 if s.fsdp else (s.zero_stage or 0)
    if cpu:  # fp32 throughout and every rank holds all of it in RAM: 4 bytes a weight, 16 a trained one
        weights, grads, optimizer = 4 * n, 4 * t, 8 * t
    else:
        if lora:
            row = _row(pm.lora_state_estimates(n, t, largest, s.ranks_per_node, s.nodes), s)
            grad_bytes, optim_bytes = 4 * t, 8 * t  # fp32 adapter grads and Adam moments
        else:
            row = _row(pm.model_state_estimates(n, largest, s.ranks_per_node, s.nodes), s)
            grad_bytes, optim_bytes = 2 * n, 12 * n  # the ZeRO paper's 2Ψ grads and KΨ optimizer states
        states = row.gpu_bytes_per_device
        optimizer = 0 if row.offload_optimizer else optim_bytes if stage == 0 else optim_bytes // dp
        grads = 0 if row.offload_optimizer and lora and stage >= 2 else grad_bytes if stage < 2 else grad_bytes // dp
        optimizer, grads = min(optimizer, states), min(grads, max(0, states - optimizer))
        weights = states - optimizer - grads  # the rest of the planner's row: weights (and gathered layers)
        if fp32 and lora:
            weights += pm.FROZEN_BYTES_PER_PARAM * (n - t) // (dp if stage == 3 else 1)  # a 4-byte frozen base
    # Preference kinds: chosen + rejected (DPO) or the KL pair (KTO) pass through together. Attention is
    # fused (no s×s scores kept): transformers runs SDPA by default, on a GPU and on the CPU alike.
    pairs = 2 if s.kind in ("dpo", "kto") else 1
    act = pm.activation_estimate(s.max_length, s.batch * pairs, shape.hidden, shape.layers, shape.heads,
                                 fused_attention=True)
    layers = act.bytes_without_checkpointing
    if s.gradient_checkpointing:  # the kept layer inputs, plus one layer recomputed in full during backward
        layers = act.bytes_with_checkpointing + act.bytes_without_checkpointing // shape.layers
    tokens = s.max_length * s.batch * pairs
    # The loss upcasts the logits to fp32 whatever the training precision; at the peak of backward four
    # such s·b·vocab tensors are alive: the logits, cross-entropy's saved log-probabilities and the
    # gradients of both (seen on the CPU: 4.0 ± 0.3 copies at b16×512 with the tiny model's 4096 vocab).
    logits = 4 * tokens * shape.vocab * 4
    activations = (2 * layers if fp32 else layers) + logits  # fp32: twice the 16-bit formula
    if s.packed:
        # Padding-free packing makes the batch one row of N = b·s tokens with a block-diagonal mask, and
        # each layer's attention keeps an N×N tensor for its backward (seen on the CPU with SDPA: +1.1 GiB
        # at 16×512 for 4 layers, about one N² fp32 tensor a layer; +0.25 GiB with gradient checkpointing,
        # where only the recomputed layer holds one). On a GPU the same is assumed in 16-bit (unmeasured).
        activations += tokens ** 2 * (4 if fp32 else 2) * (1 if s.gradient_checkpointing else shape.layers)
    reference = 0
    if s.kind in ("dpo", "kto") and not lora and not s.precompute_ref:
        reference = n * (4 if fp32 else 2)  # a frozen copy of the policy
        if stage == 3:
            reference = int(reference / dp)
    weights += reference
    runtime = RUNTIME_CPU_BYTES if cpu else RUNTIME_GPU_BYTES
    per_rank = {"weights": int(weights), "grads": int(grads), "optimizer": int(optimizer),
                "activations": int(activations), "runtime": runtime}
    if cpu and s.ranks_per_node > 1:
        per_rank = {k: v * s.ranks_per_node for k, v in per_rank.items()}
    per_rank["total"] = sum(per_rank.values())
    return Estimate(settings=s, device="cpu" if cpu else "cuda", params=n, trainable=t, breakdown=per_rank, shape=shape)


def estimate(spec, device: str = "cpu", shape: ModelShape | None = None) -> Estimate:
    """The estimate for a training spec (kinds sft, dpo, kto, pretrain). A model whose config cannot be
    read is a UserError from load_shape."""
    if spec.kind not in TRAINING_KINDS:
        raise UserError(f"kind: {spec.kind} does not train a model (no memory estimate)")
    shape = shape or load_shape(spec.model.name)
    return estimate_settings(settings_of(spec), shape, "cpu" if device.startswith("cpu") else "cuda")


def _smaller(values: list[int], ok) -> int | None:
    for v in values:
        if ok(v):
            return v
    return None


def suggestions(est: Estimate, free_bytes: float, shape: ModelShape | None = None) -> list[str]:
    s = est.settings
    shape = shape or load_shape(s.model)

    def fits(**changes) -> bool:
        return estimate_settings(replace(s, **changes), shape, est.device).total <= free_bytes

    out = []
    if s.method != "lora" and s.kind != "pretrain" and fits(method="lora"):
        out.append("method: lora")
    batch = _smaller([b for b in (s.batch // 2 ** k for k in range(1, 12)) if b >= 1],
                     lambda b: fits(batch=b))
    if s.batch > 1 and batch:
        out.append(f"train.per_device_train_batch_size: {batch}")
    if not s.gradient_checkpointing and fits(gradient_checkpointing=True):
        out.append("train.gradient_checkpointing: true")
    length = _smaller([m for m in (s.max_length // 2 ** k for k in range(1, 12)) if m >= 64],
                      lambda m: fits(max_length=m))
    if length:
        out.append(f"train.max_length: {length}")
    if est.device == "cuda" and not (s.zero_stage == 3 and s.offload_param) and not s.fsdp \
            and fits(zero_stage=3, offload_optimizer=True, offload_param=True):
        out.append("launch.zero_stage: 3 with offload (launcher deepspeed)")
    return out


def refusal(est: Estimate, free_bytes: float, where: str) -> str:
    """One line: both numbers and what would make it fit."""
    fixes = est.suggestions(free_bytes)
    advice = f"try {', '.join(fixes)}" if fixes else "no single setting makes it fit (a smaller model or a bigger device)"
    return f"memory: needs ~{human(est.total)}, {where} has {human(free_bytes)} free: {advice}"


# ---- what a device has --------------------------------------------------------------------------------
def _fake_free() -> float | None:
    value = os.environ.get(FAKE_FREE_ENV)
    return float(value) * MIB if value else None


def free_bytes(device: str) -> float | None:
    """Free memory of a slot's device now: a GPU's (nvidia-smi: no CUDA context in this process), or
    the RAM available (psutil) for "cpu". None when it cannot be told."""
    fake = _fake_free()
    if fake is not None:
        return fake
    if device.startswith("cuda"):
        gpu = _gpu(device)
        return gpu["free_gb"] * GIB if gpu and gpu.get("free_gb") is not None else None
    import psutil
    return float(psutil.virtual_memory().available)


def _gpu(device: str) -> dict | None:
    from .distributed.hardware import gpus
    wanted = device.removeprefix("cuda:")
    listed = gpus()
    for g in listed:
        if str(g.get("id", g["index"])) == wanted:
            return g
    return None


def largest_device_total(device_kind: str) -> tuple[float, str] | None:
    """(bytes, name) of the biggest device of this kind here: a GPU's total memory, or all RAM."""
    if device_kind == "cuda":
        from .distributed.hardware import gpus
        listed = [g for g in gpus() if g.get("memory_gb")]
        if not listed:
            return None
        g = max(listed, key=lambda g: g["memory_gb"])
        return g["memory_gb"] * GIB, f"the largest GPU here (cuda:{g.get('id', g['index'])}, total)"
    import psutil
    return float(psutil.virtual_memory().total), "this machine's RAM (total)"


def _skip(spec) -> bool:
    return spec.kind not in TRAINING_KINDS or bool(os.environ.get(SKIP_ENV)) \
        or getattr(getattr(spec, "launch", None), "launcher", None) == "slurm"  # runs on other machines


def _safe_estimate(spec, device: str) -> Estimate | None:
    """None when the model's shape cannot be read (the job reports a missing model itself) or the
    estimate fails for any other reason."""
    try:
        return estimate(spec, device)
    except Exception:  # noqa: BLE001 - admission is advice: a spec it cannot read must not block the run
        return None


def check_submit(spec) -> None:
    """At submit: refuse at once a run that cannot fit even the largest device's total memory."""
    if _skip(spec):
        return
    from .run_queue import devices
    kind = "cuda" if any(d.startswith("cuda") for d in devices()) else "cpu"
    est = _safe_estimate(spec, kind)
    if est is None:
        return
    total = largest_device_total(kind)
    if total is not None and not est.fits(total[0]):
        raise UserError(refusal(est, total[0], total[1]).replace(" free:", ":", 1))


def check_slot(spec, device: str) -> None:
    """In the worker, right after it took its slot: refuse when the estimate exceeds the slot's free memory."""
    if _skip(spec):
        return
    est = _safe_estimate(spec, device)
    free = free_bytes(device) if est is not None else None
    if est is not None and free is not None and not est.fits(free):
        raise UserError(refusal(est, free, device))
