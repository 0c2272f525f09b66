"""Task files for the metrics eval, in llm-jp-eval's layout (one JSON file per task):

    {"name": "jqa_exact", "instruction": "…", "output_length": 16,
     "metrics": ["exact_match", "char_f1"],
     "few_shots": [{"input": "…", "output": "…"}],
     "samples":   [{"input": "…", "output": "…"}]}

A multiple-choice task lists "mc_loglik" as its metric and gives each sample "choices" and the
index of the right one in "gold" ("output" is then optional). A bad sample is one error naming
the file, its line and the field."""
from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import UserError
from ..paths import resolve_input
from ..jsonl import field_path

_LEADING_FIELD = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*): (.*)$", re.S)
GENERATION_METRICS = ("exact_match", "char_f1", "set_f1")
MC_METRIC = "mc_loglik"


class Sample(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: str = Field(..., min_length=1)
    output: str | None = None
    choices: list[str] | None = Field(None, min_length=2)
    gold: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _answer(self):
        if self.choices is not None:
            if self.gold is None:
                raise ValueError("gold: the index of the right choice is required with choices")
            if self.gold >= len(self.choices):
                raise ValueError(f"gold: {self.gold} is not an index of the {len(self.choices)} choices")
        elif self.output is None:
            raise ValueError("output: field required")
        return self

    @property
    def answer(self) -> str:
        return self.choices[self.gold] if self.choices is not None else (self.output or "")


class Task(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = ""
    instruction: str = Field(..., min_length=1)
    output_length: int = Field(32, ge=1)
    metrics: list[str] = Field(..., min_length=1)
    few_shots: list[Sample] = Field(default_factory=list)
    samples: list[Sample] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _known_metrics(self):
        for m in self.metrics:
            if m not in GENERATION_METRICS + (MC_METRIC,):
                raise ValueError(f"metrics: '{m}' is not a metric of the lab ({', '.join(GENERATION_METRICS + (MC_METRIC,))})")
        if MC_METRIC in self.metrics and len(self.metrics) > 1:
            raise ValueError(f"metrics: {MC_METRIC} is a task of its own (scores choices, generates nothing)")
        if self.is_mc:
            for i, s in enumerate(self.samples):
                if s.choices is None:
                    raise ValueError(f"samples[{i}].choices: a {MC_METRIC} task needs choices and gold")
        return self

    @property
    def is_mc(self) -> bool:
        return MC_METRIC in self.metrics


def _element_lines(text: str, key: str) -> list[int]:
    """1-based line of each element of the top-level array `key` (for error messages)."""
    decoder = json.JSONDecoder()
    start = text.find(f'"{key}"')
    if start < 0:
        return []
    pos = text.find("[", start) + 1
    lines = []
    while pos > 0:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        lines.append(text.count("\n", 0, pos) + 1)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
    return lines


def _line_of_field(text: str, field: str) -> int:
    element = re.match(r"^(samples|few_shots)\[(\d+)\]", field)
    if element:
        lines = _element_lines(text, element.group(1))
        index = int(element.group(2))
        if index < len(lines):
            return lines[index]
    key_at = text.find(f'"{field.split(".")[0].split("[")[0]}"') if field else -1
    return text.count("\n", 0, key_at) + 1 if key_at >= 0 else 1


def load_task(path: Path) -> Task:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path.name}: not UTF-8 text (byte {e.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{path.name}:{e.lineno}: invalid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path.name}:1: a task file is a JSON object (instruction, metrics, samples, …)")
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "field required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        field = field_path(err["loc"])
        named = _LEADING_FIELD.match(msg)
        if named and err["type"] == "value_error":  # a check that names its own field first
            field = ".".join(p for p in (field, named.group(1)) if p)
            msg = named.group(2)
        line = _line_of_field(text, field)
        raise UserError(f"{path.name}:{line}: {field or 'task'}: {msg[:1].lower() + msg[1:]}") from None
    task.name = task.name or path.stem
    return task


def load_tasks(location: str, names: list[str] | None = None) -> list[Task]:
    path = resolve_input(location, "task folder")
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise UserError(f"{location}: no task files (*.json)")
    tasks = [load_task(f) for f in files]
    if names:
        known = {t.name for t in tasks}
        missing = [n for n in names if n not in known]
        if missing:
            raise UserError(f"task_names: '{missing[0]}' is not a task in {location} ({', '.join(sorted(known))})")
        tasks = [t for t in tasks if t.name in names]
    return tasks


def prompt(task: Task, sample: Sample, num_few_shots: int = 0) -> str:
    """The raw-text prompt (no chat template, as llm-jp-eval prompts a model): the instruction, worked
    examples, then the question with the answer to come right after "出力："."""
    parts = [task.instruction.strip(), ""]
    for shot in task.few_shots[:num_few_shots]:
        parts += [_input_block(shot), f"出力：{shot.answer}", ""]
    parts += [_input_block(sample), "出力："]
    return "\n".join(parts)


def _input_block(sample: Sample) -> str:
    text = f"入力：{sample.input.strip()}"
    if sample.choices is not None:
        text += "\n選択肢：" + "、".join(sample.choices)
    return text
