"""Runs tab: every run in the runs folder (from the UI, the CLI, or before a restart), its status,
duration and key metrics; several selected runs overlaid on one chart; a run's details, its family
(the runs it came from and the runs that used it, as a small graph), its self-contained HTML
report, and cancel."""
from __future__ import annotations

import atexit
import json
import secrets
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import pandas as pd

from lab.cancel import cancel_in_background
from lab.charts import family_figure
from lab.errors import UserError
from lab.events import metric_series, read_events
from lab.lineage import family
from lab.quota import delete_run
from lab.report import TEXT as REPORT_TEXT
from lab.report import role_names, write_report
from lab.runs import RunStore

from ..i18n import I18n
from ..live import overlay_figure
from . import runs_actions

TEXT = {
    "runs_tab": ("Runs", "実行一覧"),
    "refresh": ("Refresh", "更新"),
    "compare": ("Overlay runs", "重ねて表示する実行"),
    "overlay_hint": ("Tick runs under 'Overlay runs' to draw their curves here",
                     "「重ねて表示する実行」で実行を選ぶと、その曲線がここに描かれます"),
    "overlay_no_values": ("No '{metric}' values in the selected runs yet", "選んだ実行にはまだ「{metric}」の値がありません"),
    "metric": ("Metric", "指標"),
    "runs_log_y": ("Log scale", "対数目盛"),
    "detail": ("Run details", "実行の詳細"),
    "cancel": ("Cancel run", "実行を取り消す"),
    "delete": ("Delete run", "実行を削除"),
    "job": ("job.yaml", "job.yaml"),
    "status_json": ("status.json", "status.json"),
    "runs_log": ("worker.log (tail)", "worker.log（末尾）"),
    "family_title": ("**Family** — inputs on the left, runs that used this one on the right (arrow: input → the run that read it)",
                     "**系譜** — 左が入力、右がこの実行を使った実行（矢印: 入力 → それを読んだ実行）"),
    "report": ("Report", "レポート"),
    "report_file": ("Report (one HTML file, opens offline)", "レポート（HTML 1 ファイル、オフラインで開けます）"),
    "open_report": ("Open the report in a new tab", "レポートを新しいタブで開く"),
    "pick_run": ("Pick a run first.", "先に実行を選んでください。"),
}
COLUMNS = ["run", "kind", "status", "started", "duration", "loss", "eval_loss", "error"]
METRICS = ["loss", "eval_loss", "learning_rate", "grad_norm", "samples_per_second", "tokens_per_second",
           "mean_token_accuracy", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected"]


def _when(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%m-%d %H:%M:%S") if ts else ""


def _fmt(x) -> str:
    return "" if x is None else f"{x:.4g}"


def state_text(r: dict) -> str:
    """'queued #3' while a run waits in the queue (lab/run_queue.py writes the position); a Slurm run
    adds its job id and Slurm's own state, e.g. 'queued · Slurm 42 PENDING (Resources)'."""
    state = r.get("state", "")
    if state == "queued" and r.get("queue_position"):
        return f"queued #{r['queue_position']}" + (" (paused)" if r.get("queue_reason") == "paused" else "")
    if r.get("slurm_job"):
        why = f" ({r['queue_reason']})" if state == "queued" and r.get("queue_reason") else ""
        return f"{state} · Slurm {r['slurm_job']} {r.get('slurm_state') or ''}{why}".rstrip()
    return state


def runs_table(store: RunStore) -> pd.DataFrame:
    rows = []
    for r in store.list():
        m = r.get("metrics", {})
        rows.append([r["run_id"], r.get("kind", ""), state_text(r), _when(r.get("started_at") or r.get("created_at")),
                     f"{r['duration']:.0f}s" if r.get("duration") else "", _fmt(m.get("loss")), _fmt(m.get("eval_loss")),
                     (r.get("error") or "")[:120] if r.get("state") == "failed" else ""])
    return pd.DataFrame(rows, columns=COLUMNS)


_reports_dir: list[Path] = []


def reports_dir() -> Path:
    """A folder served "inline" (gr.set_static_paths), so the report link opens the page in the browser
    instead of downloading it. Reports are copied there; nothing else lives in it."""
    if not _reports_dir:
        _reports_dir.append(Path(tempfile.mkdtemp(prefix="llm-lab-reports-")))
        gr.set_static_paths([_reports_dir[0]])
        atexit.register(shutil.rmtree, _reports_dir[0], ignore_errors=True)  # the run folder keeps the original
    return _reports_dir[0]


def publish_report(path: Path, run_id: str) -> Path:
    # An unguessable folder per copy: in workshop mode one participant cannot open another's report.
    target = reports_dir() / secrets.token_urlsafe(16) / f"report-{run_id}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    reports_dir()
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
        overlay = gr.Plot(overlay_figure({}, "loss", hint=i18n.t("overlay_hint"), no_values=i18n.t("overlay_no_values")),
                          elem_id="runs-plot", show_label=False)
        compare_btn, compare_config, compare_metrics = runs_actions.build_compare(i18n)
        with gr.Accordion(t("detail"), open=False, elem_id="runs-detail-accordion") as acc:
            i18n.bind(acc, "detail")
            with gr.Row():
                detail_dd = i18n.bind(gr.Dropdown(choices=store.ids(), label=t("detail"), elem_id="runs-detail",
                                                  allow_custom_value=True), "detail")  # ids are checked by the store
                report_btn = i18n.bind(gr.Button(t("report"), scale=0, elem_id="runs-report"), "report", "value")
                cancel_btn = i18n.bind(gr.Button(t("cancel"), variant="stop", scale=0, elem_id="runs-cancel"), "cancel", "value")
                delete_btn = i18n.bind(gr.Button(t("delete"), variant="stop", scale=0, elem_id="runs-delete"), "delete", "value")
            actions = runs_actions.build_actions(i18n)
            i18n.bind(gr.Markdown(t("family_title")), "family_title", "value")
            family_plot = gr.Plot(family_figure({}), elem_id="runs-family", show_label=False)
            with gr.Row():
                report_file = i18n.bind(gr.File(label=t("report_file"), interactive=False, height=80,
                                                elem_id="runs-report-file"), "report_file")
                report_link = gr.HTML("", elem_id="runs-report-link")
            with gr.Row():
                job = i18n.bind(gr.Code(language="yaml", label=t("job"), interactive=False), "job")
                status = i18n.bind(gr.Code(language="json", label=t("status_json"), interactive=False), "status_json")
            log = i18n.bind(gr.Textbox(label=t("runs_log"), lines=10, max_lines=10, interactive=False), "runs_log")
        timer = gr.Timer(2.0, active=False)  # on while the tab is shown and one of the runs is queued or running

    def refresh_all(selected, detail):
        ids = store.ids()
        keep = [i for i in (selected or []) if i in ids]
        return runs_table(store), gr.update(choices=ids, value=keep), gr.update(choices=ids, value=detail if detail in ids else None)

    def table_now():
        return runs_table(store)

    refresh.click(refresh_all, [compare, detail_dd], [table, compare, detail_dd], api_name="refresh_runs")
    timer.tick(table_now, None, [table], show_progress="hidden", api_name="runs_table")

    def draw(selected, name, log_on, lang_):
        per_run = {}
        for run_id in selected or []:
            try:
                events, _ = read_events(store.get(run_id).events_path)
            except Exception:  # noqa: BLE001 - a run deleted meanwhile just drops out of the chart
                continue
            per_run[run_id] = metric_series(events).get(name, [])
        return overlay_figure(per_run, name, log_on, hint=i18n.t("overlay_hint", lang_),
                              no_values=i18n.t("overlay_no_values", lang_))

    gr.on([compare.change, metric.change, log_y.change], draw, [compare, metric, log_y, lang_state], [overlay],
          show_progress="hidden")

    def redraw(selected, name, log_on, lang_):
        """On the timer, only while a compared run is going (or ended in the last seconds): a finished
        run's curve does not change, and an empty chart need not be rebuilt every 2 s. The timer
        stops once no run is queued or running (showing the tab starts it again)."""
        statuses = {i: store.status(i) for i in store.ids()}
        live = [s for i, s in statuses.items() if i in (selected or [])]
        recent = any(s.get("state") in ("queued", "running") or time.time() - (s.get("ended_at") or 0) < 5 for s in live)
        going = any(s.get("state") in ("queued", "running") for s in statuses.values())
        return (draw(selected, name, log_on, lang_) if recent else gr.skip()), (gr.skip() if going else gr.Timer(active=False))

    timer.tick(redraw, [compare, metric, log_y, lang_state], [overlay, timer], show_progress="hidden")
    tab.select(lambda: (runs_table(store), gr.Timer(active=True)), None, [table, timer], show_progress="hidden")

    def show(run_id):
        if not run_id:
            return "", "", ""
        run = store.get(run_id)
        return (run.job_path.read_text(encoding="utf-8"), json.dumps(store.status(run_id), indent=1, ensure_ascii=False),
                run.log_tail(40))

    def show_family(run_id, lang):
        names = role_names(lambda key: REPORT_TEXT[key][1 if lang == "ja" else 0])
        try:
            graph = family(store, run_id) if run_id else {}
        except UserError:  # deleted meanwhile
            graph = {}
        return family_figure(graph, role_names=names)

    def pick_row(evt: gr.SelectData):
        """A click on a row of the table shows that run's details (seen here: a value set by an event
        does not fire the dropdown's change, so the chain below runs the same steps)."""
        run_id = evt.row_value[0] if evt.row_value else None
        return (run_id, gr.Accordion(open=True)) if run_id else (gr.skip(), gr.skip())

    detail_dd.change(show, [detail_dd], [job, status, log], api_name="run_detail").then(
        show_family, [detail_dd, lang_state], [family_plot], show_progress="hidden", api_name="run_family")
    table.select(pick_row, None, [detail_dd, acc], show_progress="hidden").then(
        show, [detail_dd], [job, status, log], show_progress="hidden").then(
        show_family, [detail_dd, lang_state], [family_plot], show_progress="hidden")

    def make_report(run_id, lang):
        if not run_id:
            raise gr.Error(i18n.t("pick_run", lang))
        try:
            path = write_report(store.get(run_id), lang=lang)
        except UserError as e:
            raise gr.Error(str(e)) from None
        served = publish_report(path, run_id)
        link = (f"<a id='runs-report-open' href='gradio_api/file={quote(str(served))}' target='_blank' rel='noopener'>"
                f"{i18n.t('open_report', lang)} ↗</a>")
        return str(served), link, show_family(run_id, lang)

    report_btn.click(make_report, [detail_dd, lang_state], [report_file, report_link, family_plot], api_name="run_report")

    def cancel(run_id):
        if run_id:
            cancel_in_background(store, run_id)

    cancel_btn.click(cancel, [detail_dd], None, api_name="cancel_run")

    def delete(run_id, selected):
        if not run_id:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            delete_run(store, run_id)  # frees a workshop participant's disk quota (lab/quota.py)
        except UserError as e:
            raise gr.Error(str(e)) from None
        return refresh_all([i for i in selected or [] if i != run_id], None)

    delete_btn.click(delete, [detail_dd, compare], [table, compare, detail_dd], api_name="delete_run")
    runs_actions.wire_actions(actions, store, i18n, detail_dd, lang_state,
                              (refresh_all, [compare, detail_dd], [table, compare, detail_dd]))
    compare_btn.click(lambda selected: runs_actions.compare_frames(store, selected), [compare],
                      [compare_config, compare_metrics], api_name="compare_runs")
    return {"tab": tab, "actions": actions, "store": store, "i18n": i18n, "detail": detail_dd, "lang_state": lang_state, "on_load": (refresh_all, [compare, detail_dd], [table, compare, detail_dd]),
            "relabel_plot": (lambda run_id, selected, name, log_on, lang_: (show_family(run_id, lang_),
                                                                             draw(selected, name, log_on, lang_)),
                             [detail_dd, compare, metric, log_y, lang_state], [family_plot, overlay])}
