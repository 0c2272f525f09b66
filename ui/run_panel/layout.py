"""The run panel's components, laid out once: the preset row, the form (model and data, training),
the command, Start/Stop and the live chart beside it, and the chat under it. `Panel` is what every
section reads (the tab's config, the store, the form); `Parts` holds the components by name."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import gradio as gr

from lab.presets import find_preset, list_presets, read_yaml
from lab.runs import RunStore

from .. import memory_note
from ..form import SpecForm
from ..i18n import I18n
from ..live import training_figure
from .config import COMMON_TEXT, TrainTab
from .status import equivalent_command, status_html


@dataclass
class Panel:
    """One training tab's fixed context: its config, the store, the form built from its spec."""
    cfg: TrainTab
    store: RunStore
    i18n: I18n
    lang_state: gr.State
    form: SpecForm
    default_path: Path
    default_data: dict

    @classmethod
    def create(cls, cfg: TrainTab, store: RunStore, i18n: I18n, lang_state: gr.State) -> "Panel":
        i18n.add(COMMON_TEXT)
        i18n.add({f"{cfg.prefix}.{k}": v for k, v in cfg.text.items()})
        form = SpecForm(cfg.spec_cls, cfg.model_data_keys + cfg.training_keys, id_prefix=f"{cfg.prefix}-f-",
                        choices=cfg.choices)
        path = find_preset(cfg.default_preset)
        return cls(cfg, store, i18n, lang_state, form, path, read_yaml(path)[0])

    @property
    def p(self) -> str:
        return self.cfg.prefix

    def preset_names(self) -> list[str]:
        return [p.stem for kind in self.cfg.kinds for p in list_presets(kind)]

    def form_dict(self, base: dict, values) -> dict:
        """The spec dict the form's values describe, over the loaded preset `base`."""
        return self.cfg.to_spec(self.form.to_dict(self.cfg.from_spec(base), list(values)))

    def run_ids(self) -> list[str]:
        return self.store.find(kind=self.cfg.kinds)

    def figure(self, view, log_on: bool, lang: str):
        series = dict(view.series) if view else {}
        if view is not None:
            series.update(self.cfg.extra_series(self.store, view))
        return training_figure(series, log_on, self.cfg.panel_titles[lang], self.cfg.panels,
                               self.i18n.t("waiting", lang))

    def status(self, view, lang: str) -> str:
        return status_html(self.p, view, self.i18n.t("no_run", lang))

    def label_key(self, key: str) -> str:
        """A tab may word a field its own way (`dpo.train.beta`); else the common label."""
        return f"{self.p}.{key}" if f"{self.p}.{key}" in self.i18n.table else key


@dataclass
class Parts:
    tab: gr.Tab
    base_state: gr.State
    path_state: gr.State
    view_state: gr.State
    history_state: gr.State
    # presets
    preset_dd: gr.Dropdown
    load_btn: gr.Button
    save_name: gr.Textbox
    save_btn: gr.Button
    preset_file: gr.File
    saved_file: gr.File
    # form extras
    upload: gr.File
    inspect_area: gr.Column
    # run
    command: gr.Code
    memory: gr.Markdown
    start_btn: gr.Button
    stop_btn: gr.Button
    watch_dd: gr.Dropdown
    error_md: gr.Markdown
    status: gr.HTML
    log_y: gr.Checkbox
    plot: gr.Plot
    log_box: gr.Textbox
    timer: gr.Timer
    # chat
    chat_col: gr.Column
    bot_left: gr.Chatbot
    bot_right: gr.Chatbot
    msg: gr.Textbox
    send_btn: gr.Button
    clear_btn: gr.Button
    to_judge: gr.Button | None
    max_new: gr.Slider
    temperature: gr.Slider
    widgets: list                     # the form's components, in its key order


