"""Preference tuning on the tiny model: from an SFT run through the CLI, and every loss type TRL
offers (plus ORPO, CPO/SimPO and KTO) through the worker, a few steps each, with finite rewards."""
from __future__ import annotations

import json
import math

import pytest

from lab import worker
from lab.events import last_metrics, read_events
from lab.presets import load_preset
from lab.runs import RunStore
from lab.spec_base import DPO_LOSS_TYPES
from tests.conftest import lab

pytestmark = pytest.mark.integration

FEW_STEPS = ["train.max_steps=2", "train.warmup_steps=0", "train.eval_strategy=no", "train.save_strategy=no",
             "dataset.max_samples=16", "train.per_device_train_batch_size=4", "train.max_length=128"]


def result(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_dpo_from_an_sft_run_records_its_parent_and_logs_rewards(tiny_workspace):
    sft = lab("run", "presets/sft-tiny.yaml", "--set", "train.max_steps=2", "--set", "train.eval_strategy=no",
              "--json", workspace=tiny_workspace)
    sft_id = result(sft)["run_id"]
    proc = lab("run", "presets/dpo-tiny.yaml", "--set", f"model.name=run:{sft_id}", "--set", "train.max_steps=3",
               "--set", "train.eval_steps=3", "--set", "dataset.max_samples=40", "--json", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = result(proc)
    assert out["status"] == "succeeded"
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                "logps/rejected", "eval_rewards/margins"):
        assert math.isfinite(out["metrics"][key]), key
    show = json.loads(lab("runs", "show", out["run_id"], "--json", workspace=tiny_workspace).stdout)
    assert show["parent"] == sft_id


CASES = [("dpo", loss) for loss in DPO_LOSS_TYPES] + [("orpo", None), ("cpo", "simpo"), ("cpo", "sigmoid"),
                                                      ("kto", None), ("full-dpo-precomputed", "sigmoid")]


@pytest.mark.parametrize("algorithm,loss", CASES, ids=[f"{a}-{loss}" for a, loss in CASES])
def test_every_preference_loss_trains_with_finite_rewards(tiny_workspace, algorithm, loss):
    sets = list(FEW_STEPS)
    if algorithm == "kto":
        preset = "presets/kto-tiny.yaml"
    else:
        preset = "presets/dpo-tiny.yaml"
        if algorithm == "full-dpo-precomputed":
            sets += ["method=full", "train.precompute_ref_log_probs=true"]
        else:
            sets.append(f"algorithm={algorithm}")
        if loss:
            sets.append(f"train.loss_type={loss}")
        if loss == "robust":
            sets.append("train.label_smoothing=0.1")
        if loss == "exo_pair":
            sets.append("train.label_smoothing=0.001")
    store = RunStore()
    run = store.create(load_preset(preset, sets))
    assert worker.main([str(run.dir)]) == 0, run.read_status().get("error")
    metrics = last_metrics(read_events(run.events_path)[0])
    assert math.isfinite(metrics["loss"])
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins"):
        assert math.isfinite(metrics[key]), key


def test_bad_preference_file_is_refused_with_its_line(tiny_workspace, tmp_path):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", "chosen": "b"}\n')
    proc = lab("run", "presets/dpo-tiny.yaml", "--set", f"dataset.path={bad}", workspace=tiny_workspace)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: pairs.jsonl:2: rejected: field required"
