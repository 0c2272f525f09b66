"""The one cache of loaded local models (lab/models/cache.py): keyed by the folder a name resolves to,
bounded by `keep` (the chat keeps a few, a judge job one), a model asked for by two threads at once
loaded once. Loading is faked: what is tested is which models stay in memory."""
from __future__ import annotations

import threading

import pytest

from backends.local import wait_until
from lab.models import cache


class _Model:
    def eval(self):
        return self


class _Loads(list):
    """The names loaded, in order; `gate` holds every load until it is set."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.entered = 0


@pytest.fixture
def loads(monkeypatch):
    seen = _Loads()
    gate = seen.gate
    gate.set()

    def load(name):
        seen.entered += 1
        gate.wait(5)
        seen.append(name)
        return _Model(), f"tokenizer of {name}"

    monkeypatch.setattr(cache, "load_causal_lm", load)
    monkeypatch.setattr(cache, "resolve_model", lambda name: f"/models/{name.removeprefix('alias:')}")
    monkeypatch.setattr(cache, "_CACHE", type(cache._CACHE)())
    return seen


def test_a_model_is_loaded_once_whatever_name_leads_to_it(loads):
    first = cache.cached_model("a")
    assert cache.cached_model("alias:a")[0] is first[0] and loads == ["a"]


def test_the_chat_keeps_its_last_three_and_a_hit_counts_as_recent(loads):
    for name in ("a", "b", "c"):
        cache.cached_model(name)
    cache.cached_model("a")          # a is now the most recent
    cache.cached_model("d")          # b, the least recent, goes
    assert cache.loaded() == ["/models/c", "/models/a", "/models/d"]
    cache.cached_model("b")
    assert loads == ["a", "b", "c", "d", "b"]


def test_a_job_that_keeps_one_holds_one_model_at_a_time(loads):
    for name in ("a", "b", "c"):
        cache.cached_model(name)
    cache.cached_model("judge", keep=1)  # frees the others before loading
    assert cache.loaded() == ["/models/judge"]
    cache.cached_model("judge", keep=1)
    assert loads == ["a", "b", "c", "judge"]


def test_two_threads_asking_at_once_load_it_once(loads):
    loads.gate.clear()
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.cached_model("a"))) for _ in range(2)]
    for t in threads:
        t.start()
    assert wait_until(lambda: loads.entered == 1, 5, 0.01)  # one is loading, the other waits for it
    loads.gate.set()
    for t in threads:
        t.join(10)
    assert loads == ["a"] and got[0][0] is got[1][0]


def test_forget_drops_a_model(loads):
    cache.cached_model("a")
    cache.forget("alias:a")
    assert cache.loaded() == []
