"""The one reader of user JSONL files (lab/jsonl.py): every problem is one line naming the file, the
line and, for a record that does not fit its model, the field."""
from __future__ import annotations

import pickle

import pytest
from pydantic import BaseModel

from lab import jsonl
from lab.errors import UserError


class Chat(BaseModel):
    messages: list[dict[str, str]]


def write(tmp_path, data: bytes, name: str = "d.jsonl"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_lines_are_numbered_as_an_editor_numbers_them(tmp_path):
    path = write(tmp_path, b'\xef\xbb\xbf{"a": 1}\r\n\r\n  \n{"a": 2}\n{"a": 3}')
    assert jsonl.read_records(path) == [(1, {"a": 1}), (4, {"a": 2}), (5, {"a": 3})]


@pytest.mark.parametrize("data, message", [
    (b'{"a": 1}\n{"a": 2,}\n', r"^d.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes \(column 9\)$"),
    (b'{"a": 1}\n\n[1, 2]\n', r"^d.jsonl:3: each line must be a JSON object$"),
    (b'{"a": 1}\n{"a": "\xff"}\n', r"^d.jsonl:2: not UTF-8 text \(byte 7\)$"),
    (b"\n\n", r"^d.jsonl: no records \(the file is empty\)$"),
])
def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path, data, message):
    with pytest.raises(UserError, match=message):
        jsonl.read_records(write(tmp_path, data))


def test_a_record_that_does_not_fit_names_its_field(tmp_path):
    path = write(tmp_path, b'{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": [{"role": 1}]}\n')
    rows = [(n, r) for n, r in jsonl.records(path)]
    assert jsonl.validate(Chat, rows[0][1], path.name, rows[0][0]).messages[0]["content"] == "hi"
    with pytest.raises(UserError, match=r"^d.jsonl:2: messages\[0\].role: input should be a valid string$"):
        jsonl.validate(Chat, rows[1][1], path.name, rows[1][0])
    with pytest.raises(UserError, match=r"^d.jsonl:7: messages: field required$"):
        jsonl.validate(Chat, {}, path.name, 7)


def test_a_lenient_reader_gets_every_bad_line_and_goes_on(tmp_path):
    path = write(tmp_path, b'{"a": 1}\nnot json\n"text"\n{"a": 4}\n')
    out = list(jsonl.parse_lines(path, "docs/d.jsonl"))
    assert [n for n, _ in out] == [1, 2, 3, 4] and out[3][1] == {"a": 4}
    bad = out[1][1]
    assert isinstance(bad, jsonl.LineError) and bad.lineno == 2 and str(bad).startswith("docs/d.jsonl:2: invalid JSON")
    assert pickle.loads(pickle.dumps(bad)).reason == bad.reason
    text = list(jsonl.parse_text('\ufeff{"a": 1}\r\n\r\n{"b": 2}', "t.jsonl"))
    assert text == [(1, {"a": 1}), (3, {"b": 2})]


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r"nope.jsonl: cannot read \(No such file or directory\)"):
        jsonl.read_records(tmp_path / "nope.jsonl")
