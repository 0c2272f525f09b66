"""The run folder is the truth: events are append-only and read incrementally; a dead worker is
reported failed (or cancelled when it was asked to stop) with its events kept; runs are listed newest
first whatever their kind, which comes from status.json, never from the run id."""
import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

from lab import cli
from lab.dedup.spec import DedupSpec
from lab.errors import UserError
from lab.events import EventLog, EventTail, last_metrics, metric_series, read_events
from lab.rag.spec import RagIndexSpec
from lab.runs import RunStore
from lab.spec import SFTSpec
from ui.live import downsample, training_figure


def test_reader_only_sees_complete_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.emit("metric", step=1, loss=2.0)
    with open(path, "a") as f:
        f.write('{"type": "metric", "step": 2, "lo')  # a writer caught mid-line
    tail = EventTail(path)
    assert [e["step"] for e in tail.new()] == [1]
    with open(path, "a") as f:
        f.write('ss": 1.5}\n')
    assert tail.new()[0]["loss"] == 1.5
    assert tail.new() == []


def test_metric_series_and_nan(tmp_path):
    log = EventLog(tmp_path / "e.jsonl")
    log.emit("metric", step=1, loss=2.0, learning_rate=0.1)
    log.emit("metric", step=2, loss=float("nan"))
    log.emit("metric", step=2, eval_loss=1.0)
    events, _ = read_events(tmp_path / "e.jsonl")
    assert metric_series(events)["loss"] == [(1, 2.0)]  # nan is recorded as text, not plotted
    assert last_metrics(events) == {"loss": 2.0, "learning_rate": 0.1, "eval_loss": 1.0}


def _spec():
    return SFTSpec(dataset={"path": "x.jsonl"})


def test_dead_worker_is_failed_and_keeps_events(workspace):
    store = RunStore()
    run = store.create(_spec())
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run.set_status(state="running", pid=proc.pid, pgid=proc.pid)
    run.events.emit("metric", step=1, loss=1.0)
    assert store.status(run.id)["state"] == "running"
    proc.kill()
    proc.wait()
    status = store.status(run.id)
    assert status["state"] == "failed" and "died" in status["error"]
    assert json.loads(run.status_path.read_text())["state"] == "failed"
    assert store.summary(run.id)["metrics"] == {"loss": 1.0}


def test_dead_worker_after_stop_request_is_cancelled(workspace):
    store = RunStore()
    run = store.create(_spec())
    run.set_status(state="running", pid=999_999_999)
    store.request_cancel(run.id)
    assert store.status(run.id)["state"] == "cancelled"


def made_at(run, created_at: float, state: str = "succeeded", **more):
    """A run created at `created_at` (epoch seconds) that has ended: as if made earlier."""
    run.set_status(created_at=created_at, state=state, ended_at=created_at + 30, **more)
    return run


def test_run_ids_sort_newest_first(workspace):
    store = RunStore()
    a, b = store.create(_spec()), store.create(_spec())
    made_at(a, 1000.0)
    made_at(b, 2000.0)
    assert store.ids() == [b.id, a.id]


MAY_5 = datetime(2026, 5, 5, 5, 0).timestamp()


@pytest.fixture
def three_kinds(workspace):
    """A 05:29 rag_index run, a 05:28:30 dedup run and a 05:28 sft run: by id the sft run would come
    first (ids start with the kind), by time the rag_index run does."""
    store = RunStore()
    sft = made_at(store.create(_spec()), MAY_5 + 28 * 60)
    rag = made_at(store.create(RagIndexSpec()), MAY_5 + 29 * 60)
    dedup = made_at(store.create(DedupSpec(input="corpus.jsonl")), MAY_5 + 28 * 60 + 30, state="failed")
    assert sorted([sft.id, rag.id, dedup.id], reverse=True) == [sft.id, rag.id, dedup.id]
    return store, rag, dedup, sft


