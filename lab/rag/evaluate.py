"""The `rag_eval` job (book 13.4): over a QA set of {question, answer, source}, measure retrieval
(recall@k: is a gold source among the k chunks; MRR: 1 / rank of the first gold chunk) and the three
judged views (context relevance, groundedness, answer relevance), plus a character F1 of the answer
against the reference.

Each question appends one line to artifacts/evidence.jsonl with everything a reader needs to check
the numbers: the retrieved chunks with ranks and scores, where the gold source landed, the answer,
and each judge's reason or rating distribution. Running means are plotted live (step = question)."""
from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import jsonl
from ..errors import UserError
from ..paths import resolve_input
from .chain import fitted_messages, format_context, generate, sources_json
from .index import RagIndex, index_path
from .judge import VIEWS, judge_all
from .spec import RagEvalSpec

METRICS = ("recall_at_k", "mrr", *VIEWS, "answer_f1")


class QARow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | int | None = None
    question: str = Field(..., min_length=1)
    answer: str = ""
    source: str | list[str] = Field(..., description="the gold source(s): a file name as the index lists it")

    @field_validator("source")
    @classmethod
    def _non_empty(cls, value):
        values = [value] if isinstance(value, str) else value
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError("must name at least one source")
        return value

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


def load_qa(path: str | Path) -> list[QARow]:
    file = resolve_input(str(path), "QA file")
    rows = []
    for lineno, data in jsonl.records(file):
        if "source" not in data:
            for alias in ("gold_source", "sources", "gold"):
                if alias in data:
                    data["source"] = data[alias]
                    break
        row = jsonl.validate(QARow, data, file.name, lineno)
        if row.id is None:
            row.id = lineno
        rows.append(row)
    if not rows:
        raise UserError(f"{file.name}: no questions")
    return rows


def source_matches(hit_source: str, gold: str) -> bool:
    gold = gold.strip()
    return hit_source == gold or hit_source.startswith(gold + "#") or hit_source.rsplit("/", 1)[-1] == gold


def gold_rank(hit_sources: list[str], golds: list[str]) -> int | None:
    for rank, source in enumerate(hit_sources, start=1):
        if any(source_matches(source, g) for g in golds):
            return rank
    return None


def _chars(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return [c for c in text if not (c.isspace() or unicodedata.category(c).startswith("P"))]


def char_f1(prediction: str, reference: str) -> float:
    """Character-level F1 (the usual answer overlap for Japanese, where words have no spaces)."""
    pred, ref = Counter(_chars(prediction)), Counter(_chars(reference))
    common = sum((pred & ref).values())
    if not common:
        return 0.0
    precision, recall = common / sum(pred.values()), common / sum(ref.values())
    return round(2 * precision * recall / (precision + recall), 4)


@dataclass
class Running:
    sums: dict
    counts: dict

    @classmethod
    def new(cls) -> "Running":
        return cls({m: 0.0 for m in METRICS}, {m: 0 for m in METRICS})

    def add(self, name: str, value) -> None:
        if value is not None:
            self.sums[name] += float(value)
            self.counts[name] += 1

    def means(self) -> dict:
        return {m: round(self.sums[m] / self.counts[m], 4) for m in METRICS if self.counts[m]}


def precheck(spec: RagEvalSpec) -> None:
    from ..models.load import resolve_model
    spec.qa = str(resolve_input(spec.qa, "qa"))
    if spec.docs:
        spec.docs = str(resolve_input(spec.docs, "docs"))
    else:
        RagIndex.open(spec.index)
    index_path(spec.index)
    load_qa(spec.qa)
    if not spec.generator.base_url:
        resolve_model(spec.generator.model)
    if spec.judge.model and not spec.judge.base_url:
        resolve_model(spec.judge.model)


def run(spec: RagEvalSpec, ctx) -> dict:
    precheck(spec)
    if spec.docs:
        from .job import build_index
        ctx.emit("log", message=f"bringing index '{spec.index}' up to date with {spec.docs}")
        report = build_index(spec.docs, spec.index, spec.chunking, spec.embedding, spec.tokenizer,
                             emit=lambda type, **f: ctx.emit("log", message=f"index: {f['message']}") if type == "log" else None,
                             cancelled=ctx.cancel_requested)
        ctx.emit("log", message=f"index: {report['chunks_total']} chunks ({report['chunks_added']} new)")
    index = RagIndex.open(spec.index)
    questions = load_qa(spec.qa)[:spec.max_questions]
    evidence_path = Path(ctx.artifacts) / "evidence.jsonl"
    ctx.emit("artifact", name="evidence", path=str(evidence_path))
    running, k, t0 = Running.new(), spec.retrieval.k, time.time()
    ctx.emit("progress", step=0, total=len(questions), eta_s=None)
    from .retrieve import retrieve
    for i, row in enumerate(questions, start=1):
        if ctx.cancel_requested():
            break
        hits = retrieve(index, row.question, spec.retrieval)
        rank = gold_rank([h.source for h in hits], row.sources)
        messages, used = fitted_messages(row.question, hits, spec.generator)
        answer = generate(spec.generator, messages)
        judged = judge_all(spec.judge, row.question, format_context(used), answer) if spec.judge.model else {}
        values = {"recall_at_k": 1.0 if rank is not None and rank <= k else 0.0,
                  "mrr": 1.0 / rank if rank else 0.0, "answer_f1": char_f1(answer, row.answer),
                  **{view: judged[view]["score"] for view in judged}}
        for name, value in values.items():
            running.add(name, value)
        record = {"n": i, "id": row.id, "question": row.question, "reference": row.answer, "gold_sources": row.sources,
                  "gold_rank": rank, **values, "answer": answer, "retrieved": sources_json(hits, answer),
                  "chunks_in_prompt": len(used), "judge": judged}
        with open(evidence_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        ctx.emit("metric", step=i, **running.means())
        elapsed = time.time() - t0
        ctx.emit("progress", step=i, total=len(questions), eta_s=round(elapsed / i * (len(questions) - i), 1))
    summary = {"index": spec.index, "qa": spec.qa, "k": k, "mode": spec.retrieval.mode,
               "questions": running.counts["recall_at_k"], **running.means()}
    (Path(ctx.artifacts) / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return summary


def read_evidence(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "artifacts" / "evidence.jsonl"
    out = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line still being written
    except FileNotFoundError:
        pass
    return out

