"""The Runs tab's actions on runs: Resume (from the last checkpoint), Continue for N more steps (a new
run, linked as the continuation), Clone (its tab's form filled from job.yaml), and Compare 2–4 runs
(the config keys that differ and the final metrics side by side; their curves are the overlay chart
above). The same as `lab run --resume`, `lab run --continue` and `lab runs diff` (lab/continuation.py,
lab/compare.py)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from lab.compare import diff_runs
from lab.continuation import continue_run
from lab.errors import UserError
from lab.kinds import KINDS
from lab.presets import read_yaml
from lab.runs import RunStore

from ..i18n import I18n

TEXT = {
    "resume": ("Resume", "再開"),
    "continue": ("Continue", "続けて学習"),
    "more_steps": ("More steps", "追加ステップ数"),
    "clone": ("Clone into its tab", "タブに複製"),
    "compare_btn": ("Compare the ticked runs", "選んだ実行を比べる"),
    "compare_hint": ("Tick 2 to 4 runs under 'Overlay runs', then compare: what differs in their config and their "
                     "final metrics.", "「重ねて表示する実行」で 2〜4 件選んで比べると、設定の違いと最終指標が並びます。"),
    "not_training": ("Only training runs resume or continue; training, judge and eval runs clone into their tab.",
                     "再開・続行ができるのは学習の実行だけです。タブへの複製は学習・評価（judge / eval）の実行でできます。"),
    "started": ("Started {run}", "{run} を開始しました"),
}


@dataclass
class RunActions:
    resume: gr.Button
    continue_btn: gr.Button
    more_steps: gr.Number
    clone: gr.Button
    message: gr.Markdown


def build_actions(i18n: I18n) -> RunActions:
    """The buttons beside a picked run (laid out where this is called)."""
    i18n.add(TEXT)
    t = lambda key: i18n.t(key)  # noqa: E731
    with gr.Row():
        resume = i18n.bind(gr.Button(t("resume"), scale=0, elem_id="runs-resume"), "resume", "value")
        more = i18n.bind(gr.Number(value=20, minimum=1, precision=0, label=t("more_steps"), scale=0, min_width=120,
                                   elem_id="runs-more-steps"), "more_steps")
        cont = i18n.bind(gr.Button(t("continue"), scale=0, elem_id="runs-continue"), "continue", "value")
        clone = i18n.bind(gr.Button(t("clone"), scale=0, elem_id="runs-clone"), "clone", "value")
    message = gr.Markdown("", elem_id="runs-action-message")
    return RunActions(resume, cont, more, clone, message)


def wire_actions(actions: RunActions, store: RunStore, i18n: I18n, detail_dd, lang_state, refresh) -> None:
    """`refresh()` → the table/picker updates the Runs tab makes after a run list change (3 outputs)."""
    def resume(run_id, lang):
        try:
            run = store.resume(run_id or "")
        except UserError as e:
            return f"⚠ {e}"
        return i18n.t("started", lang).format(run=run.id)

    def cont(run_id, steps, lang):
        try:
            run = continue_run(store, run_id or "", [f"train.max_steps={int(steps or 1)}"])
        except UserError as e:
            return f"⚠ {e}"
        return i18n.t("started", lang).format(run=run.id)

    actions.resume.click(resume, [detail_dd, lang_state], [actions.message], api_name="resume_run").then(*refresh)
    actions.continue_btn.click(cont, [detail_dd, actions.more_steps, lang_state], [actions.message],
                               api_name="continue_run").then(*refresh)


def build_compare(i18n: I18n):
    i18n.add(TEXT)
    t = lambda key: i18n.t(key)  # noqa: E731
    with gr.Row():
        button = i18n.bind(gr.Button(t("compare_btn"), scale=0, elem_id="runs-compare-btn"), "compare_btn", "value")
        i18n.bind(gr.Markdown(t("compare_hint")), "compare_hint", "value")
    config = gr.Dataframe(interactive=False, wrap=True, elem_id="runs-compare-config", visible=False)
    metrics = gr.Dataframe(interactive=False, wrap=True, elem_id="runs-compare-metrics", visible=False)
    return button, config, metrics


def compare_frames(store: RunStore, selected) -> tuple:
    try:
        diff = diff_runs(store, list(selected or []))
    except UserError as e:
        raise gr.Error(str(e)) from None
    cols = ["key", *diff["runs"]]
    config = pd.DataFrame([[row["key"], *map(_cell, row["values"])] for row in diff["config"]], columns=cols)
    metrics = pd.DataFrame([[name, *map(_cell, values)] for name, values in diff["metrics"].items()],
                           columns=["metric", *diff["runs"]])
    return gr.update(value=config, visible=True), gr.update(value=metrics, visible=True)


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def clone_target(store: RunStore, run_id: str | None) -> tuple[str, dict, str] | None:
    """(tab id, job.yaml as a dict, its path) of a run to clone, or None when its tab has no form for it."""
    if not run_id:
        return None
    run = store.get(run_id)
    kind = store.kind(run_id)
    tab = KINDS[kind].tab if kind in KINDS else None
    data, _ = read_yaml(run.job_path)
    return (tab, data, str(run.job_path)) if tab else None


def connect_clone(runs_part: dict, by_tab: dict, tabs: gr.Tabs) -> None:
    """Clone fills the form of the run's tab (the training tabs: they keep job.yaml as the form's base,
    so keys the form does not show, such as a launch block, are kept too) and shows that tab."""
    targets = [(tab_id, part) for tab_id, part in by_tab.items() if "fill" in part and "preset_outputs" in part]
    if not targets:
        return
    actions: RunActions = runs_part["actions"]
    outputs = [o for _, part in targets for o in part["preset_outputs"]]

    def clone(run_id, lang):
        try:
            found = clone_target(runs_part["store"], run_id)
        except UserError as e:
            return [gr.skip()] * len(outputs) + [gr.skip(), f"⚠ {e}"]
        values, selected = [], None
        for tab_id, part in targets:
            if found and found[0] == tab_id:
                values += part["fill"](found[1], found[2])
                selected = tab_id
            else:
                values += [gr.skip()] * len(part["preset_outputs"])
        if selected is None:
            return values + [gr.skip(), i18n_text(runs_part, "not_training", lang)]
        return values + [gr.Tabs(selected=selected), ""]

    actions.clone.click(clone, [runs_part["detail"], runs_part["lang_state"]], [*outputs, tabs, actions.message])


def i18n_text(runs_part: dict, key: str, lang: str) -> str:
    return runs_part["i18n"].t(key, lang)
