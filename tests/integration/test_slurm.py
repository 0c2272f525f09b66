"""Slurm for real: a throwaway one-node cluster (tests/slurm_cluster.py) takes the tiny SFT as 2 gloo
ranks through sbatch, the run folder follows the job (queued while PENDING, running, then the verdict
with the failing rank's line), cancel is scancel with nothing left behind, sbatch's own complaints come
back as one line, and the Data tab's MinHash on datatrove's SlurmPipelineExecutor removes exactly what
the local executor removes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from backends.local import wait_until
from lab.events import read_events
from tests.conftest import REPO, lab
from tests.slurm_cluster import cluster  # noqa: F401 - the module-scoped cluster fixture

pytestmark = pytest.mark.integration

FAST = ["--set", "train.max_steps=4", "--set", "train.eval_strategy=no", "--set", "train.save_strategy=no",
        "--set", "lora.save_merged=false"]


def out(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def events(run_dir, type_=None):
    return [e for e in read_events(os.path.join(run_dir, "events.jsonl"))[0] if type_ is None or e["type"] == type_]


def status(run_dir) -> dict:
    return json.loads((Path(run_dir) / "status.json").read_text())


def processes_of(run_dir) -> list[str]:
    """Command lines of live processes that mention the run folder (zombies have none)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(run_dir) in cmd and "pytest" not in cmd:
            found.append(f"{pid}: {cmd[:120]}")
    return found


def test_tiny_sft_runs_as_two_gloo_ranks_through_sbatch(cluster, tiny_workspace):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=slurm", "--set", "launch.nproc_per_node=2",
               *FAST, "--json", workspace=tiny_workspace, timeout=400)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = out(proc)
    run_dir = result["run_dir"]
    st = status(run_dir)
    assert result["status"] == "succeeded" and st["slurm_job"] and st["slurm_state"] == "COMPLETED"
    script = (Path(run_dir) / "launch" / "job.sbatch").read_text()
    assert "#SBATCH --cpus-per-task=2" in script and "--gpus-per-node" not in script
    assert "srun --kill-on-bad-exit=1 --ntasks-per-node=1 --cpus-per-task=2" in script
    assert events(run_dir, "env")[0]["world_size"] == 2
    assert [e for e in events(run_dir, "metric") if "loss" in e]
    states = [e["state"] for e in events(run_dir, "status")]
    assert states[-2:] == ["running", "succeeded"] and "queued" in states
    logs = " ".join(e.get("message", "") for e in events(run_dir, "log"))
    assert f"submitted Slurm job {st['slurm_job']}" in logs and "RUNNING" in logs
    assert cluster.jobs() == [] and processes_of(run_dir) == []


def test_pending_jobs_show_queued_cancel_is_scancel_and_a_failing_rank_fails_the_run_with_its_line(cluster,
                                                                                                   tiny_workspace):
    # a job that holds every CPU of the node keeps the lab's jobs PENDING until it is gone
    blocker = subprocess.run(["sbatch", "--parsable", f"--cpus-per-task={cluster.cpus}", "--wrap", "sleep 300",
                              f"--output={tiny_workspace}/blocker.out"], capture_output=True, text=True, check=True)
    blocker_id = blocker.stdout.strip()
    try:
        os.environ["LAB_FAULT_RANK"] = "1"
        try:
            failing = out(lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=slurm", "--set",
                              "launch.nproc_per_node=2", *FAST, "--detach", "--json", workspace=tiny_workspace))
        finally:
            os.environ.pop("LAB_FAULT_RANK")
        cancelled = out(lab("run", "presets/sft-tiny-slurm.yaml", *FAST, "--detach", "--json", workspace=tiny_workspace))
        for run_dir in (failing["run_dir"], cancelled["run_dir"]):
            assert wait_until(lambda: status(run_dir).get("slurm_state") == "PENDING", 60), status(run_dir)
            st = status(run_dir)
            assert st["state"] == "queued" and st["queue_reason"] in ("Resources", "Priority"), st
        job = status(cancelled["run_dir"])["slurm_job"]
        stop = lab("runs", "cancel", cancelled["run_id"], "--json", workspace=tiny_workspace)
        assert out(stop)["status"] == "cancelled"
        assert job not in cluster.jobs() and f"scancel {job}" in [e.get("message") for e in events(cancelled["run_dir"])]
    finally:
        subprocess.run(["scancel", blocker_id], check=True)
    run_dir = failing["run_dir"]
    assert wait_until(lambda: status(run_dir).get("state") in ("succeeded", "failed", "cancelled"), 300)
    st = status(run_dir)
    assert st["state"] == "failed" and st["error"] == "rank 1: RuntimeError: injected fault in rank 1", st
    assert wait_until(lambda: cluster.jobs() == [] and processes_of(run_dir) == [], 60), processes_of(run_dir)


