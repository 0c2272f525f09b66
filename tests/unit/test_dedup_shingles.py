"""Shingle hashes are computed in batches with numpy; Jaccard on them equals Jaccard on the strings."""
import random

import pytest

from lab.dedup.normalize import normalizer
from lab.dedup.shingles import batch_hashes, choose_unit, jaccard
from lab.dedup.spec import NormalizeSpec


def string_jaccard(a: str, b: str, n: int, unit: str) -> float:
    def grams(t):
        units = list(t) if unit == "char" else t.split()
        if 0 < len(units) < n:
            return {tuple(units)}
        return {tuple(units[i:i + n]) for i in range(len(units) - n + 1)}
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


@pytest.mark.parametrize("unit", ["char", "word"])
def test_hashed_jaccard_equals_string_jaccard(unit):
    rng = random.Random(7)
    words = ["東京", "大阪", "rain", "雨", "sun", "晴れ", "cloud", "雲"]
    for _ in range(150):
        n = rng.randint(1, 6)
        a = (" " if unit == "word" else "").join(rng.choices(words, k=rng.randint(0, 40)))
        b = a[: rng.randint(0, len(a))] + (" " if unit == "word" else "") + "".join(rng.choices(words, k=rng.randint(0, 6)))
        assert jaccard(a, b, n, unit) == pytest.approx(string_jaccard(a, b, n, unit))


def test_windows_never_cross_document_boundaries():
    hashes, offsets = batch_hashes(["あいうえお", "かきくけこ", "", "さし"], 3, "char")
    assert offsets.tolist() == [0, 3, 6, 6, 7]  # 3 + 3 windows, an empty doc, a short doc as one shingle
    alone, _ = batch_hashes(["かきくけこ"], 3, "char")
    assert hashes[3:6].tolist() == alone.tolist()


def test_normalisation_makes_style_copies_identical():
    norm = normalizer(NormalizeSpec(punctuation=True))
    original = "価格は100円です。今日、買いました。"
    copy = "  価格は１００円です．今日，買いました．\n\n"
    assert norm(copy) == norm(original)
    assert normalizer(NormalizeSpec())(copy) != normalizer(NormalizeSpec())(original)
    assert norm("円周率は3.14です。") == "円周率は3.14です。"  # a decimal point is not a Japanese full stop


def test_unit_is_char_for_japanese_and_word_for_english():
    assert choose_unit(["今日は晴れです。明日は雨でしょう。"]) == "char"
    assert choose_unit(["The quick brown fox jumps over the lazy dog."]) == "word"
