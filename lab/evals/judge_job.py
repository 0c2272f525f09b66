"""The `judge` job: contestants answer the questions, the judge grades the answers, and the run
folder gets the results with the judge's bias diagnostics.

RUN_DIR/artifacts/ (the run folder itself for runs made before: see outputs.py)
  questions.jsonl              the questions this run used (after the category filter)
  answers/<contestant>.jsonl   FastChat answer schema (see answers.py), appended per question
  judgments.jsonl              one line per judgment (see below), appended as each verdict arrives
  summary.json                 results and diagnostics (see summary.py), written at the end

A pairwise judgment line: judgment_id, mode "pairwise", question_id, category, model_1, model_2,
order ("AB": model_1 shown as A; "BA": swapped), model_a, model_b, verdict (A / B / tie /
unparsed), winner (a model, "tie" or null), rationale, unparsed_reason, len_a, len_b, p_model_1
(log-probability judges), judge, method, prompt_id, reference_used, cached, latency_s, retries,
error, tstamp. A single-grading line has model, score and len instead, and verdict rated/unparsed.
A re-run of the same folder skips the answers and judgments already on disk."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from ..errors import UserError
from ..models.openai_client import EndpointChat, Reply, ReplyCache, served_models
from ..names import inside
from ..paths import resolve_input, runs_dir, shown
from .answers import answer_path, answer_turns, append_line, copy_answers, generate_answers, read_answers
from .outputs import outputs_dir, run_output
from ..threads import bounded_map
from .local_judge import LocalJudge
from .prompts import JudgePrompt, pairwise_prompt, single_prompt
from .questions import Question, load_questions
from .spec import JudgeSpec
from .summary import live_metrics, summarize
from .verdicts import UNPARSED, Parsed, parse_pairwise, parse_rating

LIVE_EVERY_S = 0.25


@dataclass
class Task:
    judgment_id: str
    question: Question
    mode: str                 # "single" or "pairwise"
    model: str = ""           # single
    model_1: str = ""         # pairwise: the pair, in a fixed order
    model_2: str = ""
    order: str = "single"     # "AB" (model_1 shown first) or "BA"

    @property
    def shown(self) -> tuple[str, str]:
        return (self.model_1, self.model_2) if self.order == "AB" else (self.model_2, self.model_1)


def pairs(spec: JudgeSpec) -> list[tuple[str, str]]:
    names = [c.name for c in spec.contestants]
    if spec.mode == "pairwise-baseline":
        return [(m, spec.baseline_name) for m in names if m != spec.baseline_name]
    return list(combinations(names, 2))


def plan_tasks(spec: JudgeSpec, questions: list[Question]) -> list[Task]:
    tasks = []
    for q in questions:
        if spec.mode == "single":
            tasks += [Task(f"single:{q.question_id}:{c.name}", q, "single", model=c.name) for c in spec.contestants]
            continue
        for m1, m2 in pairs(spec):
            for order in ("AB", "BA"):
                tasks.append(Task(f"pair:{q.question_id}:{m1}:{m2}:{order}", q, "pairwise", model_1=m1, model_2=m2, order=order))
    return tasks


# ---- checks before a run folder is made ------------------------------------------------------------
def precheck(spec: JudgeSpec) -> None:
    from ..models.load import resolve_model
    # Pin the question file, so job.yaml means the same from any folder.
    spec.questions.path = str(resolve_input(spec.questions.path, "question file"))
    load_questions(spec.questions.path, spec.questions.categories, spec.questions.max_questions)
    for c in spec.contestants:
        if not c.base_url:
            try:
                resolve_model(c.model)
            except UserError as e:
                raise UserError(f"contestants[{c.name}].model: {e}") from None
    if spec.answers_from and not run_output(inside(runs_dir(), spec.answers_from, "answers_from"), "answers").is_dir():
        raise UserError(f"answers_from: run '{spec.answers_from}' has no answers/ folder in {shown(runs_dir())}")
    if spec.answers_only:
        return
    if spec.judge.is_local:
        try:
            resolve_model(spec.judge.model or "tiny")
        except UserError as e:
            raise UserError(f"judge.model: {e}") from None
        return
    models = served_models(spec.judge.base_url, spec.judge.api_key_env)
    if spec.judge.model and models and spec.judge.model not in models:
        raise UserError(f"judge.model: '{spec.judge.model}' is not served at {spec.judge.base_url} (it serves: {', '.join(models[:8])})")


# ---- judging ----------------------------------------------------------------------------------------
class Judge:
    """Turns a task into a judgment record, with the judge the spec names."""

    def __init__(self, spec: JudgeSpec, answers: dict[str, dict[str, dict]]):
        self.spec, self.answers = spec, answers
        self.method = spec.judge.resolved_method
        if spec.judge.is_local:
            self.local = LocalJudge(spec.judge.model or "tiny")
            self.endpoint = None
            self.model_id = spec.judge.model or "tiny"
        else:
            self.local = None
            cache = ReplyCache() if spec.judge.cache else None
            self.endpoint = EndpointChat(spec.judge.base_url, spec.judge.model, spec.judge.api_key_env,
                                         spec.judge.timeout_s, spec.judge.max_retries, cache, field="judge.base_url")
            self.model_id = self.endpoint.model

    @property
    def concurrency(self) -> int:
        return self.spec.judge.concurrency if self.endpoint else 1

    def turns_of(self, model: str, q: Question) -> list[str]:
        return answer_turns(self.answers[model][str(q.question_id)])

    def prompt(self, task: Task) -> JudgePrompt:
        q, lang = task.question, self.spec.prompt_lang
        reference = q.reference if (self.spec.use_reference and q.has_reference) else None
        only = self.method == "logprob"
        if task.mode == "single":
            return single_prompt(q.turns, self.turns_of(task.model, q), lang, reference, verdict_only=only)
        a, b = task.shown
        return pairwise_prompt(q.turns, self.turns_of(a, q), self.turns_of(b, q), lang, reference, verdict_only=only)

    def ask(self, task: Task, prompt: JudgePrompt) -> Reply:
        j = self.spec.judge
        if self.endpoint:
            return self.endpoint.ask(prompt.as_list(), temperature=j.temperature, max_tokens=j.max_tokens)
        if self.method == "logprob":
            return self.local.rating(prompt) if task.mode == "single" else self.local.pairwise(prompt)
        return self.local.generate(prompt, j.max_tokens, j.temperature)

    def judge(self, task: Task) -> dict:
        prompt = self.prompt(task)
        reply = self.ask(task, prompt)
        return self.record(task, prompt, reply)

    def record(self, task: Task, prompt: JudgePrompt, reply: Reply) -> dict:
        q = task.question
        base = {"judgment_id": task.judgment_id, "mode": task.mode, "question_id": q.question_id,
                "category": q.category, "turns": len(q.turns)}
        tail = {"rationale": reply.text, "judge": self.model_id, "method": self.method, "prompt_id": prompt.prompt_id,
                "reference_used": "-ref" in prompt.prompt_id, "cached": reply.cached,
                "latency_s": round(reply.latency_s, 4), "retries": reply.retries, "error": reply.error,
                "tstamp": round(time.time(), 3)}
        if task.mode == "single":
            parsed = Parsed(None, reply.error) if reply.error else parse_rating(reply.text)
            return {**base, "model": task.model, "order": "single",
                    "verdict": "rated" if parsed.ok else UNPARSED, "score": parsed.value,
                    "unparsed_reason": parsed.reason or None, "len": _chars(self.turns_of(task.model, q)), **tail}
        a, b = task.shown
        parsed = Parsed(None, reply.error) if reply.error else parse_pairwise(reply.text)
        verdict = parsed.value if parsed.ok else UNPARSED
        winner = {"A": a, "B": b, "tie": "tie"}.get(verdict)
        extra = {}
        if reply.probs:  # P(model_1 wins) between the two answers, whatever the order
            p_a, p_b = reply.probs["A"], reply.probs["B"]
            p_first = p_a / (p_a + p_b) if p_a + p_b > 0 else 0.5
            extra = {"probs": reply.probs, "p_model_1": p_first if task.order == "AB" else 1 - p_first}
        return {**base, "model_1": task.model_1, "model_2": task.model_2, "order": task.order, "model_a": a,
                "model_b": b, "verdict": verdict, "winner": winner, "unparsed_reason": parsed.reason or None,
                "len_a": _chars(self.turns_of(a, q)), "len_b": _chars(self.turns_of(b, q)), **extra, **tail}


def _chars(turns: list[str]) -> int:
    return sum(len(t) for t in turns)


def read_judgments(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                out[record["judgment_id"]] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return out


# ---- the job ----------------------------------------------------------------------------------------
class Progress:
    def __init__(self, ctx, total: int):
        self.ctx, self.total, self.step, self.start, self.first_new = ctx, total, 0, time.time(), None

    def advance(self, n: int = 1, new: bool = True) -> None:
        if new and self.first_new is None:
            self.first_new = (self.step, time.time())
        self.step += n
        eta = None
        if self.first_new and self.step > self.first_new[0]:
            rate = (self.step - self.first_new[0]) / max(1e-6, time.time() - self.first_new[1])
            eta = round((self.total - self.step) / rate, 1) if rate > 0 else None
        self.ctx.emit("progress", step=self.step, total=self.total, eta_s=eta)


def run(spec: JudgeSpec, ctx) -> dict:
    run_dir = ctx.run.dir
    out_dir = outputs_dir(run_dir)
    out_dir.mkdir(exist_ok=True)
    questions = load_questions(spec.questions.path, spec.questions.categories, spec.questions.max_questions)
    answers_dir = out_dir / "answers"
    names = [c.name for c in spec.contestants]
    # The run keeps the questions it used: the viewer and exports read them from here, not from a
    # file that may change later.
    (out_dir / "questions.jsonl").write_text(
        "".join(json.dumps(q.to_json(), ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
    if spec.answers_from:
        source = run_output(inside(run_dir.parent, spec.answers_from, "answers_from"), "answers")
        copied = copy_answers(source, answers_dir, names)
        ctx.emit("log", message=f"reusing the answers of {spec.answers_from} for {', '.join(copied) or 'nobody'}")
    tasks = [] if spec.answers_only else plan_tasks(spec, questions)
    progress = Progress(ctx, len(questions) * len(names) + len(tasks))
    ctx.emit("log", message=f"{len(questions)} questions × {len(names)} contestants; "
                            f"{len(tasks)} judgments ({spec.mode})")

    # 1. answers
    answers: dict[str, dict[str, dict]] = {}
    wanted = {str(q.question_id) for q in questions}
    for c in spec.contestants:
        on_disk = len(wanted & set(read_answers(answer_path(answers_dir, c.name))))
        if on_disk:
            progress.advance(on_disk, new=False)
        ctx.emit("log", message=f"answers of {c.name} ({c.base_url or c.model}, temperature {c.temperature}): "
                                f"{on_disk} on disk, {len(questions) - on_disk} to generate")
        for _ in generate_answers(c, questions, answers_dir, ctx.cancel_requested, spec.judge.concurrency):
            progress.advance()
        if ctx.cancel_requested():
            return {"stopped": "answers"}
        answers[c.name] = read_answers(answer_path(answers_dir, c.name))
        ctx.emit("artifact", name=f"answers/{c.name}.jsonl", path=str(answer_path(answers_dir, c.name)))
    if spec.answers_only:
        summary = {"mode": "answers-only", "n_questions": len(questions), "answers": {
            name: {"n": len(a), "mean_chars": sum(_chars(answer_turns(r)) for r in a.values()) / max(1, len(a))}
            for name, a in answers.items()}}
        _write_summary(out_dir, summary, ctx)
        return {"answers": {n: s["n"] for n, s in summary["answers"].items()}}

    # 2. verdicts
    judge = Judge(spec, answers)
    ctx.emit("log", message=f"judge: {judge.model_id} ({spec.judge.base_url or 'local'}, {judge.method}, "
                            f"concurrency {judge.concurrency}, prompt {spec.prompt_lang})")
    judgments_path = out_dir / "judgments.jsonl"
    done = read_judgments(judgments_path)
    judgments = [done[t.judgment_id] for t in tasks if t.judgment_id in done]
    if judgments:
        progress.advance(len(judgments), new=False)
    todo = [t for t in tasks if t.judgment_id not in done]
    started, last_emit, asked, cached, failed = time.time(), 0.0, 0, 0, 0
    for task, record in bounded_map(judge.judge, todo, judge.concurrency, ctx.cancel_requested):
        append_line(judgments_path, record)
        judgments.append(record)
        asked += 1
        cached += bool(record.get("cached"))
        failed += bool(record.get("error"))
        if failed == asked >= min(len(todo), 2 * judge.concurrency + 2):
            raise UserError(f"judge {judge.model_id} at {spec.judge.base_url or 'local'}: every request failed ({record['error']})")
        progress.advance()
        now = time.time()
        if now - last_emit >= LIVE_EVERY_S or asked == len(todo):
            last_emit = now
            ctx.emit("metric", step=len(judgments), judgments_per_s=asked / max(1e-6, now - started),
                     **live_metrics(spec, judgments))
    if ctx.cancel_requested():
        return {"stopped": "judging", "judged": len(judgments)}
    if cached:
        ctx.emit("log", message=f"{cached} of {asked} verdicts came from the judge cache")

    # 3. results
    from .results import read_overrides  # verdicts a person gave before a resumed run finished
    summary = summarize(spec, judgments, judge.model_id, len(questions), read_overrides(run_dir))
    _write_summary(out_dir, summary, ctx)
    final = {k: v for k, v in live_metrics(spec, judgments).items()}
    ctx.emit("metric", step=len(judgments), **final)
    for w in summary["warnings"]:
        ctx.emit("log", message=f"warning: {w['en']}")
    return {"win_rate": summary.get("win_rate"), "position_consistency": summary.get("position_consistency"),
            "unparsed_rate": summary.get("unparsed_rate")}


def _write_summary(out_dir: Path, summary: dict, ctx) -> None:
    path = out_dir / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    ctx.emit("artifact", name="summary.json", path=str(path))
    if (out_dir / "judgments.jsonl").exists():
        ctx.emit("artifact", name="judgments.jsonl", path=str(out_dir / "judgments.jsonl"))
