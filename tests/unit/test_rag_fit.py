"""A local model's RAG prompt fits its context window: the best chunks whole, in rank order, as many
as fit; the top chunk shortened only when it alone is too long; a clear error when even the question
and the prompt do not fit. `count` here measures characters, so the test needs no model."""
import pytest

from lab.errors import UserError
from lab.rag.chain import fit_hits, rag_messages
from lab.rag.retrieve import Hit


def _hits(*lengths):
    return [Hit(rank=i + 1, source=f"doc{i + 1}.md", chunk_id=f"c{i + 1}", score=1.0 - i / 10,
                text=f"<{i + 1}>" + "あ" * (n - 3), title=f"doc{i + 1}") for i, n in enumerate(lengths)]


def _chars(messages):
    return sum(len(m["content"]) for m in messages)


def test_everything_fits_so_every_chunk_goes_in_whole():
    hits = _hits(100, 100, 100)
    messages, used = fit_hits("質問", hits, None, _chars, 10_000)
    assert used == hits and messages == rag_messages("質問", hits)


def test_a_small_window_keeps_the_best_chunks_whole_rather_than_cutting_them_all():
    hits = _hits(300, 300, 300, 300, 300)
    budget = _chars(rag_messages("質問", hits[:2])) + 50  # room for two whole chunks, not three
    messages, used = fit_hits("質問", hits, None, _chars, budget)
    assert [h.rank for h in used] == [1, 2]
    text = messages[0]["content"]
    assert hits[0].text in text and hits[1].text in text and "…" not in text
    assert "<3>" not in text


def test_the_order_is_the_retrievers_a_later_short_chunk_does_not_jump_a_long_one():
    hits = _hits(300, 900, 50)
    budget = _chars(rag_messages("質問", hits[:1])) + 100
    _, used = fit_hits("質問", hits, None, _chars, budget)
    assert [h.rank for h in used] == [1]


def test_a_top_chunk_too_long_alone_is_shortened():
    hits = _hits(2000, 100)
    budget = _chars(rag_messages("質問", [])) + 600
    messages, used = fit_hits("質問", hits, None, _chars, budget)
    assert [h.rank for h in used] == [1]
    assert "…" in messages[0]["content"] and _chars(messages) <= budget
    assert hits[0].text[:200] in messages[0]["content"]  # its beginning is kept


def test_no_room_for_any_chunk_gives_the_prompt_without_sources():
    hits = _hits(2000)
    budget = _chars(rag_messages("質問", [])) + 10
    messages, used = fit_hits("質問", hits, None, _chars, budget)
    assert used == [] and messages == rag_messages("質問", [])


def test_a_question_longer_than_the_window_is_a_one_line_error():
    with pytest.raises(UserError, match="exceed the model's context"):
        fit_hits("質問" * 500, _hits(100), None, _chars, 200)
