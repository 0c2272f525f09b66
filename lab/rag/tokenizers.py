"""Japanese word tokenizers for BM25. Japanese has no spaces, so BM25 on whitespace "words" would see
whole sentences as single terms; a morphological analyser splits 「東海道新幹線は開業し」 into
東海道 / 新幹線 / 開業 / する. Terms are normalised (Sudachi: ＰＹＴＨＯＮ→python, そめいよしの→染井吉野;
fugashi+UniDic: the lemma) and particles, auxiliaries, symbols and spaces are dropped, since they
match everywhere and carry no topic; so are English function words ("the", "is", "how"), for the same
reason (Sudachi would otherwise turn "How" into ハウ and "the" into ザ).

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
TOKENIZERS = ("sudachi", "fugashi")
_CACHE: dict[str, Callable[[str], list[str]]] = {}
_LOCK = threading.Lock()


def _sudachi() -> Callable[[str], list[str]]:
    from sudachipy import Dictionary, SplitMode
    tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.B)
    lock = threading.Lock()  # one analyser object per process; calls from UI threads take turns

    def tokenize(text: str) -> list[str]:
        with lock:
            morphemes = tokenizer.tokenize(text)
            return [m.normalized_form().lower() for m in morphemes
                    if m.part_of_speech()[0] not in SKIP_POS and m.surface().strip()
                    and m.surface().lower() not in ENGLISH_STOPWORDS]
    return tokenize


def _fugashi() -> Callable[[str], list[str]]:
    import fugashi
    tagger = fugashi.Tagger()
    lock = threading.Lock()

    def tokenize(text: str) -> list[str]:
        with lock:
            out = []
            for word in tagger(text):
                if word.feature.pos1 in SKIP_POS or not word.surface.strip() or word.surface.lower() in ENGLISH_STOPWORDS:
                    continue
                lemma = word.feature.lemma
                # UniDic lemmas of loanwords carry their origin after a hyphen ("バス-bus")
                out.append((lemma.split("-")[0] if lemma and not lemma.startswith("-") else word.surface).lower())
            return out
    return tokenize


def codes(text: str) -> list[str]:
    """Alphanumeric codes kept whole: "MK-12S の H1 表示" → ["mk-12s", "h1"]."""
    return [m.group(0).lower() for m in CODE_RE.finditer(unicodedata.normalize("NFKC", text))]


def get_tokenizer(name: str = "sudachi") -> Callable[[str], list[str]]:
    if name not in TOKENIZERS:
        raise UserError(f"tokenizer: '{name}' is not one of {', '.join(TOKENIZERS)}")
    with _LOCK:
        if name not in _CACHE:
            words = _sudachi() if name == "sudachi" else _fugashi()
            _CACHE[name] = lambda text, words=words: words(text) + codes(text)
        return _CACHE[name]
