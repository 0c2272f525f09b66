"""Uploaded files are checked (type, size, UTF-8: lab/upload_check.py) and copied into the
workspace — the participant's own in workshop mode — so a run's job.yaml never points at Gradio's
temp folder (which is cleaned up) and paths stay inside the workspace.

Uploads land only in WORKSPACE/uploads/…: an upload's name is made a plain name first, every
subfolder must be one too, and the target (links resolved) must still be inside uploads/. No job
writes its results there (lab/paths.check_output_folder), so an upload never replaces a run's
report.json or an index's manifest.

Every tab's upload goes through here: `keep_upload` for one file, `keep_uploads` for several into one
folder (the RAG tab's documents)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from lab.errors import UserError
from lab.names import check_name, inside
from lab.paths import shown, workspace
from lab.upload_check import check_upload


def safe_name(name: str) -> str:
    name = re.sub(r"[^\w.\-]+", "_", Path(name).name).lstrip(".")
    name = re.sub(r"\.{2,}", ".", name)
    return name or "upload"


def upload_folder(*subfolders: str) -> Path:
    """WORKSPACE/uploads/<subfolders…>, each a checked name, made if missing."""
    folder = workspace() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    for sub in subfolders:
        folder = inside(folder, check_name(sub, "upload folder"), "upload folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_upload(file: str, *subfolders: str, allowed: set[str] | None = None) -> str:
    check_upload(file, allowed)
    folder = upload_folder(*subfolders)
    target = inside(folder, safe_name(file), "upload")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UserError(f"upload {target.name}: {shown(target)} is not a plain file; rename the upload")
    shutil.copyfile(file, target)
    return str(target)


def keep_uploads(files: list[str], *subfolders: str, allowed: set[str] | None = None) -> Path:
    """Several uploads into WORKSPACE/uploads/<subfolders…>; every file is checked before any is kept, so
    one refused file leaves nothing half-copied. Returns the folder."""
    for file in files:
        check_upload(file, allowed)
    for file in files:
        keep_upload(file, *subfolders, allowed=allowed)
    return upload_folder(*subfolders)
