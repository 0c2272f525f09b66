"""Every job kind in one table. A kind is a spec (pydantic, in its package), a job module with
`run(spec, ctx)` (and optionally `precheck(spec)`), and the facts the rest of the lab reads here
instead of keeping its own list: its names, the tab that opens it, whether it makes a model, where it
writes, what it reads (lineage) and how the HTML report shows its samples.

Readers: lab/spec.py (the JobSpec union, `kind:` values), lab/jobs.py (kind → job module),
lab/lineage.py (inputs), lab/report.py (samples), lab/runs.py (which runs resume and hold a model),
ui/tabs/home.py (the tab that opens a preset), the SFT and DPO tabs (the kinds they show), the RAG
tab's model list. Adding a kind: README, "Add a job kind"."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Iterator, Literal

from pydantic import BaseModel

from .dedup.spec import DedupSpec
from .evals.spec import EvalSpec, JudgeSpec
from .rag.spec import RagEvalSpec, RagIndexSpec
from .train.spec import DPOSpec, KTOSpec, PretrainSpec, SFTSpec


# ---- what a spec reads (lineage) --------------------------------------------------------------------
@dataclass(frozen=True)
class Read:
    """One input a spec names, before it is resolved: lab/lineage.py hashes a file, traces a model or
    an index to the run that made it. `field` is the spec's dotted path (shown in the report)."""
    what: Literal["file", "model", "index", "answers"]
    field: str
    value: str | None
    role: str = "data"                       # the edge label in the family graph
    base_url: str | None = None              # a model behind an endpoint: not traced to a run
    traced: bool = True                      # index: look up the rag_index run that built it
    extra: tuple[tuple[str, str], ...] = ()  # more keys for the record (a judge's contestant name)


def file(field: str, value) -> Read:
    return Read("file", field, None if value is None else str(value))


def model(field: str, name: str | None, role: str, base_url: str | None = None, **extra: str) -> Read:
    return Read("model", field, name, role, base_url, extra=tuple(extra.items()))


def _dedup_reads(spec: DedupSpec) -> Iterator[Read]:
    yield file("input", spec.input)
    if spec.quality.ng_words_file and "quality" in spec.methods:
        yield file("quality.ng_words_file", spec.quality.ng_words_file)
    if "semantic" in spec.methods:
        yield model("semantic.model", spec.semantic.model, "embedder")


def _rag_reads(spec: RagIndexSpec | RagEvalSpec) -> Iterator[Read]:
    if spec.docs:
        yield file("docs", spec.docs)
    if spec.embedding.model != "embedded":
        yield model("embedding.model", spec.embedding.model, "embedder")
    # a rag_index run builds its index (it is not its own input); a rag_eval run reads the latest build
    yield Read("index", "index", spec.index, "index", traced=spec.kind == "rag_eval")
    if spec.kind == "rag_eval":
        yield file("qa", spec.qa)
        yield model("generator.model", spec.generator.model, "model", spec.generator.base_url)
        if spec.judge.model:
            yield model("judge.model", spec.judge.model, "judge", spec.judge.base_url)


def _judge_reads(spec: JudgeSpec) -> Iterator[Read]:
    yield file("questions.path", spec.questions.path)
    for i, c in enumerate(spec.contestants):
        yield model(f"contestants.{i}.model", c.model, "compared", c.base_url, contestant=c.name)
    if spec.judge.is_local or spec.judge.model:
        yield model("judge.model", spec.judge.model or "tiny", "judge", spec.judge.base_url)
    if spec.answers_from:
        yield Read("answers", "answers_from", spec.answers_from, "answers")


def _eval_reads(spec: EvalSpec) -> Iterator[Read]:
    yield file("tasks", spec.tasks)


# ---- the registry -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    name: str                                # the `kind:` value in a preset and in status.json
    spec: type[BaseModel]                    # its pydantic spec (kind: Literal[name])
    job: str                                 # module with run(spec, ctx) [and precheck(spec)]
    names: tuple[str, str]                   # (en, ja), for people
    tab: str | None                          # the tab id that opens its presets and shows its runs
    outputs: tuple[str, ...]                 # what it writes, relative to the run folder (all under artifacts/)
    samples: str                             # "module:function(run, status, t) -> html" for the report
    makes_model: bool = False                # a trained model in artifacts/model or artifacts/adapter; resumable
    elsewhere: tuple[str, ...] = ()          # what it may write outside the run folder (spec fields)
    reads: Callable[[BaseModel], Iterator[Read]] | None = None  # inputs besides model.name and dataset.path

    def job_module(self):
        return importlib.import_module(self.job)

    def samples_renderer(self) -> Callable:
        module, _, name = self.samples.partition(":")
        return getattr(importlib.import_module(module), name)

    def label(self, lang: str = "en") -> str:
        return self.names[1 if lang == "ja" else 0]


