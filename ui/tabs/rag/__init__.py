"""RAG tab: build an index from uploaded files or a folder (chunk preview first, then a `rag_index`
job with progress), see and prune its sources, chat over it with numbered citations that link to the
retrieved chunks (optionally beside the same model without retrieval), and run a `rag_eval` job with
live charts and per-question evidence. Jobs go through the run store; the chat and the chunk
preview are quick interactive calls into lab.rag.

Sections: index.py (1. build an index, 2. indexes and sources), chat.py (3.), eval.py (4.); the
forms ↔ specs in spec_form.py; what is drawn in render.py and lab/rag/charts.py."""
from __future__ import annotations

import gradio as gr

from lab.errors import UserError
from lab.presets import find_preset, read_yaml, validate
from lab.rag.charts import eval_figure
from lab.runs import RunStore
from lab.spec import spec_to_dict

from ...i18n import I18n
from ...run_panel import equivalent_command, latest_run, status_html
from ...runview import RunView
from .chat import build_chat_section, wire_chat
from .context import Rag
from .eval import build_eval_section, wire_eval
from .index import UPLOAD_SUFFIXES, build_index_section, take_upload, wire_index
from .render import chunks_html, evidence_table, indexes_frame, linked_answer, model_choices, sources_frame
from .spec_form import RagForms
from .text import TEXT

__all__ = ["UPLOAD_SUFFIXES", "build", "chunks_html", "eval_figure", "evidence_table", "indexes_frame",
           "linked_answer", "model_choices", "sources_frame", "take_upload"]


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    rag = Rag(store, i18n, lang_state, RagForms.create())
    forms = rag.forms

    with gr.Tab(rag.t("rag.tab"), id="rag", elem_id="tab-rag") as tab:
        i18n.bind(tab, "rag.tab")
        i18n.bind(gr.Markdown(rag.t("rag.intro")), "rag.intro", "value")
        ip = build_index_section(rag)
        cp = build_chat_section(rag)
        ep = build_eval_section(rag)

    # ---- the equivalent commands follow their forms ----------------------------------------------------
    index_inputs, all_inputs = forms.index.components(), forms.all_widgets

    def update_index_command(*values):
        return equivalent_command(forms.index_preset, forms.index_base, forms.index_dict(forms.by_key(values, forms.index)))

    gr.on([w.change for w in index_inputs], update_index_command, index_inputs, [ip.command], show_progress="hidden")

    def update_eval_command(*values):
        return equivalent_command(forms.eval_preset, forms.eval_base, forms.eval_dict(forms.by_key(values)))

    gr.on([w.change for w in all_inputs], update_eval_command, all_inputs, [ep.command], show_progress="hidden")

    refresh, stop_run = wire_index(rag, ip)
    wire_chat(rag, cp, ip.widgets["index"])
    wire_eval(rag, ep, cp.api_key, stop_run)

    # ---- on load: the latest runs of this tab, the index lists ------------------------------------------
    def latest(kind):
        pick = latest_run(store, kind)
        return RunView.open(store, pick) if pick else None

    def on_load(index_):
        index_run, eval_run = latest("rag_index"), latest("rag_eval")
        return [index_run, eval_run, *refresh(index_), gr.update(choices=model_choices(store)),
                gr.Timer(active=index_run is not None), gr.Timer(active=eval_run is not None)]

    # ---- opened from the Home tab: rag-index fills the index form, rag-eval every form it reads ---------
    def spec_values(name):
        data = spec_to_dict(validate(read_yaml(find_preset(name))[0], name))
        index_values = forms.values_from(forms.index, data)
        if data["kind"] == "rag_index":
            return index_values + [gr.skip()] * (len(all_inputs) - len(index_values))
        return index_values + forms.values_from(forms.chat, data) + forms.values_from(forms.eval, data)

    def open_preset(name):
        try:
            return spec_values(name)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * len(all_inputs)

    return {"tab": tab,
            "on_load": (on_load, [ip.widgets["index"]], [ip.view, ep.view, *ip.refresh_outputs,
                                                          cp.widgets["generator.model"], ip.timer, ep.timer]),
            "open_preset": (open_preset, [], all_inputs), "open_scroll": {"rag-eval": "#rag-eval-qa"},
            "relabel_plot": (lambda v, iv, hits, lang_: (eval_figure(v.series if v else {}, lang_),
                                                          status_html("rag-eval", v, i18n.t("rag.no_eval_run", lang_)),
                                                          status_html("rag-index", iv, i18n.t("rag.no_index_run", lang_)),
                                                          gr.skip() if hits else chunks_html([], set(), i18n, lang_)),
                             [ep.view, ip.view, cp.hits, lang_state], [ep.plot, ep.status, ip.status, cp.chunks_panel])}
