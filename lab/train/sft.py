"""Supervised fine-tuning with TRL's SFTTrainer: messages / alpaca / sharegpt / prompt-completion
data, chat template, optional assistant-only loss, full or LoRA (PEFT), packing, eval loss,
checkpoints and resume. Reads top to bottom: data → model → config → train → save."""
from __future__ import annotations

from pathlib import Path

from ..data.formats import load_rows
from ..errors import UserError
from ..models.load import default_dtype, load_tokenizer, resolve_model
from ..paths import check_inside, resolve_input
from .callbacks import EventsCallback
from .common import build_config, fit, lora_config, samples_per_step, split_rows

SFT_FORMATS = ("messages", "alpaca", "sharegpt", "prompt_completion", "text")
TEMPLATES = Path(__file__).resolve().parents[2] / "presets" / "templates"


def chat_template_file(value: str | None) -> str | None:
    """train.chat_template_path as TRL reads it. A bundled template is named `templates/NAME.jinja`
    (presets/templates/); any other file must be a .jinja/.j2 inside the workspace (it becomes the
    text the model trains on). A value that is not a file stays a tokenizer id for TRL to copy."""
    if not value:
        return value
    bundled = TEMPLATES / Path(value).name
    if value.replace("\\", "/").removeprefix("presets/").startswith("templates/") and bundled.is_file():
        return str(bundled)
    path = Path(value).expanduser()
    if value.endswith((".jinja", ".j2")):
        check_inside(path, "train.chat_template_path")
        if not path.is_file():
            raise UserError(f"train.chat_template_path: no such template file {value}")
        return str(path.resolve())
    return value


def load_training_rows(spec) -> tuple:
    """(data path, rows, detected format) of the spec's dataset."""
    data_path = resolve_input(spec.dataset.path, "dataset")
    return (data_path, *load_rows(data_path, spec.dataset.format, SFT_FORMATS, spec.dataset.max_samples))


def precheck(spec) -> None:
    resolve_model(spec.model.name)
    chat_template_file(getattr(spec.train, "chat_template_path", None))
    load_training_rows(spec)


def run(spec, ctx) -> dict:
    data_path, rows, fmt = load_training_rows(spec)
    ctx.emit("log", message=f"dataset {data_path.name}: {len(rows)} rows, format {fmt}")
    lora = spec.lora if getattr(spec, "method", "full") == "lora" else None
    return train_causal_lm(spec, ctx, rows, lora)


def train_causal_lm(spec, ctx, rows: list[dict], lora) -> dict:
    output_dir = ctx.artifacts / "checkpoints"
    trainer, tokenizer, load_base = build_trainer(spec, rows, lora, output_dir, ctx)
    return fit(trainer, tokenizer, ctx, output_dir, trainer.eval_dataset is not None, lora, load_base)


def build_trainer(spec, rows: list[dict], lora, output_dir, ctx=None):
    """(SFTTrainer, tokenizer, load_base) exactly as a run trains (with the run's events when `ctx` is
    given): `lab inspect` reads its dataset and collator, so what it shows is what trains."""
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
    fixed = {"dataset_text_field": "text"} if "text" in rows[0] else {}
    if getattr(spec.train, "chat_template_path", None):
        fixed["chat_template_path"] = chat_template_file(spec.train.chat_template_path)
    args = build_config(SFTConfig, spec.train, output_dir, eval_ds is not None, getattr(spec, "launch", None), **fixed)
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=lora_config(lora) if lora is not None else None,
                         callbacks=[EventsCallback(ctx, samples_per_step(args))] if ctx is not None else None)
    return trainer, tokenizer, load_base
