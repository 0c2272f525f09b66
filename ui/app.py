"""The lab's Gradio Blocks: a language switch and one tab per stage of the loop."""
from __future__ import annotations

import json

import gradio as gr

from lab.runs import RunStore

from .i18n import LANGS, I18n, relabel_js, tab_relabel_js
from .tabs import dedup as dedup_tab
from .tabs import dpo as dpo_tab
from .tabs import home as home_tab
from .tabs import launch as launch_tab
from .tabs import judge as judge_tab
from .tabs import rag as rag_tab
from .tabs import runs as runs_tab
from .tabs import sft as sft_tab
from .tabs.runs_actions import connect_clone

# The tabs in the order a learner meets them; each module has build(store, i18n, lang_state) -> dict
# with "tab" and optionally "on_load" (fn, inputs, outputs), "relabel_plot" and "open_preset" (fn, inputs,
# outputs; fn(preset name, *inputs) fills the tab's form). Home comes first, Runs stays last.
TABS = [home_tab, dedup_tab, sft_tab, dpo_tab, launch_tab, rag_tab, judge_tab, runs_tab]

CSS = """
.lab-error { color: #b00020; font-weight: 600; margin-top: .3em; }
.lab-state { font-weight: 600; }
.lab-succeeded { color: #1b7f3b; } .lab-failed { color: #b00020; } .lab-cancelled { color: #8a6d00; }
.lab-running { color: #0b57d0; } .lab-queued { color: #666; }
#sft-error p { color: #b00020; font-weight: 600; }
""" + home_tab.CSS

HEADER = {"title": ("# LLM Lab", "# LLM Lab"), "lang": ("Language / 言語", "言語 / Language"),
          "subtitle": ("Build generative LLMs tab by tab: every run is a folder, every chart is live.",
                       "タブを順にたどって生成 LLM を作る実習環境。実行はすべてフォルダに残り、グラフはリアルタイムに更新されます。")}


def build_app(store: RunStore | None = None, lang: str = "ja", workshop=None) -> gr.Blocks:
    """`workshop` (a lab.workshop.Workshop) turns on workshop mode: a per-participant store, the
    facilitator's tab (ui/tabs/facilitator.py) and the broadcast banner (ui/workshop.py)."""
    if workshop is not None:  # workshop
        from . import workshop as workshop_ui
        from .tabs import facilitator as facilitator_tab
        store = workshop.store()
    store = store or RunStore()
    i18n = I18n(lang=lang)
    i18n.add(HEADER)
    with gr.Blocks(title="LLM Lab") as demo:
        lang_state = gr.State(lang)
        with gr.Row():
            with gr.Column(scale=4):
                gr.Markdown(i18n.t("title"))
                i18n.bind(gr.Markdown(i18n.t("subtitle")), "subtitle", "value")
            lang_radio = i18n.bind(gr.Radio(list(LANGS), value=lang, label=i18n.t("lang"), elem_id="lang", scale=1), "lang")
        if workshop is not None:  # workshop
            workshop_ui.banner(workshop, i18n)
        with gr.Tabs() as tabs:
            parts = [module.build(store, i18n, lang_state) for module in TABS]
            if workshop is not None:  # workshop
                parts.append(facilitator_tab.build(workshop, i18n))
        by_module = dict(zip(TABS, parts))
        if dpo_tab in by_module and judge_tab in by_module:  # DPO result vs its start, straight into the Judge tab
            from .tabs.judge import contestants_frame

            def to_judge(view):
                if view is None:
                    return gr.skip(), gr.skip()
                return contestants_frame(dpo_tab.judge_contestants(store, view)), gr.Tabs(selected="judge")

            by_module[dpo_tab]["to_judge"].click(to_judge, [by_module[dpo_tab]["view_state"]],
                                                 [by_module[judge_tab]["contestants"], tabs])
        by_tab = {part["tab"].id: part for part in parts if "tab" in part}
        if home_tab in by_module:
            connect_home(by_module[home_tab], by_tab, tabs)
        if dedup_tab in by_module:
            connect_kept_corpus(by_module[dedup_tab], by_tab, tabs)
        if runs_tab in by_module:
            connect_clone(by_module[runs_tab], by_tab, tabs)

        language_switch(i18n, lang_radio, lang_state, parts, tabs, gr.Textbox(visible=False, elem_id="lang-shown-tab"))
        loads = [part["on_load"] for part in parts if "on_load" in part]
        if loads:
            # one event for every tab's page load: the page paid for seven (usable in Chromium 4.2 s -> 2.4 s median)
            demo.load(*one_event(loads, "load_tabs", at_page_load=True), show_progress="hidden")
        if workshop is not None:  # workshop: every event runs as the logged-in participant
            workshop_ui.install(demo, workshop)
    return demo


