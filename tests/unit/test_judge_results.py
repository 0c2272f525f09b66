"""A finished judge run read back for people: the viewer's rows and filters, the side-by-side
detail, human overrides counted apart from the judge, and the exports (CSV, JSON, and preference
pairs the DPO tab reads)."""
import csv
import json

import pytest

from lab.data.formats import load_rows
from lab.evals import results
from lab.evals.answers import append_line
from lab.evals.outputs import run_output
from lab.evals.spec import JudgeSpec
from lab.runs import RunStore
from tests.unit.test_judge_aggregate import both


@pytest.fixture(params=["artifacts", "old-layout"])
def run_dir(workspace, request):
    """A judge run's files under artifacts/, and (old-layout) in the run folder itself, as runs made
    before judge outputs moved under artifacts/ keep them: every test here reads both."""
    spec = JudgeSpec(contestants=[{"name": "x", "model": "tiny"}, {"name": "y", "model": "tiny"}], baseline="y",
                     judge={"base_url": "http://127.0.0.1:1/v1", "model": "rule-judge"})
    run = RunStore().create(spec)
    questions = [{"question_id": 1, "category": "math", "turns": ["1+1は？"], "reference": ["2"]},
                 {"question_id": 2, "category": "writing", "turns": ["詩を書いて"]},
                 {"question_id": 3, "category": "writing", "turns": ["自己紹介して", "もっと短く"]}]
    out = run.artifacts if request.param == "artifacts" else run.dir
    (out / "answers").mkdir()
    for q in questions:
        append_line(out / "questions.jsonl", q)
        for m in ("x", "y"):
            turns = [f"{m} の答え{q['question_id']}-{t}" for t in range(len(q["turns"]))]
            append_line(out / "answers" / f"{m}.jsonl",
                        {"question_id": q["question_id"], "model_id": m, "choices": [{"index": 0, "turns": turns}]})
    judgments = both(1, "A", "B") + both(2, "A", "A", category="writing") + both(3, "B", "A", category="writing")
    for j in judgments:
        j["rationale"] = f"reason {j['order']}"
        append_line(out / "judgments.jsonl", j)
    return run.dir


def test_rows_filters_and_detail(run_dir):
    r = results.load_result(run_dir)
    assert [row["winner"] for row in results.rows(r)] == ["x", "tie", "y"]
    assert [row["key"] for row in results.rows(r, inconsistent_only=True)] == ["2|x|y"]
    assert [row["question_id"] for row in results.rows(r, category="writing")] == ["2", "3"]
    assert [row["question_id"] for row in results.rows(r, winner="y")] == ["3"]
    d = results.detail(r, "2|x|y")
    assert d["inconsistent"] and d["answer_1"] == ["x の答え2-0"] and d["answer_2"] == ["y の答え2-0"]
    assert d["orders"]["AB"] == {"shown_first": "x", "verdict": "A", "winner": "x", "rationale": "reason AB",
                                 "unparsed_reason": None, "p_model_1": None}
    assert d["orders"]["BA"]["winner"] == "y"


def test_human_overrides_are_saved_and_counted_separately(run_dir):
    results.save_override(run_dir, "2|x|y", "y")
    results.save_override(run_dir, "1|x|y", "y")
    results.save_override(run_dir, "1|x|y", None)      # cleared again
    results.save_override(run_dir, "3|x|y", "y")
    r = results.load_result(run_dir)
    human = results.human_summary(r)
    assert human["n"] == 2 and human["table"]["y"]["win"] == 2
    assert human["agreement_with_judge"] == 0.5          # the judge said tie on 2, y on 3
    assert r.summary is None or r.summary.get("win_rate")  # the judge's own numbers are untouched
    assert [row["human"] for row in results.rows(r)] == ["", "y", "y"]
    assert run_output(run_dir, results.OVERRIDES).exists()  # beside the run's other outputs, in either layout


def test_new_runs_keep_their_outputs_under_artifacts_and_old_runs_are_read_in_place(workspace):
    store = RunStore()
    new, old = store.create(JudgeSpec()), store.create(JudgeSpec())
    assert run_output(new.dir, "summary.json") == new.artifacts / "summary.json"
    (old.dir / "judgments.jsonl").write_text("", encoding="utf-8")
    for name in ("summary.json", "answers", "questions.jsonl", results.OVERRIDES):
        assert run_output(old.dir, name) == old.dir / name


