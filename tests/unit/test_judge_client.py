"""The judge client's machinery: bounded concurrency, backoff, the on-disk cache, and fitting a long
prompt into a small model's context."""
import threading

import pytest

from backends.local import wait_until
from lab.evals.generation import fit_prompt
from lab.threads import bounded_map
from lab.models.openai_client import ReplyCache, backoff_delay, cache_key


def test_bounded_map_never_exceeds_its_concurrency_and_returns_everything():
    in_flight, peak, lock = 0, 0, threading.Lock()
    release = threading.Event()

    def work(i):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        release.wait(5)
        with lock:
            in_flight -= 1
        return i * i

    results = {}
    consumer = threading.Thread(target=lambda: results.update(dict(bounded_map(work, range(20), 3))))
    consumer.start()
    assert wait_until(lambda: in_flight == 3, 5, 0.01)
    release.set()
    consumer.join(10)
    assert results == {i: i * i for i in range(20)} and peak == 3


def test_bounded_map_stops_submitting_when_asked():
    seen = []
    for item, _ in bounded_map(lambda i: seen.append(i), range(100), 2, should_stop=lambda: len(seen) >= 4):
        pass
    assert 4 <= len(seen) <= 6


def test_backoff_grows_and_honours_retry_after():
    assert all(0 <= backoff_delay(0) <= 0.5 for _ in range(50))
    assert max(backoff_delay(4) for _ in range(200)) > 2.0
    assert backoff_delay(0, retry_after=3.0) == pytest.approx(3.0)
    assert backoff_delay(10, cap=5.0) <= 5.0


def test_cache_survives_a_restart_and_ignores_a_torn_line(tmp_path):
    path = tmp_path / "judge.jsonl"
    messages = [{"role": "user", "content": "どちらが良い？"}]
    key = cache_key("judge-a", messages, 0.0, 256)
    ReplyCache(path).put(key, "[[A]]", "judge-a")
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"key": "cut in the mid')
    cache = ReplyCache(path)
    assert cache.get(key)["text"] == "[[A]]"
    assert cache_key("judge-b", messages, 0.0, 256) != key          # another judge
    assert cache_key("judge-a", messages, 0.7, 256) != key          # other sampling
    assert cache.get(cache_key("judge-a", messages, 0.0, 512)) is None


def test_long_prompts_keep_their_end_and_leave_room_to_answer():
    assert fit_prompt(list(range(100)), 50, 1024) == (list(range(100)), 50, False)
    ids, max_new, truncated = fit_prompt(list(range(2000)), 512, 1024)
    assert truncated and max_new == 256 and ids == list(range(2000))[-768:]   # a quarter of the context stays for the reply
    ids, max_new, truncated = fit_prompt(list(range(900)), 512, 1024)
    assert truncated and max_new == 256 and len(ids) == 768 and ids[-1] == 899
    assert fit_prompt(list(range(10)), 5000, 1024)[1:] == (1014, False)


def test_the_cache_tells_endpoints_apart():
    messages = [{"role": "user", "content": "q"}]
    assert cache_key("m", messages, 0.0, 8, "http://a:1/v1") != cache_key("m", messages, 0.0, 8, "http://b:1/v1")
    assert cache_key("m", messages, 0.0, 8, "http://a:1/v1/") == cache_key("m", messages, 0.0, 8, "http://a:1/v1")
