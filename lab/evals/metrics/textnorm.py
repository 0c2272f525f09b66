"""How answers are compared: NFKC (full-width digits and letters become half-width), lower case, no
whitespace, no punctuation or symbols (「」。、！ …). "富士山。" and "富士山" are the same answer."""
from __future__ import annotations

import re
import unicodedata

SET_SEPARATORS = re.compile(r"[\n、,;・]+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in ("P", "S"))


def split_set(text: str) -> set[str]:
    """Items of a set answer, one per line or separated by 、 , ; or ・."""
    return {item for item in (normalize(part) for part in SET_SEPARATORS.split(unicodedata.normalize("NFKC", text or ""))) if item}
