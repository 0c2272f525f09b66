"""`lab serve tiny` in a subprocess on 127.0.0.1, driven with the official `openai` client: model
listing, completions, streaming (SSE), stop sequences, OpenAI-shaped errors, the API key — and a
whole judge run that uses it as the judge (a poor judge: many verdicts are unparsed, and it is
also a contestant, which the diagnostics must say)."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import openai
import pytest

from tests.conftest import REPO, lab
from tests.integration.test_judge_run import SHORT

pytestmark = pytest.mark.integration
KEY = "test-key-123"


class LabServe:
    """`lab serve MODEL --port 0` in a subprocess; `url` once it printed that it is ready."""

    def __init__(self, workspace: Path, model: str = "tiny", *args: str):
        self.workspace, self.model, self.args = workspace, model, args
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 120) -> "LabServe":
        env = {**os.environ, "LAB_WORKSPACE": str(self.workspace)}
        self.proc = subprocess.Popen([sys.executable, "-m", "lab.cli", "serve", self.model, "--port", "0", *self.args],
                                     cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout] and lines.put(""), daemon=True).start()
        try:
            first = lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError("lab serve did not become ready") from None
        if "serving" not in first:
            self.stop()
            raise RuntimeError(f"lab serve failed: {first}{self.proc.stderr.read()[-2000:]}")
        self.url = first.split(" at ")[1].split()[0]
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_models_dir):
    ws = tmp_path_factory.mktemp("serve-ws")
    (ws / "models").symlink_to(tiny_models_dir)
    server = LabServe(ws, "tiny", "--api-key", KEY).start()
    yield server
    server.stop()


@pytest.fixture
def client(served):
    return openai.OpenAI(base_url=served.url, api_key=KEY, max_retries=0, timeout=120)


ASK = [{"role": "system", "content": "丁寧に答えてください。"}, {"role": "user", "content": "富士山について教えてください。"}]


def test_models_are_listed(client):
    assert [m.id for m in client.models.list()] == ["tiny"]
    assert client.models.retrieve("tiny").owned_by == "llm-lab"


def test_completion_and_stream_agree_when_greedy(client):
    done = client.chat.completions.create(model="tiny", messages=ASK, max_tokens=12, temperature=0)
    text = done.choices[0].message.content
    assert done.object == "chat.completion" and done.model == "tiny" and done.choices[0].message.role == "assistant"
    assert isinstance(text, str) and text
    assert 0 < done.usage.completion_tokens <= 12 and done.usage.prompt_tokens > 5
    assert done.choices[0].finish_reason in ("stop", "length")

    chunks = list(client.chat.completions.create(model="tiny", messages=ASK, max_tokens=12, temperature=0, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2   # it really streams
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == done.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == done.usage.completion_tokens


def test_stop_sequences_cut_the_reply(client):
    text = client.chat.completions.create(model="tiny", messages=ASK, max_tokens=24, temperature=0).choices[0].message.content
    if len(text) < 4:
        pytest.skip("the tiny model wrote too little to cut")
    stop = text[2:4]
    cut = client.chat.completions.create(model="tiny", messages=ASK, max_tokens=24, temperature=0, stop=[stop])
    assert cut.choices[0].message.content == text[:text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_errors_have_openai_shape(client, served):
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-nonexistent", messages=ASK)
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.chat.completions.create(model="tiny", messages=ASK, temperature=5)
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="tiny", messages=[])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=served.url, api_key="wrong", max_retries=0).models.list()


def test_serving_beyond_loopback_needs_a_key(workspace):
    proc = lab("serve", "tiny", "--host", "0.0.0.0", "--port", "0", workspace=workspace, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: --host 0.0.0.0: serving beyond this machine needs an API key")


def test_a_missing_model_is_one_line(workspace):
    proc = lab("serve", "run:nope", workspace=workspace, timeout=120)
    assert proc.returncode == 2 and "no run 'nope'" in proc.stderr and "Traceback" not in proc.stderr


def test_full_judge_run_with_lab_serve_tiny_as_the_judge(served, tiny_workspace, monkeypatch):
    monkeypatch.setenv("LAB_TEST_JUDGE_KEY", KEY)
    proc = lab("run", "presets/judge-pairwise.yaml", "--set", f"judge.base_url={served.url}", "--set", "judge.model=tiny",
               "--set", "judge.api_key_env=LAB_TEST_JUDGE_KEY", "--set", "judge.max_tokens=32",
               "--set", "questions.max_questions=2", "--set", SHORT, "--json", workspace=tiny_workspace, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    run_dir = Path(out["run_dir"])
    assert out["status"] == "succeeded"
    for name in ("tiny-greedy", "tiny-t1"):
        answers = [json.loads(line) for line in (run_dir / "artifacts" / "answers" / f"{name}.jsonl").read_text().splitlines()]
        assert len(answers) == 2 and all(a["model_id"] == name and a["choices"][0]["turns"] for a in answers)
        assert answers[0]["generation"]["temperature"] in (0.0, 1.0)
    judgments = [json.loads(line) for line in (run_dir / "artifacts" / "judgments.jsonl").read_text().splitlines()]
    assert len(judgments) == 4 and {j["order"] for j in judgments} == {"AB", "BA"}
    assert all(j["verdict"] in ("A", "B", "tie", "unparsed") and isinstance(j["rationale"], str) for j in judgments)
    assert all(j["judge"] == "tiny" and j["error"] is None for j in judgments)
    summary = json.loads((run_dir / "artifacts" / "summary.json").read_text())
    assert {"win_rate", "ci", "position_consistency", "per_category"} <= set(summary)
    assert summary["n_unparsed"] == sum(j["verdict"] == "unparsed" for j in judgments)
    assert "self_judge" in {w["code"] for w in summary["warnings"]}   # tiny judges tiny
