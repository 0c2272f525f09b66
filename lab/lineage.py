"""Lineage: what a run was made from, and the family of runs around it.

`inputs_of(spec, runs_root)` is computed when a run is created; RunStore.create keeps it in
status.json under "inputs" and emits it once as an `inputs` event:

    {"model":   {"field": "model.name", "name": "run:sft-…", "role": "model", "run": "sft-…"},
     "files":   [{"field": "dataset.path", "path": "/…/kept.jsonl", "role": "data", "sha256": "…",
                  "size": 51234, "rows": 180, "run": "dedup-…"}],          # data files and folders
     "models":  [{"field": "contestants.0.model", "name": "run:dpo-…", "role": "compared", "run": "dpo-…"}],
     "index":   {"field": "index", "name": "default", "path": "/…/rag/default", "role": "index", "run": "rag_index-…"},
     "answers": {"field": "answers_from", "run": "judge-…", "role": "answers"},
     "parents": [{"run": "dedup-…", "role": "data", "field": "dataset.path"}, …]}

"run" names the earlier run a thing came from: `run:<ID>` models, paths inside a run folder (a
training run's model, a dedup run's kept set), paths a finished run reported as its output
(a dedup `output_dir`, the tiny model a pre-training run exported), the last rag_index run that
built an index. "parents" lists those runs once each, with the role they play (the edge label).

What a spec reads: `model.name` and `dataset.path` for every kind that has them, plus the `reads` its
entry in lab/kinds.py declares (files, models, an index, a judge run's answers).

`family(store, run_id)` follows "parents" up (ancestors) and down (children are runs whose parents
name this run) into a small graph of runs, plus the non-run inputs of the run itself."""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import yaml

from .errors import UserError
from .kinds import KINDS
from .paths import models_dir, resolve_input
from .runs import kind_and_created

HASH_LIMIT = 2 * 1024 ** 3         # bytes hashed per input (file or folder); larger ones record their size only
ROW_COUNT_LIMIT = 256 * 1024 ** 2  # JSONL / text files up to this size get a row count
DIR_FILE_LIMIT = 5000
ROW_SUFFIXES = (".jsonl", ".ndjson", ".txt", ".text")
FAMILY_LIMIT = 40                  # runs in one family graph (nearest first)


# ---- what a spec reads ---------------------------------------------------------------------------
def inputs_of(spec, runs_root: str | Path, hash_files: bool = True) -> dict:
    """The inputs a spec names, resolved now: files with their sha256 and size, models and the run
    each came from. `hash_files=False` skips reading the files (for runs made before lineage)."""
    producers = Producers(Path(runs_root))
    out: dict = {}
    files, models = [], []
    model = getattr(spec, "model", None)
    if model is not None and hasattr(model, "name"):
        out["model"] = _model_ref(model.name, "model.name", "model", producers)
    dataset = getattr(spec, "dataset", None)
    if dataset is not None and getattr(dataset, "path", None):
        files.append(_file_ref(dataset.path, "dataset.path", producers, hash_files))
    reads = KINDS[spec.kind].reads
    for read in reads(spec) if reads else ():
        if read.what == "file":
            files.append(_file_ref(read.value, read.field, producers, hash_files))
        elif read.what == "model":
            models.append(_model_ref(read.value, read.field, read.role, producers, read.base_url) | dict(read.extra))
        elif read.what == "index":
            out["index"] = _index_ref(read.value, producers if read.traced else None)
        elif read.what == "answers":
            out["answers"] = {"field": read.field, "run": read.value, "role": read.role}
    if files:
        out["files"] = files
    if models:
        out["models"] = models
    out["parents"] = parents_of(out)
    return out


def parents_of(inputs: dict) -> list[dict]:
    """Every earlier run named in `inputs`, once per (run, role), in the order they are named."""
    refs = [inputs.get("model"), *inputs.get("files", []), *inputs.get("models", []), inputs.get("index"),
            inputs.get("answers")]
    out, seen = [], set()
    for ref in refs:
        if ref and ref.get("run") and (ref["run"], ref["role"]) not in seen:
            seen.add((ref["run"], ref["role"]))
            out.append({"run": ref["run"], "role": ref["role"], "field": ref["field"]})
    return out


def model_parent(spec, runs_root: str | Path) -> str | None:
    """The run whose model this spec starts from when it names one explicitly (`run:<ID>`, a run id,
    or a folder inside a run): what status.json has always called "parent"."""
    name = (getattr(getattr(spec, "model", None), "name", "") or "").strip()
    if not name or name in _embedded():
        return None
    return _run_of_model(name, Producers(Path(runs_root)))


def _embedded() -> tuple[str, ...]:
    from .models.load import EMBEDDED
    return EMBEDDED


def _model_ref(name: str | None, field: str, role: str, producers: Producers, base_url: str | None = None) -> dict:
    ref = {"field": field, "name": name or "", "role": role}
    if base_url:
        ref["base_url"] = base_url  # an endpoint's model name: not something the lab can trace
        return ref
    run = _run_of_model(ref["name"], producers)
    if run:
        ref["run"] = run
    return ref


