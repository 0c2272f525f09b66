"""Whole judge runs through the CLI against a rule-based OpenAI-compatible judge on 127.0.0.1 (it
prefers the longer answer and, when lengths are close, whichever is shown first), so every verdict,
the aggregation and the bias diagnostics can be checked against numbers recomputed here from the
answers on disk. Also: a re-run asks the judge nothing new (cache), retries ride over 503s,
unreadable verdicts are recorded, and bad input is refused before a run folder exists."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab.errors import UserError
from lab.jobs import precheck
from lab.presets import load_preset
from tests.conftest import lab
from tests.integration.test_judge_rule_server import RuleJudgeServer, rule_score, rule_verdict

pytestmark = pytest.mark.integration
MARGIN = 0.3
# short answers keep the tiny model's part of each run to a few seconds
SHORT = ("contestants=[{name: tiny-greedy, model: tiny, temperature: 0.0, max_new_tokens: 32},"
         " {name: tiny-t1, model: tiny, temperature: 1.0, max_new_tokens: 32}]")


def result(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def answer_chars(run_dir: Path, name: str) -> dict[str, int]:
    """What the judge sees of each answer: its turns, without line breaks."""
    return {str(a["question_id"]): sum(len(t.strip().replace("\n", "")) for t in a["choices"][0]["turns"])
            for a in jsonl(run_dir / "artifacts" / "answers" / f"{name}.jsonl")}


def test_pairwise_preset_against_a_rule_judge_end_to_end(tiny_workspace):
    # the answers first, as a job of their own; the judge runs then start from them
    answers = result(lab("run", "presets/judge-pairwise.yaml", "--set", "answers_only=true", "--set", SHORT,
                         "--set", "questions.max_questions=4", "--json", workspace=tiny_workspace))
    answers_dir = Path(answers["run_dir"]) / "artifacts" / "answers"
    assert sorted(p.name for p in answers_dir.iterdir()) == ["tiny-greedy.jsonl", "tiny-t1.jsonl"]
    first = jsonl(answers_dir / "tiny-t1.jsonl")[0]
    assert set(first) >= {"question_id", "answer_id", "model_id", "choices", "tstamp"}   # FastChat's answer schema
    assert first["generation"] == {"model": "tiny", "temperature": 1.0, "top_p": 0.95, "max_new_tokens": 32, "seed": 0}
    assert json.loads((answers_dir.parent / "summary.json").read_text())["answers"]["tiny-t1"]["n"] == 4
    assert not (Path(answers["run_dir"]) / "summary.json").exists()  # every output is under artifacts/

    with RuleJudgeServer(position_margin=MARGIN) as judge:
        def judged() -> dict:
            return result(lab("run", "presets/judge-pairwise.yaml", "--set", f"judge.base_url={judge.url}", "--set", SHORT,
                              "--set", "questions.max_questions=4", "--set", f"answers_from={answers['run_id']}",
                              "--json", workspace=tiny_workspace))

        out = judged()
        run_dir = Path(out["run_dir"])
        lengths = {m: answer_chars(run_dir, m) for m in ("tiny-greedy", "tiny-t1")}
        judgments = jsonl(run_dir / "artifacts" / "judgments.jsonl")
        assert len(judgments) == 8 and judge.chat_requests == 8

        # every verdict is the rule applied to what was shown in that order
        for j in judgments:
            a, b = lengths[j["model_a"]][str(j["question_id"])], lengths[j["model_b"]][str(j["question_id"])]
            assert j["verdict"] == rule_verdict(a, b, MARGIN), j
            assert j["winner"] == (j["model_a"] if j["verdict"] == "A" else j["model_b"])
            assert j["rationale"].endswith(f"[[{j['verdict']}]]") and j["judge"] == "rule-judge"

        # the summary, recomputed by hand: consistent orders decide, inconsistent ones are ties
        by_q: dict[str, dict] = {}
        for j in judgments:
            by_q.setdefault(str(j["question_id"]), {})[j["order"]] = j["winner"]
        wins = sum(v["AB"] == v["BA"] == "tiny-t1" for v in by_q.values())
        ties = sum(v["AB"] != v["BA"] for v in by_q.values())
        summary = json.loads((run_dir / "artifacts" / "summary.json").read_text(encoding="utf-8"))
        assert summary["win_rate"]["tiny-t1"] == pytest.approx(wins / 4)
        assert summary["adjusted_win_rate"]["tiny-t1"] == pytest.approx((wins + 0.5 * ties) / 4)
        assert summary["position_consistency"] == pytest.approx(1 - ties / 4)
        lo, hi = summary["ci"]["tiny-t1"]["adjusted_win_rate"]
        assert lo <= summary["adjusted_win_rate"]["tiny-t1"] <= hi
        assert len(summary["bias"]["inconsistent_items"]) == ties
        assert summary["per_category"] and all(set(v) <= {"tiny-greedy", "tiny-t1"} for v in summary["per_category"].values())
        if summary["bias"]["length"]["decided_with_length_gap"] >= 3:
            assert summary["bias"]["length"]["correlation"] > 0 and summary["bias"]["length"]["longer_wins_rate"] > 0.5
        assert summary["judge"]["model"] == "rule-judge" and summary["judge"]["method"] == "generate"
        assert out["metrics"]["adjusted_win_rate/tiny-t1"] == pytest.approx(summary["adjusted_win_rate"]["tiny-t1"])

        # the answers run as a run made before judge outputs moved under artifacts/ keeps them: in its folder
        for name in ("answers", "questions.jsonl", "summary.json"):
            (answers_dir.parent / name).rename(Path(answers["run_dir"]) / name)
        # a re-run from those answers asks the judge nothing: every verdict comes from the cache, so the
        # answers read from the old layout are the same answers
        again = judged()
        assert judge.chat_requests == 8
        rerun = jsonl(Path(again["run_dir"]) / "artifacts" / "judgments.jsonl")
        assert all(j["cached"] for j in rerun)
        assert {j["judgment_id"]: j["verdict"] for j in rerun} == {j["judgment_id"]: j["verdict"] for j in judgments}


def test_single_grading_with_an_endpoint_contestant_retries_and_unreadable_verdicts(tiny_workspace):
    # the second contestant is an OpenAI-compatible endpoint (it always says the same sentence)
    with RuleJudgeServer(name="echo-model") as contestant, RuleJudgeServer(fail_first=2, garbage_every=4) as judge:
        contestants = ("contestants=[{name: tiny-greedy, model: tiny, temperature: 0.0, max_new_tokens: 32},"
                       f" {{name: endpoint, model: echo-model, base_url: '{contestant.url}'}}]")
        out = result(lab("run", "presets/judge-single.yaml", "--set", f"judge.base_url={judge.url}",
                         "--set", "judge.cache=false", "--set", contestants, "--set", "questions.max_questions=3",
                         "--set", "questions.categories=[math]", "--json", workspace=tiny_workspace))
    run_dir = Path(out["run_dir"])
    endpoint_answers = jsonl(run_dir / "artifacts" / "answers" / "endpoint.jsonl")
    assert [a["choices"][0]["turns"] for a in endpoint_answers] == [["No answer found in the prompt."]] * 3
    assert endpoint_answers[0]["generation"]["base_url"] == contestant.url and contestant.chat_requests == 3
    judgments = jsonl(run_dir / "artifacts" / "judgments.jsonl")
    # the first two requests failed with 503 and were retried with backoff; every 4th reply has no verdict
    assert len(judgments) == 6 and judge.failed == 2 and sum(j["retries"] for j in judgments) == 2
    unparsed = [j for j in judgments if j["verdict"] == "unparsed"]
    assert len(unparsed) == 1 and unparsed[0]["unparsed_reason"] == "no verdict found" and unparsed[0]["score"] is None
    lengths = {m: answer_chars(run_dir, m) for m in ("tiny-greedy", "endpoint")}
    for j in judgments:
        if j["verdict"] == "rated":
            assert j["score"] == rule_score(lengths[j["model"]][str(j["question_id"])])
    summary = json.loads((run_dir / "artifacts" / "summary.json").read_text())
    assert summary["mode"] == "single" and summary["n_unparsed"] == 1
    assert set(summary["scores"]) == {"tiny-greedy", "endpoint"} and set(summary["per_category"]) == {"math"}
    assert all(j["reference_used"] and j["prompt_id"] == "single-ref-v1-ja" for j in judgments)


def test_bad_input_is_refused_before_a_run_exists(tiny_workspace, tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question_id": 1, "category": "x", "turns": ["a"]}\n{"question_id": 2, "category": "x"}\n')
    proc = lab("run", "presets/judge-pairwise.yaml", "--set", f"questions.path={bad}", workspace=tiny_workspace)
    assert proc.returncode == 2 and "q.jsonl:2: turns: field required" in proc.stderr and "Traceback" not in proc.stderr
    assert [p for p in os.listdir(tiny_workspace / "runs") if not p.startswith(".")] == []
    # the same checks the CLI and the UI run before making a run folder
    with pytest.raises(UserError, match=r"http://127.0.0.1:9/v1: cannot connect"):
        precheck(load_preset("presets/judge-pairwise.yaml", ["judge.base_url=http://127.0.0.1:9/v1"]))
    with RuleJudgeServer() as judge, pytest.raises(UserError, match=r"judge.model: 'gpt-x' is not served .* rule-judge"):
        precheck(load_preset("presets/judge-pairwise.yaml", [f"judge.base_url={judge.url}", "judge.model=gpt-x"]))
    with pytest.raises(UserError, match=r"contestants\[nope\].model: .*no run 'missing'"):
        precheck(load_preset("presets/judge-pairwise.yaml",
                             ["contestants=[{name: a}, {name: nope, model: 'run:missing'}]", "baseline=a"]))
