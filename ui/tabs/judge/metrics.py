"""Automatic metrics (llm-jp-eval style): an `eval` job from a form built from EvalSpec, and the
finished eval runs compared side by side (one column per run, one bar per run)."""
from __future__ import annotations

import copy

import gradio as gr
import pandas as pd

from lab.errors import UserError
from lab.evals.charts import eval_scores_figure
from lab.evals.results import eval_rows, eval_run_ids
from lab.evals.spec import EvalSpec
from lab.jobs import submit
from lab.presets import find_preset, read_yaml, validate

from ...form import SpecForm
from ...run_panel import status_html
from ...runview import RunView
from .parts import Context, JudgeParts, MetricsParts
from .spec_form import equivalent_command, model_choices

DEFAULT_PRESET = "eval-metrics"
FORM_KEYS = ["model.name", "tasks", "num_few_shots", "max_samples"]
ELEM_IDS = {"model.name": "judge-eval-model", "tasks": "judge-eval-tasks", "num_few_shots": "judge-eval-shots",
            "max_samples": "judge-eval-samples"}
LABEL_KEYS = {"model.name": "eval_model", "tasks": "eval_tasks", "num_few_shots": "eval_shots",
              "max_samples": "eval_samples"}


def default_preset() -> tuple[dict, str]:
    path = find_preset(DEFAULT_PRESET)
    data, _ = read_yaml(path)
    return data, str(path)


def from_spec(data: dict) -> dict:
    """No sample limit shows as 0."""
    data = copy.deepcopy(data)
    data["max_samples"] = data.get("max_samples") or 0
    return data


def to_spec(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["model"]["name"] = (data["model"].get("name") or "").strip() or "tiny"
    data["tasks"] = (data.get("tasks") or "").strip()
    data["num_few_shots"] = int(data.get("num_few_shots") or 0)
    data["max_samples"] = int(data["max_samples"]) if data.get("max_samples") else None
    return data


def metrics_table(rows: list[dict]) -> pd.DataFrame:
    """One line per task/metric, one column per run (model in the header), so runs read side by side."""
    if not rows:
        return pd.DataFrame(columns=["task/metric"])
    metrics = list(dict.fromkeys(k for r in rows for k in r if "/" in k or k == "average"))
    columns = {f"{r['run']} ({r['model']})": [("–" if r.get(m) is None else f"{r[m]:.3f}") for m in metrics] for r in rows}
    return pd.DataFrame({"task/metric": metrics, **columns})


def layout(ctx: Context) -> MetricsParts:
    t, b = ctx.t, ctx.bind
    data, path = default_preset()
    shown = from_spec(data)
    form = SpecForm(EvalSpec, FORM_KEYS, id_prefix="judge-eval-")

    def field(key: str, **kwargs):
        return b(form.widget(key, t(LABEL_KEYS[key]), shown, elem_id=ELEM_IDS[key], **kwargs), LABEL_KEYS[key])

    with gr.Tab(t("metrics"), id="judge-metrics", elem_id="judge-metrics") as tab:
        b(tab, "metrics")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                field("model.name", component=lambda **kw: gr.Dropdown(model_choices(ctx.store), allow_custom_value=True, **kw))
                field("tasks")
                with gr.Row():
                    field("num_few_shots", minimum=0)
                    field("max_samples", minimum=0)
                start = b(gr.Button(t("eval_start"), variant="primary", elem_id="judge-eval-start"), "eval_start", "value")
                command = b(gr.Code(equivalent_command(path, data, data), language="shell", label=t("eval_command"),
                                    interactive=False, elem_id="judge-eval-command"), "eval_command")
                error = gr.Markdown("", elem_id="judge-eval-error")
                status = gr.HTML(status_html("judge-eval", None, t("no_eval_run")))
            with gr.Column(scale=2):
                compare = b(gr.CheckboxGroup(eval_run_ids(ctx.store), label=t("eval_compare"), elem_id="judge-eval-compare"),
                            "eval_compare")
                table = gr.Dataframe(pd.DataFrame(), interactive=False, elem_id="judge-eval-table", wrap=True)
                plot = gr.Plot(eval_scores_figure([], ctx.lang), elem_id="judge-eval-plot", show_label=False)
    return MetricsParts(form, start, command, error, status, compare, table, plot)


def filled(parts: MetricsParts, data: dict) -> dict:
    """The form showing an eval preset (opened from the Home tab)."""
    return dict(zip(parts.form.components(), parts.form.values_from(from_spec(data))))


def wire(ctx: Context, parts: JudgeParts) -> None:
    m = parts.metrics
    base, path = default_preset()
    widgets = m.form.components()

    def eval_dict(values) -> dict:
        return to_spec(m.form.to_dict(base, list(values)))

    gr.on([w.change for w in widgets], lambda *values: equivalent_command(path, base, eval_dict(values)), widgets,
          [m.command], show_progress="hidden")

    def start(*values):
        try:
            run = submit(ctx.store, validate(eval_dict(values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(ctx.store, run.id), "", gr.Timer(active=True)

    m.start.click(start, widgets, [parts.eval_view_state, m.error, parts.timer])

    def compare(run_ids, lang):
        rows = eval_rows(ctx.store, run_ids)
        return metrics_table(rows), eval_scores_figure(rows, lang)

    m.compare.change(compare, [m.compare, ctx.lang_state], [m.table, m.plot], show_progress="hidden")
