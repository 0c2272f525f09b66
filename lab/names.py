"""An identifier is a name, never a path: run ids (`run:<id>`), index names, preset names, upload names,
cluster ids, user names. In workshop mode these come from participants, who can send any text through
the HTTP API; a `..` or a `/` in one of them must not walk out of the folder it is looked up in.

`check_name` refuses anything that is not a plain name with one line; `inside` joins a checked name to
its folder and makes sure the result, with symlinks resolved, is still in that folder."""
from __future__ import annotations

import unicodedata
from pathlib import Path

from .errors import UserError

MAX_LENGTH = 200
RULE = "a name, not a path: no '/', '\\', '..', leading '.' or control characters"


def name_problem(value: str) -> str | None:
    """Why `value` is not a plain name, or None."""
    if not value:
        return "empty"
    if len(value) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return "control characters"
    if "/" in value or "\\" in value:
        return "'/' or '\\'"
    if ".." in value:
        return "'..'"
    if value.startswith((".", "~")) or value != value.strip():
        return "a leading '.', '~' or space"
    if len(value) > 1 and value[1] == ":":  # C:foo on Windows is a drive path
        return "a drive letter"
    return None


def is_name(value: str) -> bool:
    return isinstance(value, str) and name_problem(value) is None


def check_name(value: str, what: str) -> str:
    """`value` if it is a plain name; else a one-line UserError naming `what`."""
    if not isinstance(value, str):
        raise UserError(f"{what}: expected a name, got {type(value).__name__}")
    problem = name_problem(value)
    if problem is not None:
        shown = value.encode("unicode_escape").decode("ascii")[:80]
        raise UserError(f"{what} '{shown}' is not allowed ({problem}): {RULE}")
    return value


def inside(folder: Path, name: str, what: str) -> Path:
    """folder/name for a checked name, refused if it resolves (symlinks followed) outside `folder`."""
    check_name(name, what)
    root = Path(folder).resolve()
    real = (root / name).resolve()
    if real != root and real.is_relative_to(root):
        return root / name
    raise UserError(f"{what} '{name}' leads outside its folder (a link?): {RULE}")
