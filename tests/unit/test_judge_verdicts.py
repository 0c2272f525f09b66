"""Reading verdicts out of what a judge wrote: the MT-bench formats, Japanese full-width brackets,
and malformed replies recorded as "unparsed" with a reason instead of a crash."""
import pytest

from lab.evals.verdicts import parse_pairwise, parse_rating


@pytest.mark.parametrize("text, expected", [
    ("Assistant A explains more clearly.\n[[A]]", "A"),
    ("B is correct and A is not. Final verdict: [[B]]", "B"),
    ("Both are equally good. [[C]]", "tie"),
    ("[[tie]]", "tie"),
    ("どちらも同程度です。\n［［Ａ］］", "A"),            # full-width brackets and letter
    ("判定：[[ b ]]", "B"),                               # spaces and lower case
    ("理由を述べます……\n最終判定: [B]", "B"),             # single brackets as a fallback
    ("The format is [[A]], [[B]] or [[C]].\nI choose:\n[[B]]", "B"),  # echoed instructions, then a verdict
])
def test_pairwise_verdicts(text, expected):
    assert parse_pairwise(text).value == expected


@pytest.mark.parametrize("text, reason", [
    ("", "empty reply"),
    ("   \n", "empty reply"),
    ("I think A is better.", "no verdict found"),
    ("アシスタントAの方が良いと思います。", "no verdict found"),
    ("[[A]] or [[B]], hard to say", "ambiguous"),
    ("[[A]]\nOn second thought [[B]] and [[C]]", "ambiguous"),
    ("[[D]]", "no verdict found"),
    ("くという�が、昔の一六六六年に", "no verdict found"),   # what the tiny model writes
])
def test_malformed_pairwise_is_unparsed_with_a_reason(text, reason):
    parsed = parse_pairwise(text)
    assert parsed.value is None and not parsed.ok
    assert parsed.reason.startswith(reason)


@pytest.mark.parametrize("text, expected", [
    ("Helpful and correct.\nRating: [[8]]", 8.0),
    ("評価: [[６]]", 6.0),
    ("Rating: [[7.5]]", 7.5),
    ("[[9/10]]", 9.0),
    ("Rating: [4]", 4.0),
    ("評価：3", 3.0),
    ("The scale is [[1]] to [[10]].\nRating: [[5]]", 5.0),
])
def test_ratings(text, expected):
    assert parse_rating(text).value == pytest.approx(expected)


@pytest.mark.parametrize("text, reason", [
    ("Rating: [[11]]", "rating 11 outside"),
    ("Rating: [[0]]", "rating 0 outside"),
    ("A fine answer.", "no verdict found"),
    ("[[7]] or [[3]]", "ambiguous"),
    ("", "empty reply"),
])
def test_malformed_ratings_are_unparsed(text, reason):
    parsed = parse_rating(text)
    assert parsed.value is None and parsed.reason.startswith(reason)