def _run_of_model(name: str, producers: Producers) -> str | None:
    name = name.strip()
    if not name:
        return None
    if name.startswith("run:"):
        return name[4:] or None
    if "/" not in name and "\\" not in name and (producers.root / name / "job.yaml").exists():
        return name
    if name in _embedded():  # e.g. the pre-training run that exported the tiny model
        return producers.run_of(models_dir() / name)
    path = Path(name).expanduser()
    if (path.is_absolute() or name.startswith((".", "~"))) and path.exists():
        return producers.run_of(path)
    return None


def _file_ref(value: str, field: str, producers: Producers, hash_files: bool) -> dict:
    ref: dict = {"field": field, "path": str(value), "role": "data"}
    try:
        path = resolve_input(str(value), field)
    except UserError:
        ref["missing"] = True
        return ref
    ref["path"] = str(path)
    if hash_files:
        ref.update(digest(path))
    run = producers.run_of(path)
    if run:
        ref["run"] = run
    return ref


def _index_ref(name: str, producers: Producers | None) -> dict:
    from .rag.index import index_path
    ref: dict = {"field": "index", "name": name, "role": "index"}
    try:
        path = index_path(name)
    except UserError:
        return ref
    ref["path"] = str(path)
    run = producers.index_builder(path) if producers is not None else None
    if run:
        ref["run"] = run
    return ref


# ---- hashes ----------------------------------------------------------------------------------------
def digest(path: Path) -> dict:
    """sha256 and size of a file (plus its row count when cheap), or of a folder's files together."""
    path = Path(path)
    try:
        if path.is_dir():
            return _digest_dir(path)
        size = path.stat().st_size
        out: dict = {"size": size}
        if size > HASH_LIMIT:
            return out | {"sha256": None, "note": f"larger than {HASH_LIMIT >> 30} GiB: not hashed"}
        out["sha256"] = _sha256(path)
        rows = _rows(path, size)
        if rows is not None:
            out["rows"] = rows
        return out
    except OSError as e:
        return {"sha256": None, "note": f"unreadable: {e.strerror or e}"}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows(path: Path, size: int) -> int | None:
    suffix = path.suffix.lower()
    if suffix in ROW_SUFFIXES and size <= ROW_COUNT_LIMIT:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    if suffix == ".json" and size <= ROW_COUNT_LIMIT // 8:
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
        return len(data) if isinstance(data, list) else None
    return None


def _digest_dir(path: Path) -> dict:
    files = sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
    size = sum(p.stat().st_size for p in files)
    out: dict = {"size": size, "files": len(files)}
    if size > HASH_LIMIT or len(files) > DIR_FILE_LIMIT:
        return out | {"sha256": None, "note": "too large to hash"}
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(path).as_posix()}\0{_sha256(p)}\n".encode())
    return out | {"sha256": h.hexdigest()}


