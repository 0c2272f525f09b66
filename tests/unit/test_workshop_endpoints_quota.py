"""The facilitator's endpoint list and the key each call carries (lab/endpoints.py), and the
per-participant quotas (lab/quota.py), without a server (the attacks through HTTP are in
tests/integration/test_workshop_endpoints.py)."""
from __future__ import annotations

import json
import os
import time

import pytest
from pydantic import ValidationError

from lab import endpoints, paths, quota
from lab.errors import UserError
from lab.evals.spec import Contestant, JudgeEndpoint
from lab.rag.spec import GeneratorSpec


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    for name in ("LAB_ENDPOINTS", "LAB_PASTED_API_KEY", "OPENAI_API_KEY", "LAB_CONFINE", "LAB_QUOTA_GB", "LAB_MAX_QUEUED_PER_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FACILITATOR_KEY", "fac-secret")
    endpoints.configure([endpoints.parse_flag("open=http://127.0.0.1:9001/v1/"),
                         endpoints.parse_flag("paid=https://api.example.com/v1,key_env=FACILITATOR_KEY")])
    return tmp_path


def participant(tmp_path, name="alice"):
    return paths.as_user(name, tmp_path / "users" / name)


def test_flags_and_files_name_endpoints(tmp_path):
    assert endpoints.parse_flag("a=http://h:1/v1,key_env=K") == endpoints.Endpoint("a", "http://h:1/v1", "K")
    for bad, why in [("nourl", "NAME=URL"), ("a=ftp://h", "url"), ("a=http://h,key_env=1X", "key_env"),
                     ("a=http://h,token=x", "unknown option"), ("../a=http://h", "name")]:
        with pytest.raises(UserError, match=why):
            endpoints.parse_flag(bad)
    f = tmp_path / "endpoints.yaml"
    f.write_text("endpoints:\n  - {name: a, url: 'http://h:1/v1'}\n  - {name: b, url: 'http://h:2/v1', key_env: K}\n")
    assert [e.name for e in endpoints.load_file(f)] == ["a", "b"]
    f.write_text("a: http://h:1/v1\nb: {url: 'http://h:2/v1', key_env: K}\n")
    assert endpoints.load_file(f)[1].key_env == "K"
    with pytest.raises(UserError, match="already another endpoint's URL"):
        endpoints.configure([endpoints.parse_flag("a=http://h/v1"), endpoints.parse_flag("b=http://h/v1")])


def test_single_user_keeps_any_url_and_key_env(env):
    assert GeneratorSpec(base_url="http://elsewhere:8000/v1/").base_url == "http://elsewhere:8000/v1"
    assert JudgeEndpoint(base_url="paid").base_url == "https://api.example.com/v1"  # a name works too
    assert JudgeEndpoint(base_url="http://x/v1", api_key_env="MY_KEY").api_key_env == "MY_KEY"
    assert endpoints.connection("https://api.example.com/v1") == ("https://api.example.com/v1", "fac-secret")
    with pytest.raises(UserError, match="MY_KEY is not set"):  # single-user may be told which variable
        endpoints.connection("http://x/v1", "MY_KEY")
    assert endpoints.connection("http://x/v1")[1] == "EMPTY"


def test_a_participant_names_endpoints_only_by_the_facilitators_list(env):
    with participant(env):
        assert Contestant(name="c", base_url="open").base_url == "http://127.0.0.1:9001/v1"
        for build in (lambda: Contestant(name="c", base_url="http://evil:1/v1"), lambda: GeneratorSpec(base_url="http://evil/v1"),
                      lambda: JudgeEndpoint(base_url="http://evil/v1")):
            with pytest.raises(ValueError, match="only the facilitator's endpoints"):
                build()
        messages = []
        for variable in ("FACILITATOR_KEY", "NOT_A_VARIABLE"):
            with pytest.raises(ValidationError) as caught:
                JudgeEndpoint(base_url="open", api_key_env=variable)
            message = caught.value.errors()[0]["msg"]
            assert "facilitator" in message and variable not in message
            messages.append(message)
        assert messages[0] == messages[1]  # whether the variable exists or not
        # checked again at the call, whatever a spec said
        with pytest.raises(UserError, match="only the facilitator's endpoints"):
            endpoints.connection("http://evil/v1")
        with pytest.raises(UserError, match="^api_key_env: naming a server environment variable"):
            endpoints.connection("http://127.0.0.1:9001/v1", "FACILITATOR_KEY")
        assert endpoints.connection("https://api.example.com/v1") == ("https://api.example.com/v1", "fac-secret")
        assert endpoints.connection("http://127.0.0.1:9001/v1") == ("http://127.0.0.1:9001/v1", "EMPTY")
        with endpoints.pasted_key("sk-mine"):  # a pasted key wins, and goes to a worker as its own variable
            assert endpoints.connection("https://api.example.com/v1")[1] == "sk-mine"
            assert endpoints.worker_env() == {"LAB_PASTED_API_KEY": "sk-mine"}
            assert endpoints.redact("401: bad key sk-mine given") == "401: bad key *** given"
        assert endpoints.worker_env() == {"LAB_PASTED_API_KEY": ""}  # a worker never inherits one


