"""Specs of the evaluation job kinds: `judge` (contestants answer a question set, then an LLM judges
those answers, with bias diagnostics) and `eval` (automatic metrics in the llm-jp-eval manner).
Contract: `lab run presets/judge-pairwise.yaml --set judge.base_url=http://127.0.0.1:PORT/v1 [--set judge.model=NAME]`."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .. import endpoints
from ..spec_base import ModelRef, PresetMeta, Strict

JudgeMode = Literal["single", "pairwise-baseline", "pairwise-all"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class QuestionSet(Strict):
    """MT-bench / Japanese Vicuna QA JSONL: question_id, category, turns, optional reference."""
    path: str = Field("samples/judge_questions_ja.jsonl", description="question JSONL; relative paths also look in the workspace and the bundled samples")
    categories: list[str] = Field(default_factory=list, description="only these categories (empty = all)")
    max_questions: int | None = Field(None, ge=1, description="the first N questions after the category filter")


class Contestant(Strict):
    """One model that answers the questions: a model the lab can load, or an OpenAI-compatible endpoint."""
    name: str = Field(..., description="short id used in answers/<name>.jsonl and in the results")
    model: str = Field("tiny", description="tiny | run:<RUN_ID> | a folder | a Hub id; with base_url, the endpoint's model name")
    base_url: endpoints.EndpointURL = Field(None, description="OpenAI-compatible endpoint (vLLM, Ollama, `lab serve`, …)")
    api_key_env: endpoints.KeyEnv = Field(None, description="name of the environment variable holding the endpoint's key")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy")
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_new_tokens: int = Field(128, ge=1, le=8192)
    seed: int = 0
    system_prompt: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_file_name(cls, value: str) -> str:
        if not re.match(NAME_PATTERN, value):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names a file)")
        return value


class JudgeEndpoint(Strict):
    base_url: endpoints.EndpointURL = Field(None, description="OpenAI-compatible judge, e.g. http://127.0.0.1:8000/v1; empty = a local model judges by log-probability")
    model: str | None = Field(None, description="the endpoint's model (empty = the first it lists); without base_url a model the lab can load (empty = tiny)")
    api_key_env: endpoints.KeyEnv = Field(None, description="environment variable holding the key (OPENAI_API_KEY when set)")
    method: Literal["auto", "generate", "logprob"] = Field("auto", description="auto: generate for an endpoint, logprob for a local model")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=1, le=8192, description="length of the judge's rationale")
    concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once")
    max_retries: int = Field(4, ge=0, le=10, description="retries (with exponential backoff) on timeouts, 429 and 5xx")
    timeout_s: float = Field(120.0, gt=0)
    cache: bool = Field(True, description="reuse verdicts already asked with the same prompt, model and settings")

    @property
    def is_local(self) -> bool:
        return self.base_url is None

    @property
    def resolved_method(self) -> str:
        if self.method == "auto":
            return "generate" if self.base_url else "logprob"
        return self.method


def _two_tiny() -> list[Contestant]:
    return [Contestant(name="tiny-greedy", model="tiny", temperature=0.0),
            Contestant(name="tiny-t1", model="tiny", temperature=1.0)]


class JudgeSpec(Strict):
    """Contestants answer the questions (FastChat answer files), then the judge grades them: single
    1–10 ratings, or pairwise in both orders against a baseline or all pairs."""
    kind: Literal["judge"] = "judge"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    questions: QuestionSet = Field(default_factory=QuestionSet)
    contestants: list[Contestant] = Field(default_factory=_two_tiny, min_length=1)
    mode: JudgeMode = "pairwise-baseline"
    baseline: str | None = Field(None, description="pairwise-baseline: the contestant everyone is compared to (empty = the first)")
    judge: JudgeEndpoint = Field(default_factory=JudgeEndpoint)
    prompt_lang: Literal["ja", "en"] = Field("ja", description="language of the judge prompt")
    use_reference: bool = Field(True, description="show the reference answer to the judge when a question has one")
    answers_only: bool = Field(False, description="only generate the answers (no judging)")
    answers_from: str | None = Field(None, description="reuse the answers/ of this earlier judge run (missing ones are generated)")
    tie_margin: float = Field(0.1, ge=0.0, lt=1.0, description="logprob judge: |P(first model wins) − 0.5| below this is a tie")
    bootstrap_rounds: int = Field(1000, ge=50, le=100000)
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self):
        names = [c.name for c in self.contestants]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"contestants: the name '{dup[0]}' is used twice")
        if self.mode != "single" and len(names) < 2 and not self.answers_only:
            raise ValueError(f"mode: {self.mode} needs at least two contestants")
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline: '{self.baseline}' is not a contestant ({', '.join(names)})")
        if self.judge.resolved_method == "logprob" and not self.judge.is_local:
            raise ValueError("judge.method: logprob needs a local judge model (leave judge.base_url empty)")
        return self

    @property
    def baseline_name(self) -> str:
        return self.baseline or self.contestants[0].name


class EvalSpec(Strict):
    """llm-jp-eval-style automatic metrics of one model on a folder of task files."""
    kind: Literal["eval"] = "eval"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    model: ModelRef = Field(default_factory=ModelRef)
    tasks: str = Field("samples/eval_tasks_ja", description="a folder of task JSON files (llm-jp-eval layout) or one file")
    task_names: list[str] = Field(default_factory=list, description="only these tasks (empty = all in the folder)")
    max_samples: int | None = Field(None, ge=1, description="the first N samples of each task")
    num_few_shots: int = Field(0, ge=0, le=16, description="worked examples from the task's few_shots put before each question")
    max_new_tokens: int = Field(32, ge=1, le=1024, description="generation tasks: answer length cap (the task's output_length when smaller)")
