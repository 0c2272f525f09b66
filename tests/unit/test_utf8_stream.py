"""No broken characters: a streamed reply holds back a character split across tokens until it is
whole, and constrained decoding lets a byte-level model write only valid UTF-8."""
from __future__ import annotations

import random

import pytest

from lab.models import utf8


def test_a_trailing_incomplete_character_is_held_back():
    assert utf8.stable_text("日本\ufffd") == "日本"
    assert utf8.stable_text("日本\ufffd\ufffd") == "日本"
    assert utf8.stable_text("日本語") == "日本語"


@pytest.mark.parametrize("text", ["日本語", "abc", "é", "𠮷😀", "\u07ff\u0800\uffff"])
def test_the_automaton_accepts_valid_utf8_and_ends_between_characters(text):
    assert utf8.run(0, text.encode("utf-8")) == 0
    data = text.encode("utf-8")
    if len(data) > 1 and data[-1] >= 0x80:
        assert utf8.run(0, data[:-1]) not in (0, utf8.DEAD)  # mid-character


@pytest.mark.parametrize("data", [b"\x80", b"\xc0\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"\xe3a"])
def test_the_automaton_refuses_what_never_decodes(data):
    assert utf8.run(0, data) == utf8.DEAD


def _byte_level_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|end|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["日本で一番大きい湖は琵琶湖です。", "富士山の高さは3776メートルです。", "hello world"] * 20, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>")


def test_random_sampling_under_the_constraint_always_decodes():
    """A byte-level vocabulary where most tokens are lone bytes: unconstrained random picks are almost
    never valid UTF-8; constrained picks always are, and the end token comes only between characters."""
    import torch

    tokenizer = _byte_level_tokenizer()
    size = len(tokenizer)
    rng = random.Random(0)
    torch.manual_seed(0)
    for _ in range(50):
        proc = utf8.utf8_processor(tokenizer)
        ids = torch.tensor([[tokenizer.eos_token_id]])
        for _ in range(30):
            scores = proc(ids, torch.randn(1, size))
            allowed = torch.isfinite(scores[0]).nonzero()[:, 0].tolist()
            ids = torch.cat([ids, torch.tensor([[rng.choice(allowed)]])], dim=1)
            if ids[0, -1] == tokenizer.eos_token_id:
                break
        text = tokenizer.decode(ids[0, 1:], skip_special_tokens=True)
        if ids[0, -1] == tokenizer.eos_token_id:
            assert "\ufffd" not in text
        else:  # cut by the step limit: at most an incomplete last character
            assert "\ufffd" not in utf8.final_text(text)


def test_a_batch_keeps_one_state_per_row():
    import torch

    tokenizer = _byte_level_tokenizer()
    proc = utf8.utf8_processor(tokenizer)
    lead = tokenizer.convert_tokens_to_ids("ã")  # byte 0xE3: a 3-byte character starts
    ids = torch.tensor([[0], [0]])
    proc(ids, torch.zeros(2, len(tokenizer)))
    ids = torch.cat([ids, torch.tensor([[lead], [tokenizer.convert_tokens_to_ids("a")]])], dim=1)
    scores = proc(ids, torch.zeros(2, len(tokenizer)))
    assert not torch.isfinite(scores[0, tokenizer.convert_tokens_to_ids("a")])  # row 0 is mid-character
    assert torch.isfinite(scores[1, tokenizer.convert_tokens_to_ids("a")])
    assert not torch.isfinite(scores[0, tokenizer.eos_token_id]) and torch.isfinite(scores[1, tokenizer.eos_token_id])
