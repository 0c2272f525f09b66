"""Japanese word tokenizers for BM25. Japanese has no spaces, so BM25 on whitespace "words" would see
whole sentences as single terms; a morphological analyser splits 「東海道新幹線は開業し」 into
東海道 / 新幹線 / 開業 / する. Terms are normalised (Sudachi: ＰＹＴＨＯＮ→python, そめいよしの→染井吉野;
fugashi+UniDic: the lemma) and particles, auxiliaries, symbols and spaces are dropped, since they
match everywhere and carry no topic.

Both analysers ship their dictionaries in their wheels (sudachidict-core, unidic-lite): no download."""
from __future__ import annotations

import threading
from typing import Callable

from ..errors import UserError

SKIP_POS = {"助詞", "助動詞", "補助記号", "空白", "記号"}
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
                    if m.part_of_speech()[0] not in SKIP_POS and m.surface().strip()]
    return tokenize


def _fugashi() -> Callable[[str], list[str]]:
    import fugashi
    tagger = fugashi.Tagger()
    lock = threading.Lock()

    def tokenize(text: str) -> list[str]:
        with lock:
            out = []
            for word in tagger(text):
                if word.feature.pos1 in SKIP_POS or not word.surface.strip():
                    continue
                lemma = word.feature.lemma
                # UniDic lemmas of loanwords carry their origin after a hyphen ("バス-bus")
                out.append((lemma.split("-")[0] if lemma and not lemma.startswith("-") else word.surface).lower())
            return out
    return tokenize


def get_tokenizer(name: str = "sudachi") -> Callable[[str], list[str]]:
    if name not in TOKENIZERS:
        raise UserError(f"tokenizer: '{name}' is not one of {', '.join(TOKENIZERS)}")
    with _LOCK:
        if name not in _CACHE:
            _CACHE[name] = _sudachi() if name == "sudachi" else _fugashi()
        return _CACHE[name]
