"""The GPU presets train: sized in optimizer steps with a loss point every step, the same global
batch on 1 or 8 GPUs, precision that fits the card, and llm-jp's chat template with {% generation %}
markers so the loss can count the assistant replies only."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.presets import load_preset
from lab.train.common import build_config
from lab.train.sft import chat_template_file
from tests.gpu_fakes import eight_a100, no_gpu, one_t4  # noqa: F401 - fixtures

GPU_PRESETS = ["sft-llm-jp-1.8b-lora", "sft-qwen2.5-0.5b-lora", "dpo-llm-jp-1.8b-lora", "dpo-qwen2.5-0.5b-lora"]
SAMPLES = Path(__file__).resolve().parents[2] / "lab" / "samples"


def rows(spec) -> int:
    path = SAMPLES / Path(spec.dataset.path).name
    n = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return n - round(n * spec.dataset.eval_split)


@pytest.mark.parametrize("name", GPU_PRESETS)
def test_gpu_presets_are_sized_in_steps_and_log_every_step(name):
    spec = load_preset(name)
    t = spec.train
    assert t.max_steps >= 20 and t.logging_steps == 1
    global_batch = t.per_device_train_batch_size * t.gradient_accumulation_steps
    assert 2 <= t.max_steps * global_batch / rows(spec) <= 6  # a few passes over the bundled data, not 2 steps
    assert spec.launch.scale_accumulation and spec.model.dtype == "auto" and t.bf16 is None


def config_for(spec, tmp_path, world: int, monkeypatch):
    """The real SFTConfig on the CPU; on a faked GPU only the arguments (the config would set a device)."""
    from types import SimpleNamespace

    import torch
    from trl import SFTConfig

    from lab.train.common import config_kwargs
    monkeypatch.setenv("WORLD_SIZE", str(world))
    output = tmp_path / "runs" / "r" / "artifacts" / "checkpoints"
    if torch.cuda.is_available():
        return SimpleNamespace(**config_kwargs(SFTConfig, spec.train, output, True, spec.launch))
    return build_config(SFTConfig, spec.train, output, True, spec.launch)


@pytest.mark.parametrize("world, accumulation", [(1, 4), (2, 2), (8, 1)])
def test_accumulation_is_divided_by_the_world_size(world, accumulation):
    from lab.train.common import scaled_accumulation
    spec = load_preset("sft-llm-jp-1.8b-lora")
    assert scaled_accumulation(spec.train.gradient_accumulation_steps, world, spec.launch) == accumulation
    assert scaled_accumulation(4, 8, load_preset("sft-tiny").launch) == 4  # only where the preset asks for it


def test_one_process_keeps_the_presets_accumulation(tmp_path, monkeypatch, no_gpu):
    spec = load_preset("sft-llm-jp-1.8b-lora", ["train.chat_template_path=null"])
    assert config_for(spec, tmp_path, 1, monkeypatch).gradient_accumulation_steps == 4


def test_fp16_on_a_t4_and_fp16_on_request_on_an_a100(tmp_path, monkeypatch, one_t4):
    spec = load_preset("sft-qwen2.5-0.5b-lora")
    args = config_for(spec, tmp_path, 1, monkeypatch)
    assert (args.bf16, args.fp16) == (False, True)


def test_set_fp16_true_on_an_a100_is_not_refused(tmp_path, monkeypatch, eight_a100):
    spec = load_preset("sft-qwen2.5-0.5b-lora", ["train.fp16=true"])
    args = config_for(spec, tmp_path, 1, monkeypatch)
    assert (args.bf16, args.fp16) == (False, True)
    spec = load_preset("sft-qwen2.5-0.5b-lora")
    args = config_for(spec, tmp_path, 1, monkeypatch)
    assert (args.bf16, args.fp16) == (True, False)


@pytest.fixture
def tiny_tokenizer_with_llm_jp_template(tiny_workspace):
    from lab.models.load import load_tokenizer
    tokenizer = load_tokenizer("tiny")
    path = chat_template_file(load_preset("sft-llm-jp-1.8b-lora").train.chat_template_path)
    tokenizer.chat_template = Path(path).read_text(encoding="utf-8")
    return tokenizer


def test_llm_jp_template_renders_its_format_and_marks_the_replies(tiny_tokenizer_with_llm_jp_template):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained
    tok = tiny_tokenizer_with_llm_jp_template
    messages = [{"role": "user", "content": "日本の首都は？"}, {"role": "assistant", "content": "東京です。"},
                {"role": "user", "content": "人口は？"}, {"role": "assistant", "content": "約1400万人です。"}]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == (f"{tok.bos_token or ''}\n\n### 指示:\n日本の首都は？\n\n### 応答:\n東京です。{tok.eos_token}"
                    f"\n\n### 指示:\n人口は？\n\n### 応答:\n約1400万人です。{tok.eos_token}")
    prompt = tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("\n\n### 応答:\n")
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    marked = tok.decode([i for i, m in zip(ids, mask) if m])
    assert "東京です。" in marked and "約1400万人です。" in marked and "指示" not in marked
    assert mask[len(ids) - 1] == 1  # the end-of-text token is learned: the model learns to stop
    assert has_generation_markers(tok.chat_template) and is_chat_template_stop_token_trained(tok)


def test_sft_trainer_accepts_assistant_only_loss_with_that_template(tiny_workspace, tmp_path):
    """TRL builds its assistant mask from the template (it raises when the mask is empty)."""
    from trl import SFTConfig, SFTTrainer
    from datasets import Dataset
    from lab.models.load import load_causal_lm
    model, tokenizer = load_causal_lm("tiny", device="cpu")
    data = [json.loads(line) for line in (SAMPLES / "sft_ja.jsonl").read_text(encoding="utf-8").splitlines()[:4]]
    args = SFTConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, use_cpu=True,
                     report_to="none", assistant_only_loss=True, max_length=256, disable_tqdm=True,
                     chat_template_path=chat_template_file("templates/llm-jp-3-instruct.jinja"))
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(data), processing_class=tokenizer)
    first = trainer.train_dataset[0]
    learned = [t for t in first["labels"] if t != -100]  # TRL folds the assistant mask into the labels
    assert 0 < len(learned) < len(first["input_ids"])
    assert learned[-1] == tokenizer.eos_token_id


def test_a_template_outside_the_bundle_must_be_a_real_file(tmp_path):
    from lab.errors import UserError
    with pytest.raises(UserError, match="no such template file"):
        chat_template_file(str(tmp_path / "missing.jinja"))
    assert chat_template_file("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"  # a tokenizer id for TRL
