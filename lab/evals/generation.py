"""Text generation with a local model for the evaluation jobs and `lab serve`: chat messages in,
text out, optionally streamed piece by piece. Prompts longer than the model's context keep their
end (where the question and the generation prompt are) and say so."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterator

from ..models.utf8 import final_text, utf8_processor
from ..threads import start_thread


@dataclass
class Generated:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" or "length"
    truncated_prompt: bool = False


def context_length(model, tokenizer) -> int:
    n = getattr(model.config, "max_position_embeddings", None) or getattr(tokenizer, "model_max_length", None) or 2048
    return int(min(n, 1_000_000))


def chat_input_ids(tokenizer, messages: list[dict]) -> list[int]:
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
        return list(ids)
    # A base model without a chat template: plain "role: text" lines, ending where the reply starts.
    text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
    return tokenizer(text)["input_ids"]


def fit_prompt(ids: list[int], max_new_tokens: int, ctx: int) -> tuple[list[int], int, bool]:
    """Keep the end of the prompt so prompt + reply fit the context; returns (ids, max_new, truncated).
    When they do not fit, the reply keeps at least a quarter of the context."""
    if len(ids) + max_new_tokens <= ctx:
        return ids, max_new_tokens, False
    max_new = max(1, min(max_new_tokens, max(ctx - len(ids), ctx // 4)))
    budget = ctx - max_new
    if len(ids) > budget:
        return ids[-budget:], max_new, True
    return ids, max_new, False


def generate(model, tokenizer, messages: list[dict], max_new_tokens: int = 128, temperature: float = 0.0,
             top_p: float = 1.0, seed: int | None = None, stop: list[str] | None = None,
             on_text: Callable[[str], bool] | None = None) -> Generated:
    """Generate a reply. `on_text(piece)` gets the text as it arrives and may return False to stop."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    ids, max_new, truncated = fit_prompt(chat_input_ids(tokenizer, messages), max_new_tokens, context_length(model, tokenizer))
    input_ids = torch.tensor([ids], device=model.device)
    halt = threading.Event()

    class _Halt(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return halt.is_set()

    sample = temperature > 0
    kwargs = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=max_new,
                  do_sample=sample, temperature=temperature if sample else None, top_p=top_p if sample else None,
                  top_k=None, use_cache=True, pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                  stopping_criteria=StoppingCriteriaList([_Halt()]),
                  logits_processor=[utf8_processor(tokenizer, model)])  # never a byte sequence that fails to decode
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    out: dict = {}
    errors: list[BaseException] = []

    def work():
        try:
            with torch.no_grad():
                if seed is not None:
                    torch.manual_seed(seed)
                out["ids"] = model.generate(**kwargs, streamer=streamer)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)
            streamer.end()

    thread = start_thread(work)
    text = ""
    stopped_by_sequence = False
    for piece in streamer:
        if not piece or halt.is_set():
            continue
        new_text = text + piece
        cut = _first_stop(new_text, stop or [])
        if cut is not None:
            piece = new_text[len(text):cut] if cut > len(text) else ""
            new_text = new_text[:cut]
            stopped_by_sequence = True
            halt.set()
        text = new_text
        if piece and on_text is not None and on_text(piece) is False:
            halt.set()
    thread.join()
    if errors:
        raise errors[0]
    text = final_text(text)  # a reply cut by max_new_tokens inside a character
    completion = int(out["ids"].shape[1] - input_ids.shape[1]) if "ids" in out else 0
    finish = "length" if completion >= max_new and not stopped_by_sequence else "stop"
    return Generated(text, len(ids), completion, finish, truncated)


def _first_stop(text: str, stops: list[str]) -> int | None:
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None


def stream(model, tokenizer, messages: list[dict], **kwargs) -> Iterator[str | Generated]:
    """Yield text pieces as they come, then the final Generated."""
    import queue
    q: queue.Queue = queue.Queue()
    result: dict = {}

    def work():
        try:
            result["g"] = generate(model, tokenizer, messages, on_text=lambda piece: q.put(piece) or not result.get("closed"),
                                   **kwargs)
        except BaseException as e:  # noqa: BLE001
            result["error"] = e
        finally:
            q.put(None)

    thread = start_thread(work)
    try:
        while True:
            piece = q.get()
            if piece is None:
                break
            yield piece
    finally:
        result["closed"] = True
        thread.join(timeout=60)  # a generate thread alive at interpreter exit aborts the process
    if "error" in result:
        raise result["error"]
    yield result["g"]
