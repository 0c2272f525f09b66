"""The Launch tab's components: hardware, the training preset row, the dataset and launch fields
(ui/form.SpecForm over the spec's `launch:` block), the preview of the command and every generated
file, Start/Stop with the live per-rank chart, and the planners under them."""
from __future__ import annotations

from dataclasses import dataclass, fields

import gradio as gr

from ... import memory_note
from ...form import SpecForm
from ...i18n import I18n
from ...run_panel import status_html
from .planners import PlannerParts, build_planners
from .spec_form import DATA_KEYS, FILES, FIRST_PRESET, LAUNCH_KEYS, training_presets, with_zero_none
from .view import figure, hardware_markdown


@dataclass
class Parts:
    tab: gr.Tab
    base_state: gr.State
    path_state: gr.State
    view_state: gr.State
    hw_md: gr.Markdown
    preset_dd: gr.Dropdown
    max_steps: gr.Number
    save_name: gr.Textbox
    save_btn: gr.Button
    command: gr.Code
    memory: gr.Markdown
    previews: dict                    # generated file name → its gr.Code
    download: gr.File
    check_btn: gr.Button
    check_md: gr.Markdown
    start_btn: gr.Button
    stop_btn: gr.Button
    error_md: gr.Markdown
    status: gr.HTML
    plot: gr.Plot
    planners: PlannerParts
    timer: gr.Timer
    widgets: list                     # the form's components: LAUNCH_KEYS then DATA_KEYS
    data_widgets: list                # the DATA_KEYS ones

    @property
    def preview_outputs(self) -> list:
        return [self.command, self.memory, *self.previews.values(), self.download, self.error_md]


def build_layout(i18n: I18n, form: SpecForm, path: str, first_data: dict, form_data: dict) -> Parts:
    lang = i18n.lang
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    bind = i18n.bind
    with gr.Tab(t("launch.tab"), id="launch", elem_id="tab-launch") as tab:
        bind(tab, "launch.tab")
        base_state = gr.State(first_data)
        path_state = gr.State(path)
        view_state = gr.State(None)
        with gr.Accordion(t("launch.hardware"), open=True) as acc_hw:
            bind(acc_hw, "launch.hardware")
            hw_md = gr.Markdown(hardware_markdown(lang), elem_id="launch-hardware")
        with gr.Row(equal_height=True):
            preset_dd = bind(gr.Dropdown(training_presets(), value=FIRST_PRESET, label=t("launch.preset"),
                                         elem_id="launch-preset", scale=2), "launch.preset")
            max_steps = bind(gr.Number(value=first_data.get("train", {}).get("max_steps", -1), precision=0,
                                       label=t("launch.max_steps"), elem_id="launch-max-steps", scale=1),
                             "launch.max_steps")
            save_name = bind(gr.Textbox(label=t("launch.save_name"), placeholder="sft-tiny-ddp2",
                                        elem_id="launch-save-name", scale=2), "launch.save_name")
            save_btn = bind(gr.Button(t("launch.save"), elem_id="launch-save", scale=1), "launch.save", "value")
        with gr.Row(equal_height=True):
            for key in DATA_KEYS:
                bind(form.widget(key, t(f"launch.{key}"), form_data, scale=3 if key == "dataset.path" else 1),
                     f"launch.{key}")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                with gr.Accordion(t("launch.how"), open=True) as acc_how:
                    bind(acc_how, "launch.how")
                    for key in LAUNCH_KEYS:
                        bind(form.widget(key, t(key), with_zero_none(form_data)), key)
            with gr.Column(scale=2):
                bind(gr.Markdown(f"**{t('launch.preview')}**"), "launch.preview", "value")
                command = gr.Code(language="shell", label="lab run …", interactive=False, elem_id="launch-command")
                memory = memory_note.component("launch")
                with gr.Tabs():
                    previews = {}
                    for name in FILES:
                        with gr.Tab(name):
                            previews[name] = gr.Code(language="json" if name.endswith("json") else "yaml"
                                                     if name.endswith("yaml") else "shell", interactive=False,
                                                     show_label=False, elem_id=f"launch-file-{name.replace('.', '-')}")
                with gr.Row():
                    download = bind(gr.File(label=t("launch.download"), interactive=False, height=80,
                                            elem_id="launch-download"), "launch.download")
                    check_btn = bind(gr.Button(t("launch.check"), elem_id="launch-check"), "launch.check", "value")
                check_md = gr.Markdown("", elem_id="launch-check-result")
                with gr.Row():
                    start_btn = bind(gr.Button(t("launch.start"), variant="primary", elem_id="launch-start"), "launch.start", "value")
                    stop_btn = bind(gr.Button(t("launch.stop"), variant="stop", elem_id="launch-stop"), "launch.stop", "value")
                error_md = gr.Markdown("", elem_id="launch-error")
                status = gr.HTML(status_html("launch", None, t("launch.no_run")))
                plot = gr.Plot(figure(None, lang), elem_id="launch-plot", show_label=False)
        planners = build_planners(i18n)
        timer = gr.Timer(1.0, active=False)  # on only while a run is watched and not yet drawn finished

    widgets = form.components()
    data_widgets = [form.widgets[k] for k in DATA_KEYS]
    made = locals()
    return Parts(**{f.name: made[f.name] for f in fields(Parts)})
