"""The Judge tab's components, by name: one dataclass per section and one for the whole tab, so a
handler reads `parts.viewer.items`, never the ninth entry of a list. `ordered` turns a handler's
{component: value} into the positional list Gradio's outputs (and the app's language switch) expect."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from lab.runs import RunStore

from ...form import SpecForm
from ...i18n import I18n


@dataclass
class Context:
    """What every section needs: the store, the translations, and the page's language state."""
    store: RunStore
    i18n: I18n
    lang_state: gr.State

    @property
    def lang(self) -> str:
        """The language the page is first drawn in (handlers take the live one from lang_state)."""
        return self.i18n.lang

    def t(self, key: str, lang: str | None = None) -> str:
        return self.i18n.t(f"judge.{key}", lang or self.i18n.lang)

    def bind(self, component, key: str, attr: str = "label"):
        """Relabel `component` from TEXT[judge.<key>] when the language changes."""
        return self.i18n.bind(component, f"judge.{key}", attr)


@dataclass
class SetupParts:
    form: SpecForm               # the JudgeSpec fields, keyed by their dotted spec path
    preset: gr.Dropdown
    load: gr.Button
    upload: gr.File
    preview: gr.Dataframe
    contestants: gr.Dataframe    # the spec's contestants list, one row each
    add_model: gr.Dropdown
    add: gr.Button
    api_key: gr.Textbox          # a pasted key: to the run's worker only, never into job.yaml
    command: gr.Code
    start: gr.Button
    stop: gr.Button
    watch: gr.Dropdown
    error: gr.Markdown
    status: gr.HTML
    live_plot: gr.Plot
    log: gr.Textbox

    def __getitem__(self, key: str):
        return self.form.widgets[key]

    def spec_inputs(self) -> list:
        """Everything the spec is built from: the form's widgets, then the contestants table."""
        return [*self.form.components(), self.contestants]


@dataclass
class ResultsParts:
    run_label: gr.Markdown
    bias_box: gr.HTML
    table: gr.Dataframe
    results_plot: gr.Plot
    category_plot: gr.Plot
    bias_plot: gr.Plot
    human: gr.Markdown
    export_csv: gr.Button
    export_json: gr.Button
    export_pref: gr.Button
    export_file: gr.File
    export_note: gr.Markdown


@dataclass
class ViewerParts:
    category: gr.Dropdown
    winner: gr.Dropdown
    inconsistent: gr.Checkbox
    items: gr.Dataframe
    item: gr.Dropdown
    flag: gr.HTML
    question: gr.Markdown
    answer_1: gr.Markdown
    answer_2: gr.Markdown
    order_ab: gr.Markdown
    order_ba: gr.Markdown
    override: gr.Radio
    override_score: gr.Number
    save: gr.Button
    human: gr.Markdown

    def filters(self) -> list:
        return [self.category, self.winner, self.inconsistent]


@dataclass
class MetricsParts:
    form: SpecForm               # the EvalSpec fields
    start: gr.Button
    command: gr.Code
    error: gr.Markdown
    status: gr.HTML
    compare: gr.CheckboxGroup
    table: gr.Dataframe
    plot: gr.Plot


@dataclass
class JudgeParts:
    tab: gr.Tab
    sections: gr.Tabs
    base_state: gr.State         # the loaded preset, as read: the form is written back into it
    path_state: gr.State         # its file, for the equivalent command
    view_state: gr.State         # the judge run being watched (ui.runview.RunView)
    eval_view_state: gr.State    # the eval run being watched
    timer: gr.Timer              # on while either run is watched (see ui.live.timer_after_idle_poll)
    setup: SetupParts
    results: ResultsParts
    viewer: ViewerParts
    metrics: MetricsParts


def ordered(outputs: list, values: dict) -> list:
    """`values` ({component: value}) in the order of `outputs`; a component it leaves out is skipped."""
    by_id = {id(c): v for c, v in values.items()}
    return [by_id[id(c)] if id(c) in by_id else gr.skip() for c in outputs]
