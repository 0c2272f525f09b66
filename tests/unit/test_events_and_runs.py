"""The run folder is the truth: events are append-only and read incrementally; a dead worker is
reported failed (or cancelled when it was asked to stop) with its events kept."""
import json
import subprocess
import sys
import time

from lab.events import EventLog, EventTail, last_metrics, metric_series, read_events
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


def test_run_ids_sort_newest_first(workspace):
    store = RunStore()
    a = store.create(_spec())
    time.sleep(1.1)  # run ids carry the second they were made
    b = store.create(_spec())
    assert store.ids() == [b.id, a.id]


def test_downsample_keeps_ends_and_spikes():
    points = [(i, 1.0) for i in range(10_000)]
    points[5000] = (5000, 99.0)
    out = downsample(points, 400)
    assert len(out) <= 420 and out[0] == points[0] and out[-1] == points[-1]
    assert (5000, 99.0) in out


def test_training_figure_has_a_trace_per_metric():
    fig = training_figure({"loss": [(1, 2.0), (2, 1.0)], "eval_loss": [(2, 1.5)], "learning_rate": [(1, 0.1)]})
    assert sorted(t.name for t in fig.data) == ["eval_loss", "learning_rate", "loss"]
