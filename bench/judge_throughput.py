"""Judgments per second through the lab's judge client (EndpointChat + bounded_map, the code path a
`judge` run uses, cache off) at concurrency 1, 4 and 8.

Against an HTTP judge with a fixed added latency (the rule-based test judge), the server is not the
bottleneck, so c requests in flight should give close to c × the serial rate; the target is at
least 0.8 × c × serial. With --lab-serve it also measures `lab serve tiny`, where one CPU generates
one reply at a time: there the server is the bottleneck and concurrency cannot help (reported, not
a target).

    .venv/bin/python bench/judge_throughput.py [--latency 0.2] [--n 48] [--lab-serve]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.threads import bounded_map  # noqa: E402
from lab.models.openai_client import EndpointChat  # noqa: E402
from lab.evals.prompts import pairwise_prompt  # noqa: E402
from lab.evals.questions import load_questions  # noqa: E402
from tests.integration.test_judge_rule_server import RuleJudgeServer  # noqa: E402


def prompts(n: int) -> list[list[dict]]:
    questions = load_questions("samples/judge_questions_ja.jsonl")
    out = []
    for i in range(n):
        q = questions[i % len(questions)]
        out.append(pairwise_prompt(q.turns, ["短い答え。" * (1 + i % 5)], ["少し長めの答えです。" * (1 + i % 7)], "ja").as_list())
    return out


def measure(url: str, model: str | None, concurrency: int, messages: list[list[dict]], max_tokens: int = 64) -> dict:
    chat = EndpointChat(url, model, cache=None, max_retries=2)
    start = time.perf_counter()
    errors = 0
    for _, reply in bounded_map(lambda m: chat.ask(m, temperature=0.0, max_tokens=max_tokens), messages, concurrency):
        errors += reply.error is not None
    seconds = time.perf_counter() - start
    return {"concurrency": concurrency, "n": len(messages), "seconds": round(seconds, 3),
            "judgments_per_s": round(len(messages) / seconds, 2), "errors": errors}


def report(title: str, rows: list[dict], target: bool) -> None:
    serial = rows[0]["judgments_per_s"]
    print(f"\n{title}")
    print(f"{'concurrency':>11} {'n':>4} {'seconds':>8} {'judg/s':>8} {'speedup':>8} {'per slot':>8}" + ("  target ≥0.8" if target else ""))
    for r in rows:
        speedup = r["judgments_per_s"] / serial
        r["speedup"] = round(speedup, 2)
        r["efficiency"] = round(speedup / r["concurrency"], 2)
        mark = ("  ok" if r["efficiency"] >= 0.8 else "  MISSED") if target else ""
        print(f"{r['concurrency']:>11} {r['n']:>4} {r['seconds']:>8.2f} {r['judgments_per_s']:>8.2f} {speedup:>8.2f} "
              f"{r['efficiency']:>8.2f}{mark}")


def lab_serve_rows(n: int) -> list[dict]:
    ws = Path(os.environ.get("LAB_WORKSPACE", REPO / "workspace")).resolve()
    proc = subprocess.Popen([sys.executable, "-m", "lab.cli", "serve", "tiny", "--port", "0"], cwd=REPO,
                            env={**os.environ, "LAB_WORKSPACE": str(ws)}, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if "serving" not in line:
            raise SystemExit(f"lab serve did not start: {line}")
        url = line.split(" at ")[1].split()[0]
        messages = prompts(n)
        return [measure(url, "tiny", c, messages, max_tokens=16) for c in (1, 4, 8)]
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the test judge takes per request")
    parser.add_argument("--n", type=int, default=48, help="judgments per measurement")
    parser.add_argument("--lab-serve", action="store_true", help="also measure `lab serve tiny` (CPU-bound)")
    args = parser.parse_args()

    messages = prompts(args.n)
    with RuleJudgeServer(latency=args.latency) as server:
        measure(server.url, None, 1, messages[:2])  # warm-up: imports, first connection
        rows = [measure(server.url, None, c, messages) for c in (1, 4, 8)]
    report(f"rule judge over HTTP, {args.latency * 1000:.0f} ms added latency per request", rows, target=True)
    result = {"rule_judge": {"latency_s": args.latency, "rows": rows}}
    if args.lab_serve:
        serve_rows = lab_serve_rows(min(args.n, 12))
        report("`lab serve tiny` (16 new tokens per verdict; one generation at a time)", serve_rows, target=False)
        result["lab_serve_tiny"] = serve_rows
    print(json.dumps(result))
    return 0 if all(r["efficiency"] >= 0.8 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
