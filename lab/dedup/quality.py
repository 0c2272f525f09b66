"""Rule-based quality filters with their published thresholds.

Swallow (Okazaki et al. 2024, Japanese web corpus): letter counts, the shares of hiragana, katakana
and Japanese letters, sentence lengths, sentences ending in an ellipsis, repeated lines/sentences,
the most frequent and the repeated character n-grams, and the share of NG expressions.
Gopher (Rae et al. 2021, table A1, English): word counts and lengths, #/… per word, bullet and
ellipsis lines, alphabetic words, stop words, and the repetition rules on lines, paragraphs and
word n-grams.

A rule is a small function of the document's statistics that returns the measured value; the rule
table says whether the document must stay at or above (`min`) or at or below (`max`) the threshold.
`check` runs the rules of the document's language in order and reports the first one it breaks."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Literal

# ---- Japanese statistics (Swallow) -------------------------------------------------------------
_SENTENCE = re.compile(r"[^。．！？!?]+[。．！？!?]?")
_KANJI = re.compile(r"[々〇〻\u3400-\u9fff\uf900-\ufaff]")


class JaStats:
    def __init__(self, text: str, ng_words: tuple[str, ...] = ()):
        self.text = text
        self.ng_words = ng_words

    @cached_property
    def lines(self) -> list[list[str]]:
        return [_SENTENCE.findall(line) for line in self.text.split("\n")]

    @cached_property
    def paragraphs(self) -> list[str]:
        return ["".join(sentences) for sentences in self.lines]

    @cached_property
    def sentences(self) -> list[str]:
        return [s for sentences in self.lines for s in sentences]

    @cached_property
    def letters(self) -> dict[str, int]:
        counts = {"hiragana": 0, "katakana": 0, "kuten": 0, "toten": 0}
        for ch in self.text:
            o = ord(ch)
            if 0x3041 <= o <= 0x3096:
                counts["hiragana"] += 1
            elif 0x30A1 <= o <= 0x30FA:
                counts["katakana"] += 1
            elif ch in "、，":
                counts["toten"] += 1
            elif ch in "。．！？":
                counts["kuten"] += 1
        counts["kanji"] = len(_KANJI.findall(self.text))
        counts["japanese"] = sum(counts.values())
        return counts

    def ngram_counts(self, n: int) -> Counter:
        t = self.text
        return Counter(t[i:i + n] for i in range(len(t) - n + 1))


def _fraction(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(items that repeat an earlier one, their characters)."""
    count = chars = 0
    for item, freq in Counter(items).items():
        count += freq - 1
        chars += len(item) * (freq - 1)
    return count, chars


def num_letters(d: JaStats) -> float:
    return len(d.text)


def num_japanese_letters(d: JaStats) -> float:
    return d.letters["japanese"]


def hiragana_fraction(d: JaStats) -> float:
    return _fraction(d.letters["hiragana"], d.letters["japanese"])


def katakana_fraction(d: JaStats) -> float:
    return _fraction(d.letters["katakana"], d.letters["japanese"])


def japanese_fraction(d: JaStats) -> float:
    return _fraction(d.letters["japanese"], len(d.text))


def avg_sentence_length(d: JaStats) -> float:
    return _fraction(sum(map(len, d.sentences)), len(d.sentences))


def max_sentence_length(d: JaStats) -> float:
    return max(map(len, d.sentences), default=0)


def ellipsis_fraction(d: JaStats) -> float:
    return _fraction(sum(1 for s in d.sentences if s.strip().endswith(("・", "…"))), len(d.sentences))


def dup_paragraph_fraction(d: JaStats) -> float:
    return _fraction(_duplicates(d.paragraphs)[0], len(d.paragraphs))


def dup_sentence_fraction(d: JaStats) -> float:
    return _fraction(_duplicates(d.sentences)[0], len(d.sentences))


def dup_paragraph_char_fraction(d: JaStats) -> float:
    return _fraction(_duplicates(d.paragraphs)[1], sum(map(len, d.paragraphs)))


def dup_sentence_char_fraction(d: JaStats) -> float:
    return _fraction(_duplicates(d.sentences)[1], sum(map(len, d.sentences)))