def test_a_missing_facilitator_key_is_not_named_to_a_participant(env, monkeypatch):
    monkeypatch.delenv("FACILITATOR_KEY")
    with participant(env), pytest.raises(UserError) as caught:
        endpoints.connection("https://api.example.com/v1")
    assert "FACILITATOR_KEY" not in str(caught.value) and "paste your own API key" in str(caught.value)


def test_remote_code_is_refused_to_a_participant(env):
    from lab.spec_base import ModelRef
    assert ModelRef(trust_remote_code=True).trust_remote_code
    with participant(env), pytest.raises(ValueError, match="refused in workshop mode"):
        ModelRef(trust_remote_code=True)


# ---- quotas ----------------------------------------------------------------------------------------------------
def test_disk_quota_names_the_biggest_things_to_delete(env, monkeypatch):
    monkeypatch.setenv("LAB_QUOTA_GB", str(3 / 1024))  # 3 MB
    home = env / "users" / "alice"
    for name, size in (("sft-big", 2), ("dpo-small", 1)):
        (home / "runs" / name).mkdir(parents=True)
        (home / "runs" / name / "weights.bin").write_bytes(b"\0" * size * 2**20)
    (home / "rag" / "notes").mkdir(parents=True)
    (home / "rag" / "notes" / "chroma.sqlite3").write_bytes(b"\0" * 2**19)
    quota.check_disk()  # nobody confined: no quota
    with participant(env):
        assert [name for name, _ in quota.usage()] == ["run sft-big", "run dpo-small", "index notes"]
        with pytest.raises(UserError, match=r"^disk quota: .* delete some of your biggest first \(a run: Runs tab, Delete run\): run sft-big \(2.0 MB\), "
                                            r"run dpo-small \(1.0 MB\), index notes \(0.5 MB\)$"):
            quota.check_submit()
        with pytest.raises(UserError, match="cannot upload this file"):
            quota.check_upload(10)
        (home / "runs" / "sft-big" / "weights.bin").unlink()
        quota.check_submit()
        quota.check_upload(2**20)


def test_queued_runs_quota(env, monkeypatch):
    monkeypatch.setenv("LAB_MAX_QUEUED_PER_USER", "2")
    runs = env / "users" / "alice" / "runs"
    for i, state in enumerate(("queued", "running", "queued")):
        (runs / f"r{i}").mkdir(parents=True)
        (runs / f"r{i}" / "status.json").write_text(json.dumps({"state": state, "created_at": time.time()}))
    with participant(env):
        assert quota.queued_runs() == ["r0", "r2"]
        with pytest.raises(UserError, match=r"^queue quota: you already have 2 runs waiting \(the limit is 2\)"):
            quota.check_queued()
        (runs / "r2" / "status.json").write_text(json.dumps({"state": "cancelled"}))
        quota.check_queued()


class StreamingEndpoint:
    """An OpenAI-compatible server on 127.0.0.1 that streams one reply and records each Authorization header."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen.append(self.headers.get("Authorization", ""))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "echo",
                         "choices": [{"index": 0, "delta": {"content": "streamed"}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        from lab.threads import start_thread
        start_thread(self.httpd.serve_forever)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_rag_chat_streams_from_a_named_endpoint_with_the_pasted_key_and_refuses_others(env):
    from lab.rag.chain import stream_many
    served, other = StreamingEndpoint(), StreamingEndpoint()
    try:
        endpoints.configure([endpoints.parse_flag(f"room={served.url}")])
        with participant(env):
            generator = GeneratorSpec(base_url="room", model="echo")
            replies = list(stream_many(generator, [[{"role": "user", "content": "q"}]], "sk-pasted-1"))
            assert replies[-1] == ["streamed"] and served.seen == ["Bearer sk-pasted-1"]
            # a spec built around the validators (model_construct) is still refused at the call
            sneaky = GeneratorSpec.model_construct(base_url=other.url, model="echo", api_key_env=None,
                                                   temperature=0.0, max_new_tokens=8, prompt=None)
            replies = list(stream_many(sneaky, [[{"role": "user", "content": "q"}]], "sk-pasted-1"))
            assert replies[-1][0].startswith("⚠ base_url: in workshop mode only the facilitator's endpoints")
        assert other.seen == []
    finally:
        served.close()
        other.close()
