"""Presets: a JobSpec in YAML. Loading applies `--set dotted.key=value` overrides and validates,
turning any problem into one line that names the file, the line and the field."""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError

from .errors import UserError
from .jsonl import field_path
from .names import inside, is_name
from .paths import PRESETS_DIR, check_inside, confined, user_presets_dir, workspace
from .spec import KINDS, parse_spec, spec_to_dict

# libyaml's parser when PyYAML was built with it: the same documents and marks, several times faster
_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_UNKNOWN_KEY = re.compile(r"unknown key '([^']+)'")
_LEADING_KEY = re.compile(r"^(?:Value error, )?([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*): (.*)$", re.S)


def _message(err: dict) -> str:
    msg = err["msg"]
    m = _LEADING_KEY.match(msg)
    if m and err["type"] == "value_error":
        msg = m.group(2)
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "field required"
    msg = _UNKNOWN_KEY.sub("unknown key", msg.removeprefix("Value error, "))
    return msg[:1].lower() + msg[1:]


def _error_loc(err: dict) -> tuple:
    loc = tuple(err["loc"])
    if loc and loc[0] in KINDS:  # the discriminated union puts the kind first
        loc = loc[1:]
    m = _UNKNOWN_KEY.search(err["msg"])
    if m:
        loc = loc + (m.group(1),)
    lead = _LEADING_KEY.match(err["msg"])
    if lead and err["type"] == "value_error":  # a spec-level check names its key first: "train.x: …"
        loc = loc + tuple(lead.group(1).split("."))
    return loc


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest node of `loc` present in the YAML tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child = value_node if not isinstance(value_node, yaml.ScalarNode) else key_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def validation_error_line(exc: ValidationError, source: str, tree: yaml.Node | None = None,
                          overridden: set[str] = frozenset()) -> str:
    err = exc.errors()[0]
    loc = _error_loc(err)
    dotted = field_path(loc)
    if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
        dotted, msg = "kind", f"must be one of {', '.join(KINDS)}"
    else:
        msg = _message(err)
    if any(dotted == o or dotted.startswith(o + ".") for o in overridden):
        return f"--set {dotted}: {msg}"
    line = _line_of(tree, loc)
    where = f"{source}:{line}" if line else source
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{where}: {dotted}: {msg}{more}"


def parse_override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", key):
        raise UserError(f"--set {text}: expected dotted.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def apply_overrides(data: dict, overrides: Iterable[str]) -> set[str]:
    keys = set()
    for text in overrides:
        key, value = parse_override(text)
        node = data
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise UserError(f"--set {key}: '{'.'.join(parts[:i + 1])}' is not a section")
            node = nxt
        node[parts[-1]] = value
        keys.add(key)
    return keys


def read_yaml(path: Path) -> tuple[dict, yaml.Node | None]:
    """The preset's data (a fresh copy: callers apply overrides to it) and its node tree (for line numbers)."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise UserError(f"preset not found: {path}") from None
    data, tree = _parsed(str(path), stat.st_mtime_ns, stat.st_size)
    return copy.deepcopy(data), tree


@functools.lru_cache(maxsize=256)
def _parsed(path: str, mtime_ns: int, size: int) -> tuple[dict, yaml.Node | None]:
    # Keyed by the file's mtime and size, so a preset saved (or edited) since is read again. The page build lists
    # and validates the same presets many times over (each tab, the Home gallery).
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"preset not found: {path}") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start})") from None
    try:
        try:
            data, tree = _tree_and_data(text, _FastLoader)
        except yaml.YAMLError:  # the pure-Python parser's message names the offending character
            data, tree = _tree_and_data(text, yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UserError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: a preset is a mapping of keys (kind, model, dataset, train, …)")
    return data, tree


def validate(data: dict, source: str = "<spec>", tree: yaml.Node | None = None, overridden: set[str] = frozenset()):
    try:
        return parse_spec(data)
    except ValidationError as exc:
        raise UserError(validation_error_line(exc, source, tree, overridden)) from None


def load_preset(path: str | Path, overrides: Iterable[str] = ()):
    path = find_preset(path)
    data, tree = read_yaml(path)
    overridden = apply_overrides(data, overrides)
    return validate(data, str(path), tree, overridden)


def find_preset(name: str | Path) -> Path:
    """A path, or a bare preset name found in presets/ or the workspace's saved presets. A workshop
    participant's path must be a bundled preset or inside their workspace (checked before it is read)."""
    p = Path(name)
    if confined() and not is_name(str(name)):
        real = (p if p.is_absolute() else workspace() / p).resolve()
        if not real.is_relative_to(PRESETS_DIR.resolve()):
            check_inside(real, "preset", str(name))
        p = real
    if p.exists() and not (confined() and is_name(str(name))):  # a participant's name is not looked up in the server's folder
        return p
    if is_name(str(name)):
        for folder in (PRESETS_DIR, user_presets_dir()):
            for candidate in (inside(folder, str(p), "preset"), inside(folder, f"{p}.yaml", "preset")):
                if candidate.exists():
                    return candidate
    raise UserError(f"preset not found: {name}")


def list_presets(kind: str | None = None) -> list[Path]:
    out = []
    for folder in (PRESETS_DIR, user_presets_dir()):
        for path in sorted(folder.glob("*.yaml")) if folder.exists() else []:
            if kind is None or _kind_of(path) == kind:
                out.append(path)
    return out


def _tree_and_data(text: str, loader_class) -> tuple[object, yaml.Node | None]:
    loader = loader_class(text)
    try:  # one parse gives both the tree and the data built from it
        tree = loader.get_single_node()
        return (loader.construct_document(tree) if tree is not None else None), tree
    finally:
        loader.dispose()


def _kind_of(path: Path) -> str | None:
    try:
        stat = path.stat()
        data, _ = _parsed(str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, UserError):
        return None
    return data.get("kind")


def dump_spec(spec: BaseModel) -> str:
    return yaml.safe_dump(spec_to_dict(spec), allow_unicode=True, sort_keys=False)


def diff_as_overrides(base: dict, new: dict, prefix: str = "") -> list[str]:
    """The `--set` arguments that turn `base` into `new` (for the UI's equivalent command)."""
    out = []
    for key, value in new.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out += diff_as_overrides(base[key], value, dotted + ".")
        elif base.get(key) != value:
            out.append(f"{dotted}={_cli_value(value)}")
    return out


def _cli_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    return str(value)
