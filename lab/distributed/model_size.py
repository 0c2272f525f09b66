"""How big a model is, from its shape: parameter counts for the planners.

A shape comes from a transformers `config.json` (a model folder, the file itself, `tiny`, `run:<ID>`),
an inline JSON object, a plain dict (`layers`, `hidden`, `heads`, `intermediate`, `vocab`, optionally
`kv_heads`, `head_dim`, `seq_length`, `tie_embeddings`) or a built-in name (`llama-2-7b`, …). The
count follows the Llama architecture: per layer q/k/v/o projections (k and v sized by the key/value
heads), a gated MLP (gate, up, down) and two RMSNorm weights; a final norm; the token embedding and,
unless tied, a separate output head. For non-gated families (GPT-2, OPT, …) the MLP has two matrices;
their LayerNorm biases and learned position embeddings are left out, so the count is approximate.

The "largest layer" is DeepSpeed's notion (`model_to_params` in deepspeed/runtime/zero/stage3.py):
the most parameters any single module owns directly — for Llama the embedding (vocab × hidden) or an
MLP projection (hidden × intermediate). ZeRO-3 gathers one such layer at a time on the GPU.
Reading a config never imports torch or transformers and never runs remote code.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import UserError

# Public config.json values of the models the book and the tutorials use.
KNOWN_ARCHITECTURES: dict[str, dict[str, Any]] = {
    "llama-2-7b": dict(layers=32, hidden=4096, heads=32, kv_heads=32, intermediate=11008, vocab=32000,
                       seq_length=4096, norm_eps=1e-5),
    "llama-2-13b": dict(layers=40, hidden=5120, heads=40, kv_heads=40, intermediate=13824, vocab=32000,
                        seq_length=4096, norm_eps=1e-5),
    "llama-2-70b": dict(layers=80, hidden=8192, heads=64, kv_heads=8, intermediate=28672, vocab=32000,
                        seq_length=4096, norm_eps=1e-5),
    "llama-3-8b": dict(layers=32, hidden=4096, heads=32, kv_heads=8, intermediate=14336, vocab=128256,
                       seq_length=8192, norm_eps=1e-5, rope_theta=500000.0),
}

NON_GATED_FAMILIES = {"gpt2", "gpt_neox", "gptj", "opt", "bloom", "gpt_bigcode", "falcon", "phi", "bert"}

# First key found wins: transformers names, then GPT-2/Megatron-style names, then our short names.
_ALIASES: dict[str, tuple[str, ...]] = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "layers"),
    "hidden": ("hidden_size", "n_embd", "d_model", "dim", "hidden"),
    "heads": ("num_attention_heads", "n_head", "n_heads", "heads"),
    "kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "num_query_groups", "kv_heads"),
    "intermediate": ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim", "intermediate", "ffn"),
    "vocab": ("vocab_size", "padded_vocab_size", "vocab"),
    "head_dim": ("head_dim",),
    "seq_length": ("max_position_embeddings", "n_positions", "seq_length", "max_seq_len"),
    "tie_embeddings": ("tie_word_embeddings", "tie_embeddings"),
    "norm_eps": ("rms_norm_eps", "layer_norm_epsilon", "layer_norm_eps", "norm_eps"),
    "rope_theta": ("rope_theta", "rotary_base"),
}
_REQUIRED = ("layers", "hidden", "heads", "vocab")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


@dataclass(frozen=True)
class ModelShape:
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    seq_length: int | None = None
    tie_embeddings: bool = False
    gated_mlp: bool = True
    attention_bias: bool = False
    mlp_bias: bool = False
    norm_eps: float | None = None
    rope_theta: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], name: str = "config", where: str = "model config") -> "ModelShape":
        if not any(k in data for k in _ALIASES["layers"]) and isinstance(data.get("text_config"), Mapping):
            data = data["text_config"]  # multimodal configs keep the language model one level down
        values: dict[str, Any] = {}
        for field, keys in _ALIASES.items():
            for key in keys:
                if data.get(key) is not None:
                    values[field] = data[key]
                    break
        missing = [f for f in _REQUIRED if f not in values]
        if missing:
            raise UserError(f"{where}: missing {', '.join(_ALIASES[f][0] for f in missing)} "
                            f"(needed to count parameters)")
        ints = {}
        for field in ("layers", "hidden", "heads", "vocab", "kv_heads", "intermediate", "head_dim", "seq_length"):
            if field in values:
                ints[field] = _positive_int(values[field], f"{where}: {field}")
        model_type = str(data.get("model_type", "llama"))
        hidden, heads = ints["hidden"], ints["heads"]
        gated = model_type not in NON_GATED_FAMILIES
        return cls(
            name=name,
            layers=ints["layers"], hidden=hidden, heads=heads,
            kv_heads=ints.get("kv_heads", heads),
            head_dim=ints.get("head_dim", hidden // heads),
            intermediate=ints.get("intermediate", 4 * hidden),
            vocab=ints["vocab"],
            seq_length=ints.get("seq_length"),
            tie_embeddings=bool(values.get("tie_embeddings", False)),
            gated_mlp=gated,
            attention_bias=bool(data.get("attention_bias", False)),
            mlp_bias=bool(data.get("mlp_bias", False)),
            norm_eps=float(values["norm_eps"]) if "norm_eps" in values else None,
            rope_theta=float(values["rope_theta"]) if "rope_theta" in values else _rope_theta(data),
        )


@dataclass(frozen=True)
class ParamCount:
    total: int
    embedding: int  # the token embedding (the output head too when it is separate)
    per_layer: int
    non_embedding: int  # what Kaplan et al. count as N
    largest_layer: int

    def to_dict(self) -> dict:
        return asdict(self)


def _rope_theta(data: Mapping[str, Any]) -> float | None:
    rope = data.get("rope_parameters") or data.get("rope_scaling") or {}
    theta = rope.get("rope_theta") if isinstance(rope, Mapping) else None
    return float(theta) if theta is not None else None


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value <= 0:
        raise UserError(f"{where}: expected a positive whole number, got {value!r}")
    return int(value)


def parse_count(value: Any, field: str, *, allow_fraction: bool = False) -> float:
    """7e9, 7000000000, '7B', '131M', '1.4T', '20k' → a positive number. Bad input is a UserError naming
    the field."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().replace("_", "").replace(",", "")
        match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBgGtT]?)", text)
        if not match:
            raise UserError(f"{field}: expected a positive number like 7e9 or 7B, got {value!r}")
        number = float(match.group(1)) * _SUFFIX.get(match.group(2).lower(), 1.0)
    if not math.isfinite(number) or number <= 0:
        raise UserError(f"{field}: must be greater than zero, got {value!r}")
    if not allow_fraction and number < 1:
        raise UserError(f"{field}: must be at least 1, got {value!r}")
    return number


