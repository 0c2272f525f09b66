"""Supervised fine-tuning with TRL's SFTTrainer: messages / alpaca / sharegpt / prompt-completion
data, chat template, optional assistant-only loss, full or LoRA (PEFT), packing, eval loss,
checkpoints and resume. Reads top to bottom: data → model → config → train → save."""
from __future__ import annotations

from ..data.formats import load_rows
from ..models.load import default_dtype, load_tokenizer, resolve_model
from ..paths import resolve_input
from .callbacks import EventsCallback
from .common import build_config, emit_environment, last_checkpoint, save_model, split_rows

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
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=default_dtype(spec.model.dtype),
                                                 trust_remote_code=spec.model.trust_remote_code, use_safetensors=True)
    output_dir = ctx.artifacts / "checkpoints"
    fixed = {"dataset_text_field": "text"} if "text" in rows[0] else {}
    args = build_config(SFTConfig, spec.train, output_dir, eval_ds is not None, **fixed)
    peft_config = None
    if lora is not None:
        from peft import LoraConfig
        peft_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                 target_modules=lora.target_modules, task_type="CAUSAL_LM")
    samples_per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=peft_config,
                         callbacks=[EventsCallback(ctx, samples_per_step)])
    emit_environment(ctx, args, trainer.model)
    resume_from = last_checkpoint(output_dir) if ctx.resume else None
    if ctx.resume:
        ctx.emit("log", message=f"resuming from {resume_from}" if resume_from else "no checkpoint found: starting over")
    trainer.train(resume_from_checkpoint=resume_from)
    if ctx.cancel_requested():
        return {"stopped_at_step": trainer.state.global_step}
    if eval_ds is not None:
        trainer.evaluate()  # a final eval_loss point for the chart and the summary
    saved = save_model(trainer, tokenizer, ctx.artifacts, lora.save_merged if lora is not None else None)
    ctx.emit("artifact", name="model", path=str(saved))
    return {"model": str(saved)}
