"""Where a tab names an OpenAI-compatible endpoint, and the box for a participant's own API key.

Single-user: a free URL box (or, when the facilitator configured endpoints, a list that also takes a
typed URL). Workshop mode: only the facilitator's endpoints, by name (lab/endpoints.py checks it
again at the call, whatever the page sent). A pasted key goes with each event from the page and
is handed on to the call or the one worker that needs it; it is never stored."""
from __future__ import annotations

import gradio as gr

from lab import endpoints
from lab.paths import confined

LOCAL = ("—", "")


def shown(base_url: str | None) -> str:
    """What the field shows for a spec's base_url: an endpoint's name when it is one."""
    endpoint = endpoints.by_url(base_url)
    return endpoint.name if endpoint else (base_url or "")


def endpoint_field(value: str | None, label: str, elem_id: str, **kwargs):
    names = endpoints.names()
    value = shown(value)
    if confined():
        return gr.Dropdown([LOCAL, *names], value=value if value in names else "", label=label, elem_id=elem_id, **kwargs)
    if names:
        return gr.Dropdown([LOCAL, *names], value=value, allow_custom_value=True, label=label, elem_id=elem_id, **kwargs)
    return gr.Textbox(value, label=label, placeholder="http://127.0.0.1:8000/v1", elem_id=elem_id, **kwargs)


def key_field(label: str, elem_id: str, **kwargs) -> gr.Textbox:
    return gr.Textbox("", type="password", label=label, elem_id=elem_id, **kwargs)
