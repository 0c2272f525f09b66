"""The lab's Gradio Blocks: a language switch and one tab per stage of the loop."""
from __future__ import annotations

import gradio as gr

from lab.runs import RunStore

from .i18n import LANGS, I18n
from .tabs import dedup as dedup_tab
from .tabs import dpo as dpo_tab
from .tabs import launch as launch_tab
from .tabs import judge as judge_tab
from .tabs import rag as rag_tab
from .tabs import runs as runs_tab
from .tabs import sft as sft_tab

# The tabs in the order a learner meets them; each module has build(store, i18n, lang_state) -> dict
# with "tab" and optionally "on_load" (fn, inputs, outputs) and "relabel_plot". Runs stays last.
TABS = [dedup_tab, sft_tab, dpo_tab, launch_tab, rag_tab, judge_tab, runs_tab]

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


def build_app(store: RunStore | None = None, lang: str = "ja", workshop=None) -> gr.Blocks:
    """`workshop` (a lab.workshop.Workshop) turns on workshop mode: a per-participant store, the
    facilitator's tab and the broadcast banner (ui/workshop.py)."""
    if workshop is not None:  # workshop
        from . import workshop as workshop_ui
        store = workshop.store()
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
        if workshop is not None:  # workshop
            workshop_ui.banner(workshop, i18n)
        with gr.Tabs() as tabs:
            parts = [module.build(store, i18n, lang_state) for module in TABS]
            if workshop is not None:  # workshop
                parts.append(workshop_ui.facilitator_tab(workshop, i18n))
        by_module = dict(zip(TABS, parts))
        if dpo_tab in by_module and judge_tab in by_module:  # DPO result vs its start, straight into the Judge tab
            from .tabs.judge import contestants_frame

            def to_judge(view):
                if view is None:
                    return gr.skip(), gr.skip()
                return contestants_frame(dpo_tab.judge_contestants(store, view)), gr.Tabs(selected="judge")

            by_module[dpo_tab]["to_judge"].click(to_judge, [by_module[dpo_tab]["view_state"]],
                                                 [by_module[judge_tab]["contestants"], tabs])

        def switch(new_lang):
            return [new_lang, *i18n.updates(new_lang)]

        event = lang_radio.change(switch, [lang_radio], [lang_state, *i18n.components()])
        for part in parts:
            if "relabel_plot" in part:  # plot titles are drawn into the figure, not labels
                event = event.then(*part["relabel_plot"], show_progress="hidden")
            if "on_load" in part:
                demo.load(*part["on_load"])
        if workshop is not None:  # workshop: every event runs as the logged-in participant
            workshop_ui.install(demo, workshop)
    return demo


def launch_kwargs() -> dict:
    return {"css": CSS, "theme": gr.themes.Soft()}
