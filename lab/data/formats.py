"""Training data files: read JSONL/JSON, detect the format, validate every row, and convert to
what TRL takes (conversational `messages`, `prompt`/`completion`, or plain `text`).

A bad row is one line naming the file, the line and the field: `data.jsonl:3: messages[0].content:
field required`. Unusual but valid files (UTF-8 BOM, CRLF, blank lines) are fine."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import jsonl
from ..errors import UserError


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Message(_Row):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class MessagesRow(_Row):
    messages: list[Message] = Field(..., min_length=1)

    @field_validator("messages")
    @classmethod
    def _has_assistant(cls, messages):
        if not any(m.role == "assistant" for m in messages):
            raise ValueError("needs at least one assistant message")
        return messages


class AlpacaRow(_Row):
    instruction: str
    input: str = ""
    output: str
    system: str | None = None


class ShareGPTTurn(_Row):
    speaker: Literal["system", "human", "user", "gpt", "assistant"] = Field(..., alias="from")
    value: str


class ShareGPTRow(_Row):
    conversations: list[ShareGPTTurn] = Field(..., min_length=1)


class PromptCompletionRow(_Row):
    prompt: Union[str, list[Message]]
    completion: Union[str, list[Message]]


class TextRow(_Row):
    text: str = Field(..., min_length=1)


Turn = Union[str, list[Message]]


class PreferenceRow(_Row):
    """prompt / chosen / rejected, as strings or as chat messages (TRL's two preference shapes)."""
    prompt: Turn
    chosen: Turn
    rejected: Turn


class HHRow(_Row):
    """Anthropic HH-RLHF style: two whole dialogues in "\n\nHuman: … \n\nAssistant: …" text."""
    chosen: str
    rejected: str


class KTORow(_Row):
    prompt: Turn
    completion: Turn
    label: bool


ROW_MODELS: dict[str, type[_Row]] = {
    "messages": MessagesRow, "alpaca": AlpacaRow, "sharegpt": ShareGPTRow,
    "prompt_completion": PromptCompletionRow, "text": TextRow,
    "preference": PreferenceRow, "hh_rlhf": HHRow, "kto": KTORow,
}
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def read_records(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for each record of a .jsonl or .json file."""
    name = path.name
    if path.suffix.lower() == ".json":
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise UserError(f"{path}: cannot read ({e.strerror})") from None
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as e:
            raise UserError(f"{name}: not UTF-8 text (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise UserError(f"{name}:{e.lineno}: invalid JSON: {e.msg}") from None
        if not isinstance(data, list):
            raise UserError(f"{name}:1: a .json data file holds a list of records")
        return [(i + 1, r) for i, r in enumerate(data)]
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        raise UserError(f"{name}: unsupported file type '{path.suffix}' (use .jsonl or .json)")
    return jsonl.read_records(path)


def detect_format(record: dict) -> str | None:
    if "chosen" in record or "rejected" in record:
        return "preference" if "prompt" in record else "hh_rlhf"
    if "label" in record and "completion" in record:
        return "kto"
    if "messages" in record:
        return "messages"
    if "conversations" in record:
        return "sharegpt"
    if "instruction" in record and "output" in record:
        return "alpaca"
    if "prompt" in record and "completion" in record:
        return "prompt_completion"
    if "text" in record:
        return "text"
    return None


_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def _hh_messages(text: str) -> list[dict]:
    parts = _HH_TURN.split("\n\n" + text.lstrip("\n") if not text.startswith("\n\n") else text)
    messages = []
    for speaker, content in zip(parts[1::2], parts[2::2]):
        messages.append({"role": "user" if speaker == "Human" else "assistant", "content": content.strip()})
    return messages


def _hh_to_preference(row: HHRow) -> dict[str, Any]:
    chosen, rejected = _hh_messages(row.chosen), _hh_messages(row.rejected)
    if not chosen or chosen[-1]["role"] != "assistant" or not rejected or rejected[-1]["role"] != "assistant":
        raise ValueError("chosen: expected '\\n\\nHuman: …\\n\\nAssistant: …' dialogue text")
    if chosen[:-1] != rejected[:-1]:
        raise ValueError("rejected: must share the dialogue of chosen up to its last assistant turn")
    return {"prompt": chosen[:-1], "chosen": chosen[-1:], "rejected": rejected[-1:]}


def _turn(value):
    return value if isinstance(value, str) else [m.model_dump() for m in value]


def to_trl(fmt: str, row: _Row) -> dict[str, Any]:
    if isinstance(row, PreferenceRow):
        return {"prompt": _turn(row.prompt), "chosen": _turn(row.chosen), "rejected": _turn(row.rejected)}
    if isinstance(row, HHRow):
        return _hh_to_preference(row)
    if isinstance(row, KTORow):
        return {"prompt": _turn(row.prompt), "completion": _turn(row.completion), "label": row.label}
    if isinstance(row, MessagesRow):
        return {"messages": [m.model_dump() for m in row.messages]}
    if isinstance(row, AlpacaRow):
        user = row.instruction if not row.input else f"{row.instruction}\n\n{row.input}"
        system = [{"role": "system", "content": row.system}] if row.system else []
        return {"messages": system + [{"role": "user", "content": user}, {"role": "assistant", "content": row.output}]}
    if isinstance(row, ShareGPTRow):
        return {"messages": [{"role": _SHAREGPT_ROLES[t.speaker], "content": t.value} for t in row.conversations]}
    if isinstance(row, PromptCompletionRow):
        return {"prompt": _turn(row.prompt), "completion": _turn(row.completion)}
    return {"text": row.text}


def load_rows(path: Path, fmt: str = "auto", allowed: tuple[str, ...] = tuple(ROW_MODELS),
              max_samples: int | None = None) -> tuple[list[dict], str]:
    """Validate every record and return (rows in TRL's shape, the format used)."""
    records = read_records(path)
    name = path.name
    if fmt == "auto":
        fmt = detect_format(records[0][1])
        if fmt is None:
            keys = ", ".join(sorted(records[0][1])) or "none"
            raise UserError(f"{name}:{records[0][0]}: cannot tell the format from its keys ({keys}); "
                            f"expected one of: messages, conversations, instruction+output, prompt+completion, text")
    if fmt not in allowed:
        raise UserError(f"{name}: format '{fmt}' does not fit this job (use {', '.join(allowed)})")
    model = ROW_MODELS[fmt]
    rows = []
    for lineno, record in records[:max_samples] if max_samples else records:
        try:
            rows.append(to_trl(fmt, model.model_validate(record)))
        except ValidationError as exc:
            raise jsonl.LineError(name, lineno, jsonl.validation_reason(exc)) from None
        except ValueError as exc:  # a conversion check names its field first
            raise UserError(f"{name}:{lineno}: {exc}") from None
    return rows, fmt
