"""Checks that run before a run folder is made, so a bad data file or a missing model is refused
at once with one line (the worker checks again; the run folder is not created for a bad spec)."""
from __future__ import annotations

from .data.formats import load_rows
from .models.load import resolve_model
from .paths import resolve_input
from .train.sft import SFT_FORMATS


def precheck(spec) -> None:
    if spec.kind in ("sft", "pretrain"):
        resolve_model(spec.model.name)
        allowed = SFT_FORMATS if spec.kind == "sft" else ("text",)
        fmt = spec.dataset.format if not (spec.kind == "pretrain" and spec.dataset.format == "auto") else "text"
        load_rows(resolve_input(spec.dataset.path, "dataset"), fmt, allowed, spec.dataset.max_samples)


def resolve_paths(spec):
    """Pin relative data paths to absolute ones, so job.yaml means the same from any folder."""
    dataset = getattr(spec, "dataset", None)
    if dataset is not None and getattr(dataset, "path", None):
        dataset.path = str(resolve_input(dataset.path, "dataset"))
    return spec
