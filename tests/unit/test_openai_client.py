"""The lab's one OpenAI-compatible client (lab/models/openai_client.py) against a real server on
127.0.0.1 (the rule judge of tests/integration/test_judge_rule_server.py): retries on 5xx and timeouts
and none on a 4xx, a reply cache keyed by the endpoint, the model and every sampling parameter, and
the key each call carries, for a single user and for a workshop participant."""
from __future__ import annotations

import os

import pytest

from backends.local import wait_until
from lab import endpoints, paths
from lab.errors import UserError
from lab.models.openai_client import EndpointChat, ReplyCache, served_models, short_error
from tests.integration.test_judge_rule_server import RuleJudgeServer

ASK = [{"role": "user", "content": "こんにちは"}]


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    for name in ("LAB_ENDPOINTS", "LAB_PASTED_API_KEY", "OPENAI_API_KEY", "LAB_CONFINE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def server():
    with RuleJudgeServer() as s:
        yield s


def test_a_5xx_is_retried_until_it_passes_and_the_retries_are_counted(env):
    with RuleJudgeServer(fail_first=2) as s:
        reply = EndpointChat(s.url, "rule-judge", max_retries=3).ask(ASK)
    assert reply.error is None and reply.text == "No answer found in the prompt." and reply.retries == 2
    assert s.failed == 2 and s.chat_requests == 1


def test_retries_run_out_into_one_line_on_the_reply(env):
    with RuleJudgeServer(fail_first=10) as s:
        reply = EndpointChat(s.url, "rule-judge", max_retries=1).ask(ASK)
    assert reply.text == "" and reply.retries == 1 and s.failed == 2
    assert reply.error.startswith("InternalServerError: ") and "\n" not in reply.error


def test_a_timeout_is_retried(env):
    with RuleJudgeServer(latency=1.0) as s:
        reply = EndpointChat(s.url, "rule-judge", timeout=0.2, max_retries=1).ask(ASK)
        assert wait_until(lambda: s.chat_requests == 2, 10, 0.05)  # both attempts reached the server
    assert reply.error.startswith("APITimeoutError") and reply.retries == 1


def test_a_4xx_is_not_retried(env, server):
    reply = EndpointChat(server.url, "no-such-model", max_retries=3).ask(ASK)
    assert reply.error.startswith("NotFoundError") and reply.retries == 0
    assert len([k for k in server.keys]) == 1


def test_the_cache_answers_again_only_for_the_same_endpoint_model_and_parameters(env):
    cache = ReplyCache(env / "cache.jsonl")
    with RuleJudgeServer() as a, RuleJudgeServer() as b:
        first = EndpointChat(a.url, "rule-judge", cache=cache).ask(ASK, temperature=0.0, max_tokens=16)
        again = EndpointChat(a.url, "rule-judge", cache=ReplyCache(env / "cache.jsonl")).ask(ASK, temperature=0.0, max_tokens=16)
        assert not first.cached and again.cached and again.text == first.text and a.chat_requests == 1
        assert not EndpointChat(b.url, "rule-judge", cache=cache).ask(ASK, temperature=0.0, max_tokens=16).cached
        chat = EndpointChat(a.url, "rule-judge", cache=cache)
        for changed in ({"temperature": 0.5}, {"max_tokens": 17}, {"top_p": 0.9}, {"seed": 1}):
            assert not chat.ask(ASK, **{"temperature": 0.0, "max_tokens": 16, **changed}).cached, changed
        assert chat.ask(ASK, temperature=0.0, max_tokens=16, top_p=0.9).cached
        assert a.chat_requests == 5 and b.chat_requests == 1


def test_an_empty_model_is_the_first_the_endpoint_lists_and_a_dead_one_is_one_line(env, server):
    assert EndpointChat(server.url, None).model == "rule-judge"
    assert served_models(server.url) == ["rule-judge"]
    with pytest.raises(UserError, match=r"^generator.base_url: http://127.0.0.1:9/v1: cannot connect"):
        EndpointChat("http://127.0.0.1:9/v1", "", field="generator.base_url")


def test_single_user_sends_the_named_variable_then_openai_api_key_then_empty(env, server, monkeypatch):
    EndpointChat(server.url, "rule-judge").ask(ASK)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    EndpointChat(server.url, "rule-judge").ask(ASK)
    monkeypatch.setenv("MY_KEY", "sk-mine-var")
    EndpointChat(server.url, "rule-judge", key_env="MY_KEY").ask(ASK)
    EndpointChat(server.url, "rule-judge", key_env="MY_KEY", api_key="sk-pasted").ask(ASK)
    assert server.keys == ["Bearer EMPTY", "Bearer sk-openai", "Bearer sk-mine-var", "Bearer sk-pasted"]
    with pytest.raises(UserError, match="UNSET_KEY is not set"):
        EndpointChat(server.url, "rule-judge", key_env="UNSET_KEY")


def test_a_participant_reaches_only_the_facilitators_endpoints_with_their_keys(env, monkeypatch):
    monkeypatch.setenv("FACILITATOR_KEY", "fac-secret-123")
    with RuleJudgeServer() as open_, RuleJudgeServer() as paid, RuleJudgeServer() as rogue:
        endpoints.configure([endpoints.parse_flag(f"open={open_.url}"),
                             endpoints.parse_flag(f"paid={paid.url},key_env=FACILITATOR_KEY")])
        with paths.as_user("alice", env / "users" / "alice"):
            with pytest.raises(UserError, match="only the facilitator's endpoints"):
                EndpointChat(rogue.url, "rule-judge")
            with pytest.raises(UserError, match="^api_key_env: naming a server environment variable"):
                EndpointChat(open_.url, "rule-judge", key_env="FACILITATOR_KEY")
            EndpointChat(open_.url, "rule-judge").ask(ASK)
            chat = EndpointChat(paid.url, "rule-judge")
            chat.ask(ASK)
            # whoever's key a server quotes back, the user sees it blanked
            assert "fac-secret-123" not in chat.error_text(RuntimeError("401: key fac-secret-123 refused"))
            with endpoints.pasted_key("sk-alice-own"):
                EndpointChat(paid.url, None).ask(ASK)
                assert short_error(RuntimeError("bad key sk-alice-own")) == "RuntimeError: bad key ***"
            monkeypatch.delenv("FACILITATOR_KEY")
            with pytest.raises(UserError) as caught:
                EndpointChat(paid.url, "rule-judge")
            assert "FACILITATOR_KEY" not in str(caught.value) and "paste your own API key" in str(caught.value)
    assert rogue.keys == [] and open_.keys == ["Bearer EMPTY"]
    assert paid.keys == ["Bearer fac-secret-123", "Bearer sk-alice-own", "Bearer sk-alice-own"]  # listing, then the chat


def test_a_stream_that_cannot_open_is_one_line(env):
    with RuleJudgeServer(fail_first=10) as s:
        chat = EndpointChat(s.url, "rule-judge", max_retries=1, field="generator.base_url")
        with pytest.raises(UserError, match=rf"^generator.base_url: {s.url} failed \(InternalServerError"):
            list(chat.stream(ASK))
    assert s.failed == 2
