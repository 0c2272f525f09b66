"""Job specs: one pydantic model per job kind. A preset is a spec in YAML, the UI form is built
from it, `--set a.b=v` overrides it, and the worker reads it back from RUN_DIR/job.yaml.
Each kind's spec lives in its package (lab/train/spec.py, lab/dedup/spec.py, …) and is listed once,
in lab/kinds.py; this module joins them into the one JobSpec union."""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, Field, TypeAdapter

from .dedup.spec import DedupSpec  # noqa: F401 - re-exported: callers import every spec from here
from .evals.spec import EvalSpec, JudgeSpec  # noqa: F401
from .kinds import KINDS as _REGISTRY
from .rag.spec import RagEvalSpec, RagIndexSpec  # noqa: F401
from .train.spec import (PREFERENCE_CONFIGS, DPOSpec, KTOSpec, PreferenceDatasetSpec,  # noqa: F401
                         PretrainSpec, SFTSpec)

KINDS: dict[str, type[BaseModel]] = {name: k.spec for name, k in _REGISTRY.items()}
JobSpec = Annotated[Union[tuple(KINDS.values())], Field(discriminator="kind")]
_JOB_ADAPTER: TypeAdapter = TypeAdapter(JobSpec)


def parse_spec(data: Any):
    """Validate a dict into the spec of its kind (raises pydantic.ValidationError)."""
    return _JOB_ADAPTER.validate_python(data)


def spec_to_dict(spec: BaseModel) -> dict[str, Any]:
    return spec.model_dump(mode="json")
