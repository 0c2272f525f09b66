"""Name → model. `tiny` (the embedded default), `run:<RUN_ID>` (a run's trained model), a local
folder or a Hugging Face id. Weights load as safetensors; remote code only when asked for."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..names import inside, is_name
from ..paths import check_inside, confined, models_dir, runs_dir, shown, workspace

EMBEDDED = ("tiny", "tiny-rag", "tiny-init")


def run_model_dir(run_dir: Path) -> Path | None:
    """A finished training run's model: the merged/full model, else its LoRA adapter."""
    for sub in ("model", "adapter"):
        if (run_dir / "artifacts" / sub / "config.json").exists() or (run_dir / "artifacts" / sub / "adapter_config.json").exists():
            return run_dir / "artifacts" / sub
    return None


def _run_model(name: str, run_id: str) -> Path:
    """The model of run `run_id` in the runs folder of whoever is served: a run id is a name, and the
    error for one that is not there is the same whether or not someone else has a run of that id."""
    root = runs_dir()
    run_dir = inside(root, run_id, f"model '{name}': run id")
    if not (run_dir / "job.yaml").exists():
        raise UserError(f"model '{name}': no run '{run_id}' in {shown(root)}")
    found = run_model_dir(run_dir)
    if found is None:
        raise UserError(f"model '{name}': run {run_id} has no saved model (did it succeed?)")
    if not found.resolve().is_relative_to(run_dir.resolve()):
        raise UserError(f"model '{name}': run {run_id}'s model folder leads outside the run")
    return found.resolve()


def resolve_model(name: str) -> str:
    """A local folder path, or a Hub id left for transformers to fetch."""
    name = (name or "").strip()
    if not name:
        raise UserError("model.name: empty")
    if name in EMBEDDED:
        path = models_dir() / name
        if not (path / "config.json").exists():
            raise UserError(f"model '{name}' is not built yet in {shown(models_dir())}: run `lab models bootstrap` (make run does it)")
        return str(path)
    if name.startswith("run:"):
        return str(_run_model(name, name.removeprefix("run:")))
    if is_name(name) and (runs_dir() / name / "job.yaml").exists():
        return str(_run_model(name, name))
    path = Path(name).expanduser()
    if confined():  # a participant's relative path is in their workspace, and is checked before it is looked at
        path = check_inside(path if path.is_absolute() else workspace() / path, "model", name)
    if path.exists():
        check_inside(path, f"model '{name}'")
        if not ((path / "config.json").exists() or (path / "adapter_config.json").exists()):
            raise UserError(f"model '{name}': the folder has no config.json")
        return str(path.resolve())
    if name.startswith((".", "/", "~")):
        raise UserError(f"model '{name}': no such folder")
    return name  # a Hub id


def is_adapter(path: str) -> bool:
    return (Path(path) / "adapter_config.json").exists()


def default_dtype(choice: str = "auto", device: str | None = None, purpose: str = "inference"):
    """The torch dtype for `model.dtype` on `device` (None = where this process would run it):
    see lab/models/device.py — never bf16 on the CPU, fp16 on GPUs without native bf16."""
    from .device import pick_device, placement
    return placement(device or pick_device(), choice, purpose).torch_dtype


def refuse_remote_code(trust_remote_code: bool) -> None:
    if trust_remote_code and confined():  # it would run Python from a model folder as the server's user
        raise UserError("model.trust_remote_code: refused in workshop mode (it runs code shipped with the model)")


def load_tokenizer(name: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer
    refuse_remote_code(trust_remote_code)
    path = resolve_model(name)
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as e:
        raise UserError(f"model '{name}': cannot load its tokenizer ({str(e).splitlines()[0][:200]})") from None


def load_causal_lm(name: str, dtype: str = "auto", trust_remote_code: bool = False, device: str | None = None):
    """Model + tokenizer for generation, placed by lab/models/device.py: the first visible GPU (a
    workshop worker sees only its slot's) in bf16/fp16, else the CPU in fp32. A LoRA adapter folder
    loads onto its base."""
    from transformers import AutoModelForCausalLM

    from .device import placement
    refuse_remote_code(trust_remote_code)
    path = resolve_model(name)
    where = placement(device, dtype)
    kwargs = dict(dtype=where.torch_dtype, trust_remote_code=trust_remote_code, use_safetensors=True)
    try:
        if is_adapter(path):
            from peft import AutoPeftModelForCausalLM
            model = AutoPeftModelForCausalLM.from_pretrained(path, **kwargs)
        else:
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as e:
        raise UserError(f"model '{name}': cannot load ({str(e).splitlines()[0][:200]})") from None
    tokenizer = load_tokenizer(name, trust_remote_code)
    if where.device != "cpu":
        model.to(where.device)
    return model, tokenizer
