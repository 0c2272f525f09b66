"""Judge tab: LLM-as-judge evaluation (MT-bench / Japanese Vicuna QA style) with the judge's own
biases shown beside its verdicts, and llm-jp-eval-style automatic metrics.

Four sections, one module each, every one a function over the typed parts of parts.py:
setup.py (a `judge` job from a form built from JudgeSpec; live chart while it runs), results.py
(win / loss / tie with 95% intervals, Bradley–Terry ratings, per category, bias diagnostics, human
verdicts counted apart, exports), viewer.py (side by side with filters and a human verdict per item)
and metrics.py (the `eval` job and eval runs compared). watching.py keeps the watched runs live.
The tab builds specs and reads run folders (lab/evals/results.py, lab/evals/charts.py); workers do
the work."""
from __future__ import annotations

import gradio as gr

from lab.errors import UserError
from lab.evals.results import eval_run_ids as _eval_ids  # noqa: F401  (the name tests/unit/test_kinds.py uses)
from lab.presets import find_preset, read_yaml
from lab.runs import RunStore

from ...i18n import I18n
from . import metrics, results, setup, viewer, watching
from .parts import Context, JudgeParts, ordered
from .spec_form import contestants_frame, model_choices  # noqa: F401  (ui/app.py and tests import them from here)
from .text import TEXT


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    ctx = Context(store, i18n, lang_state)
    default_path = find_preset(setup.DEFAULT_PRESET)
    default_data, _ = read_yaml(default_path)

    with gr.Tab(ctx.t("tab"), id="judge", elem_id="tab-judge") as tab:
        ctx.bind(tab, "tab")
        ctx.bind(gr.Markdown(ctx.t("intro")), "intro", "value")
        base_state = gr.State(default_data)
        path_state = gr.State(str(default_path))
        view_state = gr.State(None)
        eval_view_state = gr.State(None)
        with gr.Tabs(elem_id="judge-sections") as sections:
            setup_parts = setup.layout(ctx, default_data, str(default_path))
            results_parts = results.layout(ctx)
            viewer_parts = viewer.layout(ctx)
            metrics_parts = metrics.layout(ctx)
        timer = gr.Timer(1.0, active=False)  # on while a judge or eval run is watched (see live.timer_after_idle_poll)

    parts = JudgeParts(tab, sections, base_state, path_state, view_state, eval_view_state, timer, setup_parts,
                       results_parts, viewer_parts, metrics_parts)
    load_result = watching.result_loader(ctx)
    setup.wire(ctx, parts)
    results.wire(ctx, results_parts, setup_parts.watch, load_result)
    viewer.wire(ctx, viewer_parts, results_parts, setup_parts.watch, load_result)
    metrics.wire(ctx, parts)
    hooks = watching.wire(ctx, parts, load_result)

    # ---- opened from the Home tab ------------------------------------------------------------------------
    open_outputs = [setup_parts.preset, *setup.load_outputs(parts), *metrics_parts.form.components(), sections]

    def shown(data: dict, path: str) -> dict:
        """A judge job into the set-up form, an eval job into the metrics form; with that section shown."""
        if data.get("kind") == "eval":
            return {**metrics.filled(metrics_parts, data), sections: gr.Tabs(selected="judge-metrics")}
        return {**setup.filled(parts, data, path), sections: gr.Tabs(selected="judge-setup")}

    def open_preset(name):
        try:
            path = find_preset(name)
            data, _ = read_yaml(path)
        except UserError as e:
            return ordered(open_outputs, {setup_parts.error: f"⚠ {e}"})
        picked = {} if data.get("kind") == "eval" else {setup_parts.preset: gr.update(value=name)}
        return ordered(open_outputs, {**picked, **shown(data, str(path))})

    def fill(data: dict, path: str) -> list:
        """A run's job.yaml into its form (the Runs tab's Clone)."""
        return ordered(open_outputs, shown(data, path))

    return {"tab": tab, "contestants": setup_parts.contestants, "open_preset": (open_preset, [], open_outputs),
            "fill": fill, "preset_outputs": open_outputs, **hooks}
