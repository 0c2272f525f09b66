"""The facilitator's tab in workshop mode: who runs what, the queue, device load, pause and resume,
a broadcast to every page, and cancel any run. Shown only to the facilitator account (the page is
built once for everyone; a page load turns the tab on for them), and every action checks the role
again on the server. The rules live in lab/workshop.py."""
from __future__ import annotations

import time
from datetime import datetime

import gradio as gr
import pandas as pd

from lab.paths import current_user
from lab.workshop import Workshop, device_load

from ..i18n import I18n
from ..workshop import pending_loads

TEXT = {
    "ws.tab": ("Facilitator", "ファシリテーター"),
    "ws.runs": ("Everyone's runs", "全員の実行"),
    "ws.queue": ("Queue", "キュー"),
    "ws.load": ("Device load", "デバイスの負荷"),
    "ws.pause": ("Pause the queue", "キューを一時停止"),
    "ws.resume": ("Resume the queue", "キューを再開"),
    "ws.message": ("Message to every participant", "全員へのメッセージ"),
    "ws.send": ("Broadcast", "送信"),
    "ws.clear": ("Clear message", "メッセージを消す"),
    "ws.cancel_run": ("Run to cancel (user/run)", "取り消す実行（ユーザー/実行）"),
    "ws.cancel": ("Cancel run", "実行を取り消す"),
    "ws.refresh": ("Refresh", "更新"),
}
RUN_COLUMNS = ["user", "run", "kind", "status", "queue", "device", "started", "duration", "loss"]


def _require_facilitator(workshop: Workshop) -> str:
    name = current_user()
    if not workshop.is_facilitator(name):
        raise gr.Error("only the facilitator can do this")
    return name


def _when(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S") if ts else ""


def runs_frame(workshop: Workshop) -> pd.DataFrame:
    rows = []
    for r in workshop.all_runs():
        state = r.get("state", "")
        queue = f"#{r['queue_position']} {r.get('queue_reason') or ''}" if state == "queued" and r.get("queue_position") else ""
        loss = r.get("metrics", {}).get("loss")
        rows.append([r["user"], r["run_id"], r.get("kind", ""), state, queue, r.get("device") or "",
                     _when(r.get("started_at") or r.get("created_at")),
                     f"{r['duration']:.0f}s" if r.get("duration") else "", "" if loss is None else f"{loss:.4g}"])
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def queue_markdown(workshop: Workshop) -> str:
    snap = workshop.queue().snapshot()
    lines = [f"**{'⏸ paused' if snap['paused'] else '▶ running'}** · waiting: **{len(snap['waiting'])}**"]
    for i, slot in enumerate(snap["slots"]):
        run = slot["run"]
        lines.append(f"- slot {i} ({slot['device']}): " + (f"`{run.user}` {run.run_id}" if run else "free"))
    for pos, t in enumerate(snap["waiting"], 1):
        blocked = " (per-user limit)" if t.run_id in snap["blocked"] else ""
        lines.append(f"{pos}. `{t.user}` {t.run_id} — waiting {time.time() - t.created:.0f}s{blocked}")
    return "\n".join(lines)


def load_markdown() -> str:
    d = device_load()  # CPU % since the previous call: the view refreshes every 2 s
    lines = [f"CPU {d['cpu_percent']:.0f}% of {d['cpus']} cores · load average {d['loadavg']:.2f} · RAM {d['mem_percent']:.0f}%"]
    for g in d["gpus"]:
        lines.append(f"GPU {g['index']}: {g['util_percent']:.0f}% · {g['mem_used_mb']:.0f}/{g['mem_total_mb']:.0f} MB")
    return "\n\n".join(lines)


def build(workshop: Workshop, i18n: I18n) -> dict:
    i18n.add(TEXT)
    t = i18n.t
    with gr.Tab(t("ws.tab"), id="facilitator", elem_id="tab-facilitator", visible=False) as tab:
        i18n.bind(tab, "ws.tab")
        with gr.Row():
            with gr.Column(scale=2):
                queue_md = gr.Markdown(elem_id="ws-queue")
            with gr.Column(scale=1):
                load_md = gr.Markdown(elem_id="ws-load")
                with gr.Row():
                    pause = i18n.bind(gr.Button(t("ws.pause"), elem_id="ws-pause"), "ws.pause", "value")
                    resume = i18n.bind(gr.Button(t("ws.resume"), elem_id="ws-resume"), "ws.resume", "value")
        with gr.Row():
            message = i18n.bind(gr.Textbox(label=t("ws.message"), elem_id="ws-message", scale=3), "ws.message")
            send = i18n.bind(gr.Button(t("ws.send"), variant="primary", elem_id="ws-send", scale=0), "ws.send", "value")
            clear = i18n.bind(gr.Button(t("ws.clear"), elem_id="ws-clear", scale=0), "ws.clear", "value")
        table = i18n.bind(gr.Dataframe(headers=RUN_COLUMNS, interactive=False, wrap=True, label=t("ws.runs"),
                                       elem_id="ws-runs"), "ws.runs")
        with gr.Row():
            target = i18n.bind(gr.Dropdown([], label=t("ws.cancel_run"), elem_id="ws-cancel-target", scale=3), "ws.cancel_run")
            cancel = i18n.bind(gr.Button(t("ws.cancel"), variant="stop", elem_id="ws-cancel", scale=0), "ws.cancel", "value")
        timer = gr.Timer(2.0, active=False)

    def refresh(selected=None):
        if not workshop.is_facilitator(current_user()):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        frame = runs_frame(workshop)
        active = [f"{u}/{r}" for u, r, s in zip(frame["user"], frame["run"], frame["status"]) if s in ("queued", "running")]
        return (frame, queue_markdown(workshop), load_markdown(),
                gr.update(choices=active, value=selected if selected in active else None))

    outputs = [table, queue_md, load_md, target]
    timer.tick(refresh, [target], outputs, show_progress="hidden", api_name=False)

    def on_load():
        is_fac = workshop.is_facilitator(current_user())
        return gr.update(visible=is_fac), gr.Timer(active=is_fac)

    def do_pause():
        _require_facilitator(workshop)
        workshop.queue().pause()
        return queue_markdown(workshop)

    def do_resume():
        _require_facilitator(workshop)
        workshop.queue().resume()
        return queue_markdown(workshop)

    def do_broadcast(text):
        _require_facilitator(workshop)
        workshop.broadcast(text)
        return gr.skip()

    def do_clear():
        _require_facilitator(workshop)
        workshop.broadcast("")
        return ""

    def do_cancel(choice):
        _require_facilitator(workshop)
        if not choice or "/" not in choice:
            raise gr.Error("pick a run to cancel")
        user, run_id = choice.split("/", 1)
        workshop.cancel(user, run_id)
        return gr.skip()

    pause.click(do_pause, None, [queue_md], api_name="workshop_pause")
    resume.click(do_resume, None, [queue_md], api_name="workshop_resume")
    send.click(do_broadcast, [message], [message], api_name="workshop_broadcast")
    clear.click(do_clear, None, [message], api_name="workshop_clear")
    cancel.click(do_cancel, [target], [target], api_name="workshop_cancel")
    pending_loads(workshop).append((on_load, None, [tab, timer]))
    return {"tab": tab}
