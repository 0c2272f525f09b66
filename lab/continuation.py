"""Continue a finished training run for more steps or epochs, as a new run.

The new run gets the old run's job.yaml (plus any --set), a copy of its last checkpoint, and starts
with resume, so the Trainer picks up the weights, the optimizer state and the step count where the
old run stopped. `train.max_steps=N` (or `train.num_train_epochs=E` in a run sized by epochs) means
N MORE steps (E more epochs): the new run's job.yaml records the resolved total. A run that left no
checkpoint continues from its saved model instead (fresh optimizer), and says so in its log. The old
run stays as it was; the new one is linked to it in the lineage as its continuation."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .errors import UserError
from .presets import apply_overrides, validate
from .spec import spec_to_dict

ROLE = "continued"


def last_checkpoint_of(run_dir: Path) -> tuple[Path, int] | None:
    """(checkpoint folder, its global step) of the run's last checkpoint, or None."""
    from .train.common import last_checkpoint
    found = last_checkpoint(run_dir / "artifacts" / "checkpoints")
    if not found:
        return None
    state = Path(found) / "trainer_state.json"
    try:
        step = int(json.loads(state.read_text(encoding="utf-8"))["global_step"])
    except (OSError, ValueError, KeyError):
        step = int(Path(found).name.rsplit("-", 1)[-1])
    return Path(found), step


def continued_spec(old: dict, overrides: list[str], step: int | None, source: str):
    """The new run's spec: the old job plus overrides, with max_steps / epochs counted on from `step`."""
    data = json.loads(json.dumps(old))  # a deep copy of plain YAML data
    keys = apply_overrides(data, overrides)
    train = data.setdefault("train", {})
    old_train = old.get("train", {})
    by_steps = (train.get("max_steps") or -1) > 0
    if step is not None:  # resuming: the Trainer counts from the checkpoint's step
        if by_steps:
            more = train["max_steps"] if "train.max_steps" in keys else old_train.get("max_steps")
            train["max_steps"] = step + int(more)
        else:
            more = train.get("num_train_epochs", 3.0) if "train.num_train_epochs" in keys else old_train.get("num_train_epochs", 3.0)
            train["num_train_epochs"] = float(old_train.get("num_train_epochs", 3.0)) + float(more)
    return validate(data, source)


def continue_run(store, run_id: str, overrides: list[str] = ()):
    run = store.ended_training_run(run_id, "continue")
    old = spec_to_dict(run.load_spec())
    checkpoint = last_checkpoint_of(run.dir)
    if checkpoint is None:
        from .models.load import run_model_dir
        if run_model_dir(run.dir) is None:
            raise UserError(f"run {run_id} left neither a checkpoint nor a model to continue from")
        overrides = [*overrides, f"model.name=run:{run_id}"]
    spec = continued_spec(old, list(overrides), checkpoint[1] if checkpoint else None, f"{run_id}/job.yaml")
    new = store.create(spec, parent=run_id)
    if checkpoint:
        shutil.copytree(checkpoint[0], new.artifacts / "checkpoints" / checkpoint[0].name)
    inputs = store.status(new.id).get("inputs") or {}
    parents = [p for p in inputs.get("parents", []) if p.get("run") != run_id]
    inputs["parents"] = [{"run": run_id, "role": ROLE, "field": "checkpoint" if checkpoint else "model.name"}, *parents]
    new.set_status(inputs=inputs, continues=run_id, continues_from_step=checkpoint[1] if checkpoint else None)
    if not checkpoint:
        new.events.emit("log", message=f"{run_id} left no checkpoint: continuing from its saved model with a fresh optimizer")
    store.launch(new, resume=bool(checkpoint))
    return new
