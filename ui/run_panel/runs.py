"""The run panel's run section: Start submits the form's spec, Stop cancels in the background
(lab/cancel.py), the run picker switches the watched run, and a timer redraws chart, status and log
while the watched run has something new."""
from __future__ import annotations

import gradio as gr

from lab.cancel import cancel_in_background
from lab.errors import UserError
from lab.jobs import submit
from lab.presets import validate

from ..live import timer_after_idle_poll
from ..runview import RunView
from .layout import Panel, Parts
from .status import latest_run


def wire_runs(panel: Panel, parts: Parts):
    """Connect Start/Stop/watch and the timer; returns the tab's on_load (fn, inputs, outputs)."""
    store = panel.store

    def start(base, *values):
        try:
            run = submit(store, validate(panel.form_dict(base, values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        view = RunView.open(store, run.id)
        return (view, "", gr.update(choices=panel.run_ids(), value=run.id), gr.update(visible=False), ([], []),
                gr.Timer(active=True))

    parts.start_btn.click(start, [parts.base_state, *parts.widgets],
                          [parts.view_state, parts.error_md, parts.watch_dd, parts.chat_col, parts.history_state,
                           parts.timer])

    def stop(view):
        if view is not None:
            cancel_in_background(store, view.run_id)

    parts.stop_btn.click(stop, [parts.view_state], None)

    def watch(run_id, view):
        if not run_id or (view is not None and view.run_id == run_id):
            return gr.skip(), gr.skip(), gr.skip()
        return RunView.open(store, run_id), ([], []), gr.Timer(active=True)

    parts.watch_dd.input(watch, [parts.watch_dd, parts.view_state], [parts.view_state, parts.history_state, parts.timer])

    def tick(view, log_y_on, lang_):
        """Nothing new: skip; once the run has ended and been drawn so, nothing will be: the timer stops."""
        if view is None or not view.poll(store):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), timer_after_idle_poll(view)
        log_text = store.get(view.run_id).log_tail(12)
        return (view, panel.figure(view, log_y_on, lang_), panel.status(view, lang_), log_text,
                gr.update(visible=view.state == "succeeded"), gr.skip())

    parts.timer.tick(tick, [parts.view_state, parts.log_y, panel.lang_state],
                     [parts.view_state, parts.plot, parts.status, parts.log_box, parts.chat_col, parts.timer],
                     show_progress="hidden")
    parts.log_y.change(lambda v, on, lang_: panel.figure(v, on, lang_), [parts.view_state, parts.log_y, panel.lang_state],
                       [parts.plot], show_progress="hidden")

    def on_load():
        pick = latest_run(store, panel.cfg.kinds)
        return (gr.update(choices=panel.run_ids(), value=pick), (RunView.open(store, pick) if pick else None),
                gr.Timer(active=bool(pick)))

    return on_load, [], [parts.watch_dd, parts.view_state, parts.timer]
