"""The tiny model's reading-stage data (lab/models/tiny.reading_stage_conversations), below training:
every example is the RAG chain's own prompt fitted to the window, its answer cites the passage that
holds the span, and questions answered by one passage share their prompts but for the question (so
the model must read the question, not just recognise the passage)."""
import re

import pytest

from lab.models import tiny
from lab.rag.chain import prompt_budget, token_counter

PASSAGE = re.compile(r"^\[(\d+)\] .*?（.*?）\n", re.M)


@pytest.fixture(scope="module")
def tokenizer():
    return tiny.build_tokenizer()


@pytest.fixture(scope="module")
def rows(tokenizer):
    return tiny.reading_stage_conversations(tokenizer, copies=2)


def passages(prompt: str) -> dict[int, str]:
    """The numbered passages of a RAG prompt, by number (the question line cut off the last)."""
    marks = list(PASSAGE.finditer(prompt))
    out = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        out[int(m.group(1))] = prompt[m.end():nxt.start() if nxt else prompt.rindex("\n\n質問:")]
    return out


def question_of(prompt: str) -> str:
    return prompt[prompt.rindex("質問:"):]


def test_each_answer_cites_the_passage_that_holds_its_span_and_fits_the_window(tokenizer, rows):
    items = {i["question"]: i for i in tiny.reading_items("train")}
    count = token_counter(tokenizer)
    largest = prompt_budget(tiny.MODEL_SHAPE["max_position_embeddings"], min(tiny.READING_STAGE_ANSWER_TOKENS))
    asked = set()
    for row in rows:
        user, answer = row["messages"][0]["content"], row["messages"][1]["content"]
        item = items[question_of(user).removeprefix("質問:").strip()]
        asked.add(item["question"])
        cited = int(re.search(r"\[(\d+)\][。]?$", answer).group(1))
        assert item["span"] in passages(user)[cited]
        assert count(row["messages"][:1]) <= largest  # the prompt leaves the window room for the answer
    assert len(asked) >= 0.9 * len(items)  # a question is dropped only when its passage cannot fit


def test_questions_on_one_passage_share_their_prompts_but_for_the_question(rows):
    contexts: dict[str, set[str]] = {}
    for row in rows:
        user = row["messages"][0]["content"]
        contexts.setdefault(user[:user.rindex("質問:")], set()).add(question_of(user))
    shared = [qs for qs in contexts.values() if len(qs) > 1]
    assert shared, "no passage prompt was shown with more than one question"
    # the shinkansen passage answers several training questions: its prompts carry each of them
    assert any(any("N700S" in q for q in qs) and any("0系" in q or "何系" in q for q in qs) for qs in shared)
