"""Loaded local models, kept for reuse: the one cache behind the chat tabs, the RAG generator and judge,
contestants' answers and the local judge.

Keyed by the folder a name resolves to for whoever asks (`run:<id>` is a different model for each
participant), never by the name typed. `keep` bounds how many models stay loaded after this one: the
chat keeps a few so switching back is instant; a job that walks through several models (contestants,
then the judge) keeps one, so memory holds one model at a time. A model's first load holds the lock,
so two threads asking for it load it once."""
from __future__ import annotations

import threading
from collections import OrderedDict

from .load import load_causal_lm, resolve_model

CHAT_KEEP = 3

_CACHE: "OrderedDict[str, tuple]" = OrderedDict()
_LOCK = threading.Lock()


def cached_model(name: str, keep: int = CHAT_KEEP):
    """(model, tokenizer) in eval mode, loaded once and kept with at most `keep` models in memory."""
    key = resolve_model(name)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            model, tokenizer = _CACHE[key]
        else:
            while _CACHE and len(_CACHE) >= keep:  # free memory before the next model needs it
                _CACHE.popitem(last=False)
            model, tokenizer = load_causal_lm(name)
            model.eval()
            _CACHE[key] = (model, tokenizer)
        while len(_CACHE) > max(1, keep):
            _CACHE.popitem(last=False)
        return model, tokenizer


def forget(name: str) -> None:
    with _LOCK:
        _CACHE.pop(resolve_model(name), None)


def loaded() -> list[str]:
    """The resolved folders (or Hub ids) held now, oldest first."""
    with _LOCK:
        return list(_CACHE)
