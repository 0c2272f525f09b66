"""The side-by-side viewer: the watched run's items filtered by category, outcome and the two orders'
disagreement; one item's question, both answers and both orders' verdicts with their rationales; and
a person's own verdict on it, saved beside the run and counted apart from the judge's."""
from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from lab.errors import UserError
from lab.evals import results as judge_results

from .parts import Context, ResultsParts, ViewerParts
from .results import human_md
from .text import ALL

ITEM_COLUMNS = ["key", "question_id", "category", "model_1", "model_2", "verdict_ab", "verdict_ba", "winner",
                "inconsistent", "human"]
SINGLE_COLUMNS = ["key", "question_id", "category", "model", "score", "verdict", "human"]
NO_FLAG = "<div id='judge-flag'></div>"


def layout(ctx: Context) -> ViewerParts:
    t, b = ctx.t, ctx.bind
    with gr.Tab(t("viewer"), id="judge-viewer", elem_id="judge-viewer") as tab:
        b(tab, "viewer")
        with gr.Row(equal_height=True):
            category = b(gr.Dropdown([ALL], value=ALL, label=t("filter_category"), elem_id="judge-filter-category"),
                         "filter_category")
            winner = b(gr.Dropdown([ALL], value=ALL, label=t("filter_winner"), elem_id="judge-filter-winner"), "filter_winner")
            inconsistent = b(gr.Checkbox(False, label=t("filter_inconsistent"), elem_id="judge-filter-inconsistent"),
                             "filter_inconsistent")
        items = gr.Dataframe(items_frame(None, ALL, ALL, False), interactive=False, max_height=260,
                             elem_id="judge-items", wrap=True)
        item = b(gr.Dropdown([], label=t("item"), elem_id="judge-item"), "item")
        flag = gr.HTML(NO_FLAG)
        question = gr.Markdown("", elem_id="judge-question")
        with gr.Row(equal_height=True):
            answer_1 = gr.Markdown("", elem_id="judge-answer-1", container=True)
            answer_2 = gr.Markdown("", elem_id="judge-answer-2", container=True)
        with gr.Row():
            order_ab = gr.Markdown("", elem_id="judge-order-ab")
            order_ba = gr.Markdown("", elem_id="judge-order-ba")
        with gr.Row(equal_height=True):
            override = b(gr.Radio([], label=t("override"), elem_id="judge-override", scale=3), "override")
            override_score = b(gr.Number(None, minimum=1, maximum=10, label=t("override_score"), visible=False,
                                         elem_id="judge-override-score", scale=1), "override_score")
            save = b(gr.Button(t("save_override"), elem_id="judge-save-override", scale=1), "save_override", "value")
        human = gr.Markdown("", elem_id="judge-viewer-human")
    return ViewerParts(category, winner, inconsistent, items, item, flag, question, answer_1, answer_2, order_ab,
                       order_ba, override, override_score, save, human)


def _filter(value):
    return None if value in (None, "", ALL) else value


def items_frame(result, category, winner, inconsistent_only) -> pd.DataFrame:
    if result is None:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    rows = judge_results.rows(result, _filter(category), _filter(winner), bool(inconsistent_only))
    if result.mode == "single":
        return pd.DataFrame(rows, columns=SINGLE_COLUMNS)
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    frame["inconsistent"] = frame["inconsistent"].map(lambda x: "⚠ yes" if x else "")
    return frame


def _turns_md(turns: list[str]) -> str:
    if not turns:
        return "_(none)_"
    if len(turns) == 1:
        return turns[0]
    return "\n\n".join(f"**({i + 1})** {t}" for i, t in enumerate(turns))