def test_runs_are_listed_newest_first_across_kinds(three_kinds, capsys):
    store, rag, dedup, sft = three_kinds
    newest_first = [rag.id, dedup.id, sft.id]
    assert store.ids() == newest_first
    assert [r["run_id"] for r in store.list()] == newest_first
    assert cli.main(["runs", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in rows] == newest_first
    assert [r["kind"] for r in rows] == ["rag_index", "dedup", "sft"]
    assert rows[0]["created_at"] == MAY_5 + 29 * 60
    assert cli.main(["runs", "list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == newest_first


def test_one_filter_by_kind_state_and_saved_model(three_kinds, capsys):
    store, rag, dedup, sft = three_kinds
    assert store.find(kind="sft") == [sft.id]
    assert store.find(kind=("sft", "dedup")) == [dedup.id, sft.id]
    assert store.find(state="failed") == [dedup.id]
    assert store.find(state=("succeeded",)) == [rag.id, sft.id]
    assert store.find(has_model=True) == []
    (sft.artifacts / "model").mkdir()
    (sft.artifacts / "model" / "config.json").write_text("{}")
    (rag.artifacts / "model").mkdir()  # only a kind that trains a model has one
    (rag.artifacts / "model" / "config.json").write_text("{}")
    assert store.find(has_model=True) == [sft.id]
    assert store.find(has_model=False) == [rag.id, dedup.id]
    assert store.find(kind="dpo") == []
    assert cli.main(["runs", "list", "--json", "--kind", "sft,dedup", "--state", "succeeded"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == [sft.id]
    assert cli.main(["runs", "list", "--json", "--has-model"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == [sft.id]


def test_the_kind_comes_from_status_json_not_from_the_run_id(workspace):
    store = RunStore()
    run = made_at(store.create(_spec()), MAY_5)
    renamed = run.dir.with_name("my-best-run")  # a folder renamed by hand: the id says nothing
    run.dir.rename(renamed)
    assert store.kind("my-best-run") == "sft"
    assert store.find(kind="sft") == ["my-best-run"]
    assert store.summary("my-best-run")["kind"] == "sft"


def test_a_run_made_before_kind_and_time_were_in_status_json_falls_back_to_job_yaml(three_kinds, capsys):
    store, rag, dedup, sft = three_kinds
    old = store.create(_spec())
    status = json.loads(old.status_path.read_text())
    del status["kind"], status["created_at"]
    old.status_path.write_text(json.dumps(status | {"state": "succeeded"}))
    os.utime(old.job_path, (MAY_5 + 28 * 60 + 45,) * 2)  # between the dedup and the rag_index run
    (old.dir / "cancel.request").write_text("")  # moves the folder's mtime, not job.yaml's
    fresh = RunStore()
    assert fresh.kind(old.id) == "sft" and fresh.created_at(old.id) == MAY_5 + 28 * 60 + 45
    assert fresh.ids() == [rag.id, old.id, dedup.id, sft.id]
    assert cli.main(["runs", "list", "--json", "--kind", "sft"]) == 0
    assert [(r["run_id"], r["kind"]) for r in json.loads(capsys.readouterr().out)] == [(old.id, "sft"), (sft.id, "sft")]


def test_only_a_kind_that_makes_a_model_resumes(three_kinds, monkeypatch):
    store, rag, dedup, sft = three_kinds
    with pytest.raises(UserError, match="rag_index run; only training runs resume"):
        store.resume(rag.id)
    launched = []
    monkeypatch.setattr(store, "launch", lambda run, resume=False: launched.append((run.id, resume)))
    store.resume(sft.id)
    assert launched == [(sft.id, True)] and sft.read_status()["state"] == "queued"


def test_downsample_keeps_ends_and_spikes():
    points = [(i, 1.0) for i in range(10_000)]
    points[5000] = (5000, 99.0)
    out = downsample(points, 400)
    assert len(out) <= 420 and out[0] == points[0] and out[-1] == points[-1]
    assert (5000, 99.0) in out


def test_training_figure_has_a_trace_per_metric():
    fig = training_figure({"loss": [(1, 2.0), (2, 1.0)], "eval_loss": [(2, 1.5)], "learning_rate": [(1, 0.1)]})
    assert sorted(t.name for t in fig.data) == ["eval_loss", "learning_rate", "loss"]


def test_the_runs_tab_table_is_newest_first_with_each_runs_kind(three_kinds):
    from ui.tabs.runs import runs_table
    store, rag, dedup, sft = three_kinds
    status = json.loads(sft.status_path.read_text())
    del status["kind"]  # a run from before status.json held its kind: job.yaml says it
    sft.status_path.write_text(json.dumps(status))
    table = runs_table(RunStore())
    assert list(table["run"]) == [rag.id, dedup.id, sft.id]
    assert list(table["kind"]) == ["rag_index", "dedup", "sft"]
