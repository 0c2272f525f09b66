"""The building blocks of job specs: strict models (unknown keys are errors), preset metadata,
model and dataset references, LoRA, and `train:` blocks.

Keys under `train:` are TRL / transformers TrainingArguments field names, verbatim. The common ones
are typed here (so the form can show them); any other key must be a real field of the installed
TRL config class for that kind, or it is an error naming the key.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from typing import Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import shell_safe


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PresetMeta(Strict):
    """What the preset gallery shows. Text is keyed by language code (en, ja)."""
    title: dict[str, str] = Field(default_factory=dict)
    description: dict[str, str] = Field(default_factory=dict)
    est_time: dict[str, str] = Field(default_factory=dict, description="e.g. {cpu: '2 min', gpu: '20 s'}")
    tags: list[str] = Field(default_factory=list)


class ModelRef(Strict):
    name: str = Field("tiny", description="tiny | run:<RUN_ID> | a local folder | a Hugging Face model id")
    trust_remote_code: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"

    @field_validator("trust_remote_code")
    @classmethod
    def _no_remote_code_in_workshop(cls, value: bool) -> bool:
        from .paths import confined
        if value and confined():  # the model folder's Python would run as the server's user
            raise ValueError("refused in workshop mode (it runs code shipped with the model)")
        return value


class LoraSpec(Strict):
    r: int = Field(8, ge=1, le=1024)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: Union[str, list[str]] = "all-linear"
    save_merged: bool = Field(True, description="also write the merged model (needs disk the size of the model)")


DatasetFormat = Literal["auto", "messages", "alpaca", "sharegpt", "prompt_completion", "text"]


class DatasetSpec(Strict):
    path: str = Field(..., description="JSONL or JSON file; relative paths also look in the workspace and the bundled samples")
    format: DatasetFormat = "auto"
    eval_split: float = Field(0.1, ge=0.0, le=0.5, description="share of rows held out for eval_loss")
    max_samples: int | None = Field(None, ge=1)


@functools.lru_cache(maxsize=None)
def real_config_fields(class_path: str) -> frozenset[str]:
    """The dataclass fields of the installed class. Importing TRL imports transformers, peft and torch: seconds."""
    module, _, name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    return frozenset(f.name for f in dataclasses.fields(cls))


# Keys of the typed train models that a config class is known to have, so that a spec made of them (every bundled
# form and most presets) is checked without importing TRL; the UI validates presets while it builds its page.
# Every class here subclasses TrainingArguments, so it has TrainArgs' typed keys too (see known_config_fields).
# tests/unit/test_ui_start.py checks each name against the installed class.
OWN_TYPED_FIELDS: dict[str, tuple[str, ...]] = {
    "transformers.TrainingArguments": (),
    "trl.SFTConfig": ("max_length", "packing", "assistant_only_loss", "completion_only_loss"),
    "trl.DPOConfig": ("max_length", "beta", "loss_type", "label_smoothing", "precompute_ref_log_probs"),
    "trl.experimental.orpo.ORPOConfig": ("max_length", "beta"),
    "trl.experimental.cpo.CPOConfig": ("max_length", "beta", "loss_type", "label_smoothing"),
    "trl.KTOConfig": ("max_length", "beta", "loss_type", "precompute_ref_log_probs"),
}


@functools.lru_cache(maxsize=None)
def known_config_fields(class_path: str) -> frozenset[str]:
    if class_path not in OWN_TYPED_FIELDS:
        return frozenset()
    return frozenset(TrainArgs.model_fields) | frozenset(OWN_TYPED_FIELDS[class_path])


class ConfigFields:
    """`key in config_fields(path)`: True for a field of the config class. Names known without the import are
    answered at once; any other name imports the class (and is then answered exactly)."""

    def __init__(self, class_path: str):
        self.class_path = class_path

    def __contains__(self, key: object) -> bool:
        return key in known_config_fields(self.class_path) or key in real_config_fields(self.class_path)


def config_fields(class_path: str) -> ConfigFields:
    return ConfigFields(class_path)


class TrainArgs(BaseModel):
    """TrainingArguments keys, verbatim. Defaults suit a CPU box and live charts."""
    model_config = ConfigDict(extra="allow", validate_assignment=True)
    config_class: ClassVar[str] = "transformers.TrainingArguments"

    max_steps: int = Field(-1, description="-1 = run num_train_epochs")
    num_train_epochs: float = Field(1.0, gt=0)
    per_device_train_batch_size: int = Field(4, ge=1)
    per_device_eval_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial"] = "cosine"
    warmup_steps: float = Field(0, ge=0, description="steps, or a ratio of all steps when below 1")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, ge=0)
    logging_steps: float = Field(1, gt=0)
    eval_strategy: Literal["no", "steps", "epoch"] = "steps"
    eval_steps: float | None = Field(10, gt=0)
    save_strategy: Literal["no", "steps", "epoch", "best"] = "steps"
    save_steps: float = Field(50, gt=0)
    save_total_limit: int | None = Field(2, ge=1)
    seed: int = 42
    bf16: bool | None = Field(None, description="None = on where the GPU supports it")
    fp16: bool = False
    gradient_checkpointing: bool = False
    optim: str = "adamw_torch"
    dataloader_num_workers: int = Field(0, ge=0)
    report_to: Union[str, list[str]] = "none"

    @field_validator("eval_strategy", "save_strategy", mode="before")
    @classmethod
    def _yaml_no_is_a_word(cls, value):
        # YAML 1.1 reads a bare `no` (in a preset or `--set eval_strategy=no`) as false.
        return "no" if value is False else value

    @model_validator(mode="after")
    def _extra_keys_are_real_fields(self):
        extra = self.model_extra or {}
        if extra:
            allowed = config_fields(self.config_class)
            for key in extra:
                if key not in allowed:
                    raise ValueError(f"unknown key '{key}' (not a field of {self.config_class.rsplit('.', 1)[-1]})")
        return self


class SFTTrainArgs(TrainArgs):
    config_class: ClassVar[str] = "trl.SFTConfig"
    max_length: int | None = Field(512, ge=8, description="tokens per example (truncation / packing block)")
    packing: bool = False
    assistant_only_loss: bool = Field(False, description="loss only on assistant turns (needs {% generation %} in the chat template)")
    completion_only_loss: bool | None = None


class PretrainTrainArgs(SFTTrainArgs):
    learning_rate: float = Field(1e-3, gt=0)
    packing: bool = True
    # TRL's own default, "bfd", cuts every document longer than max_length: pre-training would never
    # see the rest of a long document. "bfd_split" packs the overflow into other blocks instead.
    packing_strategy: Literal["bfd", "bfd_split", "wrapped"] = Field("bfd_split", description="bfd_split: long documents continue in other blocks; bfd: cut at max_length; wrapped: one stream cut into blocks")
    eval_strategy: Literal["no", "steps", "epoch"] = "no"
    save_strategy: Literal["no", "steps", "epoch", "best"] = "no"


DPO_LOSS_TYPES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
                  "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")
CPO_LOSS_TYPES = ("sigmoid", "hinge", "ipo", "simpo", "alphapo")
KTO_LOSS_TYPES = ("kto", "apo_zero_unpaired")


class PreferenceTrainArgs(TrainArgs):
    """DPOConfig / CPOConfig / ORPOConfig / KTOConfig keys, verbatim. Extra keys are checked against the
    config class of the chosen algorithm by the spec (one train block serves them all)."""
    config_class: ClassVar[str] = ""
    learning_rate: float = Field(5e-5, gt=0)
    beta: float = Field(0.1, gt=0, description="strength of the pull towards the reference model")
    loss_type: Union[str, list[str], None] = Field(None, description="None = the algorithm's own default. DPO: sigmoid, ipo, hinge, robust, …; CPO: sigmoid, hinge, ipo, simpo; KTO: kto, apo_zero_unpaired")
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5, description="robust DPO: probability that a label is flipped")
    max_length: int | None = Field(512, ge=8)
    precompute_ref_log_probs: bool = Field(False, description="compute the reference log-probs once before training")

    @model_validator(mode="after")
    def _extra_keys_are_real_fields(self):
        return self  # checked by the spec against the algorithm's config class


class SlurmSpec(Strict):
    """What sbatch is asked for. Every string here is written into a shell script, so each is checked
    against a strict pattern (lab/shell_safe.py): no spaces, quotes, `;`, newlines or other controls."""
    partition: Annotated[str | None, shell_safe.pattern("slurm_partition")] = Field(None, description="None = the cluster's default partition")
    account: Annotated[str | None, shell_safe.pattern("slurm_name")] = None
    time: str = Field("04:00:00", description="wall-clock limit, HH:MM:SS")
    gpus_per_node: int | None = Field(None, ge=0, description="None = one per process (nproc_per_node) when the submitting machine has a GPU, else 0; set it when the login node has none")
    cpus_per_task: int | None = Field(None, ge=1, description="CPUs of each node's task (it starts all the node's ranks); None = nproc_per_node × (1 + dataloader_num_workers)")
    job_name: Annotated[str, shell_safe.pattern("slurm_name")] = "lab"
    extra_sbatch: Annotated[list[str], shell_safe.pattern("sbatch_option", each="option")] = Field(default_factory=list, description="more '#SBATCH …' options, e.g. '--qos=high'")
    node_launcher: Literal["torchrun", "accelerate"] = Field("torchrun", description="what each node runs")

    @field_validator("time", mode="before")
    @classmethod
    def _yaml_sexagesimal(cls, value):
        # YAML 1.1 reads an unquoted 12:00:00 as the number 43200 (base 60): give it back its clock form.
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value // 3600:02d}:{value % 3600 // 60:02d}:{value % 60:02d}"
        return shell_safe.check(value, "slurm_time")


class LaunchSpec(Strict):
    """How a training job runs: in one process, or as ranks under torchrun / accelerate / deepspeed,
    on this machine or across nodes (directly or through Slurm)."""
    launcher: Literal["local", "torchrun", "accelerate", "deepspeed", "slurm"] = "local"
    nproc_per_node: int = Field(1, ge=1, le=1024, description="processes (GPUs) per node")
    gpus: Annotated[str | None, shell_safe.pattern("gpu_ids")] = Field(None, description="GPU ids to use, e.g. '0,1' (CUDA_VISIBLE_DEVICES)")
    nnodes: int = Field(1, ge=1)
    node_rank: int = Field(0, ge=0)
    master_addr: Annotated[str, shell_safe.pattern("host")] = "127.0.0.1"
    master_port: int = Field(29500, ge=1, le=65535)
    rdzv_endpoint: Annotated[str | None, shell_safe.pattern("host_port")] = Field(None, description="host:port of a c10d rendezvous (instead of master address/port)")
    hostfile: Annotated[list[str], shell_safe.pattern("hostfile_line", each="line")] = Field(default_factory=list, description="DeepSpeed hostfile lines: 'host slots=N'")
    zero_stage: Literal[0, 1, 2, 3] | None = Field(None, description="DeepSpeed ZeRO stage (None = no DeepSpeed)")
    offload_optimizer: Literal["none", "cpu"] = "none"
    offload_param: Literal["none", "cpu"] = "none"
    fsdp: bool = Field(False, description="PyTorch FSDP: full shard, auto-wrap by transformer layer")
    mixed_precision: Literal["no", "fp16", "bf16"] = Field("no", description="no = what the card does natively (bf16 on Ampere and later, fp16 on older GPUs, fp32 on CPUs); train.bf16/fp16 win")
    scale_accumulation: bool = Field(False, description="divide train.gradient_accumulation_steps by the number of ranks, so the global batch (and what max_steps means) stays the preset's")
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)

    @field_validator("gpus", mode="before")
    @classmethod
    def _one_gpu_id_is_a_number_in_yaml(cls, value):
        # `--set launch.gpus=3` (or `gpus: 3` in YAML) reads as the integer 3: it names GPU 3.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _coherent(self):
        if self.node_rank >= self.nnodes:
            raise ValueError(f"launch.node_rank: {self.node_rank} is not below nnodes={self.nnodes}")
        if self.fsdp and self.zero_stage is not None:
            raise ValueError("launch.fsdp: choose FSDP or DeepSpeed ZeRO, not both")
        if self.offload_param != "none" and self.zero_stage != 3:
            raise ValueError("launch.offload_param: parameter offload needs zero_stage 3")
        if self.offload_optimizer != "none" and self.zero_stage not in (1, 2, 3):
            raise ValueError("launch.offload_optimizer: optimizer offload needs zero_stage 1, 2 or 3")
        if self.launcher == "local" and (self.nproc_per_node > 1 or self.nnodes > 1):
            raise ValueError("launch.launcher: 'local' runs one process; use torchrun, accelerate or deepspeed for more")
        return self

    @property
    def distributed(self) -> bool:
        return self.launcher != "local"