def language_switch(i18n: I18n, lang_radio: gr.Radio, lang_state: gr.State, parts: list[dict], tabs: gr.Tabs,
                    shown_tab: gr.Textbox) -> None:
    """The ja/en radio starts two events, one after the other. In the browser, the header, the tab titles and
    every bound component of the tab shown (labels, buttons, markdown, placeholders) are relabelled from both
    languages' table written into the page (ui/i18n.relabel_js): no round trip (400-odd label updates through the
    server took seconds, Gradio rebuilding each as a component); that step also writes the shown tab's id into
    `shown_tab`. Then, on the server, lang_state follows and the shown tab alone redraws what it draws in the
    language (plot titles are drawn into the figure, status lines are HTML). Every other tab, when next selected,
    relabels its components in the browser and redraws its charts and status lines through the server, each only
    if still in the other language: relabelling 400-odd components and Plotly redrawing every mounted chart at the
    switch cost the page most of a second (SFT tab fully switched: 1.1 s median -> 0.67 s)."""
    components, updates = i18n.client_table()
    groups = tab_groups(components, tabs)
    shown_first = relabel_js(updates, groups)
    for tab in tabs.children:
        positions = groups.get(f"{tab.elem_id}-button")
        if positions:
            tab.select(None, None, [components[i] for i in positions], js=tab_relabel_js(f"{tab.elem_id}-button", positions),
                       show_progress="hidden")
    redraws = [(part["tab"], *part["relabel_plot"]) for part in parts if "tab" in part and "relabel_plot" in part]
    for tab, fn, inputs, outputs in redraws:
        # a tab drawn in the other language clicks its hidden button when selected: one server event then, none
        # when nothing changed (a server event at every tab change cost 0.3 s of the page's main thread)
        button = gr.Button(visible="hidden", elem_id=f"lang-redraw-{tab.id}")
        button.click(fn, inputs, outputs, show_progress="hidden")
        tab.select(None, js="() => { const r = window.__labRelabel; if (r && r.drawn[%s] !== r.lang) {"
                            " r.drawn[%s] = r.lang; document.getElementById(%s)?.click(); } }"
                            % (json.dumps(tab.id), json.dumps(tab.id), json.dumps(f"lang-redraw-{tab.id}")))
    relabel = lang_radio.change(None, [lang_radio], [*components, shown_tab], js=shown_first, show_progress="hidden")
    # then, not beside: a server event's status changes make Gradio's page revisit every component's loading
    # state (hundreds here), which delayed the relabelling by most of a second when both ran at once.
    relabel.then(*server_redraw(lang_radio, lang_state, redraws, shown_tab), show_progress="hidden")


def tab_groups(components: list, tabs: gr.Tabs) -> dict[str, list[int]]:
    """{top-level tab's button id: positions of the components inside it}; a tab's own title is not inside it."""
    groups: dict[str, list[int]] = {}
    for position, component in enumerate(components):
        block = component.parent
        while block is not None and block.parent is not tabs:
            block = block.parent
        if block is not None and block.elem_id:
            groups.setdefault(f"{block.elem_id}-button", []).append(position)
    return groups


def server_redraw(lang_radio: gr.Radio, lang_state: gr.State, redraws: list[tuple], shown_tab: gr.Textbox):
    """(fn, inputs, outputs) of the server's half of the switch: lang_state, then the redraw of the tab whose id
    `shown_tab` holds (redraws: (tab, fn, inputs, outputs) per tab)."""
    def set_state(new_lang):
        return new_lang

    def if_shown(tab_id, fn, n_out):
        def run(shown_id, *values):
            if shown_id != tab_id:
                return gr.skip() if n_out == 1 else [gr.skip()] * n_out
            return fn(*values)
        return run

    # the redraws read the language from lang_state, which this very event is changing: they get the radio's
    return one_event([(set_state, [lang_radio], [lang_state]),
                      *((if_shown(tab.id, fn, len(outputs)), [shown_tab, *inputs], outputs)
                        for tab, fn, inputs, outputs in redraws)],
                     "switch", substitute={id(lang_state): lang_radio})


