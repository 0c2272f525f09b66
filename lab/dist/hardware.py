"""What this machine has for training: GPUs (name, memory, utilisation) when CUDA is present, else
CPU cores and memory — the CPU (gloo) path is what runs then."""
from __future__ import annotations

import os

import psutil


def detect() -> dict:
    info = {"cpu_cores": os.cpu_count() or 1, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "memory_available_gb": round(psutil.virtual_memory().available / 2**30, 1), "gpus": []}
    try:
        import torch
    except ImportError:
        return info
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            try:
                util = torch.cuda.utilization(i)
            except Exception:  # noqa: BLE001 - needs pynvml; utilisation is a nice-to-have
                util = None
            info["gpus"].append({"index": i, "name": props.name, "memory_gb": round(total / 2**30, 1),
                                 "free_gb": round(free / 2**30, 1), "utilization": util,
                                 "bf16": torch.cuda.is_bf16_supported()})
    info["backend"] = "nccl" if info["gpus"] else "gloo"
    return info
