"""Text normalisation before exact hashing and shingling: two pages that differ only in full-width
digits, spacing or the choice of Japanese punctuation should hash the same."""
from __future__ import annotations

import re
import unicodedata

from .spec import NormalizeSpec

_JA = r"\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f"
# NFKC turns ， ． ！ ？ into ASCII; next to Japanese letters they are Japanese punctuation again.
_JA_COMMA = re.compile(rf"(?<=[{_JA}])[,，]|[,，](?=[{_JA}])")
_JA_PERIOD = re.compile(rf"(?<=[{_JA}])[.．](?!\d)")
_ELLIPSIS = re.compile(r"(?:\.{3,}|・{3,}|…+)")
_REPEATED = re.compile(r"([、。！？!?])\1+")


def punctuation(text: str) -> str:
    text = _ELLIPSIS.sub("…", text)
    text = _JA_COMMA.sub("、", text)
    text = _JA_PERIOD.sub("。", text)
    text = text.replace("！", "!").replace("？", "?")
    return _REPEATED.sub(r"\1", text)


def normalizer(spec: NormalizeSpec):
    """A text → text function applying the switched-on steps in a fixed order."""
    steps = []
    if spec.nfkc:
        steps.append(lambda t: unicodedata.normalize("NFKC", t))
    if spec.punctuation:
        steps.append(punctuation)
    if spec.lowercase:
        steps.append(str.lower)
    if spec.whitespace:
        steps.append(lambda t: " ".join(t.split()))  # str.split() splits on any run of Unicode whitespace

    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text
    return apply
