"""Shared fixtures. Every test gets its own workspace; the embedded tiny model is built once per
machine (`make test` builds it first) and linked into that workspace."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import cpu_share

REPO = Path(__file__).resolve().parents[1]

# Test files run in parallel (pytest-xdist, `make test`): each pytest worker is a CPU slot, so its runs,
# servers and ranks get their share of the cores (lab/cpu_share.py) instead of every torch process
# starting one OpenMP thread per core and all of them fighting (several times slower on 2 cores).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    cpu_share.apply(["cpu"] * int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
SHARED_WORKSPACE = Path(os.environ.get("LAB_TEST_MODELS_WORKSPACE", REPO / "workspace")).resolve()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    (ws / "runs").mkdir(parents=True)
    monkeypatch.setenv("LAB_WORKSPACE", str(ws))
    return ws


@pytest.fixture(scope="session")
def tiny_models_dir():
    """The built tiny model (bootstrapped once if missing)."""
    models = SHARED_WORKSPACE / "models"
    if not all((models / name / "model.safetensors").exists() for name in ("tiny", "tiny-rag")):
        env = {**os.environ, "LAB_WORKSPACE": str(SHARED_WORKSPACE)}
        subprocess.run([sys.executable, "-m", "lab.cli", "models", "bootstrap"], cwd=REPO, env=env, check=True)
    return models


@pytest.fixture
def tiny_workspace(workspace, tiny_models_dir):
    (workspace / "models").symlink_to(tiny_models_dir)
    return workspace


def lab(*args, workspace: Path, timeout: float = 600, check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_WORKSPACE": str(workspace)}
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=check, **kwargs)
