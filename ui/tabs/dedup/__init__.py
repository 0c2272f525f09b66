"""Data tab: see what deduplication and quality filtering do to a pretraining corpus before spending
hours on it. The form builds a `dedup` spec (the same one `lab run presets/dedup-*.yaml` takes) and
submits it; the tab follows the run folder and then reads its files: the S-curve of the chosen
bands × rows with the verified pair similarities, counts per method and rule, a cluster browser
with character-level differences, the removed documents with the measured values, downloads, the
hand-off to the pretrain/SFT forms and the datatrove Slurm version of the job.

Sections: form.py (the form and its events, mapped to the spec by spec_form.py), run.py (start, stop,
follow), results.py (what a finished run shows), preview.py (its text and HTML), text.py (labels)."""
from __future__ import annotations

import gradio as gr

from lab.dedup.charts import counts_figure, scurve_figure
from lab.dedup.results import kept_dataset
from lab.runs import RunStore

from ...i18n import I18n
from .form import build_form, build_preset_row, default_preset, wire_form
from .preview import cluster_html, handoff_md, status_html, summary_md
from .results import build_results, wire_results
from .run import build_run_controls, wire_runs
from .spec_form import FORM_KEYS, form_to_spec, form_values, from_spec
from .text import P, TEXT, Labels

__all__ = ["FORM_KEYS", "build", "form_to_spec", "form_values"]


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add({f"{P}.{k}": v for k, v in TEXT.items()})
    labels = Labels(i18n, i18n.lang)
    default_path, default_data = default_preset()
    start = from_spec(default_data)

    with gr.Tab(labels.t("tab"), id=P, elem_id=f"tab-{P}") as tab:
        labels.bind(tab, "tab")
        labels.bind(gr.Markdown(labels.t("intro")), "intro", "value")
        preset_row = build_preset_row(labels, default_path, default_data)
        with gr.Row():
            with gr.Column(scale=1, min_width=340):
                form = build_form(labels, preset_row, default_data)
            with gr.Column(scale=2):
                run = build_run_controls(labels, default_path, default_data)
                results = build_results(labels, start["threshold"], start["bands"], start["rows"])

    open_preset = wire_form(form, run, results, lang_state)
    on_load = wire_runs(store, labels, form, run, results, lang_state)
    wire_results(results, lang_state)

    def relabel(results_, threshold, bands, rows, lang_, cid, view):
        report = (results_ or {}).get("report")
        c = next((c for c in (results_ or {}).get("clusters", []) if c["cluster_id"] == cid), None)
        modes = [(labels.t("br_auto", lang_), "auto"), (labels.t("br_manual", lang_), "manual")]
        return (scurve_figure(float(threshold), int(bands or 1), int(rows or 1), report, lang_), counts_figure(report, lang_),
                summary_md(report, lang_), cluster_html(c, report, lang_), handoff_md(report, lang_), gr.update(choices=modes),
                status_html(view, labels.t("no_run", lang_)))

    def kept_path(results_):
        return kept_dataset((results_ or {}).get("report"))

    w = {name: form.w(name) for name in FORM_KEYS}
    return {"tab": tab, "on_load": (on_load, [], [run.watch_dd, run.view_state, results.state, run.timer]),
            "open_preset": (open_preset, [], [form.preset_dd, form.base_state, form.path_state, *form.widgets, run.command,
                                              run.error_md]),
            "use_sft": results.use_sft, "use_pretrain": results.use_pretrain, "kept_path": kept_path,
            "relabel_plot": (relabel, [results.state, w["threshold"], w["bands"], w["rows"], lang_state, results.cluster_dd,
                                       run.view_state],
                             [results.scurve, results.counts, results.summary, results.cluster_view, results.handoff,
                              w["br_mode"], run.status]),
            "widgets": w, "view_state": run.view_state, "results_state": results.state}
