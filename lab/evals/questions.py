"""Question sets in the MT-bench / Japanese Vicuna QA JSONL schema, one question per line:

    {"question_id": 1, "category": "writing", "turns": ["…", "…"], "reference": ["…"]}

`turns` are the user's messages (one, or more for a multi-turn question); `reference` (optional) is a
reference answer per turn for reference-guided grading. The older Vicuna form {"text": "…"} is read
as a single turn. A bad line is one error naming the file, the line and the field."""
from __future__ import annotations

from pathlib import Path
from typing import Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..data.formats import read_records
from ..errors import UserError
from ..jsonl import validate
from ..paths import resolve_input


class Question(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question_id: Union[int, str]
    category: str = Field("general", min_length=1)
    turns: list[str] = Field(..., min_length=1)
    reference: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _vicuna_text(cls, data):
        if isinstance(data, dict) and "turns" not in data and isinstance(data.get("text"), str):
            data = {**data, "turns": [data["text"]]}
        return data

    @field_validator("turns")
    @classmethod
    def _non_empty_turns(cls, turns: list[str]) -> list[str]:
        for i, turn in enumerate(turns):
            if not turn.strip():
                raise ValueError(f"turn {i + 1} is empty")
        return turns

    @field_validator("reference", mode="before")
    @classmethod
    def _reference_list(cls, value):
        if isinstance(value, str):
            return [value]
        return value or None

    @property
    def has_reference(self) -> bool:
        return bool(self.reference and any(r.strip() for r in self.reference))

    def to_json(self) -> dict:
        return self.model_dump(exclude_none=True)


def load_questions(path: str | Path, categories: list[str] | None = None, max_questions: int | None = None) -> list[Question]:
    file = resolve_input(str(path), "question file")
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for lineno, record in read_records(file):
        q = validate(Question, record, file.name, lineno, "question")
        key = str(q.question_id)
        if key in seen:
            raise UserError(f"{file.name}:{lineno}: question_id: {key} is already used on line {seen[key]}")
        seen[key] = lineno
        questions.append(q)
    if categories:
        known = {q.category for q in questions}
        missing = [c for c in categories if c not in known]
        if missing:
            raise UserError(f"questions.categories: '{missing[0]}' is not a category of {file.name} ({', '.join(sorted(known))})")
        questions = [q for q in questions if q.category in categories]
    if max_questions:
        questions = questions[:max_questions]
    return questions


def categories_of(questions: list[Question]) -> list[str]:
    out: list[str] = []
    for q in questions:
        if q.category not in out:
            out.append(q.category)
    return out
