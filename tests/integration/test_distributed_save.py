"""Saving under sharded training on this CPU machine: DeepSpeed ZeRO-3 and FSDP2, each with 2 gloo
ranks, save a LoRA adapter that is whole (the Trainer gathers the shards on the main process) and
the model it makes loads and chats; ZeRO-3 with the optimizer offloaded to the CPU starts at all."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import lab

pytestmark = pytest.mark.integration


# ZeRO-3 runs with CPU optimizer offload too: DeepSpeed must accept the Trainer's torch AdamW there.
@pytest.mark.parametrize("sharding", [("launch.launcher=deepspeed", "launch.zero_stage=3", "launch.offload_optimizer=cpu"),
                                      ("launch.launcher=accelerate", "launch.fsdp=true")], ids=["zero3", "fsdp2"])
def test_sharded_two_ranks_save_a_whole_adapter_that_loads_and_chats(tiny_workspace, sharding):
    if "launch.zero_stage=3" in sharding:
        pytest.importorskip("deepspeed")
    sets = [x for s in sharding for x in ("--set", s)]
    proc = lab("run", "presets/sft-tiny.yaml", *sets, "--set", "method=lora", "--set", "launch.nproc_per_node=2",
               "--set", "train.max_steps=2", "--set", "train.eval_strategy=no",
               "--set", "train.save_strategy=no", "--json", workspace=tiny_workspace, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == "succeeded"
    artifacts = Path(out["run_dir"]) / "artifacts"

    from safetensors.torch import load_file
    tensors = load_file(artifacts / "adapter" / "adapter_model.safetensors")
    assert tensors and all(t.numel() > 0 for t in tensors.values())  # ZeRO-3 shards without gathering are empty
    assert any("lora_B" in k and t.abs().sum() > 0 for k, t in tensors.items())  # trained, not the zero init

    import torch
    from lab.models.load import load_causal_lm
    os.environ["LAB_WORKSPACE"] = str(tiny_workspace)
    for name in (str(artifacts / "adapter"), f"run:{out['run_id']}"):  # the adapter on its base; the merged model
        model, tokenizer = load_causal_lm(name, device="cpu")
        ids = tokenizer.apply_chat_template([{"role": "user", "content": "こんにちは"}], add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
        with torch.no_grad():
            new = model.generate(**ids, max_new_tokens=5, do_sample=False)[0, ids["input_ids"].shape[1]:]
        assert len(new) > 0
