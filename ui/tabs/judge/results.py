"""Results of the judge run being watched: win / loss / tie with 95% intervals and Bradley–Terry
ratings, per category, the judge's bias diagnostics beside its verdicts, human verdicts counted
apart, and the exports (CSV, JSON, preference pairs for the DPO tab). The numbers are read by
lab/evals/results.py and drawn by lab/evals/charts.py (the run's HTML report draws the same)."""
from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from lab.evals import results as judge_results
from lab.evals.charts import bias_figure, category_figure, results_figure
from lab.evals.outputs import run_output

from .parts import Context, ResultsParts


def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def layout(ctx: Context) -> ResultsParts:
    t, b = ctx.t, ctx.bind
    with gr.Tab(t("results"), id="judge-results", elem_id="judge-results") as tab:
        b(tab, "results")
        run_label = gr.Markdown(t("no_results"), elem_id="judge-run-label")
        bias_box = gr.HTML(bias_html(None, ctx.lang), elem_id="judge-bias-box")
        table = gr.Dataframe(results_table(None), interactive=False, elem_id="judge-table", wrap=True)
        results_plot = gr.Plot(results_figure(None, ctx.lang), elem_id="judge-results-plot", show_label=False)
        with gr.Row():
            category_plot = gr.Plot(category_figure(None, ctx.lang), elem_id="judge-category-plot", show_label=False)
            bias_plot = gr.Plot(bias_figure(None, [], None, ctx.lang), elem_id="judge-bias-plot", show_label=False)
        human = gr.Markdown("", elem_id="judge-human")
        with gr.Row():
            export_csv = b(gr.Button(t("export_csv"), elem_id="judge-export-csv"), "export_csv", "value")
            export_json = b(gr.Button(t("export_json"), elem_id="judge-export-json"), "export_json", "value")
            export_pref = b(gr.Button(t("export_pref"), elem_id="judge-export-pref"), "export_pref", "value")
        export_file = b(gr.File(label=t("export_file"), interactive=False, visible=False, elem_id="judge-export-file"),
                        "export_file")
        export_note = gr.Markdown("", elem_id="judge-export-note")
    return ResultsParts(run_label, bias_box, table, results_plot, category_plot, bias_plot, human, export_csv,
                        export_json, export_pref, export_file, export_note)


def render(ctx: Context, parts: ResultsParts, run_id: str | None, result, lang: str) -> dict:
    """What the section shows for run `run_id` (`result` None: not a finished judge run yet)."""
    summary = result.summary if result else None
    waiting = ctx.t("no_results", lang)
    if summary:
        label = f"**{run_id}** · {result.mode} · {len(result.judgments)} judgments"
    else:
        label = f"**{run_id}** · {waiting}" if run_id else waiting
    return {parts.run_label: label, parts.bias_box: bias_html(summary, lang), parts.table: results_table(summary),
            parts.results_plot: results_figure(summary, lang), parts.category_plot: category_figure(summary, lang),
            parts.bias_plot: bias_figure(result.mode if result else None, result.judgments if result else [], summary, lang),
            parts.human: human_md(result, lang)}


def results_table(summary: dict | None) -> pd.DataFrame:
    rows = judge_results.summary_rows(summary)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["model"])


def bias_html(summary: dict | None, lang: str) -> str:
    if not summary or "bias" not in summary:
        return "<div id='judge-bias' data-ready='0'></div>"
    b = summary["bias"]
    ja = lang == "ja"
    warnings = "".join(f"<li class='lab-error'>⚠ {html.escape(w['ja' if ja else 'en'])}</li>" for w in summary.get("warnings", []))
    pc = b["position_consistency"]
    first = b["first_position"]
    length = b["length"]
    bt = summary.get("bradley_terry") or {}
    labels = (("位置の一貫性（両順序で同じ判定）", "先の回答を選んだ割合", "判定と長さの相関", "長い方が勝った割合",
               "判定不能の割合", "位置の項 γ（BT）", "審査員＝出場者") if ja else
              ("Position consistency (same verdict both orders)", "First answer chosen", "Verdict–length correlation",
               "Longer answer won", "Unparsed replies", "Position term γ (BT)", "Judge is a contestant"))
    corr = length["correlation"] if length.get("n") else length.get("score_length_correlation")
    values = (f"{_pct(pc['rate'])} ({pc['consistent']}/{pc['pairs']})" if pc.get("pairs") else "–",
              f"{_pct(first['rate'])} ({first['first']}/{first['decisive']})" if first.get("decisive") else "–",
              "–" if corr is None else f"{corr:+.2f}", _pct(length.get("longer_wins_rate")), _pct(b.get("unparsed_rate")),
              "–" if not bt else f"{bt['position_logit']:+.2f} (P={bt['first_position_win_prob']:.2f})",
              b.get("judge_is_contestant") or ("いいえ" if ja else "no"))
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(str(v))}</b></td></tr>" for k, v in zip(labels, values))
    head = "審査員のバイアス診断" if ja else "The judge's bias diagnostics"
    judge = summary.get("judge", {})
    return (f"<div id='judge-bias' data-ready='1' data-consistency='{pc.get('rate')}'>"
            f"<h4>{head} — {html.escape(str(judge.get('model')))} ({html.escape(str(judge.get('method')))}, "
            f"{html.escape(str(judge.get('prompt_lang')))})</h4><ul>{warnings}</ul><table>{rows}</table></div>")


