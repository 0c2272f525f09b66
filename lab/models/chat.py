"""Streaming chat with any model the lab can load, and side-by-side streaming of two models
(each generates in its own thread; their text arrives interleaved through one queue)."""
from __future__ import annotations

import queue
import threading
from typing import Iterator

from ..paths import scrub
from ..threads import start_thread
from . import utf8
from .cache import cached_model


class _QueueStreamer:
    """A transformers streamer that decodes as tokens arrive and posts (tag, text so far)."""

    def __init__(self, tokenizer, prompt_len: int, out: queue.Queue, tag):
        self.tokenizer, self.prompt_len, self.out, self.tag = tokenizer, prompt_len, out, tag
        self.ids: list[int] = []
        self.seen_prompt = False
        self.shown = ""

    def put(self, value):
        if not self.seen_prompt:  # generate() first sends the prompt
            self.seen_prompt = True
            return
        self.ids.extend(value.reshape(-1).tolist())
        # a character split across tokens decodes as "�" until its last byte arrives: hold it back
        text = utf8.stable_text(self.tokenizer.decode(self.ids, skip_special_tokens=True))
        if text != self.shown:
            self.shown = text
            self.out.put((self.tag, text))

    def end(self):
        self.out.put((self.tag, None))


def _generate(name: str, messages: list[dict], out: queue.Queue, tag, max_new_tokens: int, temperature: float,
              halt: threading.Event | None = None):
    try:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Halt(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return halt is not None and halt.is_set()

        model, tokenizer = cached_model(name)
        inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        inputs = {k: v.to(model.device) for k, v in inputs.items()}
        streamer = _QueueStreamer(tokenizer, inputs["input_ids"].shape[1], out, tag)
        sample = temperature > 0
        with torch.no_grad():
            model.generate(**inputs, streamer=streamer, max_new_tokens=max_new_tokens, do_sample=sample,
                           temperature=temperature if sample else None, top_p=0.95 if sample else None,
                           pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                           logits_processor=[utf8.utf8_processor(tokenizer, model)],
                           stopping_criteria=StoppingCriteriaList([_Halt()]))
    except Exception as e:  # noqa: BLE001 - shown in the chat instead of killing the UI
        text = scrub(str(e))  # no server folder in a participant's chat
        out.put((tag, f"⚠ {type(e).__name__}: {text.splitlines()[0][:200]}" if text else type(e).__name__))
        out.put((tag, None))


def stream_many(names: list[str], histories: list[list[dict]], max_new_tokens: int = 128,
                temperature: float = 0.7) -> Iterator[list[str]]:
    """Yield the current reply text of every model each time one of them produces more."""
    out: queue.Queue = queue.Queue()
    replies = [""] * len(names)
    live = set(range(len(names)))
    halt = threading.Event()
    threads = [start_thread(_generate, name, messages, out, i, max_new_tokens, temperature, halt)
               for i, (name, messages) in enumerate(zip(names, histories))]
    try:
        while live:
            tag, text = out.get()
            if text is None:
                live.discard(tag)
            else:
                replies[tag] = text
            yield list(replies)
    finally:
        # A generate thread still inside torch when the interpreter exits aborts the process
        # ("terminate called without an active exception"): stop it (a reader that went away) and
        # wait until it has left generate().
        halt.set()
        for thread in threads:
            thread.join(timeout=60)


def stream_reply(name: str, messages: list[dict], max_new_tokens: int = 128, temperature: float = 0.7) -> Iterator[str]:
    for replies in stream_many([name], [messages], max_new_tokens, temperature):
        yield replies[0]
