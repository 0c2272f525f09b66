"""Asking judges. An OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, OpenAI, `lab serve`) is
asked with bounded concurrency, retried with exponential backoff on timeouts, 429 and 5xx, and
remembered in an on-disk cache so a re-run does not ask again. A local Hugging Face model can
instead give a log-probability verdict: the probability of each verdict token after "[[".

The cache is one JSONL file in the workspace (cache/judge.jsonl), keyed by the judge model, the
messages and the sampling settings; appends are whole lines, so concurrent runs can share it."""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from ..endpoints import connection, redact
from ..errors import UserError
from ..paths import workspace
from ..threads import context_pool
from .loglik import continuation_logprobs, softmax
from .prompts import JudgePrompt

T = TypeVar("T")
R = TypeVar("R")


# ---- concurrency and retries ------------------------------------------------------------------
def bounded_map(fn: Callable[[T], R], items: Iterable[T], concurrency: int,
                should_stop: Callable[[], bool] = lambda: False) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) as each finishes, with at most `concurrency` calls in flight. Stops
    submitting new work once `should_stop()` is true (calls in flight still finish)."""
    items = iter(items)
    with context_pool(concurrency) as pool:
        running = {}
        for item in items:
            running[pool.submit(fn, item)] = item
            if len(running) >= concurrency:
                break
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                item = running.pop(future)
                yield item, future.result()
            if not should_stop():
                for item in items:
                    running[pool.submit(fn, item)] = item
                    if len(running) >= concurrency:
                        break


def is_retryable(exc: BaseException) -> bool:
    import openai
    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
                        openai.InternalServerError)):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 20.0, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it says more."""
    delay = random.uniform(0, min(cap, base * (2 ** attempt)))
    return max(delay, min(retry_after, cap)) if retry_after else delay


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    try:
        return float(response.headers.get("retry-after")) if response is not None else None
    except (TypeError, ValueError):
        return None


def with_retries(call: Callable[[], R], max_retries: int, on_retry: Callable[[int, BaseException], None] | None = None,
                 base_delay: float = 0.5) -> R:
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below
            if attempt >= max_retries or not is_retryable(exc):
                raise
            if on_retry:
                on_retry(attempt + 1, exc)
            time.sleep(backoff_delay(attempt, base_delay, retry_after=_retry_after(exc)))
            attempt += 1


def short_error(exc: BaseException) -> str:
    text = redact(str(exc)).strip().splitlines()  # a server's error may quote the key it was sent
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


# ---- cache ---------------------------------------------------------------------------------------
def cache_key(model: str, messages: list[dict], temperature: float, max_tokens: int, endpoint: str | None = None) -> str:
    """Keyed by the endpoint too: two servers may serve different models under one name."""
    fields = {"model": model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens}
    if endpoint:
        fields["endpoint"] = endpoint.rstrip("/")
    blob = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    def __init__(self, path: Path | None = None):
        self.path = path or (workspace() / "cache" / "judge.jsonl")
        self._lock = threading.Lock()
        self._data: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self._data[record["key"]] = record
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a crash: that answer is simply asked again

    def get(self, key: str) -> dict | None:
        return self._data.get(key)

    def put(self, key: str, text: str, model: str) -> None:
        record = {"key": key, "model": model, "text": text, "t": round(time.time(), 3)}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self._data[key] = record
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


# ---- OpenAI-compatible endpoints -----------------------------------------------------------------
def openai_client(base_url: str, key_env: str | None, timeout: float):
    """A client for one endpoint with the key lab/endpoints.py gives it (a participant's pasted key,
    the facilitator's variable for that endpoint, or single-user's api_key_env / OPENAI_API_KEY).
    In workshop mode a URL that is not the facilitator's is refused here, at the call."""
    import openai
    url, key = connection(base_url, key_env)
    return openai.OpenAI(base_url=url, api_key=key, timeout=timeout, max_retries=0)


def served_models(base_url: str, key_env: str | None = None, timeout: float = 5.0) -> list[str]:
    """The model ids an endpoint lists, or a UserError saying why it cannot be asked."""
    import openai

    from ..paths import confined
    try:
        return [m.id for m in openai_client(base_url, key_env, timeout).models.list()]
    except openai.AuthenticationError:
        # A participant is not told which server variables exist.
        hint = "paste your own API key, or ask the facilitator" if confined() else f"set {key_env or 'OPENAI_API_KEY'}"
        raise UserError(f"{base_url}: the endpoint refused the API key ({hint})") from None
    except openai.APIConnectionError:
        raise UserError(f"{base_url}: cannot connect (is the server running? `lab serve tiny --port PORT` starts one)") from None
    except openai.APIError as e:
        raise UserError(f"{base_url}: {short_error(e)}") from None


