"""Uploaded files are checked (type, size, UTF-8: lab/upload_check.py) and copied into the
workspace — the participant's own in workshop mode — so a run's job.yaml never points at Gradio's
temp folder (which is cleaned up) and paths stay inside the workspace."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from lab.paths import workspace
from lab.upload_check import check_upload


def safe_name(name: str) -> str:
    name = re.sub(r"[^\w.\-]+", "_", Path(name).name).lstrip(".")
    return name or "upload"


def keep_upload(file: str, *subfolders: str, allowed: set[str] | None = None) -> str:
    check_upload(file, allowed)
    folder = workspace().joinpath("uploads", *subfolders)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(file)
    shutil.copyfile(file, target)
    return str(target)
