"""Compute planner: "decide your compute first". Training FLOPs, wall-clock on a GPU count and type
at an assumed MFU, and the compute-optimal curves to place a plan against.

* Training FLOPs C ≈ 6·N·D (forward 2·N·D + backward 4·N·D per token; Kaplan et al. 2020 §2.1).
* Chinchilla-optimal data D ≈ 20·N tokens (Hoffmann et al. 2022; their Table 3, Approach 1, gives
  20.0–21.6 tokens per parameter from 400M to 10T parameters).
* Wall-clock = C / (GPUs × peak dense 16-bit FLOP/s × MFU). MFU (model FLOPs utilisation) is the
  fraction of peak a real run sustains; 0.3–0.5 is typical for well-tuned LLM training.

Compute-optimal curves, N_opt(C) and D_opt(C), with D_opt = C / (6·N_opt) in both:

* Kaplan et al. 2020, Figure 14 (left): N_opt = 1.3e9 · C^0.73 with C in PF-days
  (1 PF-day = 1e15 × 86400 = 8.64e19 FLOPs). Kaplan's N excludes embedding parameters.
* Chinchilla, Hoffmann et al. 2022, Approach 1 (Table 2: N_opt ∝ C^0.50, D_opt ∝ C^0.50) with the
  20 tokens/parameter of Table 3: N_opt = (C / 120)^0.5, D_opt = 20 · N_opt.

A loss prediction uses Chinchilla's Approach-3 parametric fit (§3.3, their published constants):
L(N, D) = 1.69 + 406.4 / N^0.34 + 410.7 / D^0.28 nats per token on their MassiveText data and tokenizer —
useful for comparing plans, not as an absolute number for another corpus or tokenizer.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import UserError

PF_DAY = 1e15 * 86400
CHINCHILLA_TOKENS_PER_PARAM = 20.0
KAPLAN_COEFF, KAPLAN_EXPONENT = 1.3e9, 0.73
CHINCHILLA_LOSS_FIT = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
DEFAULT_MFU = 0.4


@dataclass(frozen=True)
class GPU:
    key: str
    name: str
    peak_tflops: float  # dense (no sparsity), 16-bit tensor cores
    dtype: str = "bf16"


# Peak dense 16-bit tensor TFLOPS from the vendors' data sheets (the "with sparsity" figures are twice these).
GPUS: dict[str, GPU] = {g.key: g for g in (
    GPU("a100", "NVIDIA A100 (SXM or PCIe, 40/80 GB)", 312.0),
    GPU("h100-sxm", "NVIDIA H100 SXM", 989.0),
    GPU("h100-pcie", "NVIDIA H100 PCIe", 756.0),
    GPU("h200", "NVIDIA H200", 989.0),
    GPU("gh200", "NVIDIA GH200", 989.0),
    GPU("l40s", "NVIDIA L40S", 362.0),
    GPU("l4", "NVIDIA L4", 121.0),
    GPU("a10", "NVIDIA A10", 125.0),
    GPU("rtx4090", "NVIDIA GeForce RTX 4090", 165.0),
    GPU("v100", "NVIDIA V100 (no bf16)", 125.0, "fp16"),
    GPU("t4", "NVIDIA T4 (no bf16)", 65.0, "fp16"),
    GPU("mi300x", "AMD Instinct MI300X", 1307.0),
    GPU("mi250x", "AMD Instinct MI250X", 383.0),
)}
_ALIASES = {"h100": "h100-sxm", "a100-40gb": "a100", "a100-80gb": "a100", "4090": "rtx4090",
            "rtx-4090": "rtx4090", "geforce-rtx-4090": "rtx4090"}


def gpu_spec(name: str) -> GPU:
    key = str(name).strip().lower().replace(" ", "-").replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in GPUS:
        raise UserError(f"--gpu-type: unknown GPU {name!r}; known: {', '.join(GPUS)}")
    return GPUS[key]


def chinchilla_tokens(params: float) -> float:
    return CHINCHILLA_TOKENS_PER_PARAM * params


def training_flops(params: float, tokens: float) -> float:
    return 6.0 * params * tokens


def kaplan_optimal(compute: float) -> tuple[float, float]:
    n = KAPLAN_COEFF * (compute / PF_DAY) ** KAPLAN_EXPONENT
    return n, compute / (6.0 * n)


def chinchilla_optimal(compute: float) -> tuple[float, float]:
    n = math.sqrt(compute / (6.0 * CHINCHILLA_TOKENS_PER_PARAM))
    return n, CHINCHILLA_TOKENS_PER_PARAM * n


def chinchilla_loss(params: float, tokens: float) -> float:
    f = CHINCHILLA_LOSS_FIT
    return f["E"] + f["A"] / params ** f["alpha"] + f["B"] / tokens ** f["beta"]


def optimal_curves(c_min: float = 1e18, c_max: float = 1e26, points: int = 41) -> dict:
    """Both compute-optimal curves, sampled evenly on a log axis, for a plot of params (or tokens) vs FLOPs."""
    if not (0 < c_min < c_max) or points < 2:
        raise UserError(f"curves: need 0 < c_min < c_max and at least 2 points, got {c_min}, {c_max}, {points}")
    lo, hi = math.log10(c_min), math.log10(c_max)
    compute = [10 ** (lo + (hi - lo) * i / (points - 1)) for i in range(points)]
    kaplan = [kaplan_optimal(c) for c in compute]
    chin = [chinchilla_optimal(c) for c in compute]
    return {
        "compute": compute,
        "kaplan": {"params": [n for n, _ in kaplan], "tokens": [d for _, d in kaplan],
                   "fit": "Kaplan et al. 2020: N_opt = 1.3e9·(C/PF-day)^0.73, D_opt = C/(6·N_opt)"},
        "chinchilla": {"params": [n for n, _ in chin], "tokens": [d for _, d in chin],
                       "fit": "Hoffmann et al. 2022 (Approach 1): N_opt = (C/120)^0.5, D_opt = 20·N_opt"},
    }


@dataclass(frozen=True)
class ComputePlan:
    params: float
    tokens: float
    tokens_source: str  # "given" or "chinchilla (20 tokens/param)"
    tokens_per_param: float
    chinchilla_tokens: float
    flops: float
    gpus: int
    gpu_type: str
    gpu_name: str
    peak_tflops_per_gpu: float
    mfu: float
    seconds: float
    gpu_hours: float
    days: float
    kaplan_optimal_at_this_compute: dict
    chinchilla_optimal_at_this_compute: dict
    chinchilla_fit_loss: float
    curves: dict

    def to_dict(self, with_curves: bool = True) -> dict:
        data = asdict(self)
        if not with_curves:
            data.pop("curves")
        return data


def _decade_range(flops: float) -> tuple[float, float]:
    lo = min(18, math.floor(math.log10(flops)) - 2)
    hi = max(26, math.ceil(math.log10(flops)) + 2)
    return 10.0 ** lo, 10.0 ** hi


def plan_compute(params: float, gpus: int, gpu_type: str, tokens: float | None = None,
                 mfu: float = DEFAULT_MFU) -> ComputePlan:
    if isinstance(params, bool) or not isinstance(params, (int, float)) or not params >= 1:
        raise UserError(f"--params: must be a positive number, got {params!r}")
    if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus != int(gpus) or gpus < 1:
        raise UserError(f"--gpus: expected a whole number ≥ 1, got {gpus!r}")
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, (int, float)) or not tokens >= 1):
        raise UserError(f"--tokens: must be a positive number, got {tokens!r}")
    if isinstance(mfu, bool) or not isinstance(mfu, (int, float)) or not 0 < mfu <= 1:
        raise UserError(f"--mfu: must be in (0, 1], got {mfu!r}")
    gpu = gpu_spec(gpu_type)
    optimal = chinchilla_tokens(params)
    d = float(tokens) if tokens is not None else optimal
    flops = training_flops(params, d)
    seconds = flops / (int(gpus) * gpu.peak_tflops * 1e12 * mfu)
    k_n, k_d = kaplan_optimal(flops)
    c_n, c_d = chinchilla_optimal(flops)
    return ComputePlan(
        params=float(params), tokens=d, tokens_source="given" if tokens is not None else "chinchilla (20 tokens/param)",
        tokens_per_param=d / params, chinchilla_tokens=optimal, flops=flops,
        gpus=int(gpus), gpu_type=gpu.key, gpu_name=gpu.name, peak_tflops_per_gpu=gpu.peak_tflops, mfu=float(mfu),
        seconds=seconds, gpu_hours=seconds * int(gpus) / 3600, days=seconds / 86400,
        kaplan_optimal_at_this_compute={"params": k_n, "tokens": k_d},
        chinchilla_optimal_at_this_compute={"params": c_n, "tokens": c_d},
        chinchilla_fit_loss=chinchilla_loss(params, d),
        curves=optimal_curves(*_decade_range(flops)),
    )


def format_summary(plan: ComputePlan) -> str:
    lines = [
        f"{plan.params / 1e9:.3g}B params × {plan.tokens / 1e9:.4g}B tokens ({plan.tokens_source}; "
        f"{plan.tokens_per_param:.1f} tokens/param, Chinchilla-optimal {plan.chinchilla_tokens / 1e9:.4g}B)",
        f"training compute 6·N·D = {plan.flops:.3e} FLOPs",
        f"on {plan.gpus} × {plan.gpu_name} ({plan.peak_tflops_per_gpu:g} TFLOPS peak) at MFU {plan.mfu:g}: "
        f"{plan.days:.2f} days ({plan.seconds / 3600:.1f} h), {plan.gpu_hours:,.0f} GPU-hours",
        f"compute-optimal at this budget: Chinchilla N={plan.chinchilla_optimal_at_this_compute['params']:.3g}, "
        f"D={plan.chinchilla_optimal_at_this_compute['tokens']:.3g}; Kaplan N={plan.kaplan_optimal_at_this_compute['params']:.3g}, "
        f"D={plan.kaplan_optimal_at_this_compute['tokens']:.3g}",
        f"Chinchilla fit loss L(N, D) = {plan.chinchilla_fit_loss:.3f} (their data and tokenizer; for comparing plans)",
    ]
    return "\n".join(lines)