@dataclass
class Reply:
    text: str
    cached: bool = False
    latency_s: float = 0.0
    error: str | None = None
    retries: int = 0
    probs: dict | None = None


class EndpointChat:
    """Chat completions from one model at an OpenAI-compatible endpoint (answers or verdicts)."""

    def __init__(self, base_url: str, model: str | None, key_env: str | None = None, timeout: float = 120.0,
                 max_retries: int = 4, cache: JudgeCache | None = None):
        self.base_url, self.key_env, self.max_retries, self.cache = base_url, key_env, max_retries, cache
        self.client = openai_client(base_url, key_env, timeout)
        self.model = model or self._first_model()

    def _first_model(self) -> str:
        models = served_models(self.base_url, self.key_env)
        if not models:
            raise UserError(f"{self.base_url}: the endpoint lists no models (give judge.model)")
        return models[0]

    def ask(self, messages: list[dict], temperature: float = 0.0, max_tokens: int = 512, top_p: float | None = None,
            seed: int | None = None) -> Reply:
        key = cache_key(self.model, messages, temperature, max_tokens, self.base_url) if self.cache else None
        if key and (hit := self.cache.get(key)):
            return Reply(hit["text"], cached=True)
        retries = 0

        def note_retry(n, exc):
            nonlocal retries
            retries = n

        def call():
            kwargs = dict(model=self.model, messages=messages, temperature=temperature, max_tokens=max_tokens)
            if top_p is not None:
                kwargs["top_p"] = top_p
            if seed is not None:
                kwargs["seed"] = seed
            response = self.client.chat.completions.create(**kwargs)
            return response.choices[0].message.content or ""

        start = time.perf_counter()
        try:
            text = with_retries(call, self.max_retries, note_retry)
        except Exception as exc:  # noqa: BLE001 - recorded on the judgment, the run goes on
            return Reply("", latency_s=time.perf_counter() - start, error=short_error(exc), retries=retries)
        if key:
            self.cache.put(key, text, self.model)
        return Reply(text, latency_s=time.perf_counter() - start, retries=retries)


# ---- a local Hugging Face judge --------------------------------------------------------------------
PAIR_TOKENS = ("A]]", "B]]", "C]]")
RATING_TOKENS = tuple(f"{k}]]" for k in range(1, 11))


class LocalJudge:
    """A model the lab can load, judging either by generating a rationale (parsed like an endpoint's
    reply) or by the probabilities of the verdict tokens right after "[["."""

    def __init__(self, model_name: str):
        from .generation import loaded_model
        self.model_name = model_name
        self.model, self.tokenizer = loaded_model(model_name)

    def _prefix(self, prompt: JudgePrompt) -> str:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(prompt.as_list(), add_generation_prompt=True, tokenize=False)
        else:
            text = "".join(f"{m['role']}: {m['content']}\n" for m in prompt.messages) + "assistant: "
        return text + "[["

    def verdict_probs(self, prompt: JudgePrompt, tokens: tuple[str, ...]) -> list[float]:
        start = time.perf_counter()
        scored = continuation_logprobs(self.model, self.tokenizer, self._prefix(prompt), list(tokens),
                                       add_special_tokens=False)
        self.last_latency = time.perf_counter() - start
        return softmax([lp for lp, _ in scored])

    def pairwise(self, prompt: JudgePrompt) -> Reply:
        p_a, p_b, p_tie = self.verdict_probs(prompt, PAIR_TOKENS)
        # The verdict of one order is P(A) against P(B); the tie token's share is recorded but does not
        # decide, so a judge that leans to one position shows it as an inconsistency.
        best = "A" if p_a > p_b else "B" if p_b > p_a else "C"
        text = f"P(A)={p_a:.3f} P(B)={p_b:.3f} P(C)={p_tie:.3f} → [[{best}]]"
        return Reply(text, latency_s=self.last_latency, probs={"A": p_a, "B": p_b, "tie": p_tie})

    def rating(self, prompt: JudgePrompt) -> Reply:
        probs = self.verdict_probs(prompt, RATING_TOKENS)
        expected = sum((k + 1) * p for k, p in enumerate(probs))
        text = f"expected rating {expected:.2f} (P(1..10)={', '.join(f'{p:.2f}' for p in probs)}) → [[{expected:.1f}]]"
        return Reply(text, latency_s=self.last_latency, probs={str(k + 1): p for k, p in enumerate(probs)})

    def generate(self, prompt: JudgePrompt, max_tokens: int, temperature: float) -> Reply:
        from .generation import generate
        start = time.perf_counter()
        out = generate(self.model, self.tokenizer, prompt.as_list(), max_new_tokens=max_tokens, temperature=temperature,
                       seed=0)
        return Reply(out.text, latency_s=time.perf_counter() - start)
