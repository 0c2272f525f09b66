"""One registry of job kinds (lab/kinds.py), and everything that used to keep its own list reads it:
the spec union, the job modules, lineage, the report's samples, the Home tab's "open in", the pickers."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from pathlib import Path
from typing import Literal

import gradio as gr
import pytest

from lab import jobs, kinds, lineage, spec
from lab.kinds import KINDS, Kind, Read
from lab.runs import RunStore
from lab.spec_base import Strict
from lab.train.spec import DPOSpec, SFTSpec

NAMES = list(KINDS)


def test_the_registry_lists_each_kind_once_in_the_order_of_the_loop():
    assert NAMES == ["dedup", "pretrain", "sft", "dpo", "kto", "eval", "judge", "rag_index", "rag_eval"]
    assert all(name == k.name for name, k in KINDS.items())


@pytest.mark.parametrize("name", NAMES)
def test_each_kind_has_its_spec_names_and_a_job_module_with_run(name):
    k = KINDS[name]
    assert k.spec.model_fields["kind"].default == name
    assert spec.KINDS[name] is k.spec  # the JobSpec union is built from the registry
    en, ja = k.names
    assert en.strip() and ja.strip() and k.label("ja") == ja and k.label("en") == en
    source = Path(importlib.util.find_spec(k.job).origin).read_text(encoding="utf-8")
    assert re.search(r"^def run\(spec", source, re.M), f"{k.job} has no run(spec, ctx)"
    assert callable(k.samples_renderer())


@pytest.mark.parametrize("name", NAMES)
def test_each_kinds_outputs_are_written_by_its_package_and_elsewhere_names_spec_fields(name):
    """The registry lists where a kind writes today; each file or folder name is in its package's code."""
    k = KINDS[name]
    package = Path(importlib.util.find_spec(k.job).origin).parent
    code = "".join(p.read_text(encoding="utf-8") for p in package.glob("*.py"))
    assert k.outputs
    for output in k.outputs:
        assert f'"{output.rstrip("/").rsplit("/", 1)[-1]}"' in code, f"{name}: nothing in {package} writes {output}"
    for field in k.elsewhere:
        assert field in k.spec.model_fields, f"{name}: elsewhere names '{field}', not a spec field"
    assert all(o.startswith("artifacts/") for o in k.outputs), f"{name}: an output outside artifacts/"


def test_kinds_that_make_a_model_are_the_training_kinds_and_the_launch_tab_takes_them():
    from ui.tabs.launch import TRAINING_KINDS
    assert set(kinds.model_kinds()) == {"pretrain", "sft", "dpo", "kto"} == set(TRAINING_KINDS)
    assert kinds.kinds_in_tab("dpo") == ("dpo", "kto") and kinds.kinds_in_tab("rag") == ("rag_index", "rag_eval")


# ---- a new kind is one entry: the readers pick it up ---------------------------------------------------
class ToySpec(Strict):
    kind: Literal["toy"] = "toy"
    notes: str = "notes.txt"
    helper: str = "tiny"


def _toy_reads(s: ToySpec):
    yield kinds.file("notes", s.notes)
    yield kinds.model("helper", s.helper, "judge")


@pytest.fixture
def toy(monkeypatch):
    entry = Kind("toy", ToySpec, "json", ("Toy", "おもちゃ"), None, outputs=("artifacts/toy.json",),
                 samples="lab.report:eval_samples", reads=_toy_reads)
    monkeypatch.setitem(KINDS, "toy", entry)
    return entry


def test_the_job_module_comes_from_the_registry(toy):
    assert jobs.job_module("toy") is json


def test_lineage_records_what_the_registry_says_a_kind_reads(toy, workspace):
    notes = workspace / "notes.txt"
    notes.write_text("メモ", encoding="utf-8")
    inputs = lineage.inputs_of(ToySpec(notes=str(notes)), workspace / "runs")
    assert [(f["field"], f["path"], f["size"]) for f in inputs["files"]] == [("notes", str(notes), notes.stat().st_size)]
    assert inputs["models"] == [{"field": "helper", "name": "tiny", "role": "judge"}]
    assert Read("file", "notes", "x") == kinds.file("notes", "x")


def test_the_report_uses_the_samples_renderer_the_registry_names(workspace, monkeypatch):
    from lab import report
    store = RunStore()
    run = store.create(SFTSpec(dataset={"path": "x.jsonl"}))
    monkeypatch.setattr(report, "marker_samples", lambda run, status, t: "<p>SAMPLES-FROM-THE-REGISTRY</p>", raising=False)
    monkeypatch.setitem(KINDS, "sft", dataclasses.replace(KINDS["sft"], samples="lab.report:marker_samples"))
    assert "SAMPLES-FROM-THE-REGISTRY" in report.render_report(run, "en")


# ---- the UI reads the registry and the store ---------------------------------------------------------
def test_home_opens_each_kind_in_the_tab_the_registry_names_and_the_app_has_those_tabs(workspace):
    from ui.app import build_app
    from ui.tabs.home import OPEN_IN
    assert OPEN_IN == {name: k.tab for name, k in KINDS.items()}
    demo = build_app(RunStore(), lang="en")
    tab_ids = {block.id for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert set(OPEN_IN.values()) <= tab_ids


def _renamed(run, name: str):
    run.dir.rename(run.dir.with_name(name))
    return name


def test_model_pickers_find_training_runs_by_their_kind_not_their_id(workspace):
    """Runs renamed so that no id starts with its kind: the pickers still find them."""
    from ui.tabs import judge, rag
    store = RunStore()
    sft = store.create(SFTSpec(dataset={"path": "x.jsonl"}))
    sft.set_status(state="succeeded")
    (sft.artifacts / "adapter").mkdir()
    (sft.artifacts / "adapter" / "adapter_config.json").write_text("{}")
    dpo = store.create(DPOSpec())
    dpo.set_status(state="failed")
    evaluation = store.create(spec.EvalSpec())
    (evaluation.artifacts / "results.json").write_text("{}")
    first, second, third = _renamed(sft, "alpha"), _renamed(dpo, "beta"), _renamed(evaluation, "gamma")
    assert judge.model_choices(store) == ["tiny", f"run:{first}"]  # a saved model
    assert rag.model_choices(store) == ["tiny-rag", "tiny", f"run:{first}"]  # a succeeded training run
    assert judge._eval_ids(store) == [third]
    assert store.find(kind="dpo") == [second]
