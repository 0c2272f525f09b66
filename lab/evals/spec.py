"""Specs of the evaluation job kinds: `answers` (contestants answer a question set), `judge`
(LLM-as-judge over those answers) and `eval` (automatic metrics in the llm-jp-eval manner).
Contract: `lab run presets/judge-pairwise.yaml --set judge.base_url=http://127.0.0.1:PORT/v1 [--set judge.model=NAME]`."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec_base import PresetMeta, Strict


class JudgeEndpoint(Strict):
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    model: str | None = None


class JudgeSpec(Strict):
    kind: Literal["judge"] = "judge"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    judge: JudgeEndpoint = Field(default_factory=JudgeEndpoint)


class EvalSpec(Strict):
    kind: Literal["eval"] = "eval"
    meta: PresetMeta = Field(default_factory=PresetMeta)
