"""Bad data is one line naming file, line and field; unusual but valid files are accepted."""
import json

import pytest

from lab.data.formats import load_rows
from lab.errors import UserError


def jsonl(tmp_path, rows, name="data.jsonl", newline="\n", bom=False, trailing=""):
    text = newline.join(json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r for r in rows) + newline + trailing
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


CHAT = {"messages": [{"role": "user", "content": "こんにちは"}, {"role": "assistant", "content": "こんにちは！"}]}


def test_missing_content_names_line_and_field(tmp_path):
    bad = {"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}
    path = jsonl(tmp_path, [CHAT, CHAT, bad])
    with pytest.raises(UserError) as e:
        load_rows(path)
    assert str(e.value) == "data.jsonl:3: messages[0].content: field required"


def test_invalid_json_line(tmp_path):
    path = jsonl(tmp_path, [CHAT, '{"messages": [}'])
    with pytest.raises(UserError, match=r"^data.jsonl:2: invalid JSON"):
        load_rows(path)


def test_bom_crlf_and_trailing_blank_lines_accepted(tmp_path):
    path = jsonl(tmp_path, [CHAT, CHAT], newline="\r\n", bom=True, trailing="\r\n\r\n")
    rows, fmt = load_rows(path)
    assert fmt == "messages" and len(rows) == 2


def test_blank_line_in_middle_keeps_line_numbers(tmp_path):
    path = jsonl(tmp_path, [CHAT, "", {"messages": [{"role": "robot", "content": "x"}]}])
    with pytest.raises(UserError, match=r"^data.jsonl:3: messages\[0\].role"):
        load_rows(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(json.dumps(CHAT).encode() + b"\n" + '{"text": "日本"}'.encode("shift_jis") + b"\n")
    with pytest.raises(UserError, match=r"^data.jsonl:2: not UTF-8"):
        load_rows(path)


def test_alpaca_and_sharegpt_become_messages(tmp_path):
    rows, fmt = load_rows(jsonl(tmp_path, [{"instruction": "要約して", "input": "長い文", "output": "短い文"}]))
    assert fmt == "alpaca"
    assert rows[0]["messages"][0] == {"role": "user", "content": "要約して\n\n長い文"}
    rows, fmt = load_rows(jsonl(tmp_path, [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}], "s.jsonl"))
    assert fmt == "sharegpt" and rows[0]["messages"][1] == {"role": "assistant", "content": "yo"}


def test_prompt_completion_and_alpaca_missing_output(tmp_path):
    rows, fmt = load_rows(jsonl(tmp_path, [{"prompt": "1+1=", "completion": "2"}]))
    assert fmt == "prompt_completion" and rows == [{"prompt": "1+1=", "completion": "2"}]
    path = jsonl(tmp_path, [{"instruction": "a", "output": "b"}, {"instruction": "a"}], "a.jsonl")
    with pytest.raises(UserError, match=r"^a.jsonl:2: output: field required"):
        load_rows(path, "alpaca")


def test_empty_and_unknown_format(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text("\n\n")
    with pytest.raises(UserError, match="no records"):
        load_rows(path)
    with pytest.raises(UserError, match=r"^u.jsonl:1: cannot tell the format"):
        load_rows(jsonl(tmp_path, [{"q": 1}], "u.jsonl"))


def test_conversation_needs_an_assistant_turn(tmp_path):
    path = jsonl(tmp_path, [{"messages": [{"role": "user", "content": "hi"}]}])
    with pytest.raises(UserError, match=r"data.jsonl:1: messages: needs at least one assistant message"):
        load_rows(path)