def count_params(shape: ModelShape) -> ParamCount:
    h, kv_dim, q_dim = shape.hidden, shape.kv_heads * shape.head_dim, shape.heads * shape.head_dim
    attn_bias = (q_dim + 2 * kv_dim + h) if shape.attention_bias else 0
    q_proj, kv_proj, o_proj = h * q_dim, h * kv_dim, q_dim * h
    attention = q_proj + 2 * kv_proj + o_proj + attn_bias
    matrices = 3 if shape.gated_mlp else 2
    mlp_bias = ((matrices - 1) * shape.intermediate + h) if shape.mlp_bias else 0
    mlp = matrices * h * shape.intermediate + mlp_bias
    per_layer = attention + mlp + 2 * h
    embed = shape.vocab * h
    head = 0 if shape.tie_embeddings else embed
    total = embed + shape.layers * per_layer + h + head
    largest = max(embed,
                  q_proj + (q_dim if shape.attention_bias else 0),
                  kv_proj + (kv_dim if shape.attention_bias else 0),
                  h * shape.intermediate + (shape.intermediate if shape.mlp_bias else 0),
                  shape.intermediate * h + (h if shape.mlp_bias else 0))
    return ParamCount(total=total, embedding=embed + head, per_layer=per_layer,
                      non_embedding=total - embed - head, largest_layer=largest)


