"""Reading a judge run back for people: the side-by-side items with both orders' verdicts and
rationales, filters, human overrides, and exports (CSV, JSON, and the judged pairs as a preference
dataset for the DPO tab); summary.json as a table of formatted rows; and the results.json of eval
(automatic metrics) runs, side by side. The Judge tab shows these; it parses no run file itself.

Human overrides live in RUN_DIR/artifacts/human_overrides.jsonl (outputs.py: the run folder itself
for runs made before), one line per decision (the last line for an
item wins; "winner": null clears it). They never change the judge's numbers: they are counted
separately, with their agreement with the judge."""
from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from . import aggregate
from .answers import answer_turns, append_line, read_answers
from .outputs import outputs_dir, run_output
from .questions import Question

OVERRIDES = "human_overrides.jsonl"


@dataclass
class JudgeResult:
    run_dir: Path
    spec: object
    questions: dict[str, Question]
    answers: dict[str, dict[str, dict]]
    judgments: list[dict]
    summary: dict | None
    items: list[aggregate.Item] = field(default_factory=list)
    overrides: dict[str, dict] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return self.spec.mode

    @property
    def models(self) -> list[str]:
        return [c.name for c in self.spec.contestants]

    def categories(self) -> list[str]:
        return list(dict.fromkeys(q.category for q in self.questions.values()))


def _read_jsonl(path: Path) -> list[dict]:
    out = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def load_result(run_dir: str | Path) -> JudgeResult:
    from ..runs import Run
    run_dir = Path(run_dir)
    spec = Run(run_dir).load_spec()
    if spec.kind != "judge":
        raise UserError(f"run {run_dir.name} is a {spec.kind} run, not a judge run")
    out = outputs_dir(run_dir)
    questions = {str(r["question_id"]): Question.model_validate(r) for r in _read_jsonl(out / "questions.jsonl")}
    answers = {c.name: read_answers(out / "answers" / f"{c.name}.jsonl") for c in spec.contestants}
    judgments = list({j["judgment_id"]: j for j in _read_jsonl(out / "judgments.jsonl")}.values())
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
    result = JudgeResult(run_dir, spec, questions, answers, judgments, summary)
    result.items = aggregate.pair_items(judgments, spec.tie_margin) if spec.mode != "single" else []
    result.overrides = read_overrides(run_dir)
    return result


