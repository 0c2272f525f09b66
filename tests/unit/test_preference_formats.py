"""Preference data: pairs (strings or chat), HH-RLHF dialogues and KTO rows; a bad row names its line."""
import json

import pytest

from lab.data.formats import load_rows
from lab.errors import UserError
from lab.paths import SAMPLES_DIR

PAIR = {"prompt": "日本の首都は？", "chosen": "東京です。", "rejected": "大阪です。"}


def write(tmp_path, rows, name="pref.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_missing_rejected_names_line_and_field(tmp_path):
    path = write(tmp_path, [PAIR, PAIR, {"prompt": "a", "chosen": "b"}])
    with pytest.raises(UserError) as e:
        load_rows(path, "auto", ("preference", "hh_rlhf"))
    assert str(e.value) == "pref.jsonl:3: rejected: field required"


def test_hh_rlhf_dialogue_becomes_a_conversational_pair(tmp_path):
    row = {"chosen": "\n\nHuman: こんにちは\n\nAssistant: やあ\n\nHuman: 首都は？\n\nAssistant: 東京です。",
           "rejected": "\n\nHuman: こんにちは\n\nAssistant: やあ\n\nHuman: 首都は？\n\nAssistant: 知らない。"}
    rows, fmt = load_rows(write(tmp_path, [row]), "auto", ("preference", "hh_rlhf"))
    assert fmt == "hh_rlhf"
    assert [m["role"] for m in rows[0]["prompt"]] == ["user", "assistant", "user"]
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "東京です。"}]
    assert rows[0]["rejected"] == [{"role": "assistant", "content": "知らない。"}]


def test_hh_rlhf_with_different_dialogues_is_refused(tmp_path):
    row = {"chosen": "\n\nHuman: A\n\nAssistant: x", "rejected": "\n\nHuman: B\n\nAssistant: y"}
    with pytest.raises(UserError, match=r"^pref.jsonl:1: rejected: must share the dialogue"):
        load_rows(write(tmp_path, [row]), "auto", ("preference", "hh_rlhf"))


def test_kto_rows_and_wrong_kind_of_data(tmp_path):
    rows, fmt = load_rows(write(tmp_path, [{"prompt": "q", "completion": "a", "label": True}]), "auto", ("kto",))
    assert fmt == "kto" and rows[0]["label"] is True
    with pytest.raises(UserError, match="format 'preference' does not fit this job"):
        load_rows(write(tmp_path, [PAIR], "p2.jsonl"), "auto", ("kto",))
    with pytest.raises(UserError, match=r"^k.jsonl:1: label: input should be a valid boolean"):
        load_rows(write(tmp_path, [{"prompt": "q", "completion": "a", "label": "maybe"}], "k.jsonl"), "auto", ("kto",))


@pytest.mark.parametrize("name,fmt,allowed", [("dpo_ja.jsonl", "preference", ("preference", "hh_rlhf")),
                                              ("hh_ja.jsonl", "hh_rlhf", ("preference", "hh_rlhf")),
                                              ("kto_ja.jsonl", "kto", ("kto",))])
def test_bundled_preference_samples_load(name, fmt, allowed):
    rows, detected = load_rows(SAMPLES_DIR / name, "auto", allowed)
    assert detected == fmt and len(rows) >= 20
