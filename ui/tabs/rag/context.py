"""What every section of the RAG tab reads: the run store, the i18n table, the language state and
the tab's forms."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from lab.runs import RunStore

from ...i18n import I18n
from .spec_form import RagForms


@dataclass
class Rag:
    store: RunStore
    i18n: I18n
    lang_state: gr.State
    forms: RagForms

    def t(self, key: str) -> str:
        """`key` in the language the page is built in (a language switch relabels bound components)."""
        return self.i18n.t(key, self.i18n.lang)

    def bind(self, component, key: str, attr: str = "label", info_key: str | None = None):
        return self.i18n.bind(component, key, attr, info_key)
