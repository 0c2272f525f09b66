"""What every training kind shares: TrainingArguments from the spec, the train/eval split, the
environment record, and saving the result."""
from __future__ import annotations

import platform
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError


def build_config(config_cls, train, output_dir: Path, has_eval: bool, launch=None, **fixed):
    """The TRL/transformers config from the spec's `train:` block (keys verbatim) plus what the lab
    fixes: where checkpoints go, CPU/GPU placement, mixed precision that fits the card (lab/models/
    device.py), no external loggers unless asked for."""
    kwargs = config_kwargs(config_cls, train, output_dir, has_eval, launch, **fixed)
    try:
        return config_cls(**kwargs)
    except (ValueError, TypeError) as e:
        raise UserError(f"train: {str(e).splitlines()[0]}") from None


def config_kwargs(config_cls, train, output_dir: Path, has_eval: bool, launch=None, **fixed) -> dict:
    import dataclasses
    import os

    import torch

    from ..models.device import mixed_precision

    known = {f.name for f in dataclasses.fields(config_cls)}
    # A train block may carry keys of a sibling algorithm's config at their defaults (the spec
    # refuses non-default ones), e.g. loss_type for ORPO: pass only what this config has.
    kwargs = {k: v for k, v in train.model_dump().items() if k in known}
    if kwargs.get("loss_type", "") is None:  # the spec's "use the algorithm's default"
        del kwargs["loss_type"]
    cuda = torch.cuda.is_available()
    kwargs["bf16"], kwargs["fp16"] = mixed_precision(kwargs.get("bf16"), kwargs.get("fp16"),
                                                     launch.mixed_precision if launch is not None else "no", cuda)
    if not has_eval:
        kwargs["eval_strategy"] = "no"
    kwargs["gradient_accumulation_steps"] = scaled_accumulation(
        kwargs.get("gradient_accumulation_steps", 1), int(os.environ.get("WORLD_SIZE", "1")), launch)
    kwargs.update(output_dir=str(output_dir), disable_tqdm=True, dataloader_pin_memory=cuda,
                  use_cpu=not cuda, **fixed)
    if launch is not None and launch.distributed:
        kwargs.update(distributed_args(launch, output_dir.parents[1], cuda))
    return kwargs


def scaled_accumulation(steps: int, world: int, launch) -> int:
    """With launch.scale_accumulation, the preset's accumulation divided by the ranks, so its global
    batch (and what its max_steps mean) stays about the same on 1 or N GPUs."""
    if launch is None or not getattr(launch, "scale_accumulation", False) or world <= 1:
        return steps
    return max(1, round(steps / world))


def distributed_args(launch, run_dir: Path, cuda: bool) -> dict:
    """TrainingArguments for a run under torchrun / accelerate / deepspeed: gloo on CPUs, the
    generated DeepSpeed JSON, FSDP2 wrapping by transformer layer with a full state dict on save
    (so the Trainer gathers the shards into one model on the main process)."""
    out: dict = {}
    if not cuda:
        out["ddp_backend"] = "gloo"
    out["ddp_find_unused_parameters"] = False  # the lab's models use every parameter each step
    if launch.zero_stage is not None:
        out["deepspeed"] = str(run_dir / "launch" / "deepspeed.json")
    if launch.fsdp:
        out["fsdp"] = True
        out["fsdp_config"] = {"version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                              "reshard_after_forward": True, "state_dict_type": "FULL_STATE_DICT"}
    return out


def split_rows(rows: list[dict], eval_share: float, seed: int):
    from datasets import Dataset

    dataset = Dataset.from_list(rows)
    n_eval = int(round(len(rows) * eval_share))
    if eval_share <= 0 or len(rows) < 4 or n_eval < 1:
        return dataset, None
    parts = dataset.train_test_split(test_size=n_eval, seed=seed)
    return parts["train"], parts["test"]


def last_checkpoint(output_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if output_dir.exists() else None


def emit_environment(ctx, args, model) -> None:
    import torch
    import transformers
    import trl

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    ctx.emit("env", world_size=args.world_size, device=str(args.device), dtype=str(model.dtype).removeprefix("torch."),
             params=total, trainable_params=trainable, torch=torch.__version__, transformers=transformers.__version__,
             trl=trl.__version__, host=platform.node(), threads=torch.get_num_threads())


def save_model(trainer, tokenizer, artifacts: Path, lora_merge: bool | None, load_base=None) -> Path:
    """Full model → artifacts/model. LoRA → artifacts/adapter, plus the merged model in
    artifacts/model when `lora_merge` (chat and later jobs load either).

    Every rank calls this: the Trainer's save_model gathers ZeRO-3 / FSDP shards (a collective) and
    writes only on the main process, so no rank writes a partial or duplicate copy. The merge then
    happens on the main process alone, from the saved adapter onto a fresh base (`load_base()`),
    because under sharding no rank holds whole weights to merge in place."""
    main = trainer.is_world_process_zero()
    target = artifacts / ("model" if lora_merge is None else "adapter")
    trainer.save_model(str(target))
    if main:
        tokenizer.save_pretrained(target)
    if lora_merge:
        trainer.accelerator.wait_for_everyone()
        if main:
            merge_adapter(target, artifacts / "model", load_base)
            tokenizer.save_pretrained(artifacts / "model")
        target = artifacts / "model"
    trainer.accelerator.wait_for_everyone()
    return target


def merge_adapter(adapter_dir: Path, out_dir: Path, load_base=None) -> None:
    """The saved adapter merged into its base, written as a plain model."""
    from peft import AutoPeftModelForCausalLM, PeftModel

    with outside_zero3():
        if load_base is None:
            model = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir), use_safetensors=True)
        else:
            model = PeftModel.from_pretrained(load_base(), str(adapter_dir))
        model.merge_and_unload().save_pretrained(out_dir, safe_serialization=True)


@contextmanager
def outside_zero3():
    """While a ZeRO-3 Trainer exists, from_pretrained starts deepspeed.zero.Init, a collective: one
    process loading a model alone (the merge on the main process) would wait for the others forever."""
    try:
        from transformers.integrations import deepspeed as hf_deepspeed
    except ImportError:
        yield
        return
    saved = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = saved


def fit(trainer, tokenizer, ctx, output_dir: Path, has_eval: bool, lora, load_base=None) -> dict:
    """Train (resuming from the last checkpoint when asked), then a final eval point and the saved
    model — unless somebody asked the run to stop, in which case the checkpoint is the result."""
    emit_environment(ctx, trainer.args, trainer.model)
    resume_from = last_checkpoint(output_dir) if ctx.resume else None
    if ctx.resume:
        ctx.emit("log", message=f"resuming from {resume_from}" if resume_from else "no checkpoint found: starting over")
    trainer.train(resume_from_checkpoint=resume_from)
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ctx.emit("metric", step=trainer.state.global_step, peak_rss_mb=usage.ru_maxrss / 1024,
             cpu_s=round(usage.ru_utime + usage.ru_stime, 1))  # the worker's CPU time (wall time hides a busy box)
    if ctx.cancel_requested():
        return {"stopped_at_step": trainer.state.global_step}
    if has_eval:
        trainer.evaluate()  # a final eval point for the charts and the summary
    saved = save_model(trainer, tokenizer, ctx.artifacts, lora.save_merged if lora is not None else None, load_base)
    ctx.emit("artifact", name="model", path=str(saved))
    return {"model": str(saved)}


def lora_config(lora):
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")


def samples_per_step(args) -> int:
    return args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
