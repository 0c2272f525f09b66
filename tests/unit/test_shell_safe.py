"""Values that reach a shell or a generated script are names, not commands: a newline or a `;` in a
Slurm field or a launcher option is refused in one line, in the training spec (the Launch tab and the
CLI) and in the Data tab's datatrove Slurm export; what passes is written so a shell reads one word."""
from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from backends import slurm
from lab.errors import UserError
from lab.presets import load_preset, read_yaml, validate

REPO = Path(__file__).resolve().parents[2]
ATTACKS = ["gpu\n#SBATCH --wrap=touch /tmp/owned", "gpu; touch /tmp/owned", "gpu$(touch /tmp/owned)", "gpu\r",
           "gpu `id`", "gpu\x00", "gpu && id"]

LAUNCH_FIELDS = [("slurm", "partition"), ("slurm", "account"), ("slurm", "time"), ("slurm", "job_name"),
                 (None, "master_addr"), (None, "rdzv_endpoint"), (None, "gpus")]


def sft(**launch) -> dict:
    data, _ = read_yaml(REPO / "presets/sft-tiny.yaml")
    data = copy.deepcopy(data)
    data["launch"] = {"launcher": "slurm", "nproc_per_node": 2, **launch}
    return data


def refused_in_one_line(data, field: str) -> str:
    with pytest.raises(UserError) as exc:
        validate(data, "form")
    message = str(exc.value)
    assert "\n" not in message and "\r" not in message and "\x00" not in message
    assert field in message and "is not allowed here" in message
    return message


