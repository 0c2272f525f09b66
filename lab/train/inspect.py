"""What a training run will actually train on: the first N samples as the trainer tokenizes them,
every token marked trained (its label is a target) or not, and whether the sample was cut.

The trainer is built exactly as the run builds it (sft.build_trainer / dpo.build_trainer: same
model, tokenizer, chat template, config and TRL dataset preparation), then its own collator makes
the batch; nothing is re-implemented, so a template or masking mistake shows here as it would train.
Building the trainer loads the model once (seconds for the embedded one; a large Hub model needs
its memory), and no step is taken.

JSON (`lab inspect --json`): {"kind", "samples": [{"rendered", "tokens": [{"id", "text", "trained"}],
"trained_tokens", "total_tokens", "truncated", "segments": [[text, trained], …]}]}; a preference sample also has "prompt" (its text)
and "chosen" / "rejected" (each the same record as a sample), the top-level fields being the chosen
sequence's."""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import UserError

PREFERENCE_KINDS = ("dpo",)
SFT_KINDS = ("sft", "pretrain")


def inspect_spec(spec, n: int = 3) -> dict:
    if spec.kind not in SFT_KINDS + PREFERENCE_KINDS:
        raise UserError(f"lab inspect: a {spec.kind} job has no training data to inspect (sft, pretrain or dpo)")
    if spec.kind == "dpo" and getattr(spec, "algorithm", "dpo") != "dpo":
        raise UserError(f"lab inspect: shows DPOTrainer's data; algorithm {spec.algorithm} prepares its own (not covered yet)")
    n = max(1, int(n))
    with tempfile.TemporaryDirectory(prefix="lab-inspect-") as tmp:
        if spec.kind in PREFERENCE_KINDS:
            return {"kind": spec.kind, "samples": _preference_samples(spec, n, Path(tmp))}
        return {"kind": spec.kind, "samples": _sft_samples(spec, n, Path(tmp))}


def _token_records(tokenizer, ids: list[int], trained: list[bool]) -> list[dict]:
    return [{"id": int(i), "text": tokenizer.decode([int(i)]), "trained": bool(t)} for i, t in zip(ids, trained)]


def _segments(tokenizer, ids: list[int], trained: list[bool]) -> list[list]:
    """[[text, trained], …] over runs of equally marked tokens, each run decoded whole (a byte-level
    token alone can be half a character)."""
    out, start = [], 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or trained[i] != trained[start]:
            out.append([tokenizer.decode(ids[start:i]), bool(trained[start])])
            start = i
    return out


def _record(tokenizer, ids: list[int], trained: list[bool], truncated: bool) -> dict:
    return {"rendered": tokenizer.decode(ids), "tokens": _token_records(tokenizer, ids, trained),
            "trained_tokens": int(sum(trained)), "total_tokens": len(ids), "truncated": bool(truncated),
            "segments": _segments(tokenizer, ids, trained)}


def _sft_samples(spec, n: int, tmp: Path) -> list[dict]:
    from . import sft
    from .pretrain import _load_corpus

    if spec.kind == "pretrain":
        _, rows = _load_corpus(spec)
        lora = None
    else:
        _, rows, _ = sft.load_training_rows(spec)
        lora = spec.lora if getattr(spec, "method", "full") == "lora" else None
    trainer, tokenizer, _ = sft.build_trainer(spec, rows, lora, tmp / "checkpoints")
    dataset = trainer.train_dataset
    args = trainer.args
    out = []
    for i in range(min(n, len(dataset))):
        example = dataset[i]
        batch = trainer.data_collator([{k: v for k, v in example.items() if not isinstance(v, str)}])
        ids = batch["input_ids"][0].tolist()
        labels = batch["labels"][0].tolist()
        keep = batch["attention_mask"][0].tolist() if "attention_mask" in batch else [1] * len(ids)
        ids = [t for t, k in zip(ids, keep) if k]
        trained = [lab != -100 for lab, k in zip(labels, keep) if k]
        # TRL cuts a sample to max_length while preparing the dataset, so what is left cannot say how
        # long it was: a sample that fills max_length exactly is reported cut (packing fills blocks
        # by design, so there nothing counts as cut).
        truncated = bool(args.max_length and not args.packing and len(ids) >= args.max_length)
        out.append(_record(tokenizer, ids, trained, truncated))
    return out


def _preference_samples(spec, n: int, tmp: Path) -> list[dict]:
    from . import dpo

    _, rows, _ = dpo._rows(spec)
    trainer, tokenizer = dpo.build_trainer(spec, rows, tmp / "checkpoints")
    dataset = trainer.train_dataset
    max_length = getattr(trainer.args, "max_length", None)
    out = []
    for i in range(min(n, len(dataset))):
        example = dataset[i]
        batch = trainer.data_collator([{k: example[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}])
        sides = {}
        for row, side in enumerate(("chosen", "rejected")):
            keep = batch["attention_mask"][row].tolist()
            ids = [t for t, k in zip(batch["input_ids"][row].tolist(), keep) if k]
            trained = [bool(m) for m, k in zip(batch["completion_mask"][row].tolist(), keep) if k]
            full = len(example["prompt_ids"]) + len(example[f"{side}_ids"])
            sides[side] = _record(tokenizer, ids, trained, bool(max_length) and full > len(ids))
        out.append({**sides["chosen"], "prompt": tokenizer.decode(example["prompt_ids"]), **sides})
    return out


def to_text(result: dict, width: int = 100) -> str:
    """The inspection for a terminal, a pipe or a file: each trained stretch in «…»."""
    lines = []
    for i, s in enumerate(result["samples"]):
        parts = [("chosen", s["chosen"]), ("rejected", s["rejected"])] if "chosen" in s else [("", s)]
        for name, rec in parts:
            head = f"sample {i + 1}{' ' + name if name else ''}: {rec['trained_tokens']} of {rec['total_tokens']} tokens trained"
            lines.append(head + (" (truncated)" if rec["truncated"] else ""))
            lines.append(marked_text(rec["segments"]))
            lines.append("")
    return "\n".join(lines)


def marked_text(segments: list[list]) -> str:
    """The sequence with each trained stretch in «…»."""
    return "".join(f"«{text}»" if trained else text for text, trained in segments)
