"""ja/en for every label. Each tab keeps its own small table {key: (en, ja)} and binds components
to keys; switching language sends one update per bound component (label, value or info)."""
from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

LANGS = ("ja", "en")


@dataclass
class Binding:
    component: gr.components.Component | gr.blocks.BlockContext
    key: str
    attr: str  # "label", "value" (buttons, markdown) or "placeholder"
    info_key: str | None = None


@dataclass
class I18n:
    lang: str = "ja"
    table: dict[str, tuple[str, str]] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)

    def add(self, entries: dict[str, tuple[str, str]]) -> None:
        for key, pair in entries.items():
            if key in self.table and self.table[key] != pair:
                raise ValueError(f"i18n key '{key}' defined twice with different text")
            self.table[key] = pair

    def t(self, key: str, lang: str | None = None) -> str:
        en, ja = self.table[key]
        return ja if (lang or self.lang) == "ja" else en

    def bind(self, component, key: str, attr: str = "label", info_key: str | None = None):
        self.bindings.append(Binding(component, key, attr, info_key))
        return component

    def components(self) -> list:
        return [b.component for b in self.bindings]

    def updates(self, lang: str) -> list:
        out = []
        for b in self.bindings:
            kwargs = {b.attr: self.t(b.key, lang)}
            if b.info_key:
                kwargs["info"] = self.t(b.info_key, lang)
            out.append(gr.update(**kwargs))
        return out
