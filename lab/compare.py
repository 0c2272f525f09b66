"""Compare 2–4 runs: the config keys that differ, the final metrics side by side, and every
metric's curve per run (the Runs tab overlays them; `lab runs diff A B [--json]` prints the rest).

JSON: {"runs": [id, …], "kinds": [kind, …], "config": [{"key": dotted, "values": [v per run]}],
"metrics": {name: [last value per run, null where a run has none]}}."""
from __future__ import annotations

from .errors import UserError
from .events import metric_series, read_events
from .spec import spec_to_dict

MAX_RUNS = 4
MISSING = None


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def diff_runs(store, run_ids: list[str]) -> dict:
    run_ids = list(dict.fromkeys(run_ids))
    if not 2 <= len(run_ids) <= MAX_RUNS:
        raise UserError(f"compare: give 2 to {MAX_RUNS} different runs (got {len(run_ids)})")
    configs = [flatten(spec_to_dict(store.get(r).load_spec())) for r in run_ids]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    config = [{"key": k, "values": [c.get(k, MISSING) for c in configs]} for k in keys
              if len({repr(c.get(k, MISSING)) for c in configs}) > 1]
    finals = [store.summary(r)["metrics"] for r in run_ids]
    names = sorted({m for f in finals for m in f})
    return {"runs": run_ids, "kinds": [store.kind(r) for r in run_ids], "config": config,
            "metrics": {m: [f.get(m) for f in finals] for m in names}}


def curves(store, run_ids: list[str]) -> dict[str, dict[str, list]]:
    """metric → {run id: [(step, value), …]} for every metric any of the runs logged."""
    out: dict[str, dict[str, list]] = {}
    for r in run_ids:
        events, _ = read_events(store.get(r).events_path)
        for name, points in metric_series(events).items():
            out.setdefault(name, {})[r] = points
    return out


def to_text(diff: dict) -> str:
    width = max([len(k["key"]) for k in diff["config"]] + [len(m) for m in diff["metrics"]] + [10])
    head = " ".join(f"{r[:28]:>28}" for r in diff["runs"])
    lines = [f"{'':{width}} {head}", "config that differs:" if diff["config"] else "config: the same"]
    for row in diff["config"]:
        lines.append(f"{row['key']:{width}} " + " ".join(f"{_cell(v):>28}" for v in row["values"]))
    lines.append("final metrics:")
    for name, values in diff["metrics"].items():
        lines.append(f"{name:{width}} " + " ".join(f"{_cell(v):>28}" for v in values))
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)[:28]
