"""The one way the lab calls an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, OpenAI, `lab serve`):
for judge verdicts, contestants' answers, the RAG chat and the RAG judge.

- Key rules: the URL and the key come from lab/endpoints.connection, checked when the client is made
  (a participant's pasted key, the facilitator's variable for that endpoint, or single-user's
  api_key_env / OPENAI_API_KEY). Any error text shown has the key it carried blanked out, whoever's it is.
- Retries: our own, with exponential backoff and full jitter on connection errors, timeouts, 429 and
  5xx (the `openai` client's own retries are off, so one policy counts and reports them).
- Cache: an optional on-disk JSONL (workspace cache/judge.jsonl) keyed by the endpoint's URL, the model,
  the messages and every sampling parameter; appends are whole lines, so concurrent runs can share it."""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from ..endpoints import connection, redact
from ..errors import UserError
from ..paths import workspace

R = TypeVar("R")
LIST_TIMEOUT_S = 5.0  # listing models is quick on any live server; a dead one should not hold a page for minutes


# ---- retries -----------------------------------------------------------------------------------------
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


def short_error(exc: BaseException, *keys: str | None) -> str:
    """One line for the user: the error's type and first line, with `keys` (and the pasted key) blanked
    out, since a server's error may quote the key it was sent."""
    text = redact(str(exc), *keys).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


# ---- the reply cache ---------------------------------------------------------------------------------------
def cache_key(model: str, messages: list[dict], temperature: float, max_tokens: int, endpoint: str | None = None,
              **params) -> str:
    """Keyed by the endpoint too (two servers may serve different models under one name) and by every
    other sampling parameter given (top_p, seed, …; None ones are left out, so older keys still match)."""
    fields = {"model": model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens}
    if endpoint:
        fields["endpoint"] = endpoint.rstrip("/")
    fields.update({k: v for k, v in params.items() if v is not None})
    blob = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ReplyCache:
    """Replies already asked, one JSON line each; a line cut by a crash is simply asked again."""

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
                    continue

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


# ---- connecting ------------------------------------------------------------------------------------------
def connect(base_url: str | None, key_env: str | None = None, timeout: float = 120.0, api_key: str | None = None):
    """(client, key) for one endpoint. In workshop mode a URL that is not the facilitator's, or a
    server variable named by a participant, is refused here, at the call, whatever a spec said."""
    import openai
    url, key = connection(base_url, key_env, api_key)
    return openai.OpenAI(base_url=url, api_key=key, timeout=timeout, max_retries=0), key


def _prefix(field: str | None) -> str:
    return f"{field}: " if field else ""


def _listed(client, base_url: str, key_env: str | None, key: str, field: str | None) -> list[str]:
    import openai

    from ..paths import confined
    try:
        return [m.id for m in client.models.list()]
    except openai.AuthenticationError:
        # A participant is not told which server variables exist.
        hint = "paste your own API key, or ask the facilitator" if confined() else f"set {key_env or 'OPENAI_API_KEY'}"
        raise UserError(f"{_prefix(field)}{base_url}: the endpoint refused the API key ({hint})") from None
    except openai.APIConnectionError:
        raise UserError(f"{_prefix(field)}{base_url}: cannot connect (is the server running? "
                        "`lab serve tiny --port PORT` starts one)") from None
    except openai.APIError as e:
        raise UserError(f"{_prefix(field)}{base_url}: {short_error(e, key)}") from None


def served_models(base_url: str, key_env: str | None = None, timeout: float = LIST_TIMEOUT_S, api_key: str | None = None,
                  field: str | None = None) -> list[str]:
    """The model ids an endpoint lists, or a UserError saying why it cannot be asked."""
    client, key = connect(base_url, key_env, timeout, api_key)
    return _listed(client, base_url, key_env, key, field)


@dataclass
class Reply:
    text: str
    cached: bool = False
    latency_s: float = 0.0
    error: str | None = None
    retries: int = 0
    probs: dict | None = None


class EndpointChat:
    """Chat completions from one model at one endpoint: `ask` (whole replies, cached when given a
    cache, an error recorded on the Reply) and `stream` (the text so far, errors raised as one line).
    `field` names the spec field in messages (judge.base_url, generator.base_url, …)."""

    def __init__(self, base_url: str, model: str | None, key_env: str | None = None, timeout: float = 120.0,
                 max_retries: int = 4, cache: ReplyCache | None = None, api_key: str | None = None,
                 field: str | None = None, model_field: str = "judge.model"):
        self.base_url, self.key_env, self.max_retries, self.cache = base_url, key_env, max_retries, cache
        self.field = field
        self.client, self._key = connect(base_url, key_env, timeout, api_key)
        self.model = (model or "").strip() or self._first_model(model_field)

    def _first_model(self, model_field: str) -> str:
        models = _listed(self.client.with_options(timeout=LIST_TIMEOUT_S), self.base_url, self.key_env, self._key, self.field)
        if not models:
            raise UserError(f"{_prefix(self.field)}{self.base_url}: the endpoint lists no models (give {model_field})")
        return models[0]

    def error_text(self, exc: BaseException) -> str:
        return short_error(exc, self._key)

    def _kwargs(self, messages, temperature, max_tokens, top_p, seed) -> dict:
        kwargs = dict(model=self.model, messages=messages, temperature=temperature, max_tokens=max_tokens)
        if top_p is not None:
            kwargs["top_p"] = top_p
        if seed is not None:
            kwargs["seed"] = seed
        return kwargs

    def ask(self, messages: list[dict], temperature: float = 0.0, max_tokens: int = 512, top_p: float | None = None,
            seed: int | None = None) -> Reply:
        key = (cache_key(self.model, messages, temperature, max_tokens, self.base_url, top_p=top_p, seed=seed)
               if self.cache else None)
        if key and (hit := self.cache.get(key)):
            return Reply(hit["text"], cached=True)
        retries = 0

        def note_retry(n, exc):
            nonlocal retries
            retries = n

        def call():
            response = self.client.chat.completions.create(**self._kwargs(messages, temperature, max_tokens, top_p, seed))
            return response.choices[0].message.content or ""

        start = time.perf_counter()
        try:
            text = with_retries(call, self.max_retries, note_retry)
        except Exception as exc:  # noqa: BLE001 - recorded on the reply, the caller decides
            return Reply("", latency_s=time.perf_counter() - start, error=self.error_text(exc), retries=retries)
        if key:
            self.cache.put(key, text, self.model)
        return Reply(text, latency_s=time.perf_counter() - start, retries=retries)

    def stream(self, messages: list[dict], temperature: float = 0.0, max_tokens: int = 512,
               top_p: float | None = None, seed: int | None = None) -> Iterator[str]:
        """The reply so far, each time it grows. Opening the stream is retried; a stream that breaks
        after text has arrived is not (the user has already seen it)."""
        kwargs = self._kwargs(messages, temperature, max_tokens, top_p, seed)
        try:
            events = with_retries(lambda: self.client.chat.completions.create(**kwargs, stream=True), self.max_retries)
            text = ""
            for event in events:
                if event.choices and event.choices[0].delta and event.choices[0].delta.content:
                    text += event.choices[0].delta.content
                    yield text
        except Exception as exc:  # noqa: BLE001 - a transport error is one line for the user
            raise UserError(f"{_prefix(self.field)}{self.base_url} failed ({self.error_text(exc)})") from None
