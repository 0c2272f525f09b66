"""Saving a form as the user's own preset: the spec is validated first (a bad field is refused with
the same one line as a preset file), the name is a plain name, and the file lands in the workspace's
presets folder (the participant's own in workshop mode), where `find_preset` and every tab's preset
list find it. Every tab that offers "Save as preset" calls `save_preset`."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from .errors import UserError
from .names import check_name, inside
from .paths import user_presets_dir
from .presets import dump_spec, validate


def check_preset_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UserError("preset name: use letters, digits, '-', '_' or '.'")
    return check_name(name, "preset name")


def save_preset(name: str | None, spec: dict | BaseModel, source: str = "form") -> Path:
    """Write `spec` (a validated spec, or a dict validated here) as <presets>/<name>.yaml; returns the path."""
    if not isinstance(spec, BaseModel):
        spec = validate(spec, source)
    name = check_preset_name(name)
    folder = user_presets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = inside(folder, f"{name}.yaml", "preset name")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_spec(spec), encoding="utf-8")
    tmp.replace(path)  # whole or not at all: a reader (the preset list, a test) never sees half a file
    return path
