"""The RAG contract from the shell: `lab run presets/rag-index.yaml --set docs=DIR --set index=NAME`
survives a killed worker (the next run completes with the right count), skips a corrupt file with a
per-file error, and `lab rag retrieve --json` answers from the index; a missing index is one line, exit 2."""
from __future__ import annotations

import json
import os
import signal

import pytest

from backends.local import wait_until
from lab.events import read_events
from lab.paths import SAMPLES_DIR
from lab.rag.chunking import split_documents
from lab.rag.loaders import load_documents
from tests.conftest import lab

pytestmark = pytest.mark.integration


def last_json(out) -> dict:
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_docs(folder, n_files: int = 16):
    """Japanese documents cut from the bundled pre-training corpus, plus broken files."""
    folder.mkdir()
    rows = [json.loads(line) for line in (SAMPLES_DIR / "pretrain_corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("lang") == "ja"][:n_files]
    for i, row in enumerate(rows):
        (folder / f"doc{i:02d}.txt").write_text(row["text"], encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage, not a PDF at all")
    (folder / "rows.jsonl").write_text('{"id": "a", "text": "表の一行目です。"}\n{"id": "b"}\n', encoding="utf-8")


def test_killed_index_job_completes_on_rerun_skips_broken_files_and_answers_queries(tiny_workspace, tmp_path):
    docs = tmp_path / "docs"
    make_docs(docs)
    expected = len({c.id for c in split_documents(load_documents(docs).documents, 120, 20)})
    sets = ["--set", f"docs={docs}", "--set", "index=kb", "--set", "chunking.size=120", "--set", "chunking.overlap=20",
            "--set", "embedding.batch_size=4"]

    started = lab("run", "presets/rag-index.yaml", *sets, "--detach", "--json", workspace=tiny_workspace)
    assert started.returncode == 0, started.stderr
    run_dir = last_json(started)["run_dir"]

    def embedded_some() -> bool:
        events, _ = read_events(os.path.join(run_dir, "events.jsonl"))
        return any(e["type"] == "progress" and e.get("step", 0) >= 4 for e in events)

    assert wait_until(embedded_some, 180, 0.1), open(os.path.join(run_dir, "worker.log")).read()[-2000:]
    status = json.load(open(os.path.join(run_dir, "status.json")))
    os.killpg(status["pgid"], signal.SIGKILL)
    shown = lambda: last_json(lab("runs", "show", os.path.basename(run_dir), "--json", workspace=tiny_workspace))  # noqa: E731
    assert wait_until(lambda: shown()["status"] == "failed", 30, 0.5)

    rerun = lab("run", "presets/rag-index.yaml", *sets, "--json", workspace=tiny_workspace)
    result = last_json(rerun)
    assert result["status"] == "succeeded", rerun.stderr[-2000:]
    assert result["metrics"]["chunks_total"] == expected
    assert 0 < result["metrics"]["chunks_added"] < expected  # the killed run had kept its finished batches
    assert result["metrics"]["files_failed"] == 1
    report = json.load(open(os.path.join(result["run_dir"], "artifacts", "report.json")))
    errors = {(e["file"], e.get("line")): e["error"] for e in report["errors"]}
    assert "not a readable PDF" in errors[("broken.pdf", None)]
    assert "text: field required" in errors[("rows.jsonl", 2)]

    question = "日本の首都はどこですか？"
    out = lab("rag", "retrieve", "--index", "kb", "--k", "5", "--json", question, workspace=tiny_workspace)
    assert out.returncode == 0, out.stderr
    results = last_json(out)["results"]
    assert len(results) == 5
    for r in results:
        assert {"source", "chunk_id", "score", "text"} <= set(r) and r["chunk_id"].startswith(r["source"] + "#")

    missing = lab("rag", "retrieve", "--index", "nowhere", "--json", question, workspace=tiny_workspace)
    assert missing.returncode == 2
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: index 'nowhere' not found"), missing.stderr
