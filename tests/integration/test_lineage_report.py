"""A real chain through the CLI: a dedup run, then an SFT of the tiny model on its kept set. The SFT
records the kept set's sha256 and the dedup run as its data parent, the family graph links the two,
and `lab runs report` writes one self-contained HTML page with the charts' data in it."""
from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

import pytest

from lab.events import metric_series, read_events
from lab.lineage import family
from lab.runs import RunStore
from tests.conftest import lab

pytestmark = pytest.mark.integration


def run_json(ws, *args) -> dict:
    proc = lab("run", *args, "--json", workspace=ws, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_dedup_then_sft_on_its_kept_set_is_one_family_with_a_self_contained_report(tiny_workspace, monkeypatch):
    dedup = run_json(tiny_workspace, "presets/dedup-exact.yaml")
    kept = Path(dedup["run_dir"]) / "artifacts" / "kept.jsonl"
    sft = run_json(tiny_workspace, "presets/sft-tiny.yaml", "--set", f"dataset.path={kept}",
                   "--set", "dataset.max_samples=8", "--set", "dataset.eval_split=0",
                   "--set", "train.assistant_only_loss=false", "--set", "train.max_length=64",
                   "--set", "train.per_device_train_batch_size=2", "--set", "train.max_steps=3",
                   "--set", "train.eval_strategy=no", "--set", "train.save_strategy=no")
    assert sft["status"] == "succeeded"

    shown = json.loads(lab("runs", "show", sft["run_id"], "--json", workspace=tiny_workspace).stdout)
    data = shown["inputs"]["files"][0]
    assert data["sha256"] == hashlib.sha256(kept.read_bytes()).hexdigest() and data["run"] == dedup["run_id"]
    assert data["rows"] == dedup["metrics"]["docs_kept"]

    monkeypatch.setenv("LAB_WORKSPACE", str(tiny_workspace))
    graph = family(RunStore(), dedup["run_id"])
    assert {"source": dedup["run_id"], "target": sft["run_id"], "label": "data"} in graph["edges"]

    proc = lab("runs", "report", sft["run_id"], "--lang", "ja", workspace=tiny_workspace)
    assert proc.returncode == 0, proc.stderr
    report = Path(proc.stdout.strip())
    assert report == Path(sft["run_dir"]) / "artifacts" / "report.html"
    page = report.read_text(encoding="utf-8")
    assert "<meta charset='utf-8'>" in page and "系譜" in page  # Japanese headings, UTF-8 declared
    assert not re.search(r"<script[^>]+src=['\"]?https?:", page, re.IGNORECASE)  # plotly.js is inlined, nothing fetched
    assert not re.search(r"<link[^>]+href=['\"]?https?:", page, re.IGNORECASE)
    assert "Plotly.newPlot" in page and len(page) > 3_000_000
    events, _ = read_events(Path(sft["run_dir"]) / "events.jsonl")
    losses = metric_series(events)["loss"]
    assert len(losses) == 3 and json.dumps(losses[-1][1]) in page  # the chart's data, not just its frame
    assert dedup["run_id"] in page and data["sha256"][:16] in page  # the lineage with the data hash

    dedup_page = Path(lab("runs", "report", dedup["run_id"], workspace=tiny_workspace).stdout.strip()).read_text(encoding="utf-8")
    first_cluster = json.loads((Path(dedup["run_dir"]) / "artifacts" / "clusters_preview.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert html.escape(first_cluster["texts"][0]["text"][:40]) in dedup_page  # the samples: a duplicate cluster
