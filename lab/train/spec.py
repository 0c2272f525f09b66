"""The training kinds' specs: pretrain, sft, dpo (with ORPO and CPO/SimPO as algorithms) and kto.
Keys under `train:` are TRL / TrainingArguments field names, verbatim (checked against the config class)."""
from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from ..spec_base import (CPO_LOSS_TYPES, DPO_LOSS_TYPES, KTO_LOSS_TYPES, DatasetSpec, LaunchSpec, LoraSpec,
                         ModelRef, PreferenceTrainArgs, PresetMeta, PretrainTrainArgs, SFTTrainArgs, Strict,
                         config_fields)


class SFTSpec(Strict):
    kind: Literal["sft"] = "sft"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=ModelRef)
    dataset: DatasetSpec
    method: Literal["lora", "full"] = "lora"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: SFTTrainArgs = Field(default_factory=SFTTrainArgs)
    launch: LaunchSpec = Field(default_factory=LaunchSpec)


class PretrainSpec(Strict):
    """Causal-LM pre-training on plain text (packed blocks). The embedded tiny model is made by one."""
    kind: Literal["pretrain"] = "pretrain"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=lambda: ModelRef(name="tiny-init"))
    dataset: DatasetSpec
    train: PretrainTrainArgs = Field(default_factory=PretrainTrainArgs)
    launch: LaunchSpec = Field(default_factory=LaunchSpec)
    export_to: str | None = Field(None, description="copy the final model to this folder when the run succeeds")


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # ORPO and CPO live in trl.experimental
PREFERENCE_CONFIGS = {"dpo": "trl.DPOConfig", "orpo": "trl.experimental.orpo.ORPOConfig",
                      "cpo": "trl.experimental.cpo.CPOConfig", "kto": "trl.KTOConfig"}


class PreferenceDatasetSpec(DatasetSpec):
    format: Literal["auto", "preference", "hh_rlhf", "kto"] = "auto"


class DPOSpec(Strict):
    """Preference tuning from an SFT run (or any model): DPO and its loss variants, ORPO, CPO/SimPO."""
    kind: Literal["dpo"] = "dpo"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=ModelRef)
    dataset: PreferenceDatasetSpec = Field(default_factory=lambda: PreferenceDatasetSpec(path="samples/dpo_ja.jsonl"))
    algorithm: Literal["dpo", "orpo", "cpo"] = "dpo"
    method: Literal["lora", "full"] = "lora"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: PreferenceTrainArgs = Field(default_factory=PreferenceTrainArgs)
    launch: LaunchSpec = Field(default_factory=LaunchSpec)

    @model_validator(mode="after")
    def _train_keys_fit_the_algorithm(self):
        _check_preference_train(self.train, self.algorithm)
        return self


class KTOSpec(Strict):
    """KTO: unpaired desirable / undesirable completions (prompt, completion, label)."""
    kind: Literal["kto"] = "kto"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=ModelRef)
    dataset: PreferenceDatasetSpec = Field(default_factory=lambda: PreferenceDatasetSpec(path="samples/kto_ja.jsonl"))
    method: Literal["lora", "full"] = "lora"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: PreferenceTrainArgs = Field(default_factory=PreferenceTrainArgs)
    launch: LaunchSpec = Field(default_factory=LaunchSpec)

    @model_validator(mode="after")
    def _train_keys_fit_the_algorithm(self):
        _check_preference_train(self.train, "kto")
        return self


def _check_preference_train(train: PreferenceTrainArgs, algorithm: str) -> None:
    losses = [] if train.loss_type is None else [train.loss_type] if isinstance(train.loss_type, str) else list(train.loss_type)
    allowed_losses = {"dpo": DPO_LOSS_TYPES, "cpo": CPO_LOSS_TYPES, "kto": KTO_LOSS_TYPES}.get(algorithm)
    if allowed_losses is None:
        if losses:
            raise ValueError(f"train.loss_type: not used by {algorithm.upper()} (leave it out)")
    else:
        if algorithm in ("cpo", "kto") and len(losses) > 1:
            raise ValueError(f"train.loss_type: {algorithm.upper()} takes a single loss type")
        if "exo_pair" in losses and train.label_smoothing == 0:
            raise ValueError("train.label_smoothing: exo_pair needs ε > 0 (the EXO paper suggests 0.001)")
        for loss in losses:
            if loss not in allowed_losses:
                raise ValueError(f"train.loss_type: '{loss}' is not a {algorithm.upper()} loss (use {', '.join(allowed_losses)})")
    fields = config_fields(PREFERENCE_CONFIGS[algorithm])
    for key in train.model_fields_set | set(train.model_extra or {}):
        if key not in fields and key not in ("loss_type", "label_smoothing", "precompute_ref_log_probs", "beta"):
            raise ValueError(f"train.{key}: unknown key (not a field of {PREFERENCE_CONFIGS[algorithm].rsplit('.', 1)[-1]})")
