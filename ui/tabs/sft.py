"""SFT tab: instruction tuning (TRL SFTTrainer) from a form built from SFTSpec, with live loss,
eval loss, learning rate, grad norm and throughput, and a chat with the result beside its base."""
from __future__ import annotations

import gradio as gr

from lab.kinds import kinds_in_tab
from lab.runs import RunStore
from lab.spec import SFTSpec

from ..i18n import I18n
from ..live import PANELS
from ..run_panel import TrainTab, build_train_tab

TAB = TrainTab(
    prefix="sft",
    kinds=kinds_in_tab("sft"),
    spec_cls=SFTSpec,
    default_preset="sft-tiny",
    model_data_keys=["model.name", "method", "lora.r", "lora.alpha", "dataset.path", "dataset.format",
                     "dataset.eval_split"],
    training_keys=["train.max_steps", "train.num_train_epochs", "train.learning_rate", "train.lr_scheduler_type",
                   "train.warmup_steps", "train.per_device_train_batch_size", "train.gradient_accumulation_steps",
                   "train.max_length", "train.packing", "train.assistant_only_loss", "train.logging_steps",
                   "train.eval_steps", "train.save_steps", "train.seed"],
    panels=PANELS,
    panel_titles={"en": tuple(p[0] for p in PANELS),
                  "ja": ("損失（loss）", "学習率", "勾配ノルム", "スループット（トークン/秒）")},
    text={
        "tab": ("SFT", "SFT（指示チューニング）"),
        "chat_title": ("### Chat: trained model (left) and its base (right)", "### チャット：学習したモデル（左）と元のモデル（右）"),
        "chat_left": ("Trained", "学習後"),
        "chat_right": ("Base", "学習前"),
        "train.packing": ("Packing", "パッキング"),
        "train.assistant_only_loss": ("Loss on assistant turns only", "アシスタントの発話だけで損失を計算"),
    },
)


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    return build_train_tab(TAB, store, i18n, lang_state)
