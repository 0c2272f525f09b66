"""The run queue with real worker processes of several users sharing one queue folder (workshop
mode): positions while paused, fair share between users, the per-user limit, then every run ends."""
from __future__ import annotations

import pytest

from backends.local import wait_until
from lab.paths import as_user
from lab.presets import find_preset, read_yaml, validate
from lab.runs import RunStore

pytestmark = pytest.mark.integration


def test_fair_share_per_user_limit_pause_and_positions(tmp_path, monkeypatch):
    queue = tmp_path / ".queue"
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("LAB_QUEUE_DIR", str(queue))
    monkeypatch.setenv("LAB_DEVICES", "cpu")
    monkeypatch.setenv("LAB_MAX_RUNS_PER_USER", "1")
    queue.mkdir()
    (queue / "paused").write_text("")  # the facilitator paused the queue before anyone submitted

    data, tree = read_yaml(find_preset("dedup-exact"))
    submitted = []
    for user in ("alice", "alice", "bob"):  # alice submits twice before bob
        with as_user(user, tmp_path / "users" / user):
            store = RunStore()
            run = store.submit(validate(dict(data), "dedup-exact", tree))
            submitted.append((user, store, run.id))

    def status(i):
        _, store, run_id = submitted[i]
        return store.get(run_id).read_status()

    # Fair share: alice's first, then bob's, then alice's second (bob has fewer runs than alice).
    assert wait_until(lambda: [status(i).get("queue_position") for i in range(3)] == [1, 3, 2], 60, 0.2), \
        [status(i) for i in range(3)]
    assert all(status(i)["state"] == "queued" and status(i)["queue_reason"] == "paused" for i in range(3))

    (queue / "paused").unlink()
    assert wait_until(lambda: all(status(i).get("state") == "succeeded" for i in range(3)), 180, 0.3), \
        [status(i) for i in range(3)]
    started = sorted(range(3), key=lambda i: status(i)["started_at"])
    assert [submitted[i][0] for i in started] == ["alice", "bob", "alice"]
    assert all(status(i)["device"] == "cpu" and status(i)["queue_position"] is None for i in range(3))
    # Each run lives in its user's own workspace.
    assert all(f"/users/{user}/runs/" in str(store.get(rid).dir) for user, store, rid in submitted)
