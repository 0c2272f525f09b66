"""Preference tuning with TRL: DPO and its loss variants (DPOTrainer `loss_type`), ORPO and CPO/SimPO
(trl.experimental), and KTO on unpaired data (KTOTrainer). Usually starts from an SFT run
(`model.name: run:<SFT_RUN_ID>`). With LoRA the reference is the adapter-disabled policy (no second
copy in memory); with full tuning an explicit reference copy is loaded unless reference log-probs
are precomputed."""
from __future__ import annotations

import importlib

from ..data.formats import load_rows
from ..models.load import default_dtype, is_adapter, load_tokenizer, resolve_model
from ..paths import resolve_input
from ..spec import PREFERENCE_CONFIGS
from .callbacks import EventsCallback
from .common import build_config, fit, lora_config, samples_per_step, split_rows

TRAINERS = {"dpo": "trl.DPOTrainer", "orpo": "trl.experimental.orpo.ORPOTrainer",
            "cpo": "trl.experimental.cpo.CPOTrainer", "kto": "trl.KTOTrainer"}
WITH_REFERENCE = ("dpo", "kto")


def _algorithm(spec) -> str:
    return "kto" if spec.kind == "kto" else spec.algorithm


def _formats(spec) -> tuple[str, ...]:
    return ("kto",) if spec.kind == "kto" else ("preference", "hh_rlhf")


def _load(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _rows(spec):
    data_path = resolve_input(spec.dataset.path, "dataset")
    rows, fmt = load_rows(data_path, spec.dataset.format if spec.dataset.format != "auto" else "auto",
                          _formats(spec), spec.dataset.max_samples)
    return data_path, rows, fmt


def precheck(spec) -> None:
    resolve_model(spec.model.name)
    _rows(spec)


def load_policy(name: str, spec, frozen: bool = False):
    """The starting model as a plain causal LM (an SFT run's LoRA adapter is merged into its base).
    Full tuning keeps fp32 master weights (the Trainer autocasts); a frozen LoRA base or reference
    model may be 16-bit on a GPU."""
    from transformers import AutoModelForCausalLM
    path = resolve_model(name)
    purpose = "lora" if spec.method == "lora" or frozen else "full"
    kwargs = dict(dtype=default_dtype(spec.model.dtype, purpose=purpose), trust_remote_code=spec.model.trust_remote_code,
                  use_safetensors=True)
    if is_adapter(path):
        from peft import AutoPeftModelForCausalLM
        return AutoPeftModelForCausalLM.from_pretrained(path, **kwargs).merge_and_unload()
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def run(spec, ctx) -> dict:
    data_path, rows, fmt = _rows(spec)
    ctx.emit("log", message=f"dataset {data_path.name}: {len(rows)} rows, format {fmt}; algorithm {_algorithm(spec)}")
    output_dir = ctx.artifacts / "checkpoints"
    trainer, tokenizer = build_trainer(spec, rows, output_dir, ctx)
    lora = spec.lora if spec.method == "lora" else None
    return fit(trainer, tokenizer, ctx, output_dir, trainer.eval_dataset is not None, lora,
               lambda: load_policy(spec.model.name, spec))


def build_trainer(spec, rows: list[dict], output_dir, ctx=None):
    """(trainer, tokenizer) exactly as a run trains (with the run's events when `ctx` is given): `lab
    inspect` reads its dataset and collator, so what it shows is what trains."""
    algorithm = _algorithm(spec)
    train_ds, eval_ds = split_rows(rows, spec.dataset.eval_split, spec.train.seed)
    tokenizer = load_tokenizer(spec.model.name, spec.model.trust_remote_code)
    model = load_policy(spec.model.name, spec)
    lora = spec.lora if spec.method == "lora" else None
    args = build_config(_load(PREFERENCE_CONFIGS[algorithm]), spec.train, output_dir, eval_ds is not None, spec.launch)
    extra = {}
    if algorithm in WITH_REFERENCE:
        # LoRA: the adapter-disabled policy is the reference. Precomputed log-probs: TRL frees its
        # reference after the first pass. Otherwise an explicit copy (TRL would look the model up by
        # its config name, which for a merged SFT adapter is the wrong model).
        needs_copy = lora is None and not getattr(args, "precompute_ref_log_probs", False)
        extra["ref_model"] = load_policy(spec.model.name, spec, frozen=True) if needs_copy else None
    trainer = _load(TRAINERS[algorithm])(
        model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds, processing_class=tokenizer,
        peft_config=lora_config(lora) if lora is not None else None,
        callbacks=[EventsCallback(ctx, samples_per_step(args))] if ctx is not None else None, **extra)
    return trainer, tokenizer
