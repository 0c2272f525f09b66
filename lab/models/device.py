"""Where a model runs and in which number format — one decision for chat, `lab serve`, the judge,
eval, RAG and training.

- Device: the first visible GPU when there is one (in workshop mode a worker sees only its slot's
  GPU, so that is the slot's), else the CPU; `cuda:N`, `cuda` and `cpu` may be asked for.
- Weights for generation: bf16 where the GPU computes it natively (Ampere, sm80, and later), fp16 on
  older GPUs (T4, V100: their bf16 is emulated and slow), fp32 on the CPU (CPU half precision is
  slow and its bf16 matmuls lose accuracy the tiny model notices).
- Weights for training: full fine-tuning keeps fp32 master weights (the Trainer autocasts the
  compute to bf16/fp16); LoRA freezes the base, so the base may sit in half precision on a GPU.
- Mixed precision for the Trainer: the user's explicit fp16/bf16 wins, then `launch.mixed_precision`,
  else bf16 where native, fp16 on other GPUs, neither on the CPU.

torch's `is_bf16_supported()` counts emulation by default; here `including_emulation=False`."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UserError

DTYPES = ("float32", "bfloat16", "float16")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def bf16_native(index: int | None = None) -> bool:
    """True only where the GPU has bf16 units (compute capability 8.0+), not emulated bf16."""
    import torch
    if not torch.cuda.is_available():
        return False
    if index is None:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    return torch.cuda.get_device_properties(index).major >= 8


def pick_device(choice: str | None = None) -> str:
    """'cpu', or 'cuda:N'. None / 'auto' = the first visible GPU if any, else the CPU."""
    import torch
    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return "cpu"
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UserError(f"device '{choice}': no CUDA GPU is visible here (use --device cpu)")
        rest = choice.partition(":")[2]
        if choice != "cuda" and not rest.isdigit():
            raise UserError(f"device '{choice}': use auto, cpu, cuda or cuda:N")
        index = int(rest or 0)
        count = torch.cuda.device_count()
        if not 0 <= index < count:
            raise UserError(f"device '{choice}': {count} GPU(s) are visible here (cuda:0…cuda:{count - 1})")
        return f"cuda:{index}"
    raise UserError(f"device '{choice}': use auto, cpu, cuda or cuda:N")


def _index(device: str) -> int | None:
    return int(device.partition(":")[2] or 0) if device.startswith("cuda") else None


def half_dtype_name(device: str) -> str:
    """The fast 16-bit format of this device: bf16 where native, fp16 on other GPUs."""
    return "bfloat16" if bf16_native(_index(device)) else "float16"


def dtype_name(choice: str, device: str, purpose: str = "inference") -> str:
    """`model.dtype` (auto | float32 | bfloat16 | float16) resolved for `device` and `purpose`
    (inference, full training, lora training). An explicit choice stands."""
    if choice and choice != "auto":
        if choice not in DTYPES:
            raise UserError(f"model.dtype: '{choice}' is not one of auto, {', '.join(DTYPES)}")
        return choice
    if device == "cpu" or purpose == "full":
        return "float32"
    return half_dtype_name(device)


@dataclass(frozen=True)
class Placement:
    device: str
    dtype: str  # a torch dtype name

    @property
    def torch_dtype(self):
        import torch
        return getattr(torch, self.dtype)


def placement(device: str | None = None, dtype: str = "auto", purpose: str = "inference") -> Placement:
    where = pick_device(device)
    return Placement(where, dtype_name(dtype, where, purpose))


def mixed_precision(bf16: bool | None, fp16: bool | None, launch_precision: str = "no",
                    cuda: bool | None = None, native_bf16: bool | None = None) -> tuple[bool, bool]:
    """(bf16, fp16) for TrainingArguments. Explicit train.fp16/bf16 first, then launch.mixed_precision,
    else the device's own. Never both."""
    if fp16 and bf16:
        raise UserError("train: fp16 and bf16 are both true; choose one")
    if fp16:
        return False, True
    if bf16:
        return True, False
    if bf16 is False and launch_precision != "fp16":
        return False, False  # explicitly off
    if launch_precision in ("bf16", "fp16"):
        return launch_precision == "bf16", launch_precision == "fp16"
    cuda = cuda_available() if cuda is None else cuda
    if not cuda:
        return False, False
    native = bf16_native() if native_bf16 is None else native_bf16
    return native, not native


# ---- what the machine has, asked without creating a CUDA context ----------------------------------------
# nvidia-smi answers from the driver (NVML); torch would initialise CUDA in the asking process, which
# in the UI or the queue supervisor costs memory on every GPU and breaks fork-started children.
NVIDIA_SMI_FIELDS = "index,uuid,name,memory.total,memory.free,utilization.gpu,compute_cap"


@dataclass(frozen=True)
class GPUInfo:
    index: int
    uuid: str
    name: str
    memory_gb: float
    free_gb: float | None
    utilization: int | None
    compute_capability: tuple[int, int] | None

    @property
    def bf16_native(self) -> bool | None:
        return None if self.compute_capability is None else self.compute_capability >= (8, 0)


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def nvidia_smi_gpus() -> list[GPUInfo]:
    """Every GPU of the machine as nvidia-smi lists it (CUDA_VISIBLE_DEVICES does not filter this)."""
    import shutil
    import subprocess
    if not shutil.which("nvidia-smi"):
        return []
    fields = NVIDIA_SMI_FIELDS
    for attempt in (fields, fields.removesuffix(",compute_cap")):  # old drivers lack compute_cap
        try:
            proc = subprocess.run(["nvidia-smi", f"--query-gpu={attempt}", "--format=csv,noheader,nounits"],
                                  capture_output=True, text=True, timeout=15)
        except (OSError, subprocess.SubprocessError):
            return []
        if proc.returncode == 0:
            break
    else:
        return []
    out = []
    for line in proc.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 6 or not parts[0].isdigit():
            continue
        cc = None
        if len(parts) > 6 and "." in parts[6]:
            major, _, minor = parts[6].partition(".")
            cc = (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None
        total, free, util = _number(parts[3]), _number(parts[4]), _number(parts[5])
        out.append(GPUInfo(int(parts[0]), parts[1], parts[2], round((total or 0) / 1024, 1),
                           None if free is None else round(free / 1024, 1), None if util is None else int(util), cc))
    return out


def visible_gpus(gpus: list[GPUInfo] | None = None) -> list[tuple[str, GPUInfo | None]]:
    """(id for CUDA_VISIBLE_DEVICES, what nvidia-smi says about it) for each GPU this process may use:
    an existing CUDA_VISIBLE_DEVICES (indices or UUIDs) narrows the machine's list, '' or -1 hides all."""
    gpus = nvidia_smi_gpus() if gpus is None else gpus
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [(str(g.index), g) for g in gpus]
    out = []
    for entry in (e.strip() for e in visible.split(",")):
        if not entry or entry.startswith("-"):
            break  # CUDA stops at the first invalid entry
        match = next((g for g in gpus if (str(g.index) == entry if entry.isdigit() else g.uuid.startswith(entry))), None)
        if match is None:
            break
        out.append((entry, match))
    return out
