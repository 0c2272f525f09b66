"""Issue 13, points 5, 7 and 10, attacked through the HTTP API of a real `python launch.py --workshop
--users users.csv` server, as a logged-in but untrusted participant would:

- outbound requests: a URL of the participant's own is refused and never called; naming a server
  environment variable is refused with the same words whether it exists or not; a key pasted into
  the page reaches the facilitator's endpoint and no file under the workspace; the facilitator's
  key_env reaches only the endpoint it was configured for;
- accounts: a sixth try after five wrong passwords is refused even with the right one; no file the
  lab writes holds a password in clear, the handout sheet is 0600;
- quotas: over the disk quota a run and an upload are refused with a line naming the biggest runs;
  a second queued run is refused.

One lab server for the module; the endpoints are small OpenAI-compatible servers on 127.0.0.1 that
record what they are sent."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backends.local import wait_until
from tests.e2e.conftest import REPO, LabServer, free_port

pytestmark = pytest.mark.integration

PASSWORDS = {"alice": "alice-pw-1", "bob": "bob-pw-22", "carol": "carol-pw-3", "dave": "dave-pw-44",
             "erin": "erin-pw-5", "teacher": "teacher-pw-6"}
SECRET = "facilitator-secret-7f3a9c"  # a server environment variable's value, only for the 'keyed' endpoint
PASTED = "sk-participant-own-key-51d2e8"  # what a participant pastes into the page


class RecordingEndpoint:
    """An OpenAI-compatible server that answers every chat with "[[A]]" (a verdict and an answer) and
    records the path and Authorization header of each request."""

    def __init__(self, model: str = "echo"):
        self.model = model
        self.requests: list[tuple[str, str]] = []
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def keys(self) -> set[str]:
        return {auth for _, auth in self.requests}

    def start(self) -> "RecordingEndpoint":
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, body: dict):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                endpoint.requests.append((self.path, self.headers.get("Authorization", "")))
                self.send({"object": "list", "data": [{"id": endpoint.model, "object": "model", "created": 0, "owned_by": "t"}]})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.requests.append((self.path, self.headers.get("Authorization", "")))
                self.send({"id": "c", "object": "chat.completion", "created": int(time.time()), "model": endpoint.model,
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "Both fine. [[A]]"},
                                        "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SlowStartLabServer(LabServer):
    """The lab as the other browser/API tests start it, given longer to come up: its page is built while
    the full suite loads a 2-core box (seen: 40 s at a load average of 18)."""

    def start(self) -> "SlowStartLabServer":
        from tests.e2e.conftest import _up
        env = {**os.environ, "LAB_WORKSPACE": str(self.workspace), "GRADIO_ANALYTICS_ENABLED": "False", **self.env}
        log = open(self.workspace / f"ui-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "launch.py", "--port", str(self.port), "--lang", "en", *self.args],
                                     cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(lambda: _up(self.url) or self.proc.poll() is not None, 300, 0.25) or self.proc.poll() is not None:
            raise RuntimeError(f"the lab did not start: {(self.workspace / f'ui-{self.port}.log').read_text()[-2000:]}")
        return self


@pytest.fixture(scope="module")
def room(tmp_path_factory, tiny_models_dir):
    ws = tmp_path_factory.mktemp("room")
    (ws / "models").symlink_to(tiny_models_dir)
    users = ws.parent / f"{ws.name}-users.csv"  # the facilitator's file, outside the workspace
    users.write_text("username,password,role\n" + "".join(
        f"{name},{pw},{'facilitator' if name == 'teacher' else 'participant'}\n" for name, pw in PASSWORDS.items()),
        encoding="utf-8")
    good, keyed, rogue = RecordingEndpoint().start(), RecordingEndpoint().start(), RecordingEndpoint().start()
    server = SlowStartLabServer(ws, args=("--workshop", "--users", str(users), "--quota-gb", "0.01", "--max-queued-per-user", "1",
                                 "--endpoint", f"good={good.url}", "--endpoint", f"keyed={keyed.url},key_env=LAB_TEST_SECRET"),
                       env={"LAB_TEST_SECRET": SECRET}).start()
    yield {"server": server, "ws": ws, "good": good, "keyed": keyed, "rogue": rogue}
    server.stop()
    for endpoint in (good, keyed, rogue):
        endpoint.stop()


# ---- calling the page's events by the elem_id of their button ------------------------------------------------
class Participant:
    def __init__(self, url: str, name: str):
        from gradio_client import Client
        self.client = Client(url, auth=(name, PASSWORDS[name]), verbose=False)
        config = self.client.config
        self.components = {c["id"]: c for c in config["components"]}
        self.by_elem = {c.get("props", {}).get("elem_id"): c["id"] for c in config["components"]}
        self.dependencies = config["dependencies"]

    def call(self, button: str, values: dict, event: str = "click"):
        """Run the event `button` triggers with the page's defaults, except `values` (by elem_id)."""
        target = self.by_elem[button]
        dep = next(d for d in self.dependencies if [target, event] in [list(t) for t in d["targets"]])
        args = []
        for i in dep["inputs"]:
            component = self.components[i]
            if component["type"] == "state":
                continue  # kept by the server for the session
            elem = component.get("props", {}).get("elem_id")
            args.append(values[elem] if elem in values else component.get("props", {}).get("value"))
        return self.client.predict(*args, api_name=f"/{dep['api_name']}")


