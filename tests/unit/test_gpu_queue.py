"""The run queue on faked GPU machines: --max-runs slots per GPU (small runs share a card), CPU slots
for kinds that need no GPU, a distributed run holding one slot on each of as many GPUs as it has
ranks (pinned to them), an existing CUDA_VISIBLE_DEVICES respected, and a multi-GPU run not
overtaken forever by single-GPU ones."""
from __future__ import annotations

import threading

import pytest

from lab import run_queue
from lab.distributed.launch_plan import check_ranks
from lab.errors import UserError
from lab.presets import load_preset, read_yaml, find_preset, validate
from lab.run_queue import RunQueue, slot_request, ticket_for
from tests.gpu_fakes import TOPOLOGIES, install


@pytest.fixture
def gpus(monkeypatch, tmp_path):
    def make(name, max_runs=1, visible=None):
        monkeypatch.delenv("LAB_DEVICES", raising=False)
        monkeypatch.delenv("LAB_MAX_RUNS_PER_USER", raising=False)
        monkeypatch.setenv("LAB_MAX_RUNS", str(max_runs))
        if visible is None:
            monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        else:
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        install(monkeypatch, TOPOLOGIES[name], tmp_path)
        monkeypatch.setattr(run_queue, "POLL", 0.02)
        return RunQueue(tmp_path / "queue")
    return make


def take(queue, run_id, user="u", needs="device", count=1, only=""):
    return queue.wait_for_slot(ticket_for(run_id, user, "", needs, count, only), lambda: True)


def test_max_runs_is_per_gpu_and_cpu_kinds_get_cpu_slots(gpus):
    queue = gpus("one_t4", max_runs=3)
    assert run_queue.devices() == ["cuda:0"] * 3 + ["cpu"] * 3
    held = [take(queue, f"r{i}", user=f"u{i}") for i in range(3)]
    assert [s.cuda_visible_devices for s in held] == ["0", "0", "0"]  # three small runs share the T4
    assert take(queue, "r3", user="u3") is None  # the fourth waits for the card …
    dedup = take(queue, "dedup", user="u4", needs="cpu")
    assert dedup is not None and dedup.device == "cpu" and dedup.cuda_visible_devices is None  # … dedup does not
    for s in held + [dedup]:
        s.release()


def test_single_runs_spread_over_the_least_loaded_gpus(gpus):
    queue = gpus("eight_a100", max_runs=2)
    first, second = take(queue, "a", user="a"), take(queue, "b", user="b")
    assert (first.device, second.device) == ("cuda:0", "cuda:1")
    first.release()
    second.release()


def test_a_distributed_run_takes_one_slot_on_each_of_as_many_gpus_and_is_pinned_to_them(gpus):
    queue = gpus("eight_a100", max_runs=2)
    single = take(queue, "single", user="a")
    four = take(queue, "ddp", user="b", count=4)
    assert four.devices == ["cuda:1", "cuda:2", "cuda:3", "cuda:4"]  # least loaded first, one rank per GPU
    assert four.cuda_visible_devices == "1,2,3,4"
    snap = queue.snapshot()
    assert [s["run"].run_id if s["run"] else None for s in snap["slots"][:10:2]] == ["single", "ddp", "ddp", "ddp", "ddp"]
    pinned = take(queue, "pinned", user="c", count=2, only="6,7")  # launch.gpus limits which GPUs the queue gives
    assert pinned.cuda_visible_devices == "6,7"
    for s in (single, four, pinned):
        s.release()


def test_an_existing_cuda_visible_devices_is_respected(gpus):
    queue = gpus("eight_a100", visible="2,5")
    assert run_queue.devices() == ["cuda:2", "cuda:5", "cpu"]
    both = take(queue, "ddp", count=2)
    assert both.cuda_visible_devices == "2,5"
    both.release()


def test_more_ranks_than_gpus_is_refused_in_one_line(gpus):
    gpus("one_t4")
    launch = load_preset("sft-tiny", ["launch.launcher=torchrun", "launch.nproc_per_node=2"]).launch
    with pytest.raises(UserError, match=r"2 ranks but 1 GPU\(s\) are visible") as e:
        check_ranks(launch, run_queue.gpu_count(run_queue.devices()))
    assert "\n" not in str(e.value)
    check_ranks(launch, 0)  # no GPU: ranks are CPU processes (gloo)
    with pytest.raises(UserError, match="launch.gpus names 1 GPU"):
        check_ranks(load_preset("sft-tiny", ["launch.launcher=torchrun", "launch.nproc_per_node=2",
                                             "launch.gpus=3"]).launch, 8)
    with pytest.raises(UserError, match="launch.gpus: GPU 7 is not visible here"):
        check_ranks(load_preset("sft-tiny", ["launch.launcher=torchrun", "launch.nproc_per_node=2",
                                             "launch.gpus=0,7"]).launch, 2, ["0", "1"])


def test_a_run_waiting_for_two_gpus_is_not_overtaken_by_later_single_gpu_runs(gpus):
    queue = gpus("two_l4")
    holder = take(queue, "holder", user="a")
    record, stop = [], threading.Event()

    def wait(run_id, user, count, created):
        ticket = run_queue.Ticket(**{**ticket_for(run_id, user, "", "device", count).__dict__, "created": created})
        slot = queue.wait_for_slot(ticket, stop.is_set, lambda pos, why: record.append((run_id, pos, why)))
        record.append((run_id, "slot", slot))

    big = threading.Thread(target=wait, args=("big", "b", 2, 1.0), daemon=True)
    big.start()
    from backends.local import wait_until
    assert wait_until(lambda: ("big", 1, "waiting for 2 GPUs") in record, 10)
    small = threading.Thread(target=wait, args=("small", "c", 1, 2.0), daemon=True)
    small.start()
    assert wait_until(lambda: any(r[0] == "small" and r[1] == 2 for r in record), 10)  # one GPU is free, yet it waits
    holder.release()
    big.join(10)
    got = next(r[2] for r in record if r[0] == "big" and r[1] == "slot")
    assert got.cuda_visible_devices == "0,1"
    got.release()
    small.join(10)
    next(r[2] for r in record if r[0] == "small" and r[1] == "slot").release()


def test_which_kinds_need_a_device():
    assert slot_request(load_preset("sft-tiny")) == ("device", 1)
    assert slot_request(load_preset("sft-tiny", ["launch.launcher=torchrun", "launch.nproc_per_node=4"])) == ("device", 4)
    assert slot_request(load_preset("dedup-minhash")) == ("cpu", 1)
    assert slot_request(load_preset("rag-index")) == ("cpu", 1)
    assert slot_request(load_preset("judge-pairwise")) == ("device", 1)  # tiny answers and judges here
    data, _ = read_yaml(find_preset("judge-pairwise"))
    url = "http://127.0.0.1:8000/v1"
    data["contestants"] = [{**c, "base_url": url} for c in data["contestants"]]
    data["judge"] = {**data["judge"], "base_url": url, "method": "generate"}
    assert slot_request(validate(data, "judge")) == ("cpu", 1)  # only endpoints: no GPU slot held
