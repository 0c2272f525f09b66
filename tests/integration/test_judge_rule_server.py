"""A deterministic OpenAI-compatible judge on 127.0.0.1, for tests and the throughput bench.

It reads the two answers out of the lab's judge prompt and rules by length: the longer answer wins
([[A]] or [[B]]). With `position_margin`, answers within that relative length of each other count
as close, and then it picks whichever was shown first — a judge with a position bias, so the
diagnostics have something to find. Single grading: 1 + one point per `chars_per_point` characters,
at most 10. It can also answer garbage every k-th request (unparsed verdicts), fail the first n
requests with 503 (retries), and add a fixed latency (throughput). The file also tests that the
server follows its own rule through the official `openai` client."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.evals.prompts import extract_answers, pairwise_prompt, single_prompt

pytestmark = pytest.mark.integration


def close(len_a: int, len_b: int, margin: float) -> bool:
    return abs(len_a - len_b) <= margin * max(len_a, len_b, 1)


def rule_verdict(len_a: int, len_b: int, margin: float) -> str:
    if close(len_a, len_b, margin) or len_a > len_b:
        return "A"
    return "B"


def rule_score(length: int, chars_per_point: int = 15) -> int:
    return max(1, min(10, 1 + length // chars_per_point))


def answer_length(block: str) -> int:
    """Length of an answer block as the judge sees it: the answers without the turn labels."""
    lines = [line for line in block.splitlines() if not (line.startswith("(turn ") or line.startswith("（ターン"))]
    return len("".join(lines).replace("\n", ""))


class RuleJudgeServer:
    def __init__(self, name: str = "rule-judge", position_margin: float = 0.0, latency: float = 0.0,
                 fail_first: int = 0, garbage_every: int = 0, chars_per_point: int = 15):
        self.name, self.position_margin, self.latency = name, position_margin, latency
        self.fail_first, self.garbage_every, self.chars_per_point = fail_first, garbage_every, chars_per_point
        self.chat_requests = 0
        self.failed = 0
        self.keys: list[str] = []  # the Authorization header of every request, in order
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, messages: list[dict]) -> str:
        text = "\n".join(str(m.get("content", "")) for m in messages)
        blocks = extract_answers(text)
        with self.lock:
            n = self.chat_requests
        if self.garbage_every and n % self.garbage_every == 0:
            return "I would rather not decide."
        if "A" in blocks and "B" in blocks:
            la, lb = answer_length(blocks["A"]), answer_length(blocks["B"])
            verdict = rule_verdict(la, lb, self.position_margin)
            return f"Answer A has {la} characters and answer B has {lb}.\n[[{verdict}]]"
        if "single" in blocks:
            score = rule_score(answer_length(blocks["single"]), self.chars_per_point)
            return f"The answer has {answer_length(blocks['single'])} characters.\nRating: [[{score}]]"
        return "No answer found in the prompt."

    def start(self) -> "RuleJudgeServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, status: int, body: dict):
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server.keys.append(self.headers.get("Authorization", ""))
                if self.path.rstrip("/") == "/v1/models":
                    self.send(200, {"object": "list", "data": [{"id": server.name, "object": "model", "created": 0,
                                                                "owned_by": "tests"}]})
                else:
                    self.send(404, {"error": {"message": "not found", "type": "NotFoundError"}})

            def do_POST(self):
                server.keys.append(self.headers.get("Authorization", ""))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self.send(404, {"error": {"message": "not found", "type": "NotFoundError"}})
                if server.latency:
                    time.sleep(server.latency)  # the server's simulated work, not a test waiting
                with server.lock:
                    if server.failed < server.fail_first:
                        server.failed += 1
                        fail = True
                    else:
                        fail = False
                        server.chat_requests += 1
                if fail:
                    return self.send(503, {"error": {"message": "overloaded, try again", "type": "server_error"}})
                if body.get("model") != server.name:
                    return self.send(404, {"error": {"message": f"model {body.get('model')} not found",
                                                     "type": "NotFoundError", "code": "model_not_found"}})
                content = server.reply(body.get("messages", []))
                self.send(200, {"id": "chatcmpl-rule", "object": "chat.completion", "created": int(time.time()),
                                "model": server.name,
                                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                             "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def test_rule_server_prefers_the_longer_answer_and_shows_its_position_bias():
    import openai
    with RuleJudgeServer(position_margin=0.5) as server:
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
        assert [m.id for m in client.models.list()] == ["rule-judge"]

        def ask(a: str, b: str) -> str:
            prompt = pairwise_prompt(["質問"], [a], [b], "ja")
            return client.chat.completions.create(model="rule-judge", messages=prompt.as_list()).choices[0].message.content

        assert ask("短い", "とても長い回答です。詳しく説明します。").endswith("[[B]]")
        assert ask("とても長い回答です。詳しく説明します。", "短い").endswith("[[A]]")
        # close lengths: whichever is shown first wins, in both orders
        assert ask("回答その一です", "回答その二です。").endswith("[[A]]")
        assert ask("回答その二です。", "回答その一です").endswith("[[A]]")
        single = single_prompt(["質問"], ["x" * 40], "en").as_list()
        assert client.chat.completions.create(model="rule-judge", messages=single).choices[0].message.content.endswith("[[3]]")
        assert server.chat_requests == 5
