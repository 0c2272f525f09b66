"""What an upload must be before the lab keeps it: a known type, under the size limit, and for text
types valid UTF-8 (the lab's data files are JSONL/CSV/Markdown/YAML; a binary renamed .jsonl is
refused here with one line rather than failing later inside a run)."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

TEXT_TYPES = {".jsonl", ".json", ".csv", ".tsv", ".txt", ".md", ".markdown", ".yaml", ".yml", ".html", ".htm"}
BINARY_TYPES = {".pdf", ".parquet", ".zip"}


def max_upload_bytes() -> int:
    return int(float(os.environ.get("LAB_MAX_UPLOAD_MB", "50")) * 1024 * 1024)


def check_upload(path: str | Path, allowed: set[str] | None = None) -> None:
    path = Path(path)
    name, ext = path.name, path.suffix.lower()
    allowed = allowed or TEXT_TYPES | BINARY_TYPES
    if ext not in allowed:
        raise UserError(f"upload {name}: type '{ext or '(none)'}' is not accepted (use {', '.join(sorted(allowed))})")
    size, limit = path.stat().st_size, max_upload_bytes()
    if size > limit:
        raise UserError(f"upload {name}: {size / 2**20:.1f} MB is over the {limit / 2**20:.0f} MB limit")
    from .quota import check_upload as check_quota
    check_quota(size)  # a workshop participant's disk quota (lab/quota.py)
    if ext in TEXT_TYPES:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        if b"\0" in head:
            raise UserError(f"upload {name}: looks like a binary file, not {ext} text")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as e:
            if e.start < len(head) - 4:  # not just a character cut at the 1 MiB boundary
                raise UserError(f"upload {name}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
