"""The run queue: fair order between users, per-user and global limits, pause, positions, and
slots freed when their holder goes away."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from lab import run_queue
from lab.run_queue import RunQueue, Ticket, fair_order


def t(run_id, user, created):
    return Ticket(run_id=run_id, user=user, created=created)


def test_fair_order_interleaves_users_first_come_within_a_user():
    waiting = [t("a1", "a", 1), t("a2", "a", 2), t("a3", "a", 3), t("b1", "b", 4), t("c1", "c", 5)]
    order, blocked = fair_order(waiting, Counter(), None)
    assert [x.run_id for x in order] == ["a1", "b1", "c1", "a2", "a3"]
    assert blocked == set()


def test_fair_order_counts_running_runs_and_blocks_users_at_their_limit():
    waiting = [t("a2", "a", 1), t("b1", "b", 2), t("b2", "b", 3)]
    order, blocked = fair_order(waiting, Counter({"a": 1}), per_user=1)
    assert [x.run_id for x in order] == ["b1", "a2", "b2"]  # a already runs one; b's second waits for b1
    assert blocked == {"a2", "b2"}


def test_fair_order_ties_go_to_the_older_ticket():
    order, _ = fair_order([t("b1", "b", 2), t("a1", "a", 1)], Counter(), None)
    assert [x.run_id for x in order] == ["a1", "b1"]


@pytest.fixture
def queue(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DEVICES", "cpu")
    monkeypatch.delenv("LAB_MAX_RUNS_PER_USER", raising=False)
    monkeypatch.setattr(run_queue, "POLL", 0.02)
    return RunQueue(tmp_path / "q")


def wait_in_thread(queue, ticket, give_up, record):
    def go():
        slot = queue.wait_for_slot(ticket, give_up.is_set, lambda pos, why: record.append((ticket.run_id, pos, why)))
        record.append((ticket.run_id, "slot", slot))
    th = threading.Thread(target=go, daemon=True)
    th.start()
    return th


def wait_for(predicate, timeout=10.0):
    from backends.local import wait_until
    return wait_until(predicate, timeout, interval=0.01)


def test_one_slot_second_run_waits_with_its_position_then_starts(queue):
    first = queue.wait_for_slot(run_queue.ticket_for("r1", "a"), lambda: False)
    assert first is not None and first.device == "cpu"
    give_up, record = threading.Event(), []
    th = wait_in_thread(queue, Ticket(**{**run_queue.ticket_for("r2", "b").__dict__}), give_up, record)
    assert wait_for(lambda: ("r2", 1, "waiting for a free slot") in record)
    snap = queue.snapshot()
    assert snap["slots"][0]["run"].run_id == "r1" and [x.run_id for x in snap["waiting"]] == ["r2"]
    first.release()
    th.join(10)
    assert record[-1][0:2] == ("r2", "slot") and record[-1][2] is not None
    record[-1][2].release()


def test_pause_holds_everyone_and_resume_lets_them_go(queue):
    queue.pause()
    give_up, record = threading.Event(), []
    th = wait_in_thread(queue, run_queue.ticket_for("r1", "a"), give_up, record)
    assert wait_for(lambda: ("r1", 1, "paused") in record)
    queue.resume()
    th.join(10)
    assert record[-1][1] == "slot"
    record[-1][2].release()


def test_giving_up_while_waiting_leaves_no_ticket(queue):
    holder = queue.wait_for_slot(run_queue.ticket_for("r1", "a"), lambda: False)
    give_up, record = threading.Event(), []
    th = wait_in_thread(queue, run_queue.ticket_for("r2", "a"), give_up, record)
    assert wait_for(lambda: any(r[0] == "r2" for r in record))
    give_up.set()
    th.join(10)
    assert record[-1] == ("r2", "slot", None)
    assert queue.waiting() == []
    holder.release()


def test_per_user_limit_lets_another_user_overtake(queue, monkeypatch):
    monkeypatch.setenv("LAB_DEVICES", "cpu,cpu")
    monkeypatch.setenv("LAB_MAX_RUNS_PER_USER", "1")
    a1 = queue.wait_for_slot(run_queue.ticket_for("a1", "a"), lambda: False)
    give_up, record = threading.Event(), []
    th_a = wait_in_thread(queue, Ticket("a2", "a", 1.0), give_up, record)  # older, but a is at the limit
    assert wait_for(lambda: any(r[0] == "a2" and "per-user limit" in str(r[2]) for r in record))
    th_b = wait_in_thread(queue, Ticket("b1", "b", 2.0), give_up, record)
    th_b.join(10)
    assert ("b1", "slot") == record[-1][0:2]
    b1 = record[-1][2]
    assert not any(r[0] == "a2" and r[1] == "slot" for r in record)
    give_up.set()
    th_a.join(10)
    a1.release()
    b1.release()


def test_a_ticket_of_a_dead_worker_is_dropped(queue):
    import json
    (queue.waiting_dir / "ghost.json").write_text(json.dumps(Ticket("ghost", "x", 0.0, pid=2**22 + 12345).__dict__))
    assert queue.waiting() == []
    assert not (queue.waiting_dir / "ghost.json").exists()


def test_fair_order_prefers_who_has_run_less_so_far():
    waiting = [t("a2", "a", 1), t("b1", "b", 2)]
    order, _ = fair_order(waiting, Counter(), None, started=Counter({"a": 1}))
    assert [x.run_id for x in order] == ["b1", "a2"]


def test_cpu_runs_share_the_cores_between_cpu_slots(monkeypatch):
    from lab import cpu_share
    assert cpu_share.threads_per_run(["cpu"], cores=8) is None  # one slot: torch's own default
    assert cpu_share.threads_per_run(["cpu", "cpu"], cores=2) == 1
    assert cpu_share.threads_per_run(["cpu", "cpu", "cpu"], cores=8) == 2
    assert cpu_share.threads_per_run(["cuda:0", "cuda:1"], cores=8) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_share.apply(["cpu", "cpu"]) is None  # the user's choice stands
