"""The embedded tiny model teaches something on a laptop: its text never carries a broken character,
SFT makes it answer its own training questions, DPO makes it prefer the chosen answers of held-out
pairs and open its replies with the trait they teach, and a RAG answer quotes the retrieved passage.

One sft-tiny run and one dpo-tiny run from it are shared by every test of this module (module-scoped
fixtures). The SFT run is the shipped preset on its first 50 conversations for 150 steps (SUITE_SFT: under
a minute instead of three; it memorises them as the shipped run memorises all 180): the thresholds are the
issue's own, measured on the questions that run trained on. dpo-tiny runs as shipped. The shipped presets'
own figures are printed by bench/embedded_model.py. The RAG test asks tiny-rag (tiny after its bootstrap's
reading stage, which memorised the bundled reading questions with their passages) through the RAG chain."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory, tiny_models_dir):
    ws = tmp_path_factory.mktemp("embedded") / "ws"
    (ws / "runs").mkdir(parents=True)
    (ws / "models").symlink_to(tiny_models_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAB_WORKSPACE", str(ws))
        yield ws


def _result(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


SUITE_SFT = ("dataset.max_samples=50", "train.max_steps=150", "train.eval_strategy=no")


@pytest.fixture(scope="module")
def sft_run(module_workspace):
    """One sft-tiny run, shorter than shipped (the slow part of this module)."""
    sets = [arg for s in SUITE_SFT for arg in ("--set", s)]
    sft = _result(lab("run", "presets/sft-tiny.yaml", *sets, "--json", workspace=module_workspace, timeout=1200))
    return f"run:{sft['run_id']}"


@pytest.fixture(scope="module")
def dpo_run(sft_run, module_workspace):
    """dpo-tiny as shipped, from that SFT run."""
    dpo = _result(lab("run", "presets/dpo-tiny.yaml", "--set", f"model.name={sft_run}", "--json",
                      workspace=module_workspace, timeout=1200))
    return f"run:{dpo['run_id']}"


def test_the_tokenizer_keeps_every_bundled_character_whole_and_a_chat_template(module_workspace, tiny_models_dir):
    from transformers import AutoTokenizer, GenerationConfig

    from lab.models import tiny

    tokenizer = AutoTokenizer.from_pretrained(tiny_models_dir / "tiny")
    byte_ids = set(tiny.byte_token_ids(tokenizer))
    text = "".join(tiny._texts())
    assert not byte_ids & set(tokenizer(text)["input_ids"]), "a bundled character fell back to bytes"
    assert byte_ids <= set(GenerationConfig.from_pretrained(tiny_models_dir / "tiny").suppress_tokens)
    rare = "𠮷"  # not in the bundled texts: bytes in, the same character out
    assert tokenizer.decode(tokenizer(rare)["input_ids"]) == rare
    chat = [{"role": "user", "content": "こんにちは"}, {"role": "assistant", "content": "はい。"}]
    masks = tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)["assistant_masks"]
    assert any(masks) and not all(masks)


def test_two_hundred_replies_sampled_at_temperature_one_carry_no_replacement_character(module_workspace):
    from lab.models.embedded_checks import fffd_count

    assert fffd_count("tiny", 200, temperature=1.0) == 0


def test_a_streamed_chat_never_shows_a_broken_character_and_the_process_exits_cleanly(module_workspace):
    """Also a reader that walks away mid-reply: its generate thread must not outlive the interpreter
    ("terminate called without an active exception")."""
    script = (
        "import sys\n"
        "from lab.models.chat import stream_reply, stream_many\n"
        "seen = list(stream_reply('tiny', [{'role': 'user', 'content': '日本の首都はどこですか？'}], max_new_tokens=48, temperature=1.0))\n"
        "assert seen and not any('\\ufffd' in s for s in seen), seen\n"
        "g = stream_many(['tiny', 'tiny'], [[{'role': 'user', 'content': '富士山について教えて'}]] * 2, max_new_tokens=200, temperature=1.0)\n"
        "next(g)\n"
        "g.close()\n"
        "sys.stdout.write('ok')\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "LAB_WORKSPACE": str(module_workspace)})
    assert proc.returncode == 0 and proc.stdout.endswith("ok"), proc.stderr[-2000:]
    assert "terminate called" not in proc.stderr


def test_sft_tiny_makes_the_model_answer_its_own_training_questions(sft_run):
    from lab.models.embedded_checks import sft_f1

    base, trained = sft_f1("tiny", sets=SUITE_SFT), sft_f1(sft_run, sets=SUITE_SFT)
    assert base.mean <= 0.15, base.answers
    assert trained.mean >= 0.5, list(zip(trained.answers, trained.references))


def test_dpo_tiny_from_that_run_prefers_the_chosen_answers_of_held_out_pairs_and_shows_the_trait(sft_run, dpo_run):
    from lab.models.embedded_checks import DPO_TRAIT, dpo_reward_accuracy, dpo_trait

    result = dpo_reward_accuracy(dpo_run, sft_run)
    assert result.n >= 5 and result.accuracy >= 0.8, result
    before, after = dpo_trait(sft_run), dpo_trait(dpo_run)
    assert before.share == 0, before.replies  # the SFT model never thanks: the trait comes from the pairs
    assert after.share >= 0.5, (DPO_TRAIT, after.replies)


def test_rag_answers_of_tiny_rag_quote_the_gold_span_and_differ_without_retrieval(module_workspace):
    from lab.models.embedded_checks import rag_span_hits

    _result(lab("run", "presets/rag-index.yaml", "--set", "index=default", "--json", workspace=module_workspace, timeout=900))
    hits = rag_span_hits("tiny-rag", "default", splits=("train",))["train"]
    assert hits.with_retrieval >= 0.5, [e[1:3] for e in hits.examples]
    # visible on screen: measured 91% / 24% here (78% / 28% with another training seed)
    assert hits.with_retrieval - hits.without_retrieval >= 0.3, (hits.with_retrieval, hits.without_retrieval)
