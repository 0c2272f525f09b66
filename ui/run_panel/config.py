"""What a training tab hands the run panel: its spec, form keys, chart panels and texts (TrainTab),
and the labels every training tab shares (COMMON_TEXT)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from lab.runs import RunStore

from ..runview import RunView

COMMON_TEXT = {
    "preset": ("Preset", "プリセット"),
    "load": ("Load preset", "プリセットを読み込む"),
    "preset_files": ("Preset files (open / download)", "プリセットファイル（開く／ダウンロード）"),
    "open_file": ("Open a preset file", "プリセットファイルを開く"),
    "save_name": ("Save as preset (name)", "プリセットとして保存（名前）"),
    "save": ("Save as preset", "プリセットとして保存"),
    "saved_file": ("Saved preset", "保存したプリセット"),
    "model_data": ("Model and data", "モデルとデータ"),
    "training": ("Training", "学習"),
    "upload_data": ("Upload a dataset", "データセットをアップロード"),
    "command": ("Equivalent command", "同じことをするコマンド"),
    "start": ("Start", "開始"),
    "stop": ("Stop", "停止"),
    "watch": ("Show run", "表示する実行"),
    "log_y": ("Log scale (loss)", "対数目盛（loss）"),
    "log": ("Log", "ログ"),
    "message": ("Message", "メッセージ"),
    "send": ("Send", "送信"),
    "clear": ("Clear", "クリア"),
    "max_new_tokens": ("Max new tokens", "最大生成トークン数"),
    "temperature": ("Temperature", "温度"),
    "no_run": ("No run yet: load a preset and press Start.", "まだ実行はありません。プリセットを読み込んで「開始」を押してください。"),
    "waiting": ("waiting for the first logged step…", "最初のステップの記録を待っています…"),
    "to_judge": ("Compare both in the Judge tab", "両方を審査タブで比べる"),
    # form fields, keyed by their spec key
    "model.name": ("Model (tiny, run:ID, folder or Hub id)", "モデル（tiny、run:ID、フォルダ、Hub の ID）"),
    "method": ("Method", "手法"),
    "lora.r": ("LoRA rank r", "LoRA のランク r"),
    "lora.alpha": ("LoRA alpha", "LoRA の alpha"),
    "dataset.path": ("Dataset file (JSONL/JSON)", "データセットファイル（JSONL/JSON）"),
    "dataset.format": ("Format", "形式"),
    "dataset.eval_split": ("Eval split", "評価用に分ける割合"),
    "train.max_steps": ("Max steps (-1 = by epochs)", "最大ステップ数（-1 はエポック数で）"),
    "train.num_train_epochs": ("Epochs", "エポック数"),
    "train.learning_rate": ("Learning rate", "学習率"),
    "train.lr_scheduler_type": ("LR schedule", "学習率スケジュール"),
    "train.warmup_steps": ("Warm-up steps", "ウォームアップステップ"),
    "train.per_device_train_batch_size": ("Batch size per device", "デバイスあたりのバッチサイズ"),
    "train.gradient_accumulation_steps": ("Gradient accumulation", "勾配累積"),
    "train.max_length": ("Max length (tokens)", "最大長（トークン）"),
    "train.logging_steps": ("Log every N steps", "N ステップごとに記録"),
    "train.eval_steps": ("Eval every N steps", "N ステップごとに評価"),
    "train.save_steps": ("Checkpoint every N steps", "N ステップごとにチェックポイント"),
    "train.seed": ("Seed", "シード"),
}


@dataclass
class TrainTab:
    prefix: str                       # elem_id prefix and i18n namespace, e.g. "sft"
    kinds: tuple[str, ...]            # run kinds this tab starts and shows
    spec_cls: type
    default_preset: str
    model_data_keys: list[str]
    training_keys: list[str]
    panels: tuple[tuple[str, tuple[str, ...]], ...]
    panel_titles: dict[str, tuple[str, ...]]
    text: dict[str, tuple[str, str]]  # the tab's own labels: "tab", "chat_title", "chat_left", "chat_right", …
    to_spec: Callable[[dict], dict] = lambda d: d        # form dict → spec dict (e.g. algorithm kto → kind kto)
    from_spec: Callable[[dict], dict] = lambda d: d      # preset dict → form dict
    extra_series: Callable[[RunStore, RunView], dict] = lambda store, view: {}
    extra: Callable | None = None     # extra(form, i18n, lang, lang_state, store): more components under the form
    choices: dict[str, list] = field(default_factory=dict)  # widget choices that differ from the spec's
    to_judge: bool = False            # offer "compare both in the Judge tab" beside the chat
