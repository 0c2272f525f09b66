"""The Data tab's run controls: the equivalent command, Start/Stop, the run picker, the status line with
docs/s and ETA, and the polling that follows the run folder until the run ends and then draws its
results once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from lab.cancel import cancel_in_background
from lab.dedup.results import read_results
from lab.errors import UserError
from lab.jobs import precheck
from lab.presets import validate
from lab.runs import RunStore

from ...live import timer_after_idle_poll
from ...run_panel import equivalent_command
from ...runview import RunView
from .form import FormParts
from .preview import status_html
from .results import ResultsParts, render
from .spec_form import form_to_spec, form_value
from .text import P, Labels


@dataclass
class RunParts:
    command: gr.Code
    start_btn: gr.Button
    stop_btn: gr.Button
    watch_dd: gr.Dropdown
    error_md: gr.Markdown
    status: gr.HTML
    view_state: gr.State     # RunView of the run on show, or None
    timer: gr.Timer          # on only while a run is watched and not yet drawn finished
    finished: gr.Textbox     # "<run id>:<state>" once the watched run has ended: draws its results


def build_run_controls(labels: Labels, default_path: Path, default_data: dict) -> RunParts:
    """Above the results (call inside their column)."""
    t, bind = labels.t, labels.bind
    view_state = gr.State(None)
    command = bind(gr.Code(equivalent_command(str(default_path), default_data, default_data), language="shell",
                           label=t("command"), interactive=False, elem_id=f"{P}-command"), "command")
    with gr.Row():
        start_btn = bind(gr.Button(t("start"), variant="primary", elem_id=f"{P}-start"), "start", "value")
        stop_btn = bind(gr.Button(t("stop"), variant="stop", elem_id=f"{P}-stop"), "stop", "value")
        watch_dd = bind(gr.Dropdown([], label=t("watch"), elem_id=f"{P}-watch"), "watch")
    error_md = gr.Markdown("", elem_id=f"{P}-error")
    status = gr.HTML(status_html(None, t("no_run")))
    return RunParts(command, start_btn, stop_btn, watch_dd, error_md, status, view_state,
                    timer=gr.Timer(1.0, active=False), finished=gr.Textbox(visible=False))


def load_results(store: RunStore, run_id: str) -> dict | None:
    try:
        return read_results(store.get(run_id))
    except UserError:
        return None


def wire_runs(store: RunStore, labels: Labels, form: FormParts, parts: RunParts, results: ResultsParts,
              lang_state: gr.State):
    """Start, stop, follow and pick runs; returns on_load() for the page's load event."""
    view_state, timer = parts.view_state, parts.timer
    result_outputs = results.outputs()
    render_inputs = [form.w("threshold"), form.w("bands"), form.w("rows"), lang_state]

    def run_ids():
        return store.find(kind="dedup")

    def stop(view):
        if view is not None:
            cancel_in_background(store, view.run_id)

    parts.stop_btn.click(stop, [view_state], None)

    def start(base, *vals):
        *vals, lang_ = vals
        try:
            spec = validate(form_to_spec(base, list(vals)), "form")
            precheck(spec)
            run = store.submit(spec)
        except UserError as e:
            return [gr.skip(), f"⚠ {e}", gr.skip()] + [gr.skip()] * len(result_outputs) + [gr.skip()]
        cleared = render(None, *(form_value(vals, k) for k in ("threshold", "bands", "rows")), lang_)  # the last run's results go away
        return [RunView.open(store, run.id), "", gr.update(choices=run_ids(), value=run.id)] + cleared + [gr.Timer(active=True)]

    parts.start_btn.click(start, [form.base_state, *form.widgets, lang_state],
                          [view_state, parts.error_md, parts.watch_dd, *result_outputs, timer])

    def tick(view, lang_):
        """Status and log only (every output costs the server, even skipped); the results are drawn
        once, by `finished`'s change, when the run has ended."""
        if view is None or not view.poll(store):
            return [gr.skip()] * 4 + [timer_after_idle_poll(view)]
        log_text = "\n".join(view.logs[-40:]) or store.get(view.run_id).log_tail(12)
        return [view, status_html(view, labels.t("no_run", lang_)), log_text,
                f"{view.run_id}:{view.state}" if view.finished else gr.skip(), gr.skip()]

    def draw_finished(view, results_, *args):
        if view is None or not view.finished:
            return [gr.skip()] * len(result_outputs)
        if view.state == "succeeded" and (results_ is None or results_.get("run_id") != view.run_id):
            return render(load_results(store, view.run_id), *args)
        if view.state != "succeeded" and results_ is not None:
            return render(None, *args)
        return [gr.skip()] * len(result_outputs)

    timer.tick(tick, [view_state, lang_state], [view_state, parts.status, results.log_box, parts.finished, timer],
               show_progress="hidden")
    parts.finished.change(draw_finished, [view_state, results.state, *render_inputs], result_outputs, show_progress="hidden")

    def watch(run_id, view, *args):
        if not run_id or (view is not None and view.run_id == run_id):
            return [gr.skip()] * (2 + len(result_outputs))
        # the picked run's results arrive on the next tick
        return [RunView.open(store, run_id)] + render(None, *args) + [gr.Timer(active=True)]

    parts.watch_dd.input(watch, [parts.watch_dd, view_state, *render_inputs], [view_state, *result_outputs, timer])

    def on_load():
        ids = run_ids()
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        return gr.update(choices=ids, value=pick), (RunView.open(store, pick) if pick else None), None, gr.Timer(active=bool(pick))

    return on_load
