"""Name → model. `tiny` (the embedded default), `run:<RUN_ID>` (a run's trained model), a local
folder or a Hugging Face id. Weights load as safetensors; remote code only when asked for."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..paths import check_inside, models_dir, runs_dir

EMBEDDED = ("tiny", "tiny-init")


def run_model_dir(run_dir: Path) -> Path | None:
    """A finished training run's model: the merged/full model, else its LoRA adapter."""
    for sub in ("model", "adapter"):
        if (run_dir / "artifacts" / sub / "config.json").exists() or (run_dir / "artifacts" / sub / "adapter_config.json").exists():
            return run_dir / "artifacts" / sub
    return None


def resolve_model(name: str) -> str:
    """A local folder path, or a Hub id left for transformers to fetch."""
    name = (name or "").strip()
    if not name:
        raise UserError("model.name: empty")
    if name in EMBEDDED:
        path = models_dir() / name
        if not (path / "config.json").exists():
            raise UserError(f"model '{name}' is not built yet in {models_dir()}: run `lab models bootstrap` (make run does it)")
        return str(path)
    if name.startswith("run:") or (runs_dir() / name / "job.yaml").exists():
        run_id = name.removeprefix("run:")
        run_dir = runs_dir() / run_id
        if not (run_dir / "job.yaml").exists():
            raise UserError(f"model '{name}': no run '{run_id}' in {runs_dir()}")
        found = run_model_dir(run_dir)
        if found is None:
            raise UserError(f"model '{name}': run {run_id} has no saved model (did it succeed?)")
        return str(found)
    path = Path(name).expanduser()
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


def default_dtype(choice: str = "auto"):
    import torch
    if choice != "auto":
        return getattr(torch, choice)
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_tokenizer(name: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer
    path = resolve_model(name)
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as e:
        raise UserError(f"model '{name}': cannot load its tokenizer ({str(e).splitlines()[0][:200]})") from None


def load_causal_lm(name: str, dtype: str = "auto", trust_remote_code: bool = False, device: str | None = None):
    """Model + tokenizer for inference or training; a LoRA adapter folder loads onto its base."""
    from transformers import AutoModelForCausalLM
    path = resolve_model(name)
    kwargs = dict(dtype=default_dtype(dtype), trust_remote_code=trust_remote_code, use_safetensors=True)
    try:
        if is_adapter(path):
            from peft import AutoPeftModelForCausalLM
            model = AutoPeftModelForCausalLM.from_pretrained(path, **kwargs)
        else:
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as e:
        raise UserError(f"model '{name}': cannot load ({str(e).splitlines()[0][:200]})") from None
    tokenizer = load_tokenizer(name, trust_remote_code)
    if device:
        model.to(device)
    return model, tokenizer
