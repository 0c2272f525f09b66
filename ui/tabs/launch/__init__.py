"""Launch tab: run any training preset across processes, GPUs or nodes. It shows the hardware, builds
the `launch:` block, previews the exact command and every generated file (accelerate config,
DeepSpeed JSON, hostfile, sbatch script) before anything starts, saves it all as a preset, and
plots the run live with per-rank step time and memory. Planners for memory (ZeRO), 3D parallelism
and compute sit below. The worker runs what the preview shows: both come from lab.distributed.launch_plan.

Sections: layout.py (components, a typed `Parts`), spec_form.py (form ↔ spec), preview.py (preview,
presets, DeepSpeed check, save), runs.py (start, stop, live chart), planners.py, view.py, text.py."""
from __future__ import annotations

import gradio as gr

from lab.runs import RunStore

from ...i18n import I18n
from ...run_panel import status_html
from .layout import build_layout
from .planners import wire_planners
from .preview import Preview, wire_preview
from .runs import wire_runs
from .spec_form import TRAINING_KINDS, first_preset, make_form, with_zero_none
from .text import LABELS, TEXT
from .view import figure, hardware_markdown, rank_panels

__all__ = ["TRAINING_KINDS", "build", "figure", "hardware_markdown", "rank_panels"]


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    i18n.add(LABELS)
    form = make_form()
    path, first_data, form_data = first_preset()
    parts = build_layout(i18n, form, path, first_data, form_data)
    pv = Preview(form, parts)
    wire_preview(pv)
    wire_runs(parts, form, store, i18n, lang_state)
    wire_planners(parts.planners, lang_state)

    def on_load(lang_):
        return (hardware_markdown(lang_), *pv.preview(*_initial_inputs()))

    def _initial_inputs():
        return (path, first_data, first_data.get("train", {}).get("max_steps", -1),
                *form.values_from(with_zero_none(form_data)))

    def open_preset(name, *values, dataset: tuple[str, str] | None = None):
        return pv.open_preset(name, *values, dataset=dataset)

    return {"tab": parts.tab, "on_load": (on_load, [lang_state], [parts.hw_md, *parts.preview_outputs]),
            "open_preset": (open_preset, parts.widgets, pv.open_outputs),
            "relabel_plot": (lambda v, lang_: (figure(v, lang_), status_html("launch", v, i18n.t("launch.no_run", lang_)),
                                               hardware_markdown(lang_)),
                             [parts.view_state, lang_state], [parts.plot, parts.status, parts.hw_md])}