_TRAINING_OUTPUTS = ("artifacts/checkpoints/", "artifacts/model/", "artifacts/adapter/")

# In the order of the loop (data → training → evaluation → RAG): the Home gallery shows presets in it.
KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("dedup", DedupSpec, "lab.dedup.job", ("Dedup and quality filters", "重複除去と品質フィルタ"), "dedup",
         outputs=("artifacts/kept.jsonl", "artifacts/removed.jsonl", "artifacts/clusters.jsonl",
                  "artifacts/clusters_preview.jsonl", "artifacts/kept_text.jsonl", "artifacts/report.json"),
         elsewhere=("output_dir",),  # when set, the same files go there instead of artifacts/
         samples="lab.report:dedup_samples", reads=_dedup_reads),
    # Pre-training has no form of its own: the Launch tab takes every training preset.
    Kind("pretrain", PretrainSpec, "lab.train.pretrain", ("Pre-training", "事前学習"), "launch",
         outputs=_TRAINING_OUTPUTS[:2], elsewhere=("export_to",), makes_model=True,
         samples="lab.report:training_samples"),
    Kind("sft", SFTSpec, "lab.train.sft", ("SFT", "SFT（教師ありファインチューニング）"), "sft",
         outputs=_TRAINING_OUTPUTS, makes_model=True, samples="lab.report:training_samples"),
    Kind("dpo", DPOSpec, "lab.train.dpo", ("Preference tuning (DPO, ORPO, CPO)", "選好学習（DPO・ORPO・CPO）"), "dpo",
         outputs=_TRAINING_OUTPUTS, makes_model=True, samples="lab.report:training_samples"),
    Kind("kto", KTOSpec, "lab.train.dpo", ("KTO", "KTO"), "dpo",
         outputs=_TRAINING_OUTPUTS, makes_model=True, samples="lab.report:training_samples"),
    Kind("eval", EvalSpec, "lab.evals.metrics_job", ("Automatic metrics", "自動評価指標"), "judge",
         outputs=("artifacts/predictions/", "artifacts/results.json"), samples="lab.report:eval_samples", reads=_eval_reads),
    Kind("judge", JudgeSpec, "lab.evals.judge_job", ("LLM-as-judge", "LLM による審査"), "judge",
         # runs made before these two kinds wrote under artifacts/ are read in place: lab/evals/outputs.py
         outputs=("artifacts/questions.jsonl", "artifacts/answers/", "artifacts/judgments.jsonl",
                  "artifacts/summary.json"),
         samples="lab.report:judge_samples", reads=_judge_reads),
    Kind("rag_index", RagIndexSpec, "lab.rag.job", ("RAG index", "RAG の索引"), "rag",
         outputs=("artifacts/report.json",), elsewhere=("index",),  # the Chroma folder lives under the workspace's rag/
         samples="lab.report:rag_index_samples", reads=_rag_reads),
    Kind("rag_eval", RagEvalSpec, "lab.rag.evaluate", ("RAG evaluation", "RAG の評価"), "rag",
         outputs=("artifacts/evidence.jsonl", "artifacts/summary.json"), elsewhere=("index",),
         samples="lab.report:rag_eval_samples", reads=_rag_reads),
]}
# Every kind also gets artifacts/report.html when somebody asks for its report.


def get(name: str) -> Kind:
    """The kind named `name` (KeyError for an unknown one: callers validate specs first)."""
    return KINDS[name]


def model_kinds() -> tuple[str, ...]:
    """Kinds whose runs end with a model (and can resume from a checkpoint)."""
    return tuple(k.name for k in KINDS.values() if k.makes_model)


def kinds_in_tab(tab: str) -> tuple[str, ...]:
    return tuple(k.name for k in KINDS.values() if k.tab == tab)
