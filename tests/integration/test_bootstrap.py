"""`lab models bootstrap` builds both embedded models in a fresh workspace, as jobs in its runs folder:
pre-training makes `tiny`, the reading stage (from that run) makes `tiny-rag`; a second call builds
nothing. Two steps per stage here: the shipped stages are measured by bench/embedded_model.py."""
import json
import os
import subprocess
import sys

from lab.runs import RunStore
from tests.conftest import REPO


def _bootstrap(ws, *args):
    env = {**os.environ, "LAB_WORKSPACE": str(ws), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "lab.cli", "models", "bootstrap", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_bootstrap_builds_tiny_then_tiny_rag_from_it(tmp_path):
    ws = tmp_path / "ws"
    out = _bootstrap(ws, "--steps", "2")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "tiny ready" in out.stdout and "tiny-rag ready" in out.stdout
    assert "bootstrap " not in out.stderr  # no failure line on success
    for name in ("tiny", "tiny-rag"):
        folder = ws / "models" / name
        assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
        assert json.loads((folder / "config.json").read_text())["max_position_embeddings"] == 512
        assert not (folder / "training_args.bin").exists()
    store = RunStore(ws / "runs")
    pretrain, = store.find(kind="pretrain")
    reading, = store.find(kind="sft")
    assert store.get(reading).load_spec().model.name == f"run:{pretrain}"
    assert store.get(reading).load_spec().train.assistant_only_loss
    rows = [json.loads(line) for line in (ws / "models" / "tiny-init" / "reading_set.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["messages"][-1]["role"] == "assistant" and "資料:" in r["messages"][0]["content"] for r in rows)

    again = _bootstrap(ws)
    assert again.returncode == 0 and "already built" in again.stdout
    assert len(store.ids()) == 2
