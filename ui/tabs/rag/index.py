"""The RAG tab's first two sections: build an index from uploaded files or a folder (a chunk preview
first, then a `rag_index` job with progress and log), and the list of indexes with the sources of the
chosen one (delete a source). Uploads go through ui/uploads.py like every other tab's."""
from __future__ import annotations

import html
from dataclasses import dataclass, fields

import gradio as gr
import pandas as pd

from lab.cancel import cancel_in_background
from lab.errors import UserError
from lab.jobs import submit
from lab.presets import validate
from lab.rag.spec import BUNDLED_EMBEDDERS

from ...live import timer_after_idle_poll
from ...run_panel import equivalent_command, status_html
from ...runview import RunView
from ...uploads import keep_uploads, safe_name
from .context import Rag
from .render import indexes_frame, sources_frame
from .text import PREVIEW_COLUMNS, SOURCE_COLUMNS

PREVIEW_MAX_FILES = 200
UPLOAD_SUFFIXES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"]


@dataclass
class IndexParts:
    view: gr.State
    upload: gr.File
    preview_btn: gr.Button
    build_btn: gr.Button
    stop_btn: gr.Button
    command: gr.Code
    error: gr.Markdown
    status: gr.HTML
    preview_info: gr.Markdown
    preview_table: gr.Dataframe
    log: gr.Textbox
    indexes_table: gr.Dataframe
    sources_table: gr.Dataframe
    refresh_btn: gr.Button
    source_dd: gr.Dropdown
    delete_btn: gr.Button
    timer: gr.Timer
    widgets: dict                     # the index form's widgets by spec key (INDEX_KEYS)

    @property
    def refresh_outputs(self) -> list:
        return [self.indexes_table, self.sources_table, self.source_dd, self.widgets["index"]]


def build_index_section(rag: Rag) -> IndexParts:
    forms, t, bind = rag.forms, rag.t, rag.bind
    form, base = forms.index, forms.index_base
    value = lambda key: forms.value(form, key, base)  # noqa: E731
    view = gr.State(None)
    with gr.Accordion(t("rag.build"), open=True) as acc_build:
        bind(acc_build, "rag.build")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                bind(forms.widget(form, "index", gr.Dropdown(
                    choices=indexes_frame()[1] or ["default"], value=value("index"), allow_custom_value=True,
                    label=t("rag.index"), elem_id="rag-index-name")), "rag.index")
                bind(forms.widget(form, "docs", gr.Textbox(value=value("docs") or "", label=t("rag.docs"),
                                                           elem_id="rag-docs")), "rag.docs")
                upload = bind(gr.File(label=t("rag.upload"), file_count="multiple", file_types=UPLOAD_SUFFIXES,
                                      height=140, elem_id="rag-upload"), "rag.upload")
                with gr.Row():
                    bind(forms.widget(form, "chunking.size", gr.Slider(
                        50, 2000, value=value("chunking.size"), step=10, label=t("rag.size"), elem_id="rag-size")),
                         "rag.size")
                    bind(forms.widget(form, "chunking.overlap", gr.Slider(
                        0, 500, value=value("chunking.overlap"), step=10, label=t("rag.overlap"), elem_id="rag-overlap")),
                         "rag.overlap")
                bind(forms.widget(form, "embedding.model", gr.Dropdown(
                    choices=list(BUNDLED_EMBEDDERS), value=value("embedding.model"), allow_custom_value=True,
                    label=t("rag.embedder"), elem_id="rag-embedder")), "rag.embedder")
                bind(forms.widget(form, "tokenizer", gr.Radio(
                    ["sudachi", "fugashi"], value=value("tokenizer"), label=t("rag.tokenizer"), elem_id="rag-tokenizer")),
                     "rag.tokenizer")
                with gr.Row():
                    preview_btn = bind(gr.Button(t("rag.preview"), elem_id="rag-preview-btn"), "rag.preview", "value")
                    build_btn = bind(gr.Button(t("rag.start_index"), variant="primary", elem_id="rag-build"),
                                     "rag.start_index", "value")
                    stop_btn = bind(gr.Button(t("rag.stop"), variant="stop", elem_id="rag-stop"), "rag.stop", "value")
            with gr.Column(scale=2):
                command = bind(gr.Code(value=equivalent_command(forms.index_preset, base, base), language="shell",
                                       label=t("rag.command"), interactive=False, lines=2, elem_id="rag-command"),
                               "rag.command")
                error = gr.Markdown("", elem_id="rag-error")
                status = gr.HTML(status_html("rag-index", None, t("rag.no_index_run")))
                preview_info = gr.Markdown("", elem_id="rag-preview-info")
                preview_table = gr.Dataframe(pd.DataFrame(columns=PREVIEW_COLUMNS), interactive=False, wrap=True,
                                             max_height=260, elem_id="rag-preview")
                log = bind(gr.Textbox(label=t("rag.log"), lines=4, max_lines=6, interactive=False, autoscroll=True,
                                      elem_id="rag-index-log"), "rag.log")

    with gr.Accordion(t("rag.indexes"), open=True) as acc_list:
        bind(acc_list, "rag.indexes")
        with gr.Row():
            indexes_table = gr.Dataframe(indexes_frame()[0], interactive=False, elem_id="rag-indexes", scale=2)
            sources_table = gr.Dataframe(pd.DataFrame(columns=SOURCE_COLUMNS), interactive=False, max_height=240,
                                         elem_id="rag-sources", scale=3)
        with gr.Row():
            refresh_btn = bind(gr.Button(t("rag.refresh"), scale=0, elem_id="rag-refresh"), "rag.refresh", "value")
            source_dd = bind(gr.Dropdown(choices=[], label=t("rag.source"), elem_id="rag-source-dd", scale=3), "rag.source")
            delete_btn = bind(gr.Button(t("rag.delete"), variant="stop", scale=1, elem_id="rag-delete"),
                              "rag.delete", "value")
    timer = gr.Timer(1.0, active=False)  # on while the indexing run is watched (see live.timer_after_idle_poll)
    widgets = form.widgets
    made = locals()
    return IndexParts(**{f.name: made[f.name] for f in fields(IndexParts)})