def one_event(handlers: list[tuple], name: str, substitute: dict | None = None, at_page_load: bool = False):
    """(fn, inputs, outputs) of ONE event running several handlers (fn, inputs, outputs) in turn: one round trip,
    and one set of loading-status changes, which Gradio's page pays for across all its components at every step
    of every event. An input given in `substitute` (by id) is read from its replacement; `at_page_load`, a
    component input is its value as built (what a page sends when it loads) and only gr.State inputs are the
    event's, so an API client calls it without arguments as it called each tab's page load. A component two
    handlers update gets the two updates merged; a handler that fails leaves its outputs alone with a warning."""
    substitute = substitute or {}
    inputs: list = []
    outputs: list = []
    in_slot: dict[int, int] = {}
    out_slot: dict[int, int] = {}

    def position(component, slots: dict, where: list) -> int:
        if id(component) not in slots:
            slots[id(component)] = len(where)
            where.append(component)
        return slots[id(component)]

    def argument(component):
        if at_page_load and not isinstance(component, gr.State):
            return ("as built", component.value)
        return ("input", position(substitute.get(id(component), component), in_slot, inputs))

    plans = [(fn, [argument(c) for c in fn_inputs or []], [position(c, out_slot, outputs) for c in fn_outputs or []])
             for fn, fn_inputs, fn_outputs in handlers]

    def run_all(*values):
        out = [gr.skip()] * len(outputs)
        for fn, args, positions in plans:
            try:
                result = fn(*(values[x] if how == "input" else x for how, x in args))
            except gr.Error:
                raise
            except Exception as e:  # noqa: BLE001 - one tab's failure must not blank the others
                gr.Warning(str(e).splitlines()[0] if str(e) else type(e).__name__)
                continue
            for pos, value in zip(positions, result if len(positions) > 1 else [result]):
                out[pos] = _merged(out[pos], value)
        return out

    run_all.__name__ = name  # Gradio names the event's endpoint after its function
    return run_all, inputs, outputs


def _merged(first, second):
    is_update = lambda x: isinstance(x, dict) and x.get("__type__") == "update"  # noqa: E731
    if is_update(first) and len(first) == 1:  # gr.skip()
        return second
    first = first if is_update(first) else gr.update(value=first)
    second = second if is_update(second) else gr.update(value=second)
    return {**first, **second}


def _select(tab_id: str):
    return lambda: gr.Tabs(selected=tab_id)


def _switch_on_click(button: gr.Button, tab_id: str) -> None:
    """Browser-side: click the tab's own button at once, so the tab shows before the server answers (a busy
    server can take seconds); the server's gr.Tabs(selected=…) then covers a tab folded into the overflow menu.
    A listener of its own, because a `js` step in front of the server's would replace gr.State inputs."""
    button.click(None, js=f"() => {{ const b = document.querySelector('button[role=tab][data-tab-id=\"{tab_id}\"]');"
                          f" if (b && b.getAttribute('aria-selected') !== 'true') b.click(); window.scrollTo({{top: 0}}); }}")


def _opener(fn, name: str, tab_id: str):
    """Fill the tab's form with preset `name`, then show that tab."""
    return lambda *values: [*fn(name, *values), gr.Tabs(selected=tab_id)]


def connect_home(home: dict, by_tab: dict, tabs: gr.Tabs) -> None:
    """The Home tab's picture switches tabs; its course and gallery buttons open a preset in its tab."""
    for button, tab_id in home["goto"]:
        if tab_id in by_tab:
            _switch_on_click(button, tab_id)
            button.click(_select(tab_id), None, [tabs], show_progress="hidden")
    for button, name, tab_id in home["open"]:
        part = by_tab.get(tab_id, {})
        if "open_preset" not in part:
            continue
        fn, inputs, outputs = part["open_preset"]
        _switch_on_click(button, tab_id)
        event = button.click(_opener(fn, name, tab_id), inputs, [*outputs, tabs], show_progress="hidden")
        scroll_to = part.get("open_scroll", {}).get(name)
        if scroll_to:
            event.then(None, js=f"() => document.querySelector('{scroll_to}')?.scrollIntoView({{block: 'center'}})")


def connect_kept_corpus(dedup: dict, by_tab: dict, tabs: gr.Tabs) -> None:
    """The Data tab's kept corpus, as a text dataset, into the SFT form or pretrain-tiny in the Launch tab."""
    kept = dedup["kept_path"]
    if "sft" in by_tab:
        use_dataset, sft_outputs = by_tab["sft"]["use_dataset"]

        def to_sft(results):
            path = kept(results)
            if path is None:
                return [gr.skip()] * (len(sft_outputs) + 1)
            return [*use_dataset(path, "text"), gr.Tabs(selected="sft")]

        _switch_on_click(dedup["use_sft"], "sft")
        dedup["use_sft"].click(to_sft, [dedup["results_state"]], [*sft_outputs, tabs])
    if "launch" in by_tab:
        open_in_launch, launch_inputs, launch_outputs = by_tab["launch"]["open_preset"]

        def to_pretrain(results, *values):
            path = kept(results)
            if path is None:
                return [gr.skip()] * (len(launch_outputs) + 1)
            return [*open_in_launch("pretrain-tiny", *values, dataset=(path, "text")), gr.Tabs(selected="launch")]

        _switch_on_click(dedup["use_pretrain"], "launch")
        dedup["use_pretrain"].click(to_pretrain, [dedup["results_state"], *launch_inputs], [*launch_outputs, tabs])


def launch_kwargs() -> dict:
    return {"css": CSS, "theme": gr.themes.Soft()}