def human_md(result, lang: str) -> str:
    """The human verdicts counted on their own, their agreement with the judge, κ and self-preference."""
    if result is None:
        return ""
    h = judge_results.human_summary(result)
    ja = lang == "ja"
    if not h["n"]:
        return "あなたの判定はまだありません。" if ja else "No human verdicts yet."
    if result.mode == "single":
        diff = "–" if h["mean_abs_diff"] is None else f"{h['mean_abs_diff']:.2f}"
        return (f"あなたの採点 {h['n']} 件・審査員との平均差 {diff}" if ja else f"{h['n']} human scores · mean |human − judge| {diff}")
    table = ", ".join(f"{m}: {r['win']}-{r['loss']}-{r['tie']}" for m, r in h["table"].items())
    agree = _pct(h["agreement_with_judge"])
    text = (f"**あなたの判定** {h['n']} 件（勝-負-分 {table}）・審査員との一致率 {agree}（{h['compared']} 件中）" if ja else
            f"**Human verdicts** {h['n']} (win-loss-tie {table}) · agreement with the judge {agree} of {h['compared']}")
    return text + agreement_md(result.summary, ja)


def agreement_md(summary: dict | None, ja: bool) -> str:
    """Cohen's κ with its interval, and the judge's self-preference, from summary.json."""
    summary = summary or {}
    out = ""
    a = summary.get("human_agreement")
    if a and a.get("kappa") is not None:
        ci = a.get("kappa_ci")
        ci_text = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
        out += (f" · Cohen の κ = {a['kappa']:.2f}{ci_text}（n={a['n']}）" if ja else
                f" · Cohen's κ = {a['kappa']:.2f}{ci_text} (n={a['n']})")
    s = summary.get("self_preference")
    if s and s.get("self_preference") is not None:
        out += (f" · 自己選好 {s['self_preference']:+.2f}（審査員 {_pct(s['judge_self_win_rate_on_human_items'])} 対 人 "
                f"{_pct(s['human_self_win_rate'])}）" if ja else
                f" · self-preference {s['self_preference']:+.2f} (judge {_pct(s['judge_self_win_rate_on_human_items'])} vs "
                f"people {_pct(s['human_self_win_rate'])} for '{s['contestant']}')")
    return out


def export(ctx: Context, result, kind: str, lang: str):
    """(file update, note): the watched run's items as CSV or JSON, or its decided pairs as DPO data."""
    if result is None:
        return gr.skip(), ctx.t("no_results", lang)
    folder = run_output(result.run_dir, "exports")
    name = result.run_dir.name
    if kind == "csv":
        return gr.update(value=str(judge_results.export_csv(result, folder / f"{name}.csv")), visible=True), ""
    if kind == "json":
        return gr.update(value=str(judge_results.export_json(result, folder / f"{name}.json")), visible=True), ""
    path, written, skipped = judge_results.export_preferences(result, folder / f"{name}-preferences.jsonl")
    note = (f"{written} 組を書き出しました（{skipped} 件は引き分け・判定不能・片順のみ・複数ターンのため除外）。DPO タブで使えます：\n"
            if lang == "ja" else
            f"{written} pairs written ({skipped} left out: ties, unparsed, one order only, multi-turn). Use them in the DPO tab:\n")
    return gr.update(value=str(path), visible=True), note + f"`lab run presets/dpo-tiny.yaml --set dataset.path={path}`"


def wire(ctx: Context, parts: ResultsParts, watch: gr.Dropdown, load_result) -> None:
    """`load_result(run_id)`: the run's JudgeResult, or None."""
    for button, kind in ((parts.export_csv, "csv"), (parts.export_json, "json"), (parts.export_pref, "pref")):
        button.click(lambda run_id, lang, kind=kind: export(ctx, load_result(run_id), kind, lang),
                     [watch, ctx.lang_state], [parts.export_file, parts.export_note])