# ---- which run made a path ---------------------------------------------------------------------------
class Producers:
    """Finds the run a path came from: the run folder it lies in, else a finished run that reported it
    (or a folder holding it) as its output — the latest such run."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._outputs: list[tuple[Path, str]] | None = None

    def _statuses(self):
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if (folder / "job.yaml").exists():
                yield folder.name, _read_json(folder / "status.json")

    def outputs(self) -> list[tuple[Path, str]]:
        if self._outputs is None:
            found = []
            for run_id, status in self._statuses():
                result = status.get("result") or {}
                for key in ("output_dir", "exported", "model"):
                    value = result.get(key) if isinstance(result, dict) else None
                    if isinstance(value, str) and value:
                        found.append((status.get("ended_at") or 0, Path(value).resolve(), run_id))
            self._outputs = [(p, r) for _, p, r in sorted(found, key=lambda t: -t[0])]
        return self._outputs

    def run_of(self, path: Path) -> str | None:
        path = Path(path).resolve()
        if path.is_relative_to(self.root) and path != self.root:
            run_id = path.relative_to(self.root).parts[0]
            if (self.root / run_id / "job.yaml").exists():
                return run_id
        for out, run_id in self.outputs():
            if path == out or path.is_relative_to(out):
                return run_id
        return None

    def index_builder(self, index: Path) -> str | None:
        """The latest rag_index run that built this index folder."""
        best = None
        for run_id, status in self._statuses():
            ref = (status.get("inputs") or {}).get("index") or {}
            created = status.get("created_at") or 0
            if status.get("kind") == "rag_index" and ref.get("path") == str(index) and (best is None or created > best[0]):
                best = (created, run_id)
        return best[1] if best else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ---- the family graph ------------------------------------------------------------------------------
def family(store, run_id: str, limit: int = FAMILY_LIMIT) -> dict:
    """{"run", "nodes", "edges", "truncated"}: the run, its ancestors and its descendants (nearest
    first, at most `limit` runs), and the files and models it read that no run made. A node has id,
    kind, state, title, generation (0 = the oldest inputs), selected; an edge has source, target and
    label (the role of the input: data, model, compared, judge, index, answers, embedder)."""
    store.get(run_id)  # a UserError for an unknown run
    parents = {rid: _parents_of_run(store.root / rid) for rid in store.ids()}
    children: dict[str, list[tuple[str, str]]] = {}
    for child, links in parents.items():
        for link in links:
            children.setdefault(link["run"], []).append((child, link["role"]))
    order = [run_id]
    seen = {run_id}
    for step in (lambda r: [(p["run"], p["role"]) for p in parents.get(r, [])], lambda r: children.get(r, [])):
        frontier = [run_id]
        while frontier:
            nxt = []
            for rid in frontier:
                for other, _ in step(rid):
                    if other not in seen:
                        seen.add(other)
                        order.append(other)
                        nxt.append(other)
            frontier = nxt
    truncated = len(order) > limit
    keep = set(order[:limit])
    nodes = [_run_node(store.root / rid, rid, rid == run_id) for rid in order[:limit]]
    edges = [{"source": p["run"], "target": rid, "label": p["role"]}
             for rid in order[:limit] for p in parents.get(rid, []) if p["run"] in keep]
    own = _run_inputs(store.root / run_id)
    for ref in [own.get("model"), *own.get("files", []), *own.get("models", [])]:
        if not ref or ref.get("run"):
            continue
        node_id = f"file:{ref['path']}" if "path" in ref else f"model:{ref.get('name')}"
        if all(n["id"] != node_id for n in nodes):
            title = Path(ref["path"]).name if "path" in ref else ref.get("name", "")
            nodes.append({"id": node_id, "kind": "file" if "path" in ref else "model", "state": "input",
                          "title": title, "selected": False})
        edges.append({"source": node_id, "target": run_id, "label": ref["role"]})
    edges = _merge_edges(edges)
    _layer(nodes, edges)
    return {"run": run_id, "nodes": nodes, "edges": edges, "truncated": truncated}


def _merge_edges(edges: list[dict]) -> list[dict]:
    """One edge per (input, run), its roles joined (a model both compared and judging: "compared, judge")."""
    merged: dict[tuple[str, str], dict] = {}
    for e in edges:
        key = (e["source"], e["target"])
        if key not in merged:
            merged[key] = dict(e)
        elif e["label"] not in merged[key]["label"].split(", "):
            merged[key]["label"] += f", {e['label']}"
    return list(merged.values())


def _run_inputs(run_dir: Path) -> dict:
    status = _read_json(run_dir / "status.json")
    if "inputs" in status:
        return status["inputs"] or {}
    return _inputs_from_job(run_dir / "job.yaml", _mtime(run_dir / "job.yaml"))


def _parents_of_run(run_dir: Path) -> list[dict]:
    inputs = _run_inputs(run_dir)
    return inputs.get("parents") if "parents" in inputs else parents_of(inputs)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@functools.lru_cache(maxsize=1024)
def _inputs_from_job(job_path: Path, mtime: float) -> dict:
    """Runs made before lineage was recorded: their references, read from job.yaml (no hashing)."""
    from .presets import read_yaml, validate
    try:
        data, tree = read_yaml(job_path)
        return inputs_of(validate(data, str(job_path), tree), job_path.parent.parent, hash_files=False)
    except Exception:  # noqa: BLE001 - an unreadable old run just has no known inputs
        return {}


def _run_node(run_dir: Path, run_id: str, selected: bool) -> dict:
    if not (run_dir / "job.yaml").exists():  # a parent deleted since: only its id is left
        return {"id": run_id, "kind": "?", "state": "missing", "title": "", "selected": selected}
    status = _read_json(run_dir / "status.json")
    return {"id": run_id, "kind": kind_and_created(run_dir)[0] or "?", "state": status.get("state", "?"),
            "title": run_title(run_dir), "selected": selected}


def run_title(run_dir: Path, lang: str = "en") -> str:
    """The preset's title in `lang` (else any language), or ''."""
    try:
        job = yaml.safe_load((Path(run_dir) / "job.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return ""
    titles = (job.get("meta") or {}).get("title") if isinstance(job, dict) else None
    if not isinstance(titles, dict) or not titles:
        return ""
    return str(titles.get(lang) or next(iter(titles.values())))


def _layer(nodes: list[dict], edges: list[dict]) -> None:
    """generation = length of the longest chain of inputs leading to the node."""
    gen = {n["id"]: 0 for n in nodes}
    for _ in range(len(nodes)):  # at most n rounds in a DAG; a cycle (should not happen) stops there
        changed = False
        for e in edges:
            if e["source"] in gen and e["target"] in gen and gen[e["target"]] < gen[e["source"]] + 1:
                gen[e["target"]] = gen[e["source"]] + 1
                changed = True
        if not changed:
            break
    # an input no run made sits just before the run that read it, not at the far left
    targets: dict[str, list[str]] = {}
    for e in edges:
        targets.setdefault(e["source"], []).append(e["target"])
    for n in nodes:
        if n.get("state") == "input" and targets.get(n["id"]):
            gen[n["id"]] = max(0, min(gen[t] for t in targets[n["id"]] if t in gen) - 1)
    for n in nodes:
        n["generation"] = gen[n["id"]]