def lora_params(shape: ModelShape, r: int) -> int:
    """Trainable parameters of LoRA rank r on every linear layer of every block (PEFT's
    target_modules="all-linear": q, k, v, o and the MLP projections; not the embedding or the head).
    Each adapted d_in→d_out matrix adds A (r×d_in) and B (d_out×r): r·(d_in + d_out)."""
    r = _positive_int(r, "--lora-r")
    h, q_dim, kv_dim = shape.hidden, shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    attention = (h + q_dim) + 2 * (h + kv_dim) + (q_dim + h)
    mlp = (3 if shape.gated_mlp else 2) * (h + shape.intermediate)
    return shape.layers * r * (attention + mlp)


HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def hub_config(repo_id: str) -> Path:
    """config.json of a Hub model: from the local Hugging Face cache, else the Hub. Offline or unknown
    is one line, at once (a model folder, run:<ID> or --params work without a network)."""
    try:
        from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    except ImportError:
        raise UserError(f"--model: '{repo_id}' looks like a Hub id but huggingface_hub is not installed") from None
    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        return Path(cached)
    where = "give a model folder, run:<ID>, or --params and --largest-layer-params"
    if constants.HF_HUB_OFFLINE or not _reachable(constants.ENDPOINT):
        raise UserError(f"--model: '{repo_id}' is not in the local Hugging Face cache and the Hub is not reachable "
                        f"(offline); {where}")
    try:
        return Path(hf_hub_download(repo_id, "config.json", etag_timeout=5))
    except Exception as e:  # noqa: BLE001 - gated, missing, a network error: all the same answer for a planner
        raise UserError(f"--model: the config of Hub model '{repo_id}' is not reachable ({type(e).__name__}); "
                        f"{where}") from None


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """One quick TCP connection, so an offline machine answers at once instead of after the Hub
    client's retries (about 30 s)."""
    import socket
    from urllib.parse import urlparse
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "", parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def load_shape(ref: str | Mapping[str, Any]) -> ModelShape:
    """A built-in name, `tiny`, `run:<ID>`, a model folder, a config.json path, or an inline JSON object."""
    if isinstance(ref, Mapping):
        return ModelShape.from_mapping(ref, name="config")
    text = str(ref).strip()
    if not text:
        raise UserError("--model: empty")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"--model: inline JSON, line {e.lineno} column {e.colno}: {e.msg}") from None
        if not isinstance(data, dict):
            raise UserError("--model: inline JSON must be an object")
        return ModelShape.from_mapping(data, name="config", where="--model")
    if text.lower() in KNOWN_ARCHITECTURES:
        return ModelShape.from_mapping(KNOWN_ARCHITECTURES[text.lower()], name=text.lower())
    path = Path(text).expanduser()
    if not path.exists():
        from ..models.load import resolve_model  # tiny, run:<ID>; light (no torch)
        resolved = resolve_model(text)
        path = Path(resolved)
        if not path.exists() and HUB_ID.match(resolved):
            path = hub_config(resolved)
        if not path.exists():
            raise UserError(f"--model: '{text}' is not a folder, a config.json, an inline JSON object or one of "
                            f"{', '.join(KNOWN_ARCHITECTURES)} (nothing is fetched from a model hub here)")
    config = path / "config.json" if path.is_dir() else path
    if not config.is_file():
        raise UserError(f"{path}: no config.json in this folder")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{config}: line {e.lineno} column {e.colno}: {e.msg}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{config}: cannot read ({e.__class__.__name__}: {e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{config}: expected a JSON object")
    name = path.name if path.is_dir() else path.parent.name
    return ModelShape.from_mapping(data, name=name or str(config), where=str(config))
