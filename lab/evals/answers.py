"""Contestants answer the questions. One file per contestant, answers/<name>.jsonl, in FastChat's
answer schema, appended one question at a time so a crash loses nothing and a re-run skips what
is already on disk:

    {"question_id": 101, "answer_id": "…", "model_id": "tiny-greedy",
     "choices": [{"index": 0, "turns": ["…"]}], "tstamp": 1700000000.0,
     "generation": {"model": "tiny", "temperature": 0.0, "top_p": 0.95, "max_new_tokens": 128, "seed": 0}}

`generation` (not in FastChat, ignored by its readers) records how the answer was made. A
multi-turn question is answered turn by turn, each turn seeing the contestant's earlier replies."""
from __future__ import annotations

import json
import os
import secrets
import time
import zlib
from pathlib import Path
from typing import Callable, Iterator

from ..models.openai_client import EndpointChat
from ..threads import bounded_map
from .questions import Question
from .spec import Contestant


def answer_path(answers_dir: Path, name: str) -> Path:
    return answers_dir / f"{name}.jsonl"


def read_answers(path: Path) -> dict[str, dict]:
    """question_id (as text) → answer record; the last line wins, a torn last line is ignored."""
    out: dict[str, dict] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            out[str(record["question_id"])] = record
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return out


def answer_turns(record: dict) -> list[str]:
    return list(record.get("choices", [{}])[0].get("turns", []))


def append_line(path: Path, record: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def generation_settings(c: Contestant) -> dict:
    out = {"model": c.model, "temperature": c.temperature, "top_p": c.top_p, "max_new_tokens": c.max_new_tokens,
           "seed": c.seed}
    if c.base_url:
        out["base_url"] = c.base_url
    if c.system_prompt:
        out["system_prompt"] = c.system_prompt
    return out


def question_seed(c: Contestant, question: Question) -> int:
    # A stable seed per (contestant, question): sampled answers are reproducible, so a re-run asks
    # the judge the same prompts and hits its cache.
    return (c.seed * 1_000_003 + zlib.crc32(str(question.question_id).encode())) % (2 ** 31)


def _record(c: Contestant, question: Question, turns: list[str]) -> dict:
    return {"question_id": question.question_id, "answer_id": secrets.token_hex(8), "model_id": c.name,
            "choices": [{"index": 0, "turns": turns}], "tstamp": round(time.time(), 3),
            "generation": generation_settings(c)}


def _converse(c: Contestant, question: Question, reply: Callable[[list[dict]], str]) -> list[str]:
    messages = [{"role": "system", "content": c.system_prompt}] if c.system_prompt else []
    turns = []
    for user_turn in question.turns:
        messages.append({"role": "user", "content": user_turn})
        text = reply(messages).strip()
        messages.append({"role": "assistant", "content": text})
        turns.append(text)
    return turns


def generate_answers(c: Contestant, questions: list[Question], answers_dir: Path,
                     should_stop: Callable[[], bool] = lambda: False, concurrency: int = 4) -> Iterator[dict]:
    """Answer every question not yet on disk; yields each new record after appending it."""
    answers_dir.mkdir(parents=True, exist_ok=True)
    path = answer_path(answers_dir, c.name)
    done = read_answers(path)
    todo = [q for q in questions if str(q.question_id) not in done]
    if not todo:
        return
    if c.base_url:
        chat = EndpointChat(c.base_url, c.model, c.api_key_env)

        def answer(q: Question) -> list[str] | str:
            def reply(messages):
                r = chat.ask(messages, temperature=c.temperature, max_tokens=c.max_new_tokens, top_p=c.top_p,
                             seed=question_seed(c, q))
                if r.error:
                    raise RuntimeError(f"contestant {c.name}: {r.error}")
                return r.text
            return _converse(c, q, reply)

        for q, turns in bounded_map(answer, todo, concurrency, should_stop):
            record = _record(c, q, turns)
            append_line(path, record)
            yield record
        return

    from ..models.cache import cached_model
    from .generation import generate
    model, tokenizer = cached_model(c.model, keep=1)  # contestants, then the judge: one model in memory at a time
    for q in todo:
        if should_stop():
            return
        seed = question_seed(c, q)
        turns = _converse(c, q, lambda messages: generate(
            model, tokenizer, messages, max_new_tokens=c.max_new_tokens, temperature=c.temperature,
            top_p=c.top_p, seed=seed).text)
        record = _record(c, q, turns)
        append_line(path, record)
        yield record



def copy_answers(source_dir: Path, answers_dir: Path, names: list[str]) -> list[str]:
    """Start from an earlier run's answers: copy the files of these contestants that are not here yet."""
    answers_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in names:
        src, dst = answer_path(source_dir, name), answer_path(answers_dir, name)
        if src.exists() and not dst.exists():
            dst.write_bytes(src.read_bytes())
            copied.append(name)
    return copied