def build_layout(panel: Panel) -> Parts:
    cfg, i18n, form, p = panel.cfg, panel.i18n, panel.form, panel.p
    lang = i18n.lang
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    tt = lambda key: i18n.t(f"{p}.{key}", lang)  # noqa: E731
    bind = i18n.bind
    data = panel.default_data

    with gr.Tab(tt("tab"), id=p, elem_id=f"tab-{p}") as tab:
        bind(tab, f"{p}.tab")
        base_state = gr.State(data)
        path_state = gr.State(str(panel.default_path))
        view_state = gr.State(None)
        history_state = gr.State(([], []))

        with gr.Row(equal_height=True):
            preset_dd = bind(gr.Dropdown(choices=panel.preset_names(), value=cfg.default_preset, label=t("preset"),
                                         elem_id=f"{p}-preset", scale=2), "preset")
            load_btn = bind(gr.Button(t("load"), elem_id=f"{p}-load", scale=1), "load", "value")
            save_name = bind(gr.Textbox(label=t("save_name"), placeholder=f"my-{p}", elem_id=f"{p}-save-name",
                                        scale=2), "save_name")
            save_btn = bind(gr.Button(t("save"), elem_id=f"{p}-save", scale=1), "save", "value")
        with gr.Accordion(t("preset_files"), open=False) as acc0:
            bind(acc0, "preset_files")
            with gr.Row():
                preset_file = bind(gr.File(label=t("open_file"), file_types=[".yaml", ".yml"], height=120,
                                           elem_id=f"{p}-preset-file"), "open_file")
                saved_file = bind(gr.File(label=t("saved_file"), interactive=False, height=120,
                                          elem_id=f"{p}-saved-file"), "saved_file")

        form_data = cfg.from_spec(data)
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                with gr.Accordion(t("model_data"), open=True) as acc1:
                    bind(acc1, "model_data")
                    for key in cfg.model_data_keys:
                        bind(form.widget(key, i18n.t(panel.label_key(key), lang), form_data), panel.label_key(key))
                    upload = bind(gr.File(label=t("upload_data"), file_types=[".jsonl", ".json"],
                                          elem_id=f"{p}-upload"), "upload_data")
                with gr.Accordion(t("training"), open=True) as acc2:
                    bind(acc2, "training")
                    for key in cfg.training_keys:
                        bind(form.widget(key, i18n.t(panel.label_key(key), lang), form_data), panel.label_key(key))
                if cfg.extra:
                    cfg.extra(form, i18n, lang, panel.lang_state, panel.store)
                inspect_area = gr.Column()  # filled once the form's widgets are known
            with gr.Column(scale=2):
                command = bind(gr.Code(value=equivalent_command(str(panel.default_path), data, data),
                                       language="shell", label=t("command"), interactive=False,
                                       elem_id=f"{p}-command"), "command")
                memory = memory_note.component(p, data)
                with gr.Row():
                    start_btn = bind(gr.Button(t("start"), variant="primary", elem_id=f"{p}-start"), "start", "value")
                    stop_btn = bind(gr.Button(t("stop"), variant="stop", elem_id=f"{p}-stop"), "stop", "value")
                    watch_dd = bind(gr.Dropdown(choices=[], label=t("watch"), elem_id=f"{p}-watch"), "watch")
                error_md = gr.Markdown("", elem_id=f"{p}-error", elem_classes=["lab-error-box"])
                status = gr.HTML(panel.status(None, lang))
                log_y = bind(gr.Checkbox(label=t("log_y"), value=False, elem_id=f"{p}-log-y"), "log_y")
                plot = gr.Plot(panel.figure(None, False, lang), elem_id=f"{p}-plot", show_label=False)
                log_box = bind(gr.Textbox(label=t("log"), lines=8, max_lines=8, autoscroll=True,
                                          interactive=False, elem_id=f"{p}-log"), "log")

        with gr.Column(visible=False, elem_id=f"{p}-chat") as chat_col:
            bind(gr.Markdown(tt("chat_title")), f"{p}.chat_title", "value")
            with gr.Row():
                bot_left = bind(gr.Chatbot(label=tt("chat_left"), height=300, elem_id=f"{p}-chat-trained"),
                                f"{p}.chat_left")
                bot_right = bind(gr.Chatbot(label=tt("chat_right"), height=300, elem_id=f"{p}-chat-base"),
                                 f"{p}.chat_right")
            with gr.Row():
                msg = bind(gr.Textbox(label=t("message"), scale=4, elem_id=f"{p}-chat-msg"), "message")
                send_btn = bind(gr.Button(t("send"), variant="primary", scale=1, elem_id=f"{p}-chat-send"), "send", "value")
                clear_btn = bind(gr.Button(t("clear"), scale=1), "clear", "value")
                to_judge = (bind(gr.Button(t("to_judge"), scale=1, elem_id=f"{p}-to-judge"), "to_judge", "value")
                            if cfg.to_judge else None)
            with gr.Row():
                max_new = bind(gr.Slider(8, 512, value=96, step=8, label=t("max_new_tokens")), "max_new_tokens")
                temperature = bind(gr.Slider(0.0, 1.5, value=0.7, step=0.05, label=t("temperature")), "temperature")
        timer = gr.Timer(1.0, active=False)  # on only while a run is watched and not yet drawn finished

    widgets = form.components()
    made = locals()
    return Parts(**{f.name: made[f.name] for f in fields(Parts)})  # every field by its name (a missing one fails here)
