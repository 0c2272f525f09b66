"""Reading a judge's verdict out of free text. A judge that rambles, echoes the instructions, writes
full-width brackets or forgets the format gets a recorded "unparsed" outcome with the reason, never
an exception: a poor judge is a finding, not a crash.

Pairwise: [[A]], [[B]], [[C]] (tie; [[tie]] is read too). Single: [[rating]] from 1 to 10, with the
MT-bench fallback of a single-bracketed number, and "Rating: 7" / "評価: 7" as a last resort.
When a reply holds different verdicts (e.g. it repeats the instructions first), the one on the last
line that holds a verdict wins only if that line holds a single one; otherwise the reply is ambiguous."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

UNPARSED = "unparsed"
PAIR_OUTCOMES = ("A", "B", "tie", UNPARSED)

_PAIR = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
_PAIR_SINGLE_BRACKET = re.compile(r"(?<!\[)\[\s*(A|B|C)\s*\](?!\])")
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?\s*\]\]")
_RATING_SINGLE_BRACKET = re.compile(r"(?<!\[)\[\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?\s*\](?!\])")
_RATING_WORD = re.compile(r"(?:rating|score|評価|評点|点数)\s*[:：は]\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    value: str | float | None   # "A" / "B" / "tie", a rating, or None
    reason: str = ""            # why it is unparsed

    @property
    def ok(self) -> bool:
        return self.value is not None


def normalize(text: str) -> str:
    # NFKC turns full-width ［［Ａ］］ and ７ into [[A]] and 7, which Japanese judges often write.
    return unicodedata.normalize("NFKC", text or "")


def _decide(found: list[tuple[int, str]], text: str) -> tuple[str | None, str]:
    """found: (offset, value) in order. One distinct value → it; else the last line with a verdict."""
    if not found:
        return None, "no verdict found"
    values = {v for _, v in found}
    if len(values) == 1:
        return found[-1][1], ""
    last_offset = found[-1][0]
    line_start = text.rfind("\n", 0, last_offset) + 1
    line_end = text.find("\n", last_offset)
    line_end = len(text) if line_end < 0 else line_end
    on_last_line = {v for o, v in found if line_start <= o < line_end}
    if len(on_last_line) == 1:
        return found[-1][1], ""
    return None, f"ambiguous: {', '.join(sorted(values))}"


def _pair_value(token: str) -> str:
    token = token.upper()
    return "tie" if token in ("C", "TIE") else token


def parse_pairwise(text: str) -> Parsed:
    norm = normalize(text)
    found = [(m.start(), _pair_value(m.group(1))) for m in _PAIR.finditer(norm)]
    if not found:
        found = [(m.start(), _pair_value(m.group(1))) for m in _PAIR_SINGLE_BRACKET.finditer(norm)]
    value, reason = _decide(found, norm)
    if value is None and not norm.strip():
        reason = "empty reply"
    return Parsed(value, reason)


def parse_rating(text: str, low: float = 1.0, high: float = 10.0) -> Parsed:
    norm = normalize(text)
    for pattern in (_RATING, _RATING_SINGLE_BRACKET, _RATING_WORD):
        found = [(m.start(), m.group(1)) for m in pattern.finditer(norm)]
        if found:
            break
    value, reason = _decide(found, norm)
    if value is None:
        return Parsed(None, "empty reply" if not norm.strip() else reason)
    score = float(value)
    if not low <= score <= high:
        return Parsed(None, f"rating {value} outside {low:g}–{high:g}")
    return Parsed(score, "")