def top_char_ngram_fraction(n: int) -> Callable[[JaStats], float]:
    def measure(d: JaStats) -> float:
        counts = d.ngram_counts(n)
        return _fraction(max(counts.values(), default=0), sum(counts.values()))
    measure.__name__ = f"top_{n}gram_char_fraction"
    return measure


def dup_char_ngram_fraction(n: int) -> Callable[[JaStats], float]:
    """Share of the distinct character n-grams that occur more than once."""
    def measure(d: JaStats) -> float:
        counts = d.ngram_counts(n)
        return _fraction(sum(1 for f in counts.values() if f > 1), len(counts))
    measure.__name__ = f"dup_{n}gram_char_fraction"
    return measure


def ng_word_fraction(d: JaStats) -> float:
    """Share of the characters covered by NG expressions."""
    covered = sum(len(w) * d.text.count(w) for w in d.ng_words if w)
    return _fraction(min(covered, len(d.text)), len(d.text))


# ---- English statistics (Gopher) ---------------------------------------------------------------
STOP_WORDS = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~…「」『』（）【】、。・！？：；“”‘’")


class EnStats:
    def __init__(self, text: str, ng_words: tuple[str, ...] = ()):
        self.text = text
        self.ng_words = ng_words

    @cached_property
    def words(self) -> list[str]:
        return self.text.split()

    @cached_property
    def content_words(self) -> list[str]:
        """Words that are not only punctuation."""
        return [w for w in self.words if any(ch not in _PUNCT for ch in w)]

    @cached_property
    def lines(self) -> list[str]:
        return [line for line in re.split(r"\n+", self.text)]

    @cached_property
    def paragraphs(self) -> list[str]:
        return re.split(r"\n{2,}", self.text.strip())


def word_count(d: EnStats) -> float:
    return len(d.content_words)


def mean_word_length(d: EnStats) -> float:
    return _fraction(sum(map(len, d.content_words)), len(d.content_words))


def hash_per_word(d: EnStats) -> float:
    return _fraction(d.text.count("#"), len(d.words))


def ellipsis_per_word(d: EnStats) -> float:
    return _fraction(d.text.count("...") + d.text.count("…"), len(d.words))


def bullet_lines(d: EnStats) -> float:
    return _fraction(sum(1 for s in d.lines if s.lstrip().startswith(("•", "-"))), len(d.lines))


def ellipsis_lines(d: EnStats) -> float:
    return _fraction(sum(1 for s in d.lines if s.rstrip().endswith(("...", "…"))), len(d.lines))


def alpha_words(d: EnStats) -> float:
    return _fraction(sum(1 for w in d.words if any(c.isalpha() for c in w)), len(d.words))


def stop_words(d: EnStats) -> float:
    return len(STOP_WORDS.intersection(w.lower().strip(".,;:!?\"'()") for w in d.words))


def en_dup_line_fraction(d: EnStats) -> float:
    return _fraction(_duplicates(d.lines)[0], len(d.lines))


def en_dup_paragraph_fraction(d: EnStats) -> float:
    return _fraction(_duplicates(d.paragraphs)[0], len(d.paragraphs))


def en_dup_line_char_fraction(d: EnStats) -> float:
    return _fraction(_duplicates(d.lines)[1], len(d.text))


def en_dup_paragraph_char_fraction(d: EnStats) -> float:
    return _fraction(_duplicates(d.paragraphs)[1], len(d.text))


def top_word_ngram_fraction(n: int) -> Callable[[EnStats], float]:
    """Characters covered by the most frequent word n-gram, over all characters."""
    def measure(d: EnStats) -> float:
        grams = Counter(" ".join(d.words[i:i + n]) for i in range(len(d.words) - n + 1))
        if not grams:
            return 0.0
        gram, freq = grams.most_common(1)[0]
        return _fraction(len(gram) * freq, len(d.text))
    measure.__name__ = f"top_{n}gram_word_fraction"
    return measure


