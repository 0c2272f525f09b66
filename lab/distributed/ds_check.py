"""Check a generated DeepSpeed JSON with DeepSpeed's own config parser. Its "auto" values are the HF
Trainer's to fill at run time; here they get the spec's numbers (as one process sees them, which is
how the parser counts without a process group) so the parser can judge everything else."""
from __future__ import annotations

import os


def _fill(node, values: dict):
    if isinstance(node, dict):
        return {k: (values.get(k, v) if v == "auto" else _fill(v, values)) for k, v in node.items()}
    return node


def offload_without_optimizer(config: dict) -> str | None:
    """DeepSpeed's parser accepts this, but the engine raises at start: ZeRO-Offload with the
    Trainer's own (client) optimizer and neither an `optimizer` block nor
    `zero_force_ds_cpu_optimizer: false`."""
    offload = (config.get("zero_optimization") or {}).get("offload_optimizer") or {}
    if offload.get("device", "none") in ("none", None) or "optimizer" in config:
        return None
    if config.get("zero_force_ds_cpu_optimizer", True) is False:
        return None
    return ("ZeRORuntimeException at start: offload_optimizer with the Trainer's torch optimizer needs an "
            "'optimizer' block or \"zero_force_ds_cpu_optimizer\": false")


def check(config: dict, micro_batch: int, grad_accum: int, max_grad_norm: float = 1.0) -> str | None:
    """None when DeepSpeed accepts the config, else its one-line complaint."""
    problem = offload_without_optimizer(config)
    if problem:
        return problem
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        from deepspeed.runtime.config import DeepSpeedConfig
    except ImportError as e:
        return f"DeepSpeed is not installed ({e})"
    filled = _fill(config, {
        "train_micro_batch_size_per_gpu": micro_batch, "gradient_accumulation_steps": grad_accum,
        "train_batch_size": micro_batch * grad_accum, "gradient_clipping": max_grad_norm, "enabled": False,
        "reduce_bucket_size": 500_000_000, "stage3_prefetch_bucket_size": 450_000_000,
        "stage3_param_persistence_threshold": 1_000_000})
    try:
        DeepSpeedConfig(filled)
    except Exception as e:  # noqa: BLE001 - whatever DeepSpeed objects to is the answer
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None
