"""A finished run continues as a new run (from its last checkpoint, N more steps, linked in the
lineage), and `lab runs diff` lists what differs and the final metrics side by side."""
import json

from lab.lineage import family
from lab.runs import RunStore
from tests.conftest import lab

FAST = ["--set", "train.max_steps=2", "--set", "train.save_steps=2", "--set", "dataset.eval_split=0",
        "--set", "dataset.max_samples=16"]


def _last_json(done):
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_continue_trains_n_more_steps_from_the_checkpoint_and_diff_shows_it(tiny_workspace):
    first = _last_json(lab("run", "sft-tiny", *FAST, "--json", workspace=tiny_workspace))
    assert first["status"] == "succeeded"
    more = _last_json(lab("run", "--continue", first["run_id"], "--set", "train.max_steps=1",
                          "--set", "train.learning_rate=1e-3", "--json", workspace=tiny_workspace))
    assert more["status"] == "succeeded" and more["run_id"] != first["run_id"]

    store = RunStore(tiny_workspace / "runs")
    new = store.get(more["run_id"])
    spec = new.load_spec()
    assert spec.train.max_steps == 3                      # 2 done + 1 more
    status = store.status(more["run_id"])
    assert status["continues"] == first["run_id"] and status["continues_from_step"] == 2
    events = [json.loads(line) for line in new.events_path.read_text(encoding="utf-8").splitlines()]
    assert any("resuming from" in e.get("message", "") and "checkpoint-2" in e["message"] for e in events)
    assert [e["step"] for e in events if e["type"] == "progress"][-1] == 3
    assert {"run": first["run_id"], "role": "continued", "field": "checkpoint"} in status["inputs"]["parents"]
    assert more["run_id"] in {n["id"] for n in family(store, first["run_id"])["nodes"]}

    diff = _last_json(lab("runs", "diff", first["run_id"], more["run_id"], "--json", workspace=tiny_workspace))
    assert diff["runs"] == [first["run_id"], more["run_id"]]
    changed = {row["key"]: row["values"] for row in diff["config"]}
    assert changed["train.max_steps"] == [2, 3] and changed["train.learning_rate"][1] == 1e-3
    assert "dataset.path" not in changed
    assert len(diff["metrics"]["loss"]) == 2 and all(v is not None for v in diff["metrics"]["loss"])

    assert lab("run", "--continue", "no-such-run", workspace=tiny_workspace).returncode == 2
    bad = lab("runs", "diff", first["run_id"], workspace=tiny_workspace)
    assert bad.returncode == 2 and "2 to 4" in bad.stderr