def dup_word_ngram_fraction(n: int) -> Callable[[EnStats], float]:
    """Characters inside word n-grams seen before (non-overlapping), over all characters."""
    def measure(d: EnStats) -> float:
        words, seen, repeated, i = d.words, set(), 0, 0
        while i < len(words) - n + 1:
            gram = "".join(words[i:i + n])
            if gram in seen:
                repeated += len(gram)
                i += n
            else:
                seen.add(gram)
                i += 1
        return _fraction(repeated, len(d.text))
    measure.__name__ = f"dup_{n}gram_word_fraction"
    return measure


# ---- the rule table ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    name: str
    lang: Literal["ja", "en"]
    measure: Callable
    bound: Literal["min", "max"]   # min: remove when value < threshold; max: when value > threshold
    threshold: float
    label: tuple[str, str]         # (en, ja)

    def keeps(self, value: float, threshold: float | None = None) -> bool:
        t = self.threshold if threshold is None else threshold
        return value >= t if self.bound == "min" else value <= t


def _rules() -> dict[str, Rule]:
    ja = [
        ("swallow_num_letters", num_letters, "min", 400, ("letters", "文字数")),
        ("swallow_num_japanese_letters", num_japanese_letters, "min", 400, ("Japanese letters", "日本語の文字数")),
        ("swallow_hiragana_fraction", hiragana_fraction, "min", 0.2, ("hiragana share", "ひらがなの割合")),
        ("swallow_katakana_fraction", katakana_fraction, "max", 0.5, ("katakana share", "カタカナの割合")),
        ("swallow_japanese_fraction", japanese_fraction, "min", 0.5, ("Japanese letter share", "日本語の文字の割合")),
        ("swallow_avg_sentence_length_low", avg_sentence_length, "min", 20, ("mean sentence length (low)", "文の平均長（短すぎ）")),
        ("swallow_avg_sentence_length_high", avg_sentence_length, "max", 90, ("mean sentence length (high)", "文の平均長（長すぎ）")),
        ("swallow_max_sentence_length", max_sentence_length, "max", 200, ("longest sentence", "最長の文の長さ")),
        ("swallow_ellipsis_fraction", ellipsis_fraction, "max", 0.2, ("sentences ending in …", "…で終わる文の割合")),
        ("swallow_dup_paragraph_fraction", dup_paragraph_fraction, "max", 0.30, ("repeated lines", "重複する行の割合")),
        ("swallow_dup_sentence_fraction", dup_sentence_fraction, "max", 0.30, ("repeated sentences", "重複する文の割合")),
        ("swallow_dup_paragraph_char_fraction", dup_paragraph_char_fraction, "max", 0.20, ("characters in repeated lines", "重複する行の文字の割合")),
        ("swallow_dup_sentence_char_fraction", dup_sentence_char_fraction, "max", 0.20, ("characters in repeated sentences", "重複する文の文字の割合")),
        *[(f"swallow_top_{n}gram_fraction", top_char_ngram_fraction(n), "max", t,
           (f"most frequent character {n}-gram", f"最頻の文字 {n}-gram の割合")) for n, t in ((2, 0.20), (3, 0.18), (4, 0.16))],
        *[(f"swallow_dup_{n}gram_fraction", dup_char_ngram_fraction(n), "max", t,
           (f"repeated character {n}-grams", f"重複する文字 {n}-gram の割合"))
          for n, t in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))],
        ("swallow_ng_word_fraction", ng_word_fraction, "max", 0.05, ("NG expressions", "NG 表現の文字の割合")),
    ]
    en = [
        ("gopher_word_count_low", word_count, "min", 50, ("words (too few)", "単語数（少なすぎ）")),
        ("gopher_word_count_high", word_count, "max", 100_000, ("words (too many)", "単語数（多すぎ）")),
        ("gopher_mean_word_length_low", mean_word_length, "min", 3, ("mean word length (low)", "平均単語長（短すぎ）")),
        ("gopher_mean_word_length_high", mean_word_length, "max", 10, ("mean word length (high)", "平均単語長（長すぎ）")),
        ("gopher_hash_per_word", hash_per_word, "max", 0.1, ("# per word", "単語あたりの #")),
        ("gopher_ellipsis_per_word", ellipsis_per_word, "max", 0.1, ("… per word", "単語あたりの …")),
        ("gopher_bullet_lines", bullet_lines, "max", 0.9, ("lines starting with a bullet", "箇条書きで始まる行の割合")),
        ("gopher_ellipsis_lines", ellipsis_lines, "max", 0.3, ("lines ending in …", "…で終わる行の割合")),
        ("gopher_alpha_words", alpha_words, "min", 0.8, ("words with a letter", "英字を含む単語の割合")),
        ("gopher_stop_words", stop_words, "min", 2, ("distinct stop words", "ストップワードの種類数")),
        ("gopher_dup_line_fraction", en_dup_line_fraction, "max", 0.30, ("repeated lines", "重複する行の割合")),
        ("gopher_dup_paragraph_fraction", en_dup_paragraph_fraction, "max", 0.30, ("repeated paragraphs", "重複する段落の割合")),
        ("gopher_dup_line_char_fraction", en_dup_line_char_fraction, "max", 0.20, ("characters in repeated lines", "重複する行の文字の割合")),
        ("gopher_dup_paragraph_char_fraction", en_dup_paragraph_char_fraction, "max", 0.20, ("characters in repeated paragraphs", "重複する段落の文字の割合")),
        *[(f"gopher_top_{n}gram_fraction", top_word_ngram_fraction(n), "max", t,
           (f"most frequent word {n}-gram", f"最頻の単語 {n}-gram の割合")) for n, t in ((2, 0.20), (3, 0.18), (4, 0.16))],
        *[(f"gopher_dup_{n}gram_fraction", dup_word_ngram_fraction(n), "max", t,
           (f"repeated word {n}-grams", f"重複する単語 {n}-gram の割合"))
          for n, t in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))],
    ]
    table = {}
    for lang, rows in (("ja", ja), ("en", en)):
        for name, measure, bound, threshold, label in rows:
            table[name] = Rule(name, lang, measure, bound, float(threshold), label)
    return table


