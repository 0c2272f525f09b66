"""Japanese terms for BM25. Japanese has no spaces, so BM25 on whitespace "words" would see whole
sentences as single terms; a morphological analyser splits 「東海道新幹線は開業し」 into
東海道 / 新幹線 / 開業 / する. Terms are normalised (Sudachi: ＰＹＴＨＯＮ→python, そめいよしの→染井吉野;
fugashi+UniDic: the lemma) and particles, auxiliaries, symbols and spaces are dropped, since they
match everywhere and carry no topic; so are English function words ("the", "is", "how"), for the same
reason (Sudachi would otherwise turn "How" into ハウ and "the" into ザ).

One segmentation is not enough. An analyser cuts a name it does not know by what follows it:
Sudachi reads "金谷町は" as ['金谷町'] but "金谷町の特産品は" as ['金谷', '町', '特産品'], in every
split mode, so a question and its document can share no term for the very name that tells them apart.
Japanese search engines index several granularities for this reason (Lucene's kuromoji beside CJK
bigrams). An *analysis* names the granularities a term list holds:
- "B": Sudachi's middle units (the only one before; indexes without a recorded analysis use it);
- "AC": Sudachi's long units (株式会社, 東海道新幹線) plus the short pieces of each (株式 / 会社);
- "B+bigrams", "AC+bigrams": the words plus overlapping character pairs of each run of kanji and
  katakana (金谷町 → 金谷 / 谷町; a lone character stays itself), marked with "^" so they never meet
  a word term. Pairs do not depend on context, so 金谷町 matches 金谷町 wherever it appears.
The default was chosen by measurement: bench/rag.py prints BM25 under every analysis on four
Japanese sets; mean MRR (k = 5) B .954, AC .964, B+bigrams .969, AC+bigrams .972, and on the set of
facilities that share town names, R@1 .967 (B) → 1.00 (AC+bigrams); leave-one-set-out picks
AC+bigrams in three folds and B+bigrams in the fourth. Fugashi has one granularity (UniDic's short
units), so for it only "+bigrams" changes anything.

Product codes, error codes and model numbers ("MK-12S", "E2", "N700S") are what users search for
verbatim, and what embedders blur. The analysers cut them into pieces ("mk", "12", "s") that match
everywhere, so each code is also kept whole as one more term ("mk-12s").

Both analysers ship their dictionaries in their wheels (sudachidict-core, unidic-lite): no download."""
from __future__ import annotations

import re
import threading
import unicodedata
from typing import Callable

from ..errors import UserError

SKIP_POS = {"助詞", "助動詞", "補助記号", "空白", "記号"}
# Lucene's English stop set plus the question words and auxiliaries that start most questions
ENGLISH_STOPWORDS = frozenset("""
a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to
was will with what which who whom when where why how do does did can could should would i you we my your our its from
has have had been were am me
""".split())
CODE_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+-?[0-9]+[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
# runs of kanji (with 々) and katakana (with ー): where names and content words live; hiragana is
# mostly particles and endings, which pairs would only turn into noise terms
CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff々〆\u30a0-\u30ffー]+")
BIGRAM_MARK = "^"
TOKENIZERS = ("sudachi", "fugashi")
ANALYSES = ("B", "AC", "B+bigrams", "AC+bigrams")
LEGACY_ANALYSIS = "B"  # what an index without an "analysis" in its index.json was built with
DEFAULT_ANALYSIS = "AC+bigrams"
_CACHE: dict[tuple[str, str], Callable[[str], list[str]]] = {}
_LOCK = threading.Lock()


def _keep(surface: str, pos: str) -> bool:
    return pos not in SKIP_POS and bool(surface.strip()) and surface.lower() not in ENGLISH_STOPWORDS


def _sudachi(modes: str) -> Callable[[str], list[str]]:
    from sudachipy import Dictionary, SplitMode
    tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.B if modes == "B" else SplitMode.C)
    lock = threading.Lock()  # one analyser object per process; calls from UI threads take turns

    def tokenize(text: str) -> list[str]:
        out = []
        with lock:
            for m in tokenizer.tokenize(text):
                if not _keep(m.surface(), m.part_of_speech()[0]):
                    continue
                out.append(m.normalized_form().lower())
                if modes == "AC":
                    pieces = m.split(SplitMode.A)
                    if len(pieces) > 1:
                        out += [p.normalized_form().lower() for p in pieces if _keep(p.surface(), p.part_of_speech()[0])]
        return out
    return tokenize


def _fugashi() -> Callable[[str], list[str]]:
    import fugashi
    tagger = fugashi.Tagger()
    lock = threading.Lock()

    def tokenize(text: str) -> list[str]:
        with lock:
            out = []
            for word in tagger(text):
                if not _keep(word.surface, word.feature.pos1):
                    continue
                lemma = word.feature.lemma
                # UniDic lemmas of loanwords carry their origin after a hyphen ("バス-bus")
                out.append((lemma.split("-")[0] if lemma and not lemma.startswith("-") else word.surface).lower())
            return out
    return tokenize


def codes(text: str) -> list[str]:
    """Alphanumeric codes kept whole: "MK-12S の H1 表示" → ["mk-12s", "h1"]."""
    return [m.group(0).lower() for m in CODE_RE.finditer(unicodedata.normalize("NFKC", text))]


def bigrams(text: str) -> list[str]:
    """Overlapping pairs of each kanji/katakana run, marked: "金谷町の特産品" → ^金谷 ^谷町 ^特産 ^産品."""
    out = []
    for run in CJK_RUN_RE.findall(unicodedata.normalize("NFKC", text)):
        out += [BIGRAM_MARK + run] if len(run) == 1 else [BIGRAM_MARK + run[i:i + 2] for i in range(len(run) - 1)]
    return out


def get_tokenizer(name: str = "sudachi", analysis: str | None = DEFAULT_ANALYSIS) -> Callable[[str], list[str]]:
    """Text → BM25 terms. `analysis` None means an index that recorded none: the legacy "B"."""
    if name not in TOKENIZERS:
        raise UserError(f"tokenizer: '{name}' is not one of {', '.join(TOKENIZERS)}")
    analysis = analysis or LEGACY_ANALYSIS
    if analysis not in ANALYSES:
        raise UserError(f"analysis: '{analysis}' is not one of {', '.join(ANALYSES)}")
    modes, _, extra = analysis.partition("+")
    with _LOCK:
        if (name, analysis) not in _CACHE:
            words = _sudachi(modes) if name == "sudachi" else _fugashi()
            if extra == "bigrams":
                _CACHE[name, analysis] = lambda text, words=words: words(text) + codes(text) + bigrams(text)
            else:
                _CACHE[name, analysis] = lambda text, words=words: words(text) + codes(text)
        return _CACHE[name, analysis]