def contestants(*rows) -> dict:
    return {"headers": ["name", "model", "base_url", "temperature", "max_new_tokens"],
            "data": [list(r) + [0.0, 16] for r in rows], "metadata": None}


def text_of(result) -> str:
    return json.dumps(result, ensure_ascii=False, default=str)


def finished(ws: Path, user: str, run_id: str) -> dict:
    status = ws / "users" / user / "runs" / run_id / "status.json"
    assert wait_until(lambda: status.exists() and json.loads(status.read_text()).get("state") in
                      ("succeeded", "failed", "cancelled"), 240, 0.5), f"run {run_id} did not finish"
    return json.loads(status.read_text())


def only_run(ws: Path, user: str) -> str:
    runs = sorted(p.name for p in (ws / "users" / user / "runs").glob("judge-*"))
    assert len(runs) == 1, runs
    return runs[0]


def files_holding(root: Path, needle: str) -> list[str]:
    out = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle.encode() in path.read_bytes():
                    out.append(str(path.relative_to(root)))
            except OSError:
                pass
    return out


JUDGE_ONE_QUESTION = {"judge-max-questions": 1, "judge-model": "echo", "judge-method": "auto", "judge-mode": "pairwise-baseline"}


# ---- 5. outbound requests and secrets -----------------------------------------------------------------------------
def test_a_url_of_the_participants_own_is_refused_and_never_called(room):
    alice = Participant(room["server"].url, "alice")
    rogue = room["rogue"].url
    # a contestant's endpoint is a free table cell: the lab itself must refuse it
    out = text_of(alice.call("judge-start", {**JUDGE_ONE_QUESTION, "judge-base-url": "good",
                                             "judge-contestants": contestants(("a", "echo", rogue), ("b", "echo", "good"))}))
    assert "only the facilitator's endpoints are called" in out and "contestants[0].base_url" in out
    # the RAG chat's endpoint list offers only names; a URL sent anyway never leaves the server
    try:
        out = text_of(alice.call("rag-send", {"rag-msg": "こんにちは", "rag-base-url": rogue, "rag-model": "echo"}))
    except Exception as e:  # noqa: BLE001 - Gradio may refuse a value that is not one of the choices itself
        out = str(e)
    assert "not in the list of choices" in out or "only the facilitator's endpoints" in out, out
    assert room["rogue"].requests == []
    assert not (room["ws"] / "users" / "alice" / "runs").exists() or not list((room["ws"] / "users" / "alice" / "runs").glob("judge-*"))