def take_upload(files, index_):
    """The uploaded documents, each checked (type, size, UTF-8) like every tab's uploads, kept together under
    uploads/rag/<index>/; that folder becomes the form's documents folder."""
    if not files:
        return gr.skip()
    folder_name = safe_name((index_ or "default").strip() or "default")
    return str(keep_uploads(list(files), "rag", folder_name, allowed=set(UPLOAD_SUFFIXES)))


def preview_rows(data) -> tuple[pd.DataFrame, str]:
    """The chunks a validated `rag_index` spec would make (the first PREVIEW_MAX_FILES files), and a summary line."""
    from lab.paths import resolve_input
    from lab.rag.chunking import split_documents
    from lab.rag.loaders import list_files, load_file, source_name
    root = resolve_input(data.docs, "docs")
    files = list_files(root)
    documents, errors = [], []
    for path in files[:PREVIEW_MAX_FILES]:
        for item in load_file(path, source_name(path, root)):
            (documents if hasattr(item, "page_content") else errors).append(item)
    chunks = split_documents(documents, data.chunking.size, data.chunking.overlap)
    rows = [[c.source, c.position, len(c.text), c.text] for c in chunks[:500]]
    more = f" (first {PREVIEW_MAX_FILES} of {len(files)} files)" if len(files) > PREVIEW_MAX_FILES else ""
    info = f"**{len(files)}** files{more} → **{len(documents)}** documents → **{len(chunks)}** chunks"
    if errors:
        info += "  \n" + "  \n".join(f"⚠ skipped {html.escape(str(e))}" for e in errors[:20])
    return pd.DataFrame(rows, columns=PREVIEW_COLUMNS), info


def wire_index(rag: Rag, ip: IndexParts):
    """Connect sections 1 and 2; returns `refresh(index) -> refresh_outputs values` for on_load."""
    store, forms, i18n = rag.store, rag.forms, rag.i18n
    index_inputs = forms.index.components()
    w = ip.widgets

    ip.upload.upload(take_upload, [ip.upload, w["index"]], [w["docs"]])

    def preview(docs_, size_, overlap_):
        try:
            values = {**forms.preset_values(forms.index), "index": "default", "docs": docs_, "chunking.size": size_,
                      "chunking.overlap": overlap_}
            data = validate(forms.index_dict(values), "form")
            frame, info = preview_rows(data)
        except UserError as e:
            return gr.skip(), f"⚠ {e}", gr.skip()
        return frame, "", info

    ip.preview_btn.click(preview, [w["docs"], w["chunking.size"], w["chunking.overlap"]],
                         [ip.preview_table, ip.error, ip.preview_info])

    def start_index(*values):
        try:
            run = submit(store, validate(forms.index_dict(forms.by_key(values, forms.index)), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    ip.build_btn.click(start_index, index_inputs, [ip.view, ip.error, ip.timer])

    def stop_run(view):
        if view is not None:
            cancel_in_background(store, view.run_id)

    ip.stop_btn.click(stop_run, [ip.view], None)

    def refresh(index_):
        frame, names = indexes_frame()
        sources, source_names = sources_frame((index_ or "").strip() or "default")
        return frame, sources, gr.update(choices=source_names, value=None), gr.update(choices=names or ["default"])

    refresh_outputs = ip.refresh_outputs
    ip.refresh_btn.click(refresh, [w["index"]], refresh_outputs)
    w["index"].change(refresh, [w["index"]], refresh_outputs, show_progress="hidden")

    def delete(index_, source):
        from lab.rag.index import delete_source
        if not source:
            return [gr.skip()] * len(refresh_outputs) + [gr.skip()]
        try:
            removed = delete_source((index_ or "").strip(), source)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * len(refresh_outputs) + [f"⚠ {e}"]
        gr.Info(f"{source}: {removed} chunks removed")
        return [*refresh(index_), ""]

    ip.delete_btn.click(delete, [w["index"], ip.source_dd], refresh_outputs + [ip.error])

    def tick_index(view, index_, lang_):
        if view is None or not view.poll(store):
            return [gr.skip()] * (3 + len(refresh_outputs)) + [timer_after_idle_poll(view)]
        log_text = "\n".join(view.logs[-8:])
        tables = refresh(index_) if view.finished else [gr.skip()] * len(refresh_outputs)
        return [view, status_html("rag-index", view, i18n.t("rag.no_index_run", lang_)), log_text, *tables, gr.skip()]

    ip.timer.tick(tick_index, [ip.view, w["index"], rag.lang_state],
                  [ip.view, ip.status, ip.log, *refresh_outputs, ip.timer], show_progress="hidden")
    return refresh, stop_run
