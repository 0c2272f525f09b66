"""The run panel's chat, shown once a run succeeds: the result (left) beside the model it started
from (right), both streamed at once."""
from __future__ import annotations

import gradio as gr

from lab.models import chat

from .layout import Panel, Parts


def wire_chat(panel: Panel, parts: Parts) -> None:
    store = panel.store

    def send(text, histories, view, max_new_tokens, temp):
        if view is None or not (text or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        start_model = store.get(view.run_id).load_spec().model.name
        hist_a, hist_b = (h + [{"role": "user", "content": text}] for h in histories)
        reply_a = reply_b = ""
        for reply_a, reply_b in chat.stream_many([f"run:{view.run_id}", start_model], [hist_a, hist_b],
                                                 int(max_new_tokens), float(temp)):
            yield (hist_a + [{"role": "assistant", "content": reply_a}],
                   hist_b + [{"role": "assistant", "content": reply_b}], gr.skip(), "")
        hist_a = hist_a + [{"role": "assistant", "content": reply_a}]
        hist_b = hist_b + [{"role": "assistant", "content": reply_b}]
        yield hist_a, hist_b, (hist_a, hist_b), ""

    chat_inputs = [parts.msg, parts.history_state, parts.view_state, parts.max_new, parts.temperature]
    chat_outputs = [parts.bot_left, parts.bot_right, parts.history_state, parts.msg]
    parts.send_btn.click(send, chat_inputs, chat_outputs)
    parts.msg.submit(send, chat_inputs, chat_outputs)
    parts.clear_btn.click(lambda: ([], [], ([], [])), None, [parts.bot_left, parts.bot_right, parts.history_state])