RULES: dict[str, Rule] = _rules()
DEFAULT_NG_WORDS = ("出会い系", "今すぐ登録", "完全無料", "副業で月収", "激安セール", "クリックして", "荒稼ぎ", "アダルト")


@dataclass
class Verdict:
    keep: bool
    rule: str | None = None
    value: float | None = None
    threshold: float | None = None
    lang: str = "ja"


def language_of(text: str) -> str:
    """ja when at least 5 % of the non-space characters are kana or kanji, else en."""
    visible = jp = 0
    for ch in text[:5000]:
        if ch.isspace():
            continue
        visible += 1
        o = ord(ch)
        if 0x3041 <= o <= 0x30FA or 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF:
            jp += 1
    return "ja" if visible and jp / visible >= 0.05 else "en"


class QualityFilter:
    """The switched-on rules with their thresholds; `check(text)` → Verdict."""

    def __init__(self, spec, ng_words: tuple[str, ...] = DEFAULT_NG_WORDS):
        self.language = spec.language
        self.thresholds = {name: spec.thresholds.get(name, rule.threshold) for name, rule in RULES.items()}
        self.active = {lang: [r for r in RULES.values() if r.lang == lang and r.name not in spec.disable]
                       for lang in ("ja", "en")}
        self.ng_words = tuple(w for w in ng_words if w)

    @property
    def rules(self) -> list[Rule]:
        langs = ("ja", "en") if self.language == "auto" else (self.language,)
        return [r for lang in langs for r in self.active[lang]]

    def check(self, text: str) -> Verdict:
        lang = language_of(text) if self.language == "auto" else self.language
        stats = (JaStats if lang == "ja" else EnStats)(text, self.ng_words)
        for rule in self.active[lang]:
            if rule.name == "swallow_ng_word_fraction" and not self.ng_words:
                continue
            value = float(rule.measure(stats))
            if not rule.keeps(value, self.thresholds[rule.name]):
                return Verdict(False, rule.name, value, self.thresholds[rule.name], lang)
        return Verdict(True, lang=lang)
