"""The run panel every training tab shares (SFT, DPO/KTO): a form built from the job spec, presets in
and out, the equivalent `lab run` command, Start/Stop, live charts with progress, ETA and the log
tail, and after success a side-by-side streaming chat of the result with the model it started from.
A tab module supplies a TrainTab (its spec, form keys, chart panels, texts) and gets all of this.
It builds specs and reads run folders; the worker process does the training.

Sections: layout.py (the components, as a typed `Parts`), presets.py, runs.py, chat.py; status.py
holds the command and status line other tabs reuse."""
from __future__ import annotations

import gradio as gr

from lab.runs import RunStore

from ..i18n import I18n
from .chat import wire_chat
from .config import COMMON_TEXT, TrainTab
from .layout import Panel, Parts, build_layout
from .presets import wire_presets
from .runs import wire_runs
from .status import equivalent_command, format_eta, latest_run, parent_series, preset_command_path, status_html

__all__ = ["COMMON_TEXT", "Panel", "Parts", "TrainTab", "build_train_tab", "equivalent_command", "format_eta",
           "latest_run", "parent_series", "preset_command_path", "status_html"]


def build_train_tab(cfg: TrainTab, store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    panel = Panel.create(cfg, store, i18n, lang_state)
    parts = build_layout(panel)
    presets = wire_presets(panel, parts)
    on_load = wire_runs(panel, parts)
    wire_chat(panel, parts)
    form = panel.form

    # ---- opened from elsewhere: a preset from the Home tab's gallery, a dataset from the Data tab ------
    def open_preset(name):
        return [gr.update(value=name), *presets["load_named"](name)]

    dataset_keys = [k for k in ("dataset.path", "dataset.format", "train.assistant_only_loss") if k in form.widgets]

    def use_dataset(path, fmt):
        """Plain text has no assistant turns, so a text dataset also turns assistant-only loss off."""
        values = {"dataset.path": path, "dataset.format": fmt, "train.assistant_only_loss": False if fmt == "text" else gr.skip()}
        return [values[k] for k in dataset_keys]

    preset_outputs = presets["preset_outputs"]
    return {"tab": parts.tab, "on_load": on_load,
            "open_preset": (open_preset, [], [parts.preset_dd, *preset_outputs]),
            "use_dataset": (use_dataset, [form.widgets[k] for k in dataset_keys]),
            "relabel_plot": (lambda v, on, lang_: (panel.figure(v, on, lang_), panel.status(v, lang_)),
                             [parts.view_state, parts.log_y, lang_state], [parts.plot, parts.status]),
            "to_judge": parts.to_judge, "form": form, "view_state": parts.view_state, "base_state": parts.base_state,
            "path_state": parts.path_state, "watch": parts.watch_dd, "preset_outputs": preset_outputs,
            "fill": presets["fill"]}
