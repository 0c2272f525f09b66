"""The lab's Gradio Blocks: a language switch and one tab per stage of the loop."""
from __future__ import annotations

import gradio as gr

from lab.runs import RunStore

from .i18n import LANGS, I18n
from .tabs import runs as runs_tab
from .tabs import sft as sft_tab

CSS = """
.lab-error { color: #b00020; font-weight: 600; margin-top: .3em; }
.lab-state { font-weight: 600; }
.lab-succeeded { color: #1b7f3b; } .lab-failed { color: #b00020; } .lab-cancelled { color: #8a6d00; }
.lab-running { color: #0b57d0; } .lab-queued { color: #666; }
#sft-error p { color: #b00020; font-weight: 600; }
"""

HEADER = {"title": ("# LLM Lab", "# LLM Lab"), "lang": ("Language / 言語", "言語 / Language"),
          "subtitle": ("Build generative LLMs tab by tab: every run is a folder, every chart is live.",
                       "タブを順にたどって生成 LLM を作る実習環境。実行はすべてフォルダに残り、グラフはリアルタイムに更新されます。")}


def build_app(store: RunStore | None = None, lang: str = "ja") -> gr.Blocks:
    store = store or RunStore()
    i18n = I18n(lang=lang)
    i18n.add(HEADER)
    with gr.Blocks(title="LLM Lab") as demo:
        lang_state = gr.State(lang)
        with gr.Row():
            with gr.Column(scale=4):
                gr.Markdown(i18n.t("title"))
                i18n.bind(gr.Markdown(i18n.t("subtitle")), "subtitle", "value")
            lang_radio = i18n.bind(gr.Radio(list(LANGS), value=lang, label=i18n.t("lang"), elem_id="lang", scale=1), "lang")
        with gr.Tabs():
            sft = sft_tab.build(store, i18n, lang_state)
            runs = runs_tab.build(store, i18n, lang_state)

        def switch(new_lang):
            return [new_lang, *i18n.updates(new_lang)]

        lang_radio.change(switch, [lang_radio], [lang_state, *i18n.components()]).then(
            *sft["relabel_plot"], show_progress="hidden")
        for part in (sft, runs):
            demo.load(*part["on_load"])
    return demo


def launch_kwargs() -> dict:
    return {"css": CSS, "theme": gr.themes.Soft()}
