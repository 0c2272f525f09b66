"""The RAG tab's evaluation: a `rag_eval` job built from all three forms (index, chat settings, the
QA set and judge), its live per-question chart (lab/rag/charts.py, the same figure as the HTML report)
and the evidence of each question."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields

import gradio as gr
import pandas as pd

from lab.endpoints import pasted_key
from lab.errors import UserError
from lab.jobs import submit
from lab.paths import confined
from lab.presets import validate
from lab.rag.charts import eval_figure

from ...endpoint_fields import endpoint_field
from ...live import timer_after_idle_poll
from ...run_panel import equivalent_command, status_html
from ...runview import RunView
from .context import Rag
from .render import evidence_table
from .text import EVIDENCE_COLUMNS


@dataclass
class EvalParts:
    view: gr.State
    start_btn: gr.Button
    stop_btn: gr.Button
    command: gr.Code
    error: gr.Markdown
    status: gr.HTML
    plot: gr.Plot
    evidence: gr.Dataframe
    evidence_n: gr.Dropdown
    evidence_detail: gr.Code
    timer: gr.Timer
    widgets: dict                     # the evaluation form's widgets by spec key (EVAL_KEYS)


def build_eval_section(rag: Rag) -> EvalParts:
    forms, t, bind = rag.forms, rag.t, rag.bind
    form, base = forms.eval, forms.eval_base
    values = dict(zip(form.keys, forms.values_from(form, base)))
    add = lambda key, component, label: bind(forms.widget(form, key, component), label)  # noqa: E731
    view = gr.State(None)
    with gr.Accordion(t("rag.eval"), open=True) as acc_eval:
        bind(acc_eval, "rag.eval")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                add("qa", gr.Textbox(value=values["qa"], label=t("rag.qa"), elem_id="rag-eval-qa"), "rag.qa")
                add("max_questions", gr.Number(value=values["max_questions"], precision=0, minimum=0,
                                               label=t("rag.max_questions"), elem_id="rag-eval-max"), "rag.max_questions")
                add("judge.model", gr.Textbox(value=values["judge.model"], label=t("rag.judge_model"),
                                              elem_id="rag-judge-model"), "rag.judge_model")
                add("judge.base_url", endpoint_field(values["judge.base_url"], t("rag.judge_url"), "rag-judge-url"),
                    "rag.judge_url")
                # naming a server variable is the facilitator's (launch.py --endpoint NAME=URL,key_env=VAR)
                add("judge.api_key_env", gr.Textbox(value=values["judge.api_key_env"], label=t("rag.judge_key_env"),
                                                    placeholder="OPENAI_API_KEY", elem_id="rag-judge-key-env",
                                                    visible=not confined()), "rag.judge_key_env")
                with gr.Row():
                    start_btn = bind(gr.Button(t("rag.eval_start"), variant="primary", elem_id="rag-eval-start"),
                                     "rag.eval_start", "value")
                    stop_btn = bind(gr.Button(t("rag.stop"), variant="stop", elem_id="rag-eval-stop"), "rag.stop", "value")
            with gr.Column(scale=2):
                command = bind(gr.Code(value=equivalent_command(forms.eval_preset, base, base), language="shell",
                                       label=t("rag.command"), interactive=False, lines=2, elem_id="rag-eval-command"),
                               "rag.command")
                error = gr.Markdown("", elem_id="rag-eval-error")
                status = gr.HTML(status_html("rag-eval", None, t("rag.no_eval_run")))
                plot = gr.Plot(eval_figure({}, rag.i18n.lang), elem_id="rag-eval-plot", show_label=False)
        bind(gr.Markdown(f"**{t('rag.evidence')}**"), "rag.evidence", "value")
        evidence = gr.Dataframe(pd.DataFrame(columns=EVIDENCE_COLUMNS), interactive=False, wrap=True, max_height=300,
                                elem_id="rag-evidence")
        with gr.Row():
            evidence_n = bind(gr.Dropdown(choices=[], label=t("rag.evidence_n"), elem_id="rag-evidence-n", scale=1),
                              "rag.evidence_n")
            evidence_detail = bind(gr.Code(language="json", label=t("rag.evidence_detail"), interactive=False,
                                           max_lines=30, elem_id="rag-evidence-detail", scale=4), "rag.evidence_detail")
    timer = gr.Timer(1.0, active=False)  # on while the evaluation run is watched
    widgets = form.widgets
    made = locals()
    return EvalParts(**{f.name: made[f.name] for f in fields(EvalParts)})


def wire_eval(rag: Rag, ep: EvalParts, api_key, stop_run) -> None:
    store, forms, i18n = rag.store, rag.forms, rag.i18n
    all_inputs = forms.all_widgets

    def start_eval(*values):
        *values, key = values
        try:
            with pasted_key(key):  # to this run's worker alone, never into job.yaml
                run = submit(store, validate(forms.eval_dict(forms.by_key(values)), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    ep.start_btn.click(start_eval, [*all_inputs, api_key], [ep.view, ep.error, ep.timer])
    ep.stop_btn.click(stop_run, [ep.view], None)

    def tick_eval(view, lang_, selected):
        if view is None or not view.poll(store):
            return [gr.skip()] * 5 + [timer_after_idle_poll(view)]
        from lab.rag.evaluate import read_evidence
        records = read_evidence(store.get(view.run_id).dir)
        choices = [str(r["n"]) for r in records]
        pick = selected if selected in choices else (choices[0] if choices else None)
        return (view, status_html("rag-eval", view, i18n.t("rag.no_eval_run", lang_)), eval_figure(view.series, lang_),
                evidence_table(records), gr.update(choices=choices, value=pick), gr.skip())

    ep.timer.tick(tick_eval, [ep.view, rag.lang_state, ep.evidence_n],
                  [ep.view, ep.status, ep.plot, ep.evidence, ep.evidence_n, ep.timer], show_progress="hidden")

    def show_evidence(view, n):
        if view is None or not n:
            return ""
        from lab.rag.evaluate import read_evidence
        for record in read_evidence(store.get(view.run_id).dir):
            if str(record["n"]) == str(n):
                return json.dumps(record, ensure_ascii=False, indent=1)
        return ""

    ep.evidence_n.change(show_evidence, [ep.view, ep.evidence_n], [ep.evidence_detail], show_progress="hidden")