@pytest.mark.parametrize("block, key", LAUNCH_FIELDS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_a_launch_field_with_a_newline_or_a_semicolon_is_refused_in_one_line(block, key, attack):
    data = sft(slurm={key: attack}) if block else sft(**{key: attack})
    refused_in_one_line(data, f"launch.{block + '.' if block else ''}{key}")


@pytest.mark.parametrize("attack", ATTACKS)
def test_extra_sbatch_options_and_hostfile_lines_are_checked_one_by_one(attack):
    refused_in_one_line(sft(slurm={"extra_sbatch": ["--qos=high", attack]}), "launch.slurm.extra_sbatch")
    refused_in_one_line(sft(launcher="deepspeed", hostfile=["node1 slots=2", attack]), "launch.hostfile")


def test_the_cli_refuses_a_semicolon_from_set_in_one_line():
    with pytest.raises(UserError, match=r"^--set launch\.slurm\.partition: 'gpu;reboot' is not allowed here"):
        load_preset(REPO / "presets/sft-tiny.yaml", ["launch.launcher=slurm", "launch.slurm.partition=gpu;reboot"])


def test_ordinary_values_pass_and_land_in_the_script_as_single_words(tmp_path):
    from lab.distributed.launch_plan import plan
    spec = validate(sft(slurm={"partition": "gpu,gpu-long", "account": "proj_42", "time": "1-12:00:00",
                               "job_name": "sft.tiny+lora", "extra_sbatch": ["--qos=high", "--constraint=a100",
                                                                             "--mail-user=me@example.org"]},
                        master_addr="node-01.cluster", gpus="0,1"), "form")
    script = plan(spec, tmp_path / "run", python="python", cuda=False).files["job.sbatch"]
    for line in ("#SBATCH --partition=gpu,gpu-long", "#SBATCH --account=proj_42", "#SBATCH --time=1-12:00:00",
                 "#SBATCH --job-name=sft.tiny+lora", "#SBATCH --qos=high", "#SBATCH --mail-user=me@example.org",
                 "export CUDA_VISIBLE_DEVICES=0,1"):
        assert line in script
    path = tmp_path / "job.sbatch"
    path.write_text(script)
    assert slurm.syntax_error(str(path)) is None


def test_resources_follow_the_request():
    from lab.distributed.launch_plan import plan
    cpu = plan(validate(sft(), "form"), "/runs/x", python="python", cuda=False).files["job.sbatch"]
    assert "--gpus-per-node" not in cpu and "#SBATCH --cpus-per-task=2" in cpu
    assert "srun --kill-on-bad-exit=1 --ntasks-per-node=1 --cpus-per-task=2 " in cpu
    data = sft(nproc_per_node=4)
    data["train"]["dataloader_num_workers"] = 2
    gpu = plan(validate(data, "form"), "/runs/x", python="python", cuda=True).files["job.sbatch"]
    assert "#SBATCH --gpus-per-node=4" in gpu and "#SBATCH --cpus-per-task=12" in gpu
    asked = plan(validate(sft(slurm={"gpus_per_node": 0, "cpus_per_task": 6}), "form"), "/runs/x", python="python",
                 cuda=True).files["job.sbatch"]
    assert "--gpus-per-node" not in asked and "--cpus-per-task=6" in asked


def dedup(**datatrove) -> dict:
    data, _ = read_yaml(REPO / "presets/dedup-minhash.yaml")
    return {**data, "executor": "datatrove-slurm", "datatrove": datatrove}


@pytest.mark.parametrize("key", ["slurm_partition", "slurm_time", "slurm_venv"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_the_data_tabs_datatrove_slurm_fields_are_refused_in_one_line(key, attack):
    refused_in_one_line(dedup(**{key: attack}), f"datatrove.{key}")


def test_the_data_tabs_slurm_export_refuses_what_the_form_sends():
    """What the Data tab's "Show the Slurm version" button builds from its form, as a participant could
    send it through the HTTP API."""
    from ui.tabs.dedup import FORM_KEYS, form_to_spec, form_values
    base, _ = read_yaml(REPO / "presets/dedup-minhash.yaml")
    values = dict(zip(FORM_KEYS, form_values(base)))
    for key, attack in (("slurm_partition", "cpu\n#SBATCH --wrap=id"), ("slurm_time", "04:00:00; id")):
        sent = [attack if k == key else values[k] for k in FORM_KEYS]
        refused_in_one_line(form_to_spec(base, sent), f"datatrove.{key}")


def test_the_rendered_datatrove_script_keeps_to_the_checked_values(tmp_path):
    from lab.dedup.datatrove_pipeline import sbatch_preview
    spec = validate(dedup(slurm_partition="cpu", slurm_time="02:00:00", slurm_venv="/opt/venv/bin/activate"), "form")
    text = sbatch_preview(spec, "char", 4, 8, "samples/dedup_corpus.jsonl", tmp_path)
    assert "#SBATCH --partition=cpu\n" in text and "source /opt/venv/bin/activate\n" in text
    path = tmp_path / "launch.slurm"
    path.write_text(text)
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_a_participant_adds_scheduling_wishes_only(monkeypatch):
    """In workshop mode an extra sbatch option that moves files or changes what runs is the facilitator's."""
    from lab.distributed.launch_plan import plan
    monkeypatch.setenv("LAB_CONFINE", "1")
    ok = validate(sft(slurm={"extra_sbatch": ["--qos=high", "--constraint=a100"]}), "form")
    assert "#SBATCH --qos=high" in plan(ok, "/runs/x", python="python", cuda=False).files["job.sbatch"]
    for option in ("--output=/root/.bashrc", "--chdir=/", "--export=ALL,LD_PRELOAD=/tmp/x.so", "--uid=0", "--wrap=id"):
        spec = validate(sft(slurm={"extra_sbatch": [option]}), "form")
        with pytest.raises(UserError, match=r"^launch\.slurm\.extra_sbatch: .* is for the facilitator"):
            plan(spec, "/runs/x", python="python", cuda=False)
    monkeypatch.delenv("LAB_CONFINE")
    assert plan(spec, "/runs/x", python="python", cuda=False).files["job.sbatch"]  # the facilitator may


def test_a_participant_cannot_name_a_venv_for_the_datatrove_jobs_to_source(monkeypatch, tmp_path):
    from lab.dedup.datatrove_pipeline import run_on_slurm
    monkeypatch.setenv("LAB_CONFINE", "1")
    monkeypatch.setattr(slurm, "available", lambda: True)
    spec = validate(dedup(slurm_venv="uploads/evil.sh"), "form")
    with pytest.raises(UserError, match=r"^datatrove\.slurm_venv: set by the facilitator only"):
        run_on_slurm(spec, "char", 4, 8, tmp_path / "corpus.jsonl", tmp_path / "work")
