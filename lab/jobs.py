"""The job kinds: kind → the module that runs it. A job module has `run(spec, ctx)` and may have
`precheck(spec)`, which runs before a run folder is made so that a bad data file or a missing model
is refused at once with one line (the worker checks again)."""
from __future__ import annotations

import importlib

from .paths import resolve_input

JOB_MODULES = {
    "sft": "lab.train.sft",
    "pretrain": "lab.train.pretrain",
    "dpo": "lab.train.dpo",
    "kto": "lab.train.dpo",
    "dedup": "lab.dedup.job",
    "rag_index": "lab.rag.job",
    "rag_eval": "lab.rag.evaluate",
    "judge": "lab.evals.judge_job",
    "eval": "lab.evals.metrics_job",
}


def job_module(kind: str):
    return importlib.import_module(JOB_MODULES[kind])


def precheck(spec) -> None:
    check = getattr(job_module(spec.kind), "precheck", None)
    if check is not None:
        check(spec)


def submit(store, spec):
    """Check a spec's inputs, pin its paths and start it: what `lab run` and every tab's Start do."""
    precheck(spec)
    return store.submit(resolve_paths(spec))


def resolve_paths(spec):
    """Pin relative data paths to absolute ones, so job.yaml means the same from any folder."""
    dataset = getattr(spec, "dataset", None)
    if dataset is not None and getattr(dataset, "path", None):
        dataset.path = str(resolve_input(dataset.path, "dataset"))
    return spec
