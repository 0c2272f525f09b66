"""Uploaded files are copied into the workspace, so a run's job.yaml never points at Gradio's temp
folder (which is cleaned up) and paths stay inside the workspace."""
from __future__ import annotations

import shutil
from pathlib import Path

from lab.paths import workspace


def keep_upload(file: str, *subfolders: str) -> str:
    folder = workspace().joinpath("uploads", *subfolders)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(file).name
    shutil.copyfile(file, target)
    return str(target)
