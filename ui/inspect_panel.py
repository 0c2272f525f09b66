"""The SFT and DPO tabs' "Inspect data" panel: the first samples of the form's job as its trainer
tokenizes them, trained tokens coloured (lab/train/inspect.py; the same as `lab inspect`)."""
from __future__ import annotations

import gradio as gr

from lab.errors import UserError
from lab.presets import validate
from lab.train.inspect import inspect_spec
from lab.train.inspect_html import inspection_html

from .i18n import I18n

TEXT = {
    "inspect.title": ("Inspect data: which tokens train", "データを確かめる：どのトークンを学習するか"),
    "inspect.n": ("Samples", "サンプル数"),
    "inspect.go": ("Inspect", "確かめる"),
    "inspect.hint": ("Tokenized by the trainer itself, with the chat template and the loss mask it will use "
                     "(same as `lab inspect PRESET`).",
                     "学習と同じトレーナーでトークン化し、使われるチャットテンプレートと損失マスクをそのまま表示します"
                     "（`lab inspect PRESET` と同じ）。"),
}


def build_inspect_panel(prefix: str, i18n: I18n, lang: str, form_inputs: list, form_dict, lang_state: gr.State) -> None:
    """`form_dict(*form_inputs)` → the spec dict of what Start would run."""
    i18n.add(TEXT)
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    with gr.Accordion(t("inspect.title"), open=False, elem_id=f"{prefix}-inspect") as acc:
        i18n.bind(acc, "inspect.title")
        i18n.bind(gr.Markdown(t("inspect.hint")), "inspect.hint", "value")
        with gr.Row():
            n = i18n.bind(gr.Number(value=2, minimum=1, maximum=20, precision=0, label=t("inspect.n"),
                                    elem_id=f"{prefix}-inspect-n", scale=1), "inspect.n")
            go = i18n.bind(gr.Button(t("inspect.go"), elem_id=f"{prefix}-inspect-go", scale=1), "inspect.go", "value")
        out = gr.HTML("", elem_id=f"{prefix}-inspect-out")

    def inspect(count, lang_, *values):
        try:
            spec = validate(form_dict(*values), "form")
            return inspection_html(inspect_spec(spec, int(count or 2)), lang_)
        except UserError as e:
            return f"<div class='lab-error'>⚠ {e}</div>"

    go.click(inspect, [n, lang_state, *form_inputs], [out])
