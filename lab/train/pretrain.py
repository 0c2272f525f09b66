"""Causal-LM pre-training on plain text, packed into blocks (TRL's SFTTrainer on a `text` dataset
is exactly that). The embedded tiny model is made by this job; `export_to` copies the result."""
from __future__ import annotations

import shutil

from ..data.formats import load_rows
from ..models.load import resolve_model
from ..paths import check_output_folder, resolve_input
from .sft import train_causal_lm


def _load_corpus(spec):
    data_path = resolve_input(spec.dataset.path, "dataset")
    fmt = spec.dataset.format if spec.dataset.format != "auto" else "text"
    rows, _ = load_rows(data_path, fmt, ("text",), spec.dataset.max_samples)
    return data_path, rows


def precheck(spec) -> None:
    if spec.export_to:
        check_output_folder(spec.export_to, "export_to")
    resolve_model(spec.model.name)
    _load_corpus(spec)


def run(spec, ctx) -> dict:
    data_path, rows = _load_corpus(spec)
    ctx.emit("log", message=f"corpus {data_path.name}: {len(rows)} documents")
    result = train_causal_lm(spec, ctx, rows, lora=None)
    if spec.export_to and "model" in result:
        target = check_output_folder(spec.export_to, "export_to")  # it is replaced: never outside the workspace
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(result["model"], tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        ctx.emit("artifact", name="exported_model", path=str(target))
        result["exported"] = str(target)
    return result
