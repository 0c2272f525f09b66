"""JSON Lines a user gives the lab (datasets, question sets, QA sets, corpora, documents), read one
object per line, with every problem one line naming the file, the line and the field:

    data.jsonl:3: invalid JSON: Expecting ',' delimiter (column 17)
    data.jsonl:3: messages[0].content: field required

Lines end with \\n or \\r\\n, as JSON Lines says (a \\r alone is whitespace inside a line); blank
lines are skipped; a UTF-8 byte-order mark is dropped. A file is read as a stream, so a large corpus
is never held whole. (The lab's own append-only files, such as events.jsonl or a judge's cache, skip
a line cut by a crash instead: they have their own small readers.)"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import UserError

M = TypeVar("M", bound=BaseModel)
_LINE_END = re.compile(r"\r?\n")


class LineError(UserError):
    """One bad line: `name:lineno: reason`."""

    def __init__(self, name: str, lineno: int, reason: str):
        self.name, self.lineno, self.reason = name, lineno, reason
        super().__init__(f"{name}:{lineno}: {reason}")

    def __reduce__(self):  # rebuilt from its parts, not from the message
        return LineError, (self.name, self.lineno, self.reason)


def _record(name: str, lineno: int, line: str) -> dict | LineError:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return LineError(name, lineno, f"invalid JSON: {e.msg} (column {e.colno})")
    if not isinstance(obj, dict):
        return LineError(name, lineno, "each line must be a JSON object")
    return obj


def parse_lines(path: str | Path, name: str | None = None) -> Iterator[tuple[int, dict | LineError]]:
    """(line number, object or the LineError saying what is wrong with that line) for each non-blank
    line, for a reader that reports every bad line and goes on. A file that cannot be opened raises."""
    path = Path(path)
    name = name or path.name
    try:
        with open(path, "rb", buffering=1 << 20) as f:
            yield from _parse_raw(f, name)
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None


def _parse_raw(lines: Iterable[bytes], name: str) -> Iterator[tuple[int, dict | LineError]]:
    for lineno, raw in enumerate(lines, start=1):
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield lineno, LineError(name, lineno, f"not UTF-8 text (byte {e.start})")
            continue
        yield lineno, _record(name, lineno, text)


def parse_text(text: str, name: str) -> Iterator[tuple[int, dict | LineError]]:
    """As parse_lines, for text already decoded (a reader that accepts more encodings than UTF-8)."""
    for lineno, line in enumerate(_LINE_END.split(text.removeprefix("\ufeff")), start=1):
        if line.strip():
            yield lineno, _record(name, lineno, line)


def records(path: str | Path, name: str | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each line; the first bad line raises its LineError."""
    for lineno, item in parse_lines(path, name):
        if isinstance(item, LineError):
            raise item
        yield lineno, item


def read_records(path: str | Path, name: str | None = None) -> list[tuple[int, dict]]:
    """Every (line number, object) of the file, which must hold at least one."""
    out = list(records(path, name))
    if not out:
        raise UserError(f"{name or Path(path).name}: no records (the file is empty)")
    return out


# ---- one record into its pydantic model ---------------------------------------------------------------
def field_path(loc: Iterable) -> str:
    """pydantic's error location as the spec's own dotted path: messages[0].content."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def validation_reason(exc: ValidationError, default_field: str = "row") -> str:
    """`field: message` for the first error, the way a reader shows it after `file:line: `."""
    err = exc.errors()[0]
    field = field_path(err["loc"]) or default_field
    msg = "field required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
    return f"{field}: {msg[:1].lower() + msg[1:]}"


def validate(model: type[M], record: dict, name: str, lineno: int, default_field: str = "row") -> M:
    """`model` from one line's object, or the LineError `name:lineno: field: message`."""
    try:
        return model.model_validate(record)
    except ValidationError as exc:
        raise LineError(name, lineno, validation_reason(exc, default_field)) from None