def test_naming_a_server_variable_is_refused_and_the_answer_does_not_tell_which_exist(room):
    bob = Participant(room["server"].url, "bob")
    answers = []
    for variable in ("LAB_TEST_SECRET", "NO_SUCH_VARIABLE_EVER"):
        out = text_of(bob.call("rag-eval-start", {"rag-judge-url": "good", "rag-judge-model": "echo",
                                                  "rag-judge-key-env": variable}))
        assert "api_key_env" in out and "facilitator" in out and variable not in out, out
        answers.append(out)
    assert answers[0] == answers[1]  # the same words whether the variable exists or not
    assert not (room["ws"] / "users" / "bob" / "runs").exists() or not list((room["ws"] / "users" / "bob" / "runs").iterdir())
    assert room["keyed"].requests == []


def test_a_pasted_key_reaches_the_endpoint_and_no_file(room):
    ws, good = room["ws"], room["good"]
    alice = Participant(room["server"].url, "alice")
    out = text_of(alice.call("judge-start", {**JUDGE_ONE_QUESTION, "judge-base-url": "good", "judge-api-key": PASTED,
                                             "judge-contestants": contestants(("a", "echo", "good"), ("b", "echo", "good"))}))
    assert "⚠" not in out, out
    run_id = only_run(ws, "alice")
    status = finished(ws, "alice", run_id)
    assert status["state"] == "succeeded", status
    assert good.keys() == {f"Bearer {PASTED}"}  # answers, verdicts and the model listing all carried it
    assert len([p for p, _ in good.requests if p.endswith("/chat/completions")]) >= 3
    job = (ws / "users" / "alice" / "runs" / run_id / "job.yaml").read_text(encoding="utf-8")
    assert good.url in job and "good" not in job.split("base_url")[0]  # the spec holds the facilitator's URL
    assert files_holding(ws, PASTED) == []  # not in job.yaml, events, logs, the judge cache, the server's log
    assert files_holding(ws, SECRET) == []


def test_the_facilitators_key_goes_only_to_its_endpoint(room):
    ws, keyed = room["ws"], room["keyed"]
    dave = Participant(room["server"].url, "erin")
    out = text_of(dave.call("judge-start", {**JUDGE_ONE_QUESTION, "judge-base-url": "keyed",
                                            "judge-contestants": contestants(("a", "echo", "good"), ("b", "echo", "good"))}))
    assert "⚠" not in out, out
    run_id = only_run(ws, "erin")
    assert finished(ws, "erin", run_id)["state"] == "succeeded"
    assert keyed.keys() == {f"Bearer {SECRET}"}
    assert f"Bearer {SECRET}" not in room["good"].keys()
    assert files_holding(ws, SECRET) == []


def test_a_preset_asking_for_remote_code_is_refused(room, tmp_path):
    from gradio_client import handle_file
    preset = tmp_path / "remote.yaml"
    preset.write_text((REPO / "presets" / "sft-tiny.yaml").read_text(encoding="utf-8").replace(
        "model:\n", "model:\n  trust_remote_code: true\n", 1), encoding="utf-8")
    assert "trust_remote_code: true" in preset.read_text()
    alice = Participant(room["server"].url, "alice")
    out = text_of(alice.call("sft-preset-file", {"sft-preset-file": handle_file(str(preset))}, event="upload"))
    assert "trust_remote_code: refused in workshop mode" in out, out


