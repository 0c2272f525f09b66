"""Runs tab: every run in the runs folder (from the UI, the CLI, or before a restart), its status,
duration and key metrics; several selected runs overlaid on one chart; details and cancel."""
from __future__ import annotations

import json
import threading
from datetime import datetime

import gradio as gr
import pandas as pd

from lab.events import metric_series, read_events
from lab.runs import RunStore

from ..i18n import I18n
from ..live import overlay_figure

TEXT = {
    "runs_tab": ("Runs", "実行一覧"),
    "refresh": ("Refresh", "更新"),
    "compare": ("Overlay runs", "重ねて表示する実行"),
    "metric": ("Metric", "指標"),
    "runs_log_y": ("Log scale", "対数目盛"),
    "detail": ("Run details", "実行の詳細"),
    "cancel": ("Cancel run", "実行を取り消す"),
    "job": ("job.yaml", "job.yaml"),
    "status_json": ("status.json", "status.json"),
    "runs_log": ("worker.log (tail)", "worker.log（末尾）"),
}
COLUMNS = ["run", "kind", "status", "started", "duration", "loss", "eval_loss", "error"]
METRICS = ["loss", "eval_loss", "learning_rate", "grad_norm", "samples_per_second", "tokens_per_second",
           "mean_token_accuracy", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected"]


def _when(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%m-%d %H:%M:%S") if ts else ""


def _fmt(x) -> str:
    return "" if x is None else f"{x:.4g}"


def runs_table(store: RunStore) -> pd.DataFrame:
    rows = []
    for r in store.list():
        m = r.get("metrics", {})
        rows.append([r["run_id"], r.get("kind", ""), r.get("state", ""), _when(r.get("started_at") or r.get("created_at")),
                     f"{r['duration']:.0f}s" if r.get("duration") else "", _fmt(m.get("loss")), _fmt(m.get("eval_loss")),
                     (r.get("error") or "")[:120] if r.get("state") == "failed" else ""])
    return pd.DataFrame(rows, columns=COLUMNS)


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    t = lambda key: i18n.t(key)  # noqa: E731
    with gr.Tab(t("runs_tab"), id="runs", elem_id="tab-runs") as tab:
        i18n.bind(tab, "runs_tab")
        with gr.Row():
            refresh = i18n.bind(gr.Button(t("refresh"), scale=0, elem_id="runs-refresh"), "refresh", "value")
        table = gr.Dataframe(value=runs_table(store), interactive=False, wrap=True, elem_id="runs-table")
        with gr.Row():
            compare = i18n.bind(gr.CheckboxGroup(choices=store.ids(), label=t("compare"), elem_id="runs-compare", scale=3), "compare")
            with gr.Column(scale=1):
                metric = i18n.bind(gr.Dropdown(METRICS, value="loss", label=t("metric"), elem_id="runs-metric",
                                               allow_custom_value=True), "metric")
                log_y = i18n.bind(gr.Checkbox(label=t("runs_log_y"), value=False), "runs_log_y")
        overlay = gr.Plot(overlay_figure({}, "loss"), elem_id="runs-plot", show_label=False)
        with gr.Accordion(t("detail"), open=False) as acc:
            i18n.bind(acc, "detail")
            with gr.Row():
                detail_dd = i18n.bind(gr.Dropdown(choices=store.ids(), label=t("detail"), elem_id="runs-detail"), "detail")
                cancel_btn = i18n.bind(gr.Button(t("cancel"), variant="stop", scale=0, elem_id="runs-cancel"), "cancel", "value")
            with gr.Row():
                job = i18n.bind(gr.Code(language="yaml", label=t("job"), interactive=False), "job")
                status = i18n.bind(gr.Code(language="json", label=t("status_json"), interactive=False), "status_json")
            log = i18n.bind(gr.Textbox(label=t("runs_log"), lines=10, max_lines=10, interactive=False), "runs_log")
        timer = gr.Timer(2.0)

    def refresh_all(selected, detail):
        ids = store.ids()
        keep = [i for i in (selected or []) if i in ids]
        return runs_table(store), gr.update(choices=ids, value=keep), gr.update(choices=ids, value=detail if detail in ids else None)

    refresh.click(refresh_all, [compare, detail_dd], [table, compare, detail_dd])
    timer.tick(lambda: runs_table(store), None, [table], show_progress="hidden")

    def draw(selected, name, log_on):
        per_run = {}
        for run_id in selected or []:
            try:
                events, _ = read_events(store.get(run_id).events_path)
            except Exception:  # noqa: BLE001 - a run deleted meanwhile just drops out of the chart
                continue
            per_run[run_id] = metric_series(events).get(name, [])
        return overlay_figure(per_run, name, log_on)

    gr.on([compare.change, metric.change, log_y.change], draw, [compare, metric, log_y], [overlay], show_progress="hidden")
    timer.tick(draw, [compare, metric, log_y], [overlay], show_progress="hidden")

    def show(run_id):
        if not run_id:
            return "", "", ""
        run = store.get(run_id)
        return (run.job_path.read_text(encoding="utf-8"), json.dumps(store.status(run_id), indent=1, ensure_ascii=False),
                run.log_tail(40))

    detail_dd.change(show, [detail_dd], [job, status, log])

    def cancel(run_id):
        if run_id:
            store.request_cancel(run_id)
            threading.Thread(target=store.cancel, args=(run_id,), daemon=True).start()

    cancel_btn.click(cancel, [detail_dd], None)
    return {"tab": tab, "on_load": (refresh_all, [compare, detail_dd], [table, compare, detail_dd])}
