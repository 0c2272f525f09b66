"""What this machine has for training: GPUs (name, memory, free memory, utilisation, native bf16) when
there are any, else CPU cores and memory — the CPU (gloo) path is what runs then.

Asked of nvidia-smi, never of torch in this process: torch.cuda.mem_get_info and friends create a
CUDA context on every GPU they touch (hundreds of MB each, held by the UI for its whole life). Without
nvidia-smi a child process asks torch and exits, taking its contexts with it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil

from ..models.device import nvidia_smi_gpus, visible_gpus

_CHILD = """
import json, torch
out = []
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    free, total = torch.cuda.mem_get_info(i)
    out.append({"index": i, "name": p.name, "memory_gb": round(total / 2**30, 1), "free_gb": round(free / 2**30, 1),
                "utilization": None, "bf16": (p.major, p.minor) >= (8, 0)})
print(json.dumps(out))
"""


def _gpus_from_a_child() -> list[dict]:
    # CUDA on Linux needs NVIDIA's kernel driver, whose control device is /dev/nvidiactl: without it there is no
    # GPU to find, and importing torch to learn so costs the UI seconds at start
    if sys.platform.startswith("linux") and not os.path.exists("/dev/nvidiactl"):
        return []
    try:
        import torch
        if not torch.cuda.is_available():
            return []
    except ImportError:
        return []
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60)
        return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return []


def gpus() -> list[dict]:
    """The GPUs this process may use (an existing CUDA_VISIBLE_DEVICES narrows the list)."""
    machine = nvidia_smi_gpus()
    if not machine:
        return _gpus_from_a_child()
    return [{"index": g.index, "id": gpu_id, "name": g.name, "memory_gb": g.memory_gb, "free_gb": g.free_gb,
             "utilization": g.utilization, "bf16": g.bf16_native}
            for gpu_id, g in visible_gpus(machine) if g is not None]


def detect() -> dict:
    info = {"cpu_cores": os.cpu_count() or 1, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "memory_available_gb": round(psutil.virtual_memory().available / 2**30, 1), "gpus": gpus()}
    info["backend"] = "nccl" if info["gpus"] else "gloo"
    return info


def default_nproc(found: list[dict] | None = None) -> int:
    """Processes per node the Launch tab starts with: one per visible GPU; on a CPU box two gloo
    ranks, the smallest run that shows distributed training."""
    found = gpus() if found is None else found
    return len(found) if found else 2
