"""`lab inspect` shows what trains: its marks are the trainer's own labels (checked against a batch
from the Trainer's own dataloader), the trained text of a chat sample is exactly the assistant's
turns, a DPO sample trains its chosen and rejected replies and never the prompt, and a cut sample
says so."""
import json

from lab.presets import load_preset
from lab.train import sft
from lab.train.inspect import inspect_spec
from tests.conftest import lab

ROWS = [
    {"messages": [{"role": "user", "content": "富士山の高さは？"}, {"role": "assistant", "content": "3776メートルです。"}]},
    {"messages": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"},
                  {"role": "user", "content": "Again."}, {"role": "assistant", "content": "Hi again!"}]},
    {"messages": [{"role": "user", "content": "日本の首都は？"}, {"role": "assistant", "content": "東京です。"}]},
]
PAIRS = [
    {"prompt": [{"role": "user", "content": "挨拶して"}], "chosen": [{"role": "assistant", "content": "こんにちは。"}],
     "rejected": [{"role": "assistant", "content": "いやです。"}]},
    {"prompt": [{"role": "user", "content": "Add 2 and 2."}], "chosen": [{"role": "assistant", "content": "4"}],
     "rejected": [{"role": "assistant", "content": "5"}]},
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _sft_overrides(data):
    return [f"dataset.path={data}", "dataset.eval_split=0", "train.assistant_only_loss=true", "train.packing=false",
            "model.name=tiny"]


def _trained_text(segments):
    return "".join(text for text, trained in segments if trained)


def test_sft_marks_are_the_trainers_labels_and_exactly_the_assistant_turns(tiny_workspace, tmp_path):
    data = _write(tmp_path / "chat.jsonl", ROWS)
    spec = load_preset("sft-tiny", _sft_overrides(data))
    result = inspect_spec(spec, n=len(ROWS))
    assert result["kind"] == "sft" and len(result["samples"]) == len(ROWS)
    for row, sample in zip(ROWS, result["samples"]):
        replies = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        trained = _trained_text(sample["segments"])
        assert trained == "".join(r + "<|im_end|>" for r in replies)
        assert sample["trained_tokens"] == sum(t["trained"] for t in sample["tokens"]) < sample["total_tokens"]
        assert not sample["truncated"]

    # the same sequences and marks come out of the Trainer's own dataloader (its sampler shuffles)
    _, rows, _ = sft.load_training_rows(spec)
    trainer, _, _ = sft.build_trainer(spec, rows, None, tmp_path / "ckpt")
    shown = {(tuple(t["id"] for t in s["tokens"]), tuple(t["trained"] for t in s["tokens"])) for s in result["samples"]}
    seen = set()
    for batch in trainer.get_train_dataloader():
        for ids, labels, mask in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), batch["attention_mask"].tolist()):
            real = [i for i, m in enumerate(mask) if m]
            seen.add((tuple(ids[i] for i in real), tuple(labels[i] != -100 for i in real)))
    assert seen == shown


def test_a_cut_sample_is_marked_and_the_cli_prints_the_json_contract(tiny_workspace, tmp_path):
    data = _write(tmp_path / "chat.jsonl", ROWS)
    args = [a for o in _sft_overrides(data) + ["train.max_length=24"] for a in ("--set", o)]
    done = lab("inspect", "sft-tiny", "--n", "2", "--json", *args, workspace=tiny_workspace, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(out) == {"kind", "samples"} and len(out["samples"]) == 2
    short, long = out["samples"]  # 21 and 43 tokens before the cut
    assert set(long) == {"rendered", "tokens", "trained_tokens", "total_tokens", "truncated"}
    assert long["truncated"] and long["total_tokens"] == 24 and len(long["tokens"]) == 24
    assert not short["truncated"] and short["total_tokens"] < 24
    sample = long
    assert set(sample["tokens"][0]) == {"id", "text", "trained"}


def test_dpo_trains_both_replies_and_never_the_prompt(tiny_workspace, tmp_path):
    data = _write(tmp_path / "pairs.jsonl", PAIRS)
    spec = load_preset("dpo-tiny", [f"dataset.path={data}", "dataset.eval_split=0", "model.name=tiny"])
    result = inspect_spec(spec, n=2)
    for pair, sample in zip(PAIRS, result["samples"]):
        assert pair["prompt"][0]["content"] in sample["prompt"]
        for side in ("chosen", "rejected"):
            rec = sample[side]
            assert _trained_text(rec["segments"]).startswith(pair[side][0]["content"])
            assert pair["prompt"][0]["content"] not in _trained_text(rec["segments"])
            assert rec["rendered"].startswith(sample["prompt"])
        assert sample["tokens"] == sample["chosen"]["tokens"]


def test_a_job_without_training_data_is_a_one_line_error(tiny_workspace):
    done = lab("inspect", "rag-index", workspace=tiny_workspace, timeout=120)
    assert done.returncode == 2 and "has no training data to inspect" in done.stderr
    assert "Traceback" not in done.stderr
