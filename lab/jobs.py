"""Running a job kind: the module that runs it comes from lab/kinds.py. A job module has
`run(spec, ctx)` and may have `precheck(spec)`, which runs before a run folder is made so that a bad
data file or a missing model is refused at once with one line (the worker checks again)."""
from __future__ import annotations

from .kinds import KINDS
from .paths import resolve_input


def job_module(kind: str):
    return KINDS[kind].job_module()


def precheck(spec) -> None:
    check = getattr(job_module(spec.kind), "precheck", None)
    if check is not None:
        check(spec)


def submit(store, spec):
    """Check a spec's inputs, pin its paths and start it: what `lab run` and every tab's Start do."""
    precheck(spec)
    from .memory_estimate import check_submit as check_memory
    check_memory(spec)  # a run that cannot fit even the largest device is refused now, not after queueing
    return store.submit(resolve_paths(spec))


def resolve_paths(spec):
    """Pin relative data paths to absolute ones, so job.yaml means the same from any folder."""
    dataset = getattr(spec, "dataset", None)
    if dataset is not None and getattr(dataset, "path", None):
        dataset.path = str(resolve_input(dataset.path, "dataset"))
    return spec
