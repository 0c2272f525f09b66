"""The Launch tab's form: a training preset's spec with its `launch:` block (and dataset) mapped
through ui/form.SpecForm, turned back into a spec dict, and the launch files zipped for a cluster."""
from __future__ import annotations

import io
import zipfile

from lab.distributed import hardware
from lab.kinds import model_kinds
from lab.paths import workspace
from lab.presets import dump_spec, find_preset, list_presets, read_yaml
from lab.spec import SFTSpec

from ...form import SpecForm

# Every kind that trains a model can be launched here (the registry says which: lab/kinds.py).
TRAINING_KINDS = model_kinds()
LAUNCH_KEYS = ["launch.launcher", "launch.nproc_per_node", "launch.gpus", "launch.nnodes", "launch.node_rank",
               "launch.master_addr", "launch.master_port", "launch.rdzv_endpoint", "launch.zero_stage",
               "launch.offload_optimizer", "launch.offload_param", "launch.fsdp", "launch.mixed_precision",
               "launch.hostfile", "launch.slurm.partition", "launch.slurm.account", "launch.slurm.time",
               "launch.slurm.gpus_per_node", "launch.slurm.node_launcher"]
DATA_KEYS = ["dataset.path", "dataset.format"]  # so a dataset handed over (the Data tab's kept corpus) shows in the command
DATA_FORMATS = ["auto", "messages", "alpaca", "sharegpt", "prompt_completion", "text", "preference", "hh_rlhf", "kto"]
FILES = ("command.sh", "accelerate.yaml", "deepspeed.json", "hostfile", "job.sbatch")
FIRST_PRESET = "sft-tiny"


def training_presets() -> list[str]:
    return [p.stem for kind in TRAINING_KINDS for p in list_presets(kind)]


def make_form() -> SpecForm:
    return SpecForm(SFTSpec, LAUNCH_KEYS + DATA_KEYS, id_prefix="launch-f-",
                    choices={"launch.zero_stage": ["none", 0, 1, 2, 3], "dataset.format": DATA_FORMATS})


def first_preset() -> tuple[str, dict, dict]:
    """(path, preset dict, form dict) the tab opens with: one process per visible GPU; on a CPU box two
    gloo ranks show distributed training."""
    path = find_preset(FIRST_PRESET)
    data, _ = read_yaml(path)
    form_data = {**data, "launch": {"launcher": "torchrun", "nproc_per_node": hardware.default_nproc()}}
    return str(path), data, form_data


def with_zero_none(data: dict) -> dict:
    """The ZeRO dropdown spells 'no ZeRO' as 'none' (a dropdown cannot show None)."""
    launch = data.get("launch", {})
    return data if launch.get("zero_stage") is not None else {**data, "launch": {**launch, "zero_stage": "none"}}


def spec_dict(form: SpecForm, base: dict, steps, values) -> dict:
    """The preset `base` with the form's launch block and dataset, and the max-steps override."""
    data = form.to_dict(base, list(values))
    launch = data["launch"]
    launch["zero_stage"] = None if launch.get("zero_stage") in ("none", "", None) else int(launch["zero_stage"])
    hostfile = launch.get("hostfile")
    launch["hostfile"] = [h.strip() for h in hostfile.split(",") if h.strip()] if isinstance(hostfile, str) else hostfile or []
    for key in ("gpus", "rdzv_endpoint"):
        launch[key] = launch.get(key) or None
    slurm = launch.get("slurm", {})
    for key in ("partition", "account"):
        slurm[key] = slurm.get(key) or None
    # an empty number box arrives as 0: that means "follow the request" (one GPU per rank where GPUs are)
    slurm["gpus_per_node"] = slurm.get("gpus_per_node") or None
    if steps is not None:
        data.setdefault("train", {})["max_steps"] = int(steps)
    return data


def zip_launch_files(files: dict[str, str], spec) -> str:
    """launch files + job.yaml in one zip, for taking to a cluster."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(f"launch/{name}", text)
        z.writestr("job.yaml", dump_spec(spec))
    folder = workspace() / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"launch-{spec.kind}-{spec.launch.launcher}.zip"
    path.write_bytes(buf.getvalue())
    return str(path)
