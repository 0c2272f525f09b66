"""Workshop mode in the UI: every event runs as the logged-in participant, and a broadcast banner on
every page. The facilitator's tab is ui/tabs/facilitator.py. The rules live in lab/workshop.py; this
file only shows them.

Why process_api is wrapped: Gradio gives the logged-in user to a handler only as a `gr.Request`
argument, and the lab has a hundred handlers that should not each take one. Every event — clicks,
timers, page loads, and calls to the HTTP API — goes through Blocks.process_api with the request, and
handlers run in threads that copy the caller's context, so setting the participant in a context
variable there is enough for RunStore, uploads and path checks to see the right workspace."""
from __future__ import annotations

import html

import gradio as gr

from lab.errors import UserError
from lab.paths import current_user
from lab.workshop import Workshop

from .i18n import I18n

TEXT = {"ws.you": ("Signed in as", "ログイン中")}


def install(demo: gr.Blocks, workshop: Workshop) -> None:
    """Run every event of `demo` as the request's user (see the module docstring), and turn a
    UserError into the one-line error toast."""
    original = demo.process_api

    async def process_api(*args, **kwargs):
        request = kwargs.get("request")
        if isinstance(request, list):  # a batched event: all from one session
            request = request[0] if request else None
        with workshop.as_user(getattr(request, "username", None)):
            try:
                return await original(*args, **kwargs)
            except UserError as e:
                raise gr.Error(str(e)) from None

    demo.process_api = process_api
    for fn, inputs, outputs in _LOADS.pop(id(workshop), []):
        demo.load(fn, inputs, outputs, show_progress="hidden", api_name=False)


def banner(workshop: Workshop, i18n: I18n) -> None:
    """Who is signed in, and the facilitator's broadcast (polled; a file read every few seconds)."""
    i18n.add(TEXT)
    with gr.Row():
        who = gr.Markdown(elem_id="ws-user")
        message = gr.HTML(elem_id="ws-broadcast")
    timer = gr.Timer(10.0)  # a broadcast can wait a few seconds; 30 pages polling every 3 s cannot

    def read():
        text = workshop.current_broadcast()
        if not text:
            return ""
        return ("<div style='background:#fff4c2;border:1px solid #e0c060;border-radius:6px;padding:6px 12px;"
                f"font-weight:600'>{html.escape(text)}</div>")

    def whoami():
        name = current_user() or "?"
        role = "facilitator" if workshop.is_facilitator(name) else "participant"
        return f"{i18n.t('ws.you')}: **{name}** ({role})", read()

    timer.tick(read, None, [message], show_progress="hidden", api_name=False)
    pending_loads(workshop).append((whoami, None, [who, message]))


_LOADS: dict[int, list] = {}  # page-load handlers of a workshop's parts (banner, facilitator tab), attached by install()


def pending_loads(workshop: Workshop) -> list:
    return _LOADS.setdefault(id(workshop), [])
