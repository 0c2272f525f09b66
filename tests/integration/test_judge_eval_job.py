"""The `eval` job (llm-jp-eval-style metrics) run through the CLI on the tiny model: every bundled
task scored, per-sample predictions on disk, and scores that agree with those predictions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import lab

pytestmark = pytest.mark.integration


def test_metrics_preset_scores_every_task_and_keeps_the_predictions(tiny_workspace):
    proc = lab("run", "presets/eval-metrics.yaml", "--set", "max_samples=2", "--json", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {"jqa_exact/exact_match", "jqa_exact/char_f1", "jreading_span/char_f1", "jreading_span/exact_match",
                "jentity_set/set_f1", "jcommonsense_mc/acc", "jcommonsense_mc/acc_norm", "average"}
    assert expected <= set(out["metrics"]) and all(0.0 <= out["metrics"][k] <= 1.0 for k in expected)

    run_dir = Path(out["run_dir"])
    results = json.loads((run_dir / "artifacts" / "results.json").read_text(encoding="utf-8"))
    assert results["model"] == "tiny" and all(t["n"] == 2 for t in results["tasks"].values())
    mc = [json.loads(line) for line in (run_dir / "artifacts" / "predictions" / "jcommonsense_mc.jsonl").read_text().splitlines()]
    assert len(mc) == 2 and all(len(p["logliks"]) == len(p["choices"]) and p["prediction"] in p["choices"] for p in mc)
    assert results["scores"]["jcommonsense_mc/acc"] == pytest.approx(
        sum(p["choices"].index(p["prediction"]) == p["gold"] for p in mc) / 2)
    qa = [json.loads(line) for line in (run_dir / "artifacts" / "predictions" / "jqa_exact.jsonl").read_text().splitlines()]
    assert results["scores"]["jqa_exact/char_f1"] == pytest.approx(sum(p["scores"]["char_f1"] for p in qa) / 2)
    assert all("\n" not in p["prediction"] for p in qa)


def test_a_bad_task_file_is_one_line(tiny_workspace, tmp_path):
    bad = tmp_path / "tasks"
    bad.mkdir()
    (bad / "t.json").write_text('{"instruction": "答えて", "metrics": ["exact_match"],\n'
                                ' "samples": [\n  {"input": "a", "output": "b"},\n  {"input": "c"}\n ]}\n', encoding="utf-8")
    proc = lab("run", "presets/eval-metrics.yaml", "--set", f"tasks={bad}", workspace=tiny_workspace)
    assert proc.returncode == 2 and "t.json:4: samples[1].output: field required" in proc.stderr
