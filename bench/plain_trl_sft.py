"""The peer for bench/sft_overhead.py: the same SFT as presets/sft-tiny.yaml written as a plain TRL
script (no lab, no callbacks). Prints one JSON line with the Trainer's own throughput figures."""
from __future__ import annotations

import argparse
import json
import time

from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--packing", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    t0 = time.time()
    rows = [json.loads(line) for line in open(a.data, encoding="utf-8") if line.strip()]
    dataset = Dataset.from_list([{"messages": r["messages"]} for r in rows])
    tokenizer = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model)
    args = SFTConfig(output_dir=a.out, max_steps=a.steps, per_device_train_batch_size=a.batch, learning_rate=2e-3,
                     lr_scheduler_type="cosine", warmup_steps=5, max_length=a.max_length, packing=a.packing,
                     assistant_only_loss=not a.packing, logging_steps=1, eval_strategy="no", save_strategy="no",
                     report_to="none", seed=42, use_cpu=True, disable_tqdm=True, dataloader_pin_memory=False,
                     # What the lab's spec sets on a CPU: TRL's own defaults here (bf16 autocast and
                     # gradient checkpointing on, fused AdamW) are ~35% slower on this tiny model, and
                     # the point is to measure the lab's overhead, not a different configuration.
                     bf16=False, gradient_checkpointing=False, optim="adamw_torch")
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=lora)
    out = trainer.train()
    tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    print(json.dumps({**out.metrics, "num_tokens": tokens[-1] if tokens else None, "wall_s": time.time() - t0}))


if __name__ == "__main__":
    main()