def test_exports(run_dir, tmp_path):
    results.save_override(run_dir, "2|x|y", "y")
    r = results.load_result(run_dir)
    with open(results.export_csv(r, tmp_path / "items.csv"), encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    assert [row["winner"] for row in table] == ["x", "tie", "y"] and table[0]["rationale_ba"] == "reason BA"
    payload = json.loads(results.export_json(r, tmp_path / "items.json").read_text(encoding="utf-8"))
    assert payload["human"]["n"] == 1 and len(payload["items"]) == 3
    path, written, skipped = results.export_preferences(r, tmp_path / "prefs.jsonl")
    # item 1: the judge (x, both orders); item 2: the human override (y); item 3 is multi-turn
    assert (written, skipped) == (2, 1)
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert pairs[0]["chosen"] == "x の答え1-0" and pairs[0]["source"] == "judge"
    assert pairs[1]["chosen"] == "y の答え2-0" and pairs[1]["source"] == "human"
    rows, fmt = load_rows(path, "auto")   # what the DPO tab does with it
    assert fmt == "preference" and rows[0] == {"prompt": "1+1は？", "chosen": "x の答え1-0", "rejected": "y の答え1-0"}


def test_what_the_viewer_offers_to_filter_and_to_answer(run_dir):
    r = results.load_result(run_dir)
    assert results.filter_choices(r) == (["math", "writing"], ["x", "y", "tie", "unparsed"])
    assert results.filter_choices(None) == ([], [])
    assert results.override_choices(r, "2|x|y") == ["x", "y", "tie", "clear"]
    assert results.override_choices(r) == ["x", "y", "tie", "clear"]
    assert results.override_choices(None, "2|x|y") == []


def test_summary_rows_format_what_summary_json_says():
    from tests.unit.test_judge_aggregate import HAND
    from lab.evals.summary import summarize
    spec = JudgeSpec(contestants=[{"name": "x"}, {"name": "y"}], baseline="y", bootstrap_rounds=50)
    summary = summarize(spec, HAND, "rule-judge", 5)
    rows = {row["model"]: row for row in results.summary_rows(summary)}
    lo, hi = summary["ci"]["x"]["adjusted_win_rate"]
    assert (rows["x"]["win"], rows["x"]["loss"], rows["x"]["tie"], rows["x"]["n"]) == (2, 1, 1, 4)
    assert rows["x"]["win rate"] == "50%" and rows["x"]["adjusted"] == "0.625" and rows["x"]["95% CI"] == f"[{lo:.2f}, {hi:.2f}]"
    assert rows["x"]["BT rating"] == f"{summary['bradley_terry']['rating']['x']:.0f}" and "mean score" not in rows["x"]
    single = {"mode": "single", "table": {"x": {"win": 1, "loss": 0, "tie": 0, "n": 1, "win_rate": 1.0, "adjusted_win_rate": None}},
              "scores": {"x": 7.25}, "score_ci": {}, "ci": {}}
    (row,) = results.summary_rows(single)
    assert list(row)[:3] == ["model", "mean score", "score 95% CI"] and row["mean score"] == "7.25"
    assert row["score 95% CI"] == "–" and row["adjusted"] == "–" and "BT rating" not in row
    assert results.summary_rows(None) == [] and results.summary_rows({"mode": "single"}) == []


@pytest.mark.parametrize("layout", ["artifacts", "old-layout"])
def test_eval_rows_read_finished_eval_runs_only(workspace, layout):
    from lab.evals.spec import EvalSpec
    store = RunStore()
    done, pending = store.create(EvalSpec()), store.create(EvalSpec())
    folder = done.artifacts if layout == "artifacts" else done.dir
    (folder / "results.json").write_text(json.dumps({"model": "tiny", "scores": {"qa/exact_match": 0.5}, "average": 0.5}))
    assert results.eval_run_ids(store) == [done.id]
    assert results.eval_rows(store, [done.id, pending.id, "no-such-run"]) == [
        {"run": done.id, "model": "tiny", "qa/exact_match": 0.5, "average": 0.5}]
    assert results.eval_rows(store, None) == []
