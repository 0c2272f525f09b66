"""The embedded default model: a byte-level BPE tokenizer trained on the bundled corpus and a small
Llama-architecture model with a ChatML chat template, pre-trained by the lab's own `pretrain` job.
Deterministic: the same corpus and seed give the same tokenizer and initial weights."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..paths import SAMPLES_DIR, models_dir

CORPUS = SAMPLES_DIR / "pretrain_corpus.jsonl"
TOKENIZER_TEXTS = (CORPUS, SAMPLES_DIR / "sft_ja.jsonl", SAMPLES_DIR / "sft_alpaca_ja.jsonl")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 4096
SEED = 1234

# ChatML with {% generation %} markers, so TRL's assistant_only_loss can mask everything but the
# assistant's turns (the end-of-turn token included, so the model learns to stop).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

MODEL_SHAPE = dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=1024, rope_theta=10000.0,
                   tie_word_embeddings=True)


def _texts():
    for path in TOKENIZER_TEXTS:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if "text" in record:
                yield record["text"]
            for m in record.get("messages", []):
                yield m["content"]
            for key in ("instruction", "input", "output"):
                if record.get(key):
                    yield record[key]


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_texts(), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None, model_max_length=MODEL_SHAPE["max_position_embeddings"])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_init_model(out_dir: Path) -> Path:
    """Tokenizer + randomly initialised model, saved as safetensors in `out_dir`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    tokenizer = build_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=None, **MODEL_SHAPE)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                                               do_sample=True, temperature=0.7, top_p=0.9, max_new_tokens=128)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir


def tiny_dir() -> Path:
    return models_dir() / "tiny"


def is_built() -> bool:
    return (tiny_dir() / "model.safetensors").exists()


def bootstrap_spec(max_steps: int = 600):
    """The pre-training job that turns tiny-init into tiny (also presets/pretrain-tiny.yaml)."""
    from ..presets import load_preset
    return load_preset("pretrain-tiny", [f"train.max_steps={max_steps}", f"export_to={tiny_dir()}"])
