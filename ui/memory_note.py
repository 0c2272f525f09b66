"""The memory estimate under a training form's equivalent command: what the run will need (the memory
admission's own numbers, lab/memory_estimate.py), what this machine has free now, and what to change
when it would not fit. Updated on the same widget-change event as the command."""
from __future__ import annotations

import time

import gradio as gr

from lab import memory_estimate as me
from lab.errors import UserError

_DEVICE_TTL_S = 10.0  # nvidia-smi / psutil at most this often while someone types
_device_cache: dict = {}


def component(prefix: str, data: dict | None = None) -> gr.Markdown:
    return gr.Markdown(note_text(data) if data else "", elem_id=f"{prefix}-memory", elem_classes=["lab-memory-note"])


def _device_now() -> tuple[str, float | None]:
    """(the device a run would get first here, its free bytes), asked at most every few seconds."""
    cached = _device_cache.get("now")
    if cached and time.monotonic() - cached[0] < _DEVICE_TTL_S:
        return cached[1]
    from lab.run_queue import devices
    first = next((d for d in devices() if d.startswith("cuda")), "cpu")
    answer = (first, me.free_bytes(first))
    _device_cache["now"] = (time.monotonic(), answer)
    return answer


def _offline_hub_model(name: str) -> bool:
    """A Hub id whose config is not in the local cache: asking the Hub on every keystroke is not an option."""
    from lab.distributed.model_size import HUB_ID
    from lab.models.load import resolve_model
    try:
        resolved = resolve_model(name)
    except UserError:
        return False
    if not HUB_ID.match(resolved):
        return False
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return True
    return not isinstance(try_to_load_from_cache(resolved, "config.json"), str)


def note_text(data: dict, device: str | None = None, free: float | None = None) -> str:
    """Markdown for a form's spec dict: the estimate and its parts, the device's free memory and, when it
    would not fit, the settings that would. `device`/`free` default to this machine now."""
    from lab.presets import validate
    try:
        spec = validate(data, "form")
    except UserError:
        return ""  # the form shows its own error line; no estimate for a spec that would not start
    if spec.kind not in me.TRAINING_KINDS:
        return ""
    if _offline_hub_model(spec.model.name):
        return f"**Memory estimate**: needs the config of `{spec.model.name}` (not in the local Hugging Face cache)"
    if device is None:
        device, free = _device_now()
    try:
        est = me.estimate(spec, device)
    except UserError as e:
        return f"**Memory estimate**: {e}"
    text = f"**Memory estimate** (peak, {est.device}): {est.summary()}"
    if free is None:
        return text
    if est.fits(free):
        return text + f" — fits: {device} has {me.human(free)} free"
    fixes = est.suggestions(free)
    advice = f"try {', '.join(fixes)}" if fixes else "no single setting makes it fit"
    return text + f"  \n⚠ {device} has {me.human(free)} free: {advice}"