def detail_md(result, key: str | None, lang: str) -> tuple[str, str, str, str, str, str]:
    """question, answer 1, answer 2, order AB, order BA, flag (HTML)."""
    empty = ("", "", "", "", "", NO_FLAG)
    if result is None or not key:
        return empty
    try:
        d = judge_results.detail(result, key)
    except UserError:
        return empty
    ja = lang == "ja"
    ref = f"\n\n**{'参考解答' if ja else 'Reference'}:** {' / '.join(d['reference'])}" if d.get("reference") else ""
    question = f"**{d['category']} · Q{key.split('|')[0]}**\n\n{_turns_md(d['question'])}{ref}"
    if d["mode"] == "single":
        score = "–" if d["score"] is None else d["score"]
        return (question, f"### {d['model']}\n\n{_turns_md(d['answer'])}", "",
                f"**{'点数' if ja else 'Score'}: {score}**\n\n```\n{d['rationale']}\n```", "", NO_FLAG)

    def order_md(order: str) -> str:
        o = d["orders"].get(order)
        if not o:
            return f"**{order}**: –"
        shown = f"{o['shown_first']} {'を先に表示' if ja else 'shown first'}"
        reason = f" ({o['unparsed_reason']})" if o.get("unparsed_reason") else ""
        prob = f" · P({d['model_1']})={o['p_model_1']:.2f}" if o.get("p_model_1") is not None else ""
        return f"**{order}** · {shown} → **{o['verdict']}** = {o['winner']}{reason}{prob}\n\n```\n{o['rationale']}\n```"

    if d["inconsistent"]:
        flag = "⚠ 二つの順番で判定が食い違っています（引き分けとして集計）" if ja else "⚠ The two orders disagree (counted as a tie)"
    elif d["single_order"]:
        flag = "片方の順番しか判定できませんでした" if ja else "Only one order could be read"
    else:
        flag = "✓ 両方の順番で同じ判定" if ja else "✓ Same verdict in both orders"
    human = f" · {'あなたの判定' if ja else 'your verdict'}: {d['human']}" if d.get("human") else ""
    flag_html = (f"<div id='judge-flag' data-inconsistent='{int(d['inconsistent'])}'><b>{html.escape(flag)}</b>"
                 f" · {'結果' if ja else 'outcome'}: {html.escape(d['winner'])}{html.escape(human)}</div>")
    return (question, f"### {d['model_1']}\n\n{_turns_md(d['answer_1'])}", f"### {d['model_2']}\n\n{_turns_md(d['answer_2'])}",
            order_md("AB"), order_md("BA"), flag_html)


def _detail(parts: ViewerParts, result, key: str | None, lang: str) -> dict:
    """One item's side-by-side view and the verdict a person may give it."""
    shown = detail_md(result, key, lang)
    score = result.overrides.get(key, {}).get("score") if (result and key) else None
    choices = judge_results.override_choices(result, key)
    current = result.overrides.get(key, {}).get("winner") if (result and key) else None
    return {**dict(zip([parts.question, parts.answer_1, parts.answer_2, parts.order_ab, parts.order_ba, parts.flag], shown)),
            parts.override: gr.update(choices=choices, value=current if choices else None, visible=bool(choices)),
            parts.override_score: gr.update(visible=bool(result and result.mode == "single"), value=score)}


def render(parts: ViewerParts, result, lang: str, category, winner, inconsistent) -> dict:
    """The viewer for a newly shown run: its filters (kept where they still apply), items, no item picked."""
    categories, winners = judge_results.filter_choices(result)
    category = category if category in categories else ALL
    winner = winner if winner in winners else ALL
    frame = items_frame(result, category, winner, inconsistent)
    return {parts.category: gr.update(choices=[ALL, *categories], value=category),
            parts.winner: gr.update(choices=[ALL, *winners], value=winner), parts.items: frame,
            parts.item: gr.update(choices=frame["key"].tolist() if len(frame) else [], value=None),
            **_detail(parts, result, None, lang), parts.human: human_md(result, lang)}


def detail_outputs(parts: ViewerParts) -> list:
    return [parts.question, parts.answer_1, parts.answer_2, parts.order_ab, parts.order_ba, parts.flag, parts.override,
            parts.override_score]


def wire(ctx: Context, parts: ViewerParts, results: ResultsParts, watch: gr.Dropdown, load_result) -> None:
    """`load_result(run_id)`: the run's JudgeResult, or None."""
    def filter_items(run_id, category, winner, inconsistent):
        frame = items_frame(load_result(run_id), category, winner, inconsistent)
        return frame, gr.update(choices=frame["key"].tolist() if len(frame) else [], value=None)

    gr.on([parts.category.input, parts.winner.input, parts.inconsistent.input], filter_items, [watch, *parts.filters()],
          [parts.items, parts.item], show_progress="hidden")

    outputs = detail_outputs(parts)

    def pick_item(run_id, key, lang):
        values = _detail(parts, load_result(run_id), key, lang)
        return [values[c] for c in outputs]

    parts.item.input(pick_item, [watch, parts.item, ctx.lang_state], outputs)

    def select_row(evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        return row[0] if row else gr.skip()

    parts.items.select(select_row, None, [parts.item]).then(pick_item, [watch, parts.item, ctx.lang_state], outputs)

    def save_verdict(run_id, key, choice, score, lang, category, winner, inconsistent):
        result = load_result(run_id)
        if result is None or not key:
            return [gr.skip()] * 5
        if result.mode == "single":
            judge_results.save_override(result.run_dir, key, score=None if score in (None, "") else float(score))
        else:
            judge_results.save_override(result.run_dir, key, winner=None if choice in (None, "clear") else choice)
        result = load_result(run_id)
        human = human_md(result, lang)
        return (items_frame(result, category, winner, inconsistent), human, human, detail_md(result, key, lang)[5],
                gr.update(value=key))

    parts.save.click(save_verdict, [watch, parts.item, parts.override, parts.override_score, ctx.lang_state,
                                    *parts.filters()],
                     [parts.items, parts.human, results.human, parts.flag, parts.item])
