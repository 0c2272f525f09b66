"""ja/en for every label. Each tab keeps its own small table {key: (en, ja)} and binds components
to keys. Switching language relabels the bound components in the browser, from a table of both languages
written into the page once (client_table); the server only redraws what it draws (plots, status lines)."""
from __future__ import annotations

import json
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

    def client_table(self) -> tuple[list, dict[str, list[dict]]]:
        """(components, {lang: one update per component}): the bound components, each once, with every
        attribute bound to it merged into one update per language."""
        components, updates = [], {lang: [] for lang in LANGS}
        slot: dict[int, int] = {}
        for b in self.bindings:
            if id(b.component) not in slot:
                slot[id(b.component)] = len(components)
                components.append(b.component)
                for lang in LANGS:
                    updates[lang].append({"__type__": "update"})
            for lang in LANGS:
                update = updates[lang][slot[id(b.component)]]
                update[b.attr] = self.t(b.key, lang)
                if b.info_key:
                    update["info"] = self.t(b.info_key, lang)
        return components, updates


def relabel_js(updates: dict[str, list[dict]], groups: dict[str, list[int]]) -> str:
    """The browser side of the switch, a js function `(lang) => [update, …, shown tab's id]` for the components of
    client_table and one more output, applied by Gradio's frontend to the components' props (a tab not drawn yet
    is drawn with them when it opens). `groups` maps a top-level tab's button id to the positions of its
    components; it relabels what is not in a group (header, tab titles) and the group of the tab shown, at once;
    every other tab is relabelled when next shown (tab_relabel_js). The table of both languages is written into
    the page, as [attribute, text, …] per component, with {tab button: language its labels are in} and {tab id:
    language its charts are drawn in} for the tabs' select listeners (ui/app.language_switch). The shown tab's id
    goes to the server, which redraws that tab's charts alone."""
    packed = {lang: [[x for key, text in u.items() if key != "__type__" for x in (key, text)] for u in ups]
              for lang, ups in updates.items()}
    table = json.dumps({"text": packed, "groups": groups}, ensure_ascii=False, separators=(",", ":"))
    make = ("const make = (pairs) => { const u = {__type__: 'update'}; for (let i = 0; i < pairs.length; i += 2)"
            " u[pairs[i]] = pairs[i + 1]; return u; };")
    first = ("(lang) => { const r = window.__labRelabel = " + table + "; " + make +
             " const later = new Set(); for (const [button, positions] of Object.entries(r.groups)) {"
             " if (document.getElementById(button)?.getAttribute('aria-selected') !== 'true')"
             " positions.forEach((i) => later.add(i)); } r.later = later;"
             " const shown = document.querySelector('button[role=tab][aria-selected=true]')?.dataset.tabId || '';"
             " r.lang = lang; r.drawn = {[shown]: lang}; r.labelled = {};"
             " for (const button of Object.keys(r.groups)) if (!later.has(r.groups[button][0])) r.labelled[button] = lang;"
             " return [...(r.text[lang] || []).map((pairs, i) => later.has(i) ? {__type__: 'update'} : make(pairs)),"
             " shown]; }")
    return first


def tab_relabel_js(button: str, positions: list[int]) -> str:
    """The js of a tab's select listener, its outputs the components at `positions` of client_table: after a
    switch, the first time the tab is shown, its labels take the language (the tabs not shown are relabelled
    lazily, so the switch itself touches only what is on screen)."""
    make = "(pairs) => { const u = {__type__: 'update'}; for (let i = 0; i < pairs.length; i += 2) u[pairs[i]] = pairs[i + 1]; return u; }"
    return ("() => { const r = window.__labRelabel, b = %s, p = %s, make = %s;"
            " const stale = !!r && r.labelled[b] !== r.lang; if (stale) r.labelled[b] = r.lang;"
            " return p.map((i) => stale ? make(r.text[r.lang][i]) : {__type__: 'update'}); }"
            % (json.dumps(button), json.dumps(positions), make))