@pytest.mark.parametrize("sets, message", [
    (["launch.slurm.partition=nope"], "sbatch: error: invalid partition specified: nope"),
])
def test_sbatch_refusal_is_its_own_message_in_one_line(cluster, tiny_workspace, sets, message):
    proc = lab("run", "presets/sft-tiny.yaml", "--set", "launch.launcher=slurm", "--set", "launch.nproc_per_node=2",
               *[x for s in sets for x in ("--set", s)], *FAST, "--json", workspace=tiny_workspace)
    assert proc.returncode == 2
    st = status(out(proc)["run_dir"])
    assert st["state"] == "failed" and st["error"] == message
    assert "CalledProcessError" not in proc.stderr and "Traceback" not in proc.stderr


def test_without_sbatch_the_run_names_what_to_install(tiny_workspace, tmp_path):
    # a PATH with bash (for the script's syntax check) and without any Slurm command
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash"))
    env = {**os.environ, "LAB_WORKSPACE": str(tiny_workspace), "PATH": str(bin_dir)}
    import sys
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "run", "presets/sft-tiny.yaml", "--set",
                           "launch.launcher=slurm", "--set", "launch.nproc_per_node=2", *FAST, "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    error = status(out(proc)["run_dir"])["error"]
    assert error.startswith("Slurm's sbatch is not on this machine: install the Slurm client commands") and "\n" not in error


def test_datatrove_minhash_on_slurm_removes_what_the_local_executor_removes(cluster, tmp_path):
    ws = tmp_path / "ws"
    small = ["--set", "num_perm=32", "--set", "bands=4", "--set", "rows=8"]  # 4 bucket tasks keep the array short
    removed = {}
    for executor in ("datatrove", "datatrove-slurm"):
        folder = ws / executor
        proc = lab("run", "presets/dedup-minhash.yaml", "--set", f"executor={executor}", "--set", f"output_dir={folder}",
                   *small, "--json", workspace=ws, timeout=400)
        assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
        report = json.loads((folder / "report.json").read_text())
        assert report["executor"] == executor
        removed[executor] = sorted(json.loads(line)["id"] for line in (folder / "removed.jsonl").open())
    assert len(removed["datatrove"]) > 10 and removed["datatrove-slurm"] == removed["datatrove"]
    logs = list((ws / "datatrove-slurm" / ".datatrove" / "logs").glob("*/slurm_logs/*.out"))
    assert len(logs) >= 4  # the stages really ran as Slurm jobs
    assert cluster.jobs() == []


def test_datatrove_on_slurm_with_an_unknown_partition_says_sbatchs_words(cluster, tmp_path):
    proc = lab("run", "presets/dedup-minhash.yaml", "--set", "executor=datatrove-slurm",
               "--set", "datatrove.slurm_partition=nope", "--json", workspace=tmp_path / "ws")
    assert proc.returncode == 2
    assert out(proc)["error"] == ("datatrove.slurm_partition/slurm_time: sbatch: error: invalid partition "
                                  "specified: nope")
    assert cluster.jobs() == []
