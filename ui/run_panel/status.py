"""What a run panel shows in text: the equivalent `lab run` command for a form, a run's status line
(state, step, ETA, device, parent, Slurm job) and a parent run's metric beside the child's.
The Data, RAG, Judge and Launch tabs use the same command and status line."""
from __future__ import annotations

import html
from pathlib import Path

from lab.errors import UserError
from lab.events import metric_series, read_events
from lab.paths import REPO_DIR
from lab.presets import diff_as_overrides, validate
from lab.runs import RunStore
from lab.spec import spec_to_dict

from ..runview import RunView


def preset_command_path(path: str | None) -> str:
    if not path:
        return "PRESET.yaml"
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_DIR))
    except ValueError:
        return str(p)


def equivalent_command(preset_path: str | None, base: dict, data: dict) -> str:
    """`lab run PRESET --set …` for what the form changed, compared after validation so that a
    value the form merely spelled out (a default, 1 for 1.0) is not shown as a change."""
    try:
        base, data = spec_to_dict(validate(base)), spec_to_dict(validate(data))
    except UserError:
        pass
    sets = " ".join(f"--set {s}" if " " not in s else f"--set '{s}'" for s in diff_as_overrides(base, data))
    return f"lab run {preset_command_path(preset_path)} {sets}".strip()


def format_eta(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def status_html(prefix: str, view: RunView | None, no_run: str) -> str:
    if view is None:
        return f"<div id='{prefix}-status'>{html.escape(no_run)}</div>"
    p = view.progress
    step, total = p.get("step", 0), p.get("total") or 0
    state = view.state
    pct = int(100 * step / total) if total else 0
    env = view.env
    env_line = (f" · {env.get('device')} · {env.get('dtype')} · world size {env.get('world_size')}"
                f" · {env.get('trainable_params', 0):,}/{env.get('params', 0):,} params") if env else ""
    parent = view.status.get("parent")
    parent_line = f" · parent {parent}" if parent else ""
    if view.status.get("slurm_job"):  # a Slurm run: which job, and where Slurm has it
        parent_line += f" · Slurm {view.status['slurm_job']} {view.status.get('slurm_state') or ''}".rstrip()
    error = f"<div class='lab-error'>⚠ {html.escape(view.status.get('error') or '')}</div>" if state == "failed" else ""
    return (f"<div id='{prefix}-status' data-state='{state}' data-step='{step}'>"
            f"<b>{html.escape(view.run_id)}</b> · <span class='lab-state lab-{state}'>{state}</span>"
            f" · step {step}/{total or '?'} · ETA {format_eta(p.get('eta_s'))}{html.escape(env_line + parent_line)}"
            f"<br><progress max='100' value='{pct}' style='width:100%'></progress>{error}</div>")


def parent_series(store: RunStore, view: RunView, metric: str = "eval_loss", label: str = "parent/eval_loss") -> dict:
    """A metric of the run this one started from (e.g. the SFT run's eval loss beside DPO)."""
    parent = view.status.get("parent")
    if not parent:
        return {}
    try:
        events, _ = read_events(store.get(parent).events_path)
    except UserError:
        return {}
    points = metric_series(events).get(metric, [])
    return {label: points} if points else {}


def latest_run(store: RunStore, kind) -> str | None:
    """The run a tab opens on load: its newest active run, else its newest run."""
    ids = store.find(kind=kind)
    active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
    return (active or ids or [None])[0]