# ---- 7. accounts --------------------------------------------------------------------------------------------------
def login(url: str, name: str, password: str) -> int:
    data = urllib.parse.urlencode({"username": name, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/login", data=data), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_sixth_try_after_five_wrong_passwords_is_refused_even_when_right(room):
    url = room["server"].url
    assert login(url, "carol", PASSWORDS["carol"]) == 200
    for _ in range(5):
        assert login(url, "carol", "guess") == 400
    started = time.monotonic()
    assert login(url, "carol", PASSWORDS["carol"]) == 400
    assert time.monotonic() - started < 30
    assert login(url, "dave", PASSWORDS["dave"]) == 200  # the lock is per account
    log = (room["ws"] / f"ui-{room['server'].port}.log").read_text(encoding="utf-8")
    assert "'carol' refused for 30 s" in log


def test_no_file_holds_a_password_in_clear_and_the_handout_is_private(room, tmp_path):
    for password in PASSWORDS.values():
        assert files_holding(room["ws"], password) == []
    users = tmp_path / "users.csv"
    users.write_text("alice,alice-pw-1\nteacher,teacher-pw-6,facilitator\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "launch.py", "--hash-users", str(users)], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "alice-pw-1" not in users.read_text() and users.read_text().count("scrypt$") == 2
    assert (users.stat().st_mode & 0o777) == 0o600
    # generated accounts: printed once; the lab's copy holds hashes; the handout asked for is 0600
    ws, sheet, port = tmp_path / "gen", tmp_path / "sheet.csv", free_port()
    ws.mkdir()
    proc = subprocess.Popen([sys.executable, "launch.py", "--workshop", "--participants", "2", "--port", str(port),
                             "--accounts-sheet", str(sheet)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "LAB_WORKSPACE": str(ws)})
    try:
        lines = []
        while not any("participant02" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        proc.terminate()
        proc.wait(30)
    printed = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    assert set(printed) == {"facilitator", "participant01", "participant02"}
    stored = (ws / ".workshop" / "accounts.csv").read_text(encoding="utf-8")
    assert stored.count("scrypt$") == 3 and not any(pw in stored for pw in printed.values())
    assert (sheet.stat().st_mode & 0o777) == 0o600 and all(pw in sheet.read_text() for pw in printed.values())


# ---- 10. quotas -----------------------------------------------------------------------------------------------------
def test_over_the_disk_quota_a_run_and_an_upload_are_refused_naming_the_biggest_runs(room, tmp_path):
    big = room["ws"] / "users" / "dave" / "runs" / "sft-20260101-000000-big0"
    (big / "artifacts").mkdir(parents=True)
    (big / "job.yaml").write_text("kind: sft\n")
    (big / "artifacts" / "model.safetensors").write_bytes(b"\0" * 12 * 2**20)  # 12 MB of a 10 MB quota
    dave = Participant(room["server"].url, "dave")
    out = text_of(dave.call("judge-start", {**JUDGE_ONE_QUESTION, "judge-base-url": "good",
                                            "judge-contestants": contestants(("a", "echo", "good"), ("b", "echo", "good"))}))
    assert "disk quota" in out and "run sft-20260101-000000-big0 (12.0 MB)" in out, out
    from gradio_client import handle_file
    upload = tmp_path / "questions.jsonl"
    upload.write_text('{"question_id": 1, "category": "x", "turns": ["hi"]}\n', encoding="utf-8")
    with pytest.raises(Exception, match="disk quota"):
        dave.call("judge-upload", {"judge-upload": handle_file(str(upload))}, event="upload")
    assert not list((room["ws"] / "users" / "dave").glob("uploads/**/questions.jsonl"))
    assert [p.name for p in (room["ws"] / "users" / "dave" / "runs").iterdir()] == [big.name]
    # what the refusal says to do: delete that run (through the page's API), then the run starts
    with pytest.raises(Exception, match="no run"):
        dave.call("runs-delete", {"runs-detail": "../alice"})  # a name, never a path to someone else's runs
    dave.call("runs-delete", {"runs-detail": big.name})
    assert not big.exists()
    out = text_of(dave.call("judge-start", {**JUDGE_ONE_QUESTION, "judge-base-url": "good",
                                            "judge-contestants": contestants(("a", "echo", "good"), ("b", "echo", "good"))}))
    assert "⚠" not in out, out
    finished(room["ws"], "dave", only_run(room["ws"], "dave"))


def test_a_second_waiting_run_is_refused(room):
    waiting = room["ws"] / "users" / "bob" / "runs" / "judge-20260101-000000-wait"
    waiting.mkdir(parents=True)
    (waiting / "job.yaml").write_text("kind: judge\n")
    (waiting / "status.json").write_text(json.dumps({"state": "queued", "kind": "judge", "created_at": time.time()}))
    bob = Participant(room["server"].url, "bob")
    out = text_of(bob.call("judge-start", {**JUDGE_ONE_QUESTION, "judge-base-url": "good",
                                           "judge-contestants": contestants(("a", "echo", "good"), ("b", "echo", "good"))}))
    assert "queue quota" in out and "judge-20260101-000000-wait" in out, out
