"""Which runs the tab shows, kept live: the judge run picked in "Show run" (its live chart, status and
log while it runs; its results and viewer once it has finished) and the eval run last started (its
status; once done it joins the compared runs). One timer polls both, and stops once neither has
anything new (ui.live.timer_after_idle_poll)."""
from __future__ import annotations

import gradio as gr

from lab.errors import UserError
from lab.evals import results as judge_results
from lab.evals.charts import live_figure
from lab.evals.results import eval_run_ids

from ...live import timer_after_idle_poll
from ...run_panel import status_html
from ...runview import RunView
from . import results, viewer
from .parts import Context, JudgeParts, ordered
from .setup import run_ids
from .spec_form import model_choices
from .text import ALL


def result_loader(ctx: Context):
    """run id → its JudgeResult, or None (no run, not a judge run, or not readable yet)."""
    def load_result(run_id):
        if not run_id:
            return None
        try:
            return judge_results.load_result(ctx.store.get(run_id).dir)
        except (UserError, OSError, ValueError):
            return None
    return load_result


def shown_outputs(parts: JudgeParts) -> list:
    """What showing a run redraws: the results section (not its export widgets) and the viewer."""
    r, v = parts.results, parts.viewer
    return [r.run_label, r.bias_box, r.table, r.results_plot, r.category_plot, r.bias_plot, r.human, v.category,
            v.winner, v.items, v.item, *viewer.detail_outputs(v), v.human]


def show(ctx: Context, parts: JudgeParts, load_result, run_id, lang, category, winner, inconsistent) -> dict:
    result = load_result(run_id)
    return {**results.render(ctx, parts.results, run_id, result, lang),
            **viewer.render(parts.viewer, result, lang, category, winner, inconsistent)}


def wire(ctx: Context, parts: JudgeParts, load_result) -> dict:
    """Connect the watch picker and the timer; returns the tab's on_load and relabel_plot hooks."""
    s, m, v = parts.setup, parts.metrics, parts.viewer
    store = ctx.store
    shown = shown_outputs(parts)

    def watched(run_id, view, lang, category, winner, inconsistent):
        same = view is not None and view.run_id == run_id
        new_view = view if same else (RunView.open(store, run_id) if run_id else None)
        values = show(ctx, parts, load_result, run_id, lang, category, winner, inconsistent)
        return [new_view, *ordered(shown, values), gr.Timer(active=new_view is not None)]

    s.watch.input(watched, [s.watch, parts.view_state, ctx.lang_state, *v.filters()],
                  [parts.view_state, *shown, parts.timer])

    tick_outputs = [parts.view_state, s.live_plot, s.status, s.log, *shown, parts.eval_view_state, m.status, m.compare,
                    parts.timer]

    def tick(view, eval_view, lang, category, winner, inconsistent, selected_evals):
        out: dict = {}
        judge_new = view is not None and view.poll(store)
        eval_new = eval_view is not None and eval_view.poll(store)
        if judge_new:
            out.update({parts.view_state: view, s.live_plot: live_figure(view.series, lang),
                        s.status: status_html("judge", view, ctx.t("no_run", lang)), s.log: "\n".join(view.logs[-12:])})
            if view.finished and view.rendered_final:
                out.update(show(ctx, parts, load_result, view.run_id, lang, category, winner, inconsistent))
        if eval_new:
            out.update({parts.eval_view_state: eval_view,
                        m.status: status_html("judge-eval", eval_view, ctx.t("no_eval_run", lang))})
            if eval_view.finished and eval_view.rendered_final:
                chosen = list(dict.fromkeys((selected_evals or []) + [eval_view.run_id]))
                out[m.compare] = gr.update(choices=eval_run_ids(store), value=chosen)
        if not (judge_new or eval_new):
            out[parts.timer] = timer_after_idle_poll(view, eval_view)
        return ordered(tick_outputs, out)

    parts.timer.tick(tick, [parts.view_state, parts.eval_view_state, ctx.lang_state, *v.filters(), m.compare],
                     tick_outputs, show_progress="hidden")

    def on_load(lang):
        ids = run_ids(ctx)
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        view = RunView.open(store, pick) if pick else None
        return (gr.update(choices=ids, value=pick), view, *ordered(shown, show(ctx, parts, load_result, pick, lang, ALL, ALL, False)),
                gr.update(choices=eval_run_ids(store)), gr.update(choices=model_choices(store)),
                gr.update(choices=model_choices(store)), gr.Timer(active=view is not None))

    def relabel(view, eval_view, lang, run_id, category, winner, inconsistent):
        return (live_figure(view.series if view else None, lang), status_html("judge", view, ctx.t("no_run", lang)),
                status_html("judge-eval", eval_view, ctx.t("no_eval_run", lang)),
                *ordered(shown, show(ctx, parts, load_result, run_id, lang, category, winner, inconsistent)))

    return {"on_load": (on_load, [ctx.lang_state], [s.watch, parts.view_state, *shown, m.compare, s.add_model,
                                                    m.form.widgets["model.name"], parts.timer]),
            "relabel_plot": (relabel, [parts.view_state, parts.eval_view_state, ctx.lang_state, s.watch, *v.filters()],
                             [s.live_plot, s.status, m.status, *shown])}
