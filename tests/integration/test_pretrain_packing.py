"""Pre-training packs documents into blocks without losing any text: a document longer than a block
continues in the next ones (TRL's own default, "bfd", would keep only its first max_length tokens).
Checked on the blocks the trainer itself prepares (`lab inspect`'s view), on the tiny tokenizer."""
import json

from lab.presets import validate
from lab.train.inspect import inspect_spec

LONG = "".join(f"第{i}段落：富士山は静岡県と山梨県にまたがる日本一高い山です。" for i in range(1, 13))
SHORT = "短い文書です。"


def _blocks(tmp_path, *sets):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in (LONG, SHORT)), encoding="utf-8")
    train = {"max_length": 64, **dict(s.split("=", 1) for s in sets)}
    spec = validate({"kind": "pretrain", "model": {"name": "tiny"}, "dataset": {"path": str(corpus)}, "train": train}, "test")
    return inspect_spec(spec, n=100)["samples"]


def test_a_document_longer_than_a_block_is_trained_whole(tiny_workspace, tmp_path):
    blocks = _blocks(tmp_path)  # the pretrain kind's own default (presets/pretrain-tiny.yaml asks for bfd)
    text = "".join(b["rendered"] for b in blocks)
    assert len(blocks) > 2 and all(b["total_tokens"] <= 64 for b in blocks)
    assert "第12段落" in text and SHORT in text  # the end of the long document is there
    assert text.count("富士山") == LONG.count("富士山")  # and nothing twice


def test_the_truncating_strategy_is_still_there_when_asked_for(tiny_workspace, tmp_path):
    text = "".join(b["rendered"] for b in _blocks(tmp_path, "packing_strategy=bfd"))
    assert "第12段落" not in text and SHORT in text
