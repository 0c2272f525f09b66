"""The Launch tab's run: Start submits the form's spec, Stop cancels in the background
(lab/cancel.py), and a timer redraws the per-rank chart and the status line while the run has news."""
from __future__ import annotations

import gradio as gr

from lab.cancel import cancel_in_background
from lab.errors import UserError
from lab.jobs import submit
from lab.presets import validate
from lab.runs import RunStore

from ...form import SpecForm
from ...i18n import I18n
from ...live import timer_after_idle_poll
from ...run_panel import status_html
from ...runview import RunView
from .layout import Parts
from .spec_form import spec_dict
from .view import figure


def wire_runs(parts: Parts, form: SpecForm, store: RunStore, i18n: I18n, lang_state: gr.State) -> None:
    def start(base, steps, *values):
        try:
            run = submit(store, validate(spec_dict(form, base, steps, values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    parts.start_btn.click(start, [parts.base_state, parts.max_steps, *parts.widgets],
                          [parts.view_state, parts.error_md, parts.timer])

    def stop(view):
        if view is not None:
            cancel_in_background(store, view.run_id)

    parts.stop_btn.click(stop, [parts.view_state], None)

    def tick(view, lang_):
        """Nothing new: skip; once the run has ended and been drawn so, nothing will be: the timer stops."""
        if view is None or not view.poll(store):
            return gr.skip(), gr.skip(), gr.skip(), timer_after_idle_poll(view)
        return view, figure(view, lang_), status_html("launch", view, i18n.t("launch.no_run", lang_)), gr.skip()

    parts.timer.tick(tick, [parts.view_state, lang_state], [parts.view_state, parts.plot, parts.status, parts.timer],
                     show_progress="hidden")
