"""DPO tab: preference tuning from an SFT run (DPO and its loss variants, ORPO, CPO/SimPO, KTO), with
the chosen objective's formula, a live reward dashboard beside the parent SFT run's eval loss, and a
chat with the result beside the SFT parent."""
from __future__ import annotations

import gradio as gr

from lab.kinds import kinds_in_tab
from lab.runs import RunStore
from lab.spec import DPOSpec
from lab.spec_base import CPO_LOSS_TYPES, DPO_LOSS_TYPES, KTO_LOSS_TYPES

from ..i18n import I18n
from ..run_panel import TrainTab, build_train_tab, parent_series
from .dpo_losses import explain

ALGORITHMS = ["dpo", "orpo", "cpo", "kto"]
LOSS_CHOICES = ["default", *DPO_LOSS_TYPES, *[x for x in CPO_LOSS_TYPES if x not in DPO_LOSS_TYPES], *KTO_LOSS_TYPES]

PANELS = (
    ("loss", ("loss", "eval_loss")),
    ("rewards", ("rewards/chosen", "rewards/rejected")),
    ("margin", ("rewards/margins", "eval_rewards/margins")),
    ("accuracy", ("rewards/accuracies", "eval_rewards/accuracies")),
    ("log-probs", ("logps/chosen", "logps/rejected")),
    ("learning rate", ("learning_rate",)),
    ("parent SFT eval loss", ("parent/eval_loss",)),
    ("KL (KTO)", ("kl",)),
)
PANEL_TITLES = {
    "en": tuple(p[0] for p in PANELS),
    "ja": ("損失（loss）", "暗黙の報酬", "報酬マージン", "報酬の正解率", "対数確率", "学習率", "親 SFT の eval loss", "KL（KTO）"),
}


def to_spec(data: dict) -> dict:
    """The form offers KTO as a fourth algorithm; in the spec it is its own kind."""
    data = dict(data)
    train = dict(data.get("train") or {})
    if train.get("loss_type") in ("default", "", None):
        train["loss_type"] = None
    data["train"] = train
    if data.get("algorithm") == "kto":
        data["kind"] = "kto"
        data.pop("algorithm")
    else:
        data["kind"] = "dpo"
    return data


def from_spec(data: dict) -> dict:
    data = dict(data)
    if data.get("kind") == "kto":
        data["algorithm"] = "kto"
    train = dict(data.get("train") or {})
    if train.get("loss_type") is None:
        train["loss_type"] = "default"
    data["train"] = train
    return data


TEXT = {
    "tab": ("DPO", "DPO（選好チューニング）"),
    "chat_title": ("### Chat: the preference-tuned model (left) and the model it started from (right)",
                   "### チャット：選好チューニング後のモデル（左）と出発点のモデル（右）"),
    "chat_left": ("After preference tuning", "選好チューニング後"),
    "chat_right": ("Start (SFT parent)", "出発点（親の SFT）"),
    "algorithm": ("Algorithm", "アルゴリズム"),
    "train.loss_type": ("Loss type", "損失の種類"),
    "train.beta": ("β (pull towards the reference)", "β（参照モデルへの引き戻しの強さ）"),
    "train.label_smoothing": ("Label smoothing ε (robust, EXO)", "ラベル平滑化 ε（robust・EXO）"),
    "train.precompute_ref_log_probs": ("Precompute reference log-probs", "参照モデルの対数確率を事前計算"),
    "dataset.path": ("Preference data (prompt/chosen/rejected, HH-RLHF, or KTO rows)",
                     "選好データ（prompt/chosen/rejected、HH-RLHF、KTO の行）"),
    "from_sft": ("Start from an SFT run", "SFT の実行から始める"),
    "objective": ("Objective", "目的関数"),
}


def _extra(form, i18n: I18n, lang: str, lang_state: gr.State, store: RunStore) -> None:
    """The SFT-run picker and the objective's formula under the form."""
    sft_runs = lambda: store.find(kind="sft", state="succeeded")  # noqa: E731
    pick = i18n.bind(gr.Dropdown(choices=sft_runs(), value=None, label=i18n.t("dpo.from_sft", lang),
                                 elem_id="dpo-from-sft"), "dpo.from_sft")
    objective = gr.Markdown(explain("dpo", "sigmoid", lang), elem_id="dpo-objective",
                            latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])
    pick.focus(lambda: gr.update(choices=sft_runs()), None, [pick])
    pick.input(lambda run_id: f"run:{run_id}" if run_id else gr.skip(), [pick], [form.widgets["model.name"]])
    algo, loss = form.widgets["algorithm"], form.widgets["train.loss_type"]
    gr.on([algo.change, loss.change, lang_state.change], explain, [algo, loss, lang_state], [objective],
          show_progress="hidden")


def judge_contestants(store: RunStore, view) -> list[dict]:
    """The preference-tuned result and the model it started from, as Judge tab contestants."""
    start = store.get(view.run_id).load_spec().model.name
    return [{"name": view.run_id, "model": f"run:{view.run_id}", "temperature": 0.0, "max_new_tokens": 128},
            {"name": start.removeprefix("run:"), "model": start, "temperature": 0.0, "max_new_tokens": 128}]


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    tab = TrainTab(
        prefix="dpo",
        kinds=kinds_in_tab("dpo"),
        spec_cls=DPOSpec,
        default_preset="dpo-tiny",
        model_data_keys=["model.name", "algorithm", "method", "lora.r", "lora.alpha", "dataset.path",
                         "dataset.format", "dataset.eval_split"],
        training_keys=["train.loss_type", "train.beta", "train.label_smoothing", "train.precompute_ref_log_probs",
                       "train.max_steps", "train.learning_rate", "train.warmup_steps",
                       "train.per_device_train_batch_size", "train.gradient_accumulation_steps", "train.max_length",
                       "train.logging_steps", "train.eval_steps", "train.save_steps", "train.seed"],
        panels=PANELS,
        panel_titles=PANEL_TITLES,
        text=TEXT,
        to_spec=to_spec,
        from_spec=from_spec,
        extra_series=parent_series,
        extra=_extra,
        choices={"algorithm": ALGORITHMS, "train.loss_type": LOSS_CHOICES},
        to_judge=True,
    )
    return build_train_tab(tab, store, i18n, lang_state)
