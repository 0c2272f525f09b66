"""Job specs: one pydantic model per job kind. A preset is a spec in YAML, the UI form is built
from it, `--set a.b=v` overrides it, and the worker reads it back from RUN_DIR/job.yaml.
Kinds that live in their own package (dedup, …) define their spec there from `spec_base`."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from .dedup.spec import DedupSpec
from .evals.spec import EvalSpec, JudgeSpec
from .rag.spec import RagEvalSpec, RagIndexSpec
from .spec_base import DatasetSpec, LoraSpec, ModelRef, PresetMeta, PretrainTrainArgs, SFTTrainArgs, Strict


class SFTSpec(Strict):
    kind: Literal["sft"] = "sft"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=ModelRef)
    dataset: DatasetSpec
    method: Literal["lora", "full"] = "lora"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: SFTTrainArgs = Field(default_factory=SFTTrainArgs)


class PretrainSpec(Strict):
    """Causal-LM pre-training on plain text (packed blocks). The embedded tiny model is made by one."""
    kind: Literal["pretrain"] = "pretrain"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=lambda: ModelRef(name="tiny-init"))
    dataset: DatasetSpec
    train: PretrainTrainArgs = Field(default_factory=PretrainTrainArgs)
    export_to: str | None = Field(None, description="copy the final model to this folder when the run succeeds")


KINDS: dict[str, type[BaseModel]] = {
    "sft": SFTSpec, "pretrain": PretrainSpec, "dedup": DedupSpec,
    "rag_index": RagIndexSpec, "rag_eval": RagEvalSpec, "judge": JudgeSpec, "eval": EvalSpec,
}
JobSpec = Annotated[Union[tuple(KINDS.values())], Field(discriminator="kind")]
_JOB_ADAPTER: TypeAdapter = TypeAdapter(JobSpec)


def parse_spec(data: Any):
    """Validate a dict into the spec of its kind (raises pydantic.ValidationError)."""
    return _JOB_ADAPTER.validate_python(data)


def spec_to_dict(spec: BaseModel) -> dict[str, Any]:
    return spec.model_dump(mode="json")
