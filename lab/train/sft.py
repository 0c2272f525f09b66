"""Supervised fine-tuning with TRL's SFTTrainer: messages / alpaca / sharegpt / prompt-completion
data, chat template, optional assistant-only loss, full or LoRA (PEFT), packing, eval loss,
checkpoints and resume. Reads top to bottom: data → model → config → train → save."""
from __future__ import annotations

from ..data.formats import load_rows
from ..models.load import default_dtype, load_tokenizer, resolve_model
from ..paths import resolve_input
from .callbacks import EventsCallback
from .common import build_config, fit, lora_config, samples_per_step, split_rows

SFT_FORMATS = ("messages", "alpaca", "sharegpt", "prompt_completion", "text")


def precheck(spec) -> None:
    resolve_model(spec.model.name)
    load_rows(resolve_input(spec.dataset.path, "dataset"), spec.dataset.format, SFT_FORMATS, spec.dataset.max_samples)


def run(spec, ctx) -> dict:
    data_path = resolve_input(spec.dataset.path, "dataset")
    rows, fmt = load_rows(data_path, spec.dataset.format, SFT_FORMATS, spec.dataset.max_samples)
    ctx.emit("log", message=f"dataset {data_path.name}: {len(rows)} rows, format {fmt}")
    lora = spec.lora if getattr(spec, "method", "full") == "lora" else None
    return train_causal_lm(spec, ctx, rows, lora)


def train_causal_lm(spec, ctx, rows: list[dict], lora) -> dict:
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    train_ds, eval_ds = split_rows(rows, spec.dataset.eval_split, spec.train.seed)
    model_path = resolve_model(spec.model.name)
    tokenizer = load_tokenizer(spec.model.name, spec.model.trust_remote_code)
    # Full fine-tuning keeps fp32 master weights (the Trainer autocasts to bf16/fp16); a LoRA base is frozen.
    purpose = "full" if lora is None else "lora"

    def load_base():
        return AutoModelForCausalLM.from_pretrained(model_path, dtype=default_dtype(spec.model.dtype, purpose=purpose),
                                                    trust_remote_code=spec.model.trust_remote_code, use_safetensors=True)

    model = load_base()
    output_dir = ctx.artifacts / "checkpoints"
    fixed = {"dataset_text_field": "text"} if "text" in rows[0] else {}
    args = build_config(SFTConfig, spec.train, output_dir, eval_ds is not None, getattr(spec, "launch", None), **fixed)
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=lora_config(lora) if lora is not None else None,
                         callbacks=[EventsCallback(ctx, samples_per_step(args))])
    return fit(trainer, tokenizer, ctx, output_dir, eval_ds is not None, lora, load_base)