# ---- human overrides ----------------------------------------------------------------------------
def read_overrides(run_dir: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for record in _read_jsonl(run_output(run_dir, OVERRIDES)):
        if record.get("winner") is None and record.get("score") is None:
            out.pop(record.get("key"), None)
        else:
            out[record["key"]] = record
    return out


def save_override(run_dir: str | Path, key: str, winner: str | None = None, score: float | None = None,
                  note: str = "") -> dict:
    """Record a person's verdict for one item: a winner (a model or "tie") for a pair, a score for a
    single grade; both None clears it."""
    record = {"key": key, "winner": winner, "score": score, "note": note, "t": round(time.time(), 3)}
    path = run_output(run_dir, OVERRIDES)
    path.parent.mkdir(parents=True, exist_ok=True)
    append_line(path, record)
    refresh_human_fields(run_dir)
    return record


def refresh_human_fields(run_dir: str | Path) -> dict | None:
    """Rewrite summary.json's judge–human agreement and self-preference from the verdicts on disk
    (the judge's own numbers stay as they are). None when the run has no summary yet."""
    from .bias import judge_is_contestant
    from .summary import human_fields
    result = load_result(run_dir)
    if result.summary is None:
        return None
    judge = result.summary.get("judge", {})
    self_name = judge_is_contestant(judge.get("model") or "", judge.get("base_url"), result.spec.contestants)
    result.summary.update(human_fields(result.mode, result.items, result.judgments, result.overrides, self_name,
                                       result.spec.seed))
    path = run_output(run_dir, "summary.json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.summary, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return result.summary


def human_summary(result: JudgeResult) -> dict:
    """The human verdicts counted on their own, and how often the judge agreed with them."""
    if result.mode == "single":
        scored = [(k, o["score"]) for k, o in result.overrides.items() if o.get("score") is not None]
        judge_scores = {single_key(j["question_id"], j["model"]): j.get("score") for j in result.judgments
                        if j.get("mode") == "single"}
        diffs = [abs(s - judge_scores[k]) for k, s in scored if judge_scores.get(k) is not None]
        return {"n": len(scored), "mean_abs_diff": sum(diffs) / len(diffs) if diffs else None}
    by_key = {i.key: i for i in result.items}
    human_items, agree, compared = [], 0, 0
    for key, o in result.overrides.items():
        item = by_key.get(key)
        if item is None or o.get("winner") is None:
            continue
        outcome = "tie" if o["winner"] == "tie" else "1" if o["winner"] == item.model_1 else "2"
        human_items.append(aggregate.Item(item.question_id, item.category, item.model_1, item.model_2, outcome=outcome))
        if item.outcome is not None:
            compared += 1
            agree += item.outcome == outcome
    table = aggregate.win_table(human_items, result.models)
    return {"n": len(human_items), "table": {m: r for m, r in table.items() if r["n"]},
            "agreement_with_judge": agree / compared if compared else None, "compared": compared}


# ---- the viewer --------------------------------------------------------------------------------------
def single_key(question_id, model: str) -> str:
    return f"{question_id}|{model}"


def _named(item: aggregate.Item, side: str | None) -> str:
    return {"1": item.model_1, "2": item.model_2, "tie": "tie"}.get(side or "", "unparsed")


def rows(result: JudgeResult, category: str | None = None, winner: str | None = None,
         inconsistent_only: bool = False) -> list[dict]:
    """One row per item (pairwise) or per answer (single), filtered. `winner` is a model, "tie",
    "unparsed" or None/"" for all."""
    out = []
    if result.mode == "single":
        for j in result.judgments:
            if j.get("mode") != "single":
                continue
            key = single_key(j["question_id"], j["model"])
            human = result.overrides.get(key, {}).get("score")
            out.append({"key": key, "question_id": str(j["question_id"]), "category": j.get("category", ""),
                        "model": j["model"], "score": j.get("score"), "verdict": j.get("verdict"),
                        "human": "" if human is None else human})
        out.sort(key=lambda r: (r["question_id"], r["model"]))
        return [r for r in out if (not category or r["category"] == category)
                and (not winner or r["model"] == winner or (winner == "unparsed" and r["verdict"] == "unparsed"))]
    for item in result.items:
        human = result.overrides.get(item.key, {}).get("winner")
        row = {"key": item.key, "question_id": item.question_id, "category": item.category,
               "model_1": item.model_1, "model_2": item.model_2,
               "verdict_ab": _named(item, item.orders.get("AB")) if "AB" in item.orders else "",
               "verdict_ba": _named(item, item.orders.get("BA")) if "BA" in item.orders else "",
               "winner": item.winner() or "unparsed", "inconsistent": item.consistent is False,
               "human": human or ""}
        if category and row["category"] != category:
            continue
        if winner and row["winner"] != winner:
            continue
        if inconsistent_only and not row["inconsistent"]:
            continue
        out.append(row)
    return out


def detail(result: JudgeResult, key: str) -> dict:
    """Everything the side-by-side view shows for one item."""
    if result.mode == "single":
        qid, model = key.rsplit("|", 1)
        q = result.questions.get(qid)
        j = next((j for j in result.judgments if j.get("mode") == "single" and str(j["question_id"]) == qid and j["model"] == model), {})
        return {"key": key, "mode": "single", "question": q.turns if q else [], "reference": (q.reference if q else None) or [],
                "category": q.category if q else "", "model": model,
                "answer": answer_turns(result.answers.get(model, {}).get(qid, {"choices": [{}]})),
                "score": j.get("score"), "verdict": j.get("verdict"), "rationale": j.get("rationale", ""),
                "human": result.overrides.get(key, {}).get("score")}
    item = next((i for i in result.items if i.key == key), None)
    if item is None:
        raise UserError(f"no item '{key}' in run {result.run_dir.name}")
    q = result.questions.get(item.question_id)
    by_order = {j["order"]: j for j in result.judgments if j.get("mode") != "single"
                and aggregate.item_key(j["question_id"], j["model_1"], j["model_2"]) == key}
    return {"key": key, "mode": "pairwise", "question": q.turns if q else [], "reference": (q.reference if q else None) or [],
            "category": item.category, "model_1": item.model_1, "model_2": item.model_2,
            "answer_1": answer_turns(result.answers.get(item.model_1, {}).get(item.question_id, {"choices": [{}]})),
            "answer_2": answer_turns(result.answers.get(item.model_2, {}).get(item.question_id, {"choices": [{}]})),
            "orders": {o: {"shown_first": j["model_a"], "verdict": j["verdict"], "winner": j.get("winner") or "unparsed",
                           "rationale": j.get("rationale", ""), "unparsed_reason": j.get("unparsed_reason"),
                           "p_model_1": j.get("p_model_1")} for o, j in by_order.items()},
            "winner": item.winner() or "unparsed", "inconsistent": item.consistent is False,
            "single_order": item.single_order, "human": result.overrides.get(key, {}).get("winner")}


# ---- exports -----------------------------------------------------------------------------------------
def export_rows(result: JudgeResult) -> list[dict]:
    out = []
    for row in rows(result):
        d = detail(result, row["key"])
        flat = {**row, "question": "\n\n".join(d["question"]), "reference": "\n\n".join(d["reference"] or [])}
        if result.mode == "single":
            flat.update({"answer": "\n\n".join(d["answer"]), "rationale": d["rationale"]})
        else:
            flat.update({"answer_1": "\n\n".join(d["answer_1"]), "answer_2": "\n\n".join(d["answer_2"]),
                         "rationale_ab": d["orders"].get("AB", {}).get("rationale", ""),
                         "rationale_ba": d["orders"].get("BA", {}).get("rationale", "")})
        out.append(flat)
    return out


def export_csv(result: JudgeResult, path: Path) -> Path:
    data = export_rows(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:  # utf-8-sig: Excel reads Japanese right
        writer = csv.DictWriter(f, fieldnames=list(data[0]) if data else ["key"])
        writer.writeheader()
        writer.writerows(data)
    return path


def export_json(result: JudgeResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"run_id": result.run_dir.name, "mode": result.mode, "summary": result.summary,
               "human": human_summary(result), "items": export_rows(result)}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def preference_pairs(result: JudgeResult) -> tuple[list[dict], int]:
    """(prompt, chosen, rejected) rows from the decided single-turn items — a person's override first,
    else the judge's verdict when both orders agreed (or the log-probability average decided) —
    and the number of items left out (ties, unparsed, one order only, multi-turn)."""
    pairs, skipped = [], 0
    if result.mode == "single":
        by_q: dict[str, dict[str, float]] = {}
        for j in result.judgments:
            if j.get("mode") == "single" and j.get("score") is not None:
                human = result.overrides.get(single_key(j["question_id"], j["model"]), {}).get("score")
                by_q.setdefault(str(j["question_id"]), {})[j["model"]] = human if human is not None else j["score"]
        for qid, scores in by_q.items():
            q = result.questions.get(qid)
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            if q is None or len(q.turns) != 1 or len(ranked) < 2 or ranked[0][1] == ranked[-1][1]:
                skipped += 1
                continue
            best, worst = ranked[0][0], ranked[-1][0]
            pairs.append(_pair(q, result, best, worst, "judge-score"))
        return pairs, skipped
    for item in result.items:
        q = result.questions.get(item.question_id)
        human = result.overrides.get(item.key, {}).get("winner")
        if human in (item.model_1, item.model_2):
            winner, source = human, "human"
        elif human is None and item.outcome in ("1", "2") and not item.single_order:
            winner, source = (item.model_1 if item.outcome == "1" else item.model_2), "judge"
        else:
            skipped += 1
            continue
        if q is None or len(q.turns) != 1:
            skipped += 1
            continue
        loser = item.model_2 if winner == item.model_1 else item.model_1
        pairs.append(_pair(q, result, winner, loser, source))
    return pairs, skipped


def _pair(q: Question, result: JudgeResult, chosen: str, rejected: str, source: str) -> dict:
    text = lambda m: "\n\n".join(answer_turns(result.answers[m][str(q.question_id)]))  # noqa: E731
    return {"prompt": q.turns[0], "chosen": text(chosen), "rejected": text(rejected),
            "question_id": q.question_id, "category": q.category, "chosen_model": chosen, "rejected_model": rejected,
            "source": source}


def export_preferences(result: JudgeResult, path: Path) -> tuple[Path, int, int]:
    """A JSONL the DPO tab reads as it is (prompt / chosen / rejected; the other keys are ignored)."""
    pairs, skipped = preference_pairs(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    return path, len(pairs), skipped


# ---- what the results page offers ------------------------------------------------------------------------
def filter_choices(result: JudgeResult | None) -> tuple[list[str], list[str]]:
    """The viewer's (categories, winners) to filter by: every category asked, and every outcome an item
    can have (a model, a tie in pairwise mode, or an unparsed verdict)."""
    if result is None:
        return [], []
    outcomes = ["unparsed"] if result.mode == "single" else ["tie", "unparsed"]
    return result.categories(), [*result.models, *outcomes]


def override_choices(result: JudgeResult | None, key: str | None = None) -> list[str]:
    """What a person may answer for a pairwise item (its two models, a tie, or clear); single mode is
    scored, not chosen, so it offers nothing."""
    if result is None or result.mode == "single":
        return []
    if key and key.count("|") == 2:
        _, model_1, model_2 = key.split("|")
        return [model_1, model_2, "tie", "clear"]
    return [*result.models, "tie", "clear"]


def _ci_text(ci, fmt: str = ".2f") -> str:
    return "–" if not ci else f"[{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def summary_rows(summary: dict | None) -> list[dict]:
    """summary.json as one row per model, numbers formatted for reading: win / loss / tie, the win rate,
    the adjusted win rate with its 95% interval, and by mode the mean score with its interval (single)
    or the length-controlled win rate and the Bradley–Terry rating with its interval (pairwise)."""
    if not summary or "table" not in summary:
        return []
    single = summary.get("mode") == "single"
    bt = summary.get("bradley_terry") or {}
    out = []
    for m, r in summary["table"].items():
        row = {"model": m, "win": r["win"], "loss": r["loss"], "tie": r["tie"], "n": r["n"],
               "win rate": "–" if r["win_rate"] is None else f"{r['win_rate']:.0%}",
               "adjusted": "–" if r["adjusted_win_rate"] is None else f"{r['adjusted_win_rate']:.3f}",
               "95% CI": _ci_text((summary["ci"].get(m) or {}).get("adjusted_win_rate"))}
        if single:
            score = summary["scores"].get(m)
            row = {"model": m, "mean score": "–" if score is None else f"{score:.2f}",
                   "score 95% CI": _ci_text(summary["score_ci"].get(m)), **{k: v for k, v in row.items() if k != "model"}}
        else:
            lc = (summary.get("length_controlled_win_rate") or {}).get(m)
            row["LC win rate"] = "–" if lc is None else f"{lc:.3f}"
            if bt:
                row["BT rating"] = f"{bt['rating'][m]:.0f}"
                row["BT 95% CI"] = _ci_text(bt.get("rating_ci", {}).get(m), ".0f")
        out.append(row)
    return out


# ---- eval (automatic metrics) runs -------------------------------------------------------------------------
EVAL_RESULTS = "results.json"


def eval_run_ids(store) -> list[str]:
    """The eval runs that have written their results, newest first as the store lists them."""
    return [i for i in store.find(kind="eval") if run_output(store.root / i, EVAL_RESULTS).exists()]


def eval_rows(store, run_ids: list[str] | None) -> list[dict]:
    """One row per eval run with results: run id, model, every task/metric score and the average.
    Unknown runs and runs without results are left out."""
    out = []
    for run_id in run_ids or []:
        try:
            path = run_output(store.get(run_id).dir, EVAL_RESULTS)
        except UserError:
            continue
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            out.append({"run": run_id, "model": data.get("model"), **data.get("scores", {}), "average": data.get("average")})
    return out
