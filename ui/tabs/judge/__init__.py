"""Judge tab: LLM-as-judge evaluation (MT-bench / Japanese Vicuna QA style) with the judge's own
biases shown beside its verdicts, and llm-jp-eval-style automatic metrics.

Four parts: set up and run a `judge` job (questions, contestants, judge endpoint, mode; live
charts while it runs); results (win / loss / tie with 95% intervals, Bradley–Terry ratings with a
position term, per category, bias diagnostics, human verdicts counted apart, exports); a side-by-side
viewer with filters and a human override per item; and the `eval` job's metrics compared across
runs. The tab builds specs and reads run folders; workers do the work."""
from __future__ import annotations

import html
import json
import math
import re

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.charts import waiting_figure
from lab.endpoints import pasted_key
from lab.errors import UserError
from lab.evals import results as judge_results
from lab.evals.questions import categories_of, load_questions
from lab.jobs import submit
from lab.presets import find_preset, list_presets, read_yaml, validate
from lab.runs import RunStore
from lab.threads import start_thread

from ...endpoint_fields import endpoint_field, key_field
from ...endpoint_fields import shown as shown_endpoint
from ...uploads import keep_upload
from ...i18n import I18n
from ...live import timer_after_idle_poll
from ...runview import RunView
from ...run_panel import equivalent_command as _equivalent_command
from ...run_panel import status_html

TEXT = {
    "judge.tab": ("Judge", "評価（Judge）"),
    "judge.intro": ("An LLM judges answers side by side, in both orders — and its own biases (position, length, "
                    "self-preference) are measured on the same run and shown beside its verdicts.",
                    "LLM が回答を両方の順番で比べて判定します。同じ実行の中で審査員自身のバイアス（位置・長さ・"
                    "自己評価）も測り、判定の横に示します。"),
    "judge.setup": ("Set up and run", "設定と実行"),
    "judge.results": ("Results", "結果"),
    "judge.viewer": ("Side-by-side viewer", "比較ビューア"),
    "judge.metrics": ("Automatic metrics (llm-jp-eval)", "自動評価指標（llm-jp-eval）"),
    "judge.preset": ("Preset", "プリセット"),
    "judge.load": ("Load preset", "プリセットを読み込む"),
    "judge.questions": ("Questions", "質問"),
    "judge.questions_path": ("Question file (MT-bench / Japanese Vicuna QA JSONL)", "質問ファイル（MT-bench／Japanese Vicuna QA 形式の JSONL）"),
    "judge.upload": ("Import your own questions (.jsonl)", "自分の質問を取り込む（.jsonl）"),
    "judge.categories": ("Categories (none ticked = all)", "カテゴリ（未選択ならすべて）"),
    "judge.max_questions": ("Max questions (0 = all)", "最大質問数（0 はすべて）"),
    "judge.contestants": ("Contestants (model: tiny, run:ID, folder or Hub id; or an OpenAI-compatible base_url or endpoint name)",
                          "出場モデル（model は tiny・run:ID・フォルダ・Hub ID。OpenAI 互換の base_url かエンドポイント名も可）"),
    "judge.add_model": ("Add a contestant", "出場モデルを追加"),
    "judge.add": ("Add", "追加"),
    "judge.judge": ("Judge", "審査員"),
    "judge.base_url": ("Judge endpoint (OpenAI-compatible base_url; empty = a local model by log-probability)",
                       "審査員のエンドポイント（OpenAI 互換の base_url。空ならローカルモデルが対数確率で判定）"),
    "judge.model": ("Judge model (empty = the endpoint's first; local: tiny)", "審査員のモデル（空ならエンドポイントの先頭、ローカルは tiny）"),
    "judge.api_key": ("Your API key for the endpoints (kept in this page only)", "エンドポイント用の自分の API キー（このページの中だけで使います）"),
    "judge.method": ("Verdict by", "判定の方法"),
    "judge.mode": ("Mode", "方式"),
    "judge.baseline": ("Baseline (pairwise-baseline)", "基準モデル（pairwise-baseline）"),
    "judge.prompt_lang": ("Judge prompt language", "審査プロンプトの言語"),
    "judge.use_reference": ("Show reference answers to the judge", "参考解答を審査員に見せる"),
    "judge.concurrency": ("Requests in flight", "同時リクエスト数"),
    "judge.max_tokens": ("Judge max tokens", "審査員の最大トークン数"),
    "judge.command": ("Equivalent command", "同じことをするコマンド"),
    "judge.start": ("Start", "開始"),
    "judge.stop": ("Stop", "停止"),
    "judge.watch": ("Show run", "表示する実行"),
    "judge.log": ("Log", "ログ"),
    "judge.no_run": ("No judge run yet: set up and press Start.", "まだ評価の実行はありません。設定して「開始」を押してください。"),
    "judge.no_eval_run": ("No metrics run yet: pick a model and press Run metrics.",
                          "まだ指標の実行はありません。モデルを選んで「指標を計算」を押してください。"),
    "judge.no_results": ("No results yet: the run has not finished.", "まだ結果はありません（実行が終わっていません）。"),
    "judge.refresh": ("Refresh", "更新"),
    "judge.export_csv": ("Export CSV", "CSV に書き出す"),
    "judge.export_json": ("Export JSON", "JSON に書き出す"),
    "judge.export_pref": ("Export preference pairs (DPO)", "選好データとして書き出す（DPO 用）"),
    "judge.export_file": ("Exported file", "書き出したファイル"),
    "judge.filter_category": ("Category", "カテゴリ"),
    "judge.filter_winner": ("Winner", "勝者"),
    "judge.filter_inconsistent": ("Only items the two orders disagree on", "二つの順番で判定が食い違った項目だけ"),
    "judge.items": ("Items", "項目"),
    "judge.item": ("Item", "項目"),
    "judge.override": ("Your verdict (saved, counted apart from the judge)", "あなたの判定（保存され、審査員とは別に集計）"),
    "judge.override_score": ("Your score (1–10)", "あなたの点数（1〜10）"),
    "judge.save_override": ("Save my verdict", "判定を保存"),
    "judge.eval_model": ("Model (tiny, run:ID, folder or Hub id)", "モデル（tiny、run:ID、フォルダ、Hub の ID）"),
    "judge.eval_tasks": ("Task folder (llm-jp-eval JSON files)", "タスクフォルダ（llm-jp-eval 形式の JSON）"),
    "judge.eval_shots": ("Few-shot examples", "few-shot の例の数"),
    "judge.eval_samples": ("Max samples per task (0 = all)", "タスクあたりの最大サンプル数（0 はすべて）"),
    "judge.eval_start": ("Run metrics", "指標を計算"),
    "judge.eval_compare": ("Compare eval runs", "比べる評価の実行"),
    "judge.eval_command": ("Equivalent command", "同じことをするコマンド"),
}
CONTESTANT_COLUMNS = ["name", "model", "base_url", "temperature", "max_new_tokens"]
ITEM_COLUMNS = ["key", "question_id", "category", "model_1", "model_2", "verdict_ab", "verdict_ba", "winner", "inconsistent", "human"]
SINGLE_COLUMNS = ["key", "question_id", "category", "model", "score", "verdict", "human"]
ALL = "(all)"
CHART = {
    "en": {"waiting": "waiting for the first judgment…", "judged": "judgments", "live_win": "adjusted win rate (running)", "live_bias": "consistency · unparsed",
           "wlt": "win / loss / tie", "adjusted": "adjusted win rate, 95% CI", "bt": "Bradley–Terry rating, 95% CI",
           "score": "mean score, 95% CI", "category": "adjusted win rate by category", "category_score": "mean score by category",
           "length": "verdict vs answer length", "log_ratio": "log(len A / len B)", "verdict": "verdict (+1 A, −1 B)",
           "first": "first-position share", "win": "win", "loss": "loss", "tie": "tie",
           "metric": "score"},
    "ja": {"waiting": "最初の判定を待っています…", "judged": "判定数", "live_win": "調整勝率（途中経過）", "live_bias": "一貫性・判定不能率",
           "wlt": "勝ち／負け／引き分け", "adjusted": "調整勝率と 95% 信頼区間", "bt": "Bradley–Terry レーティングと 95% 信頼区間",
           "score": "平均点と 95% 信頼区間", "category": "カテゴリ別の調整勝率", "category_score": "カテゴリ別の平均点",
           "length": "判定と回答の長さ", "log_ratio": "log(A の長さ / B の長さ)", "verdict": "判定（+1 が A、−1 が B）",
           "first": "先に示した回答の選択率", "win": "勝ち", "loss": "負け", "tie": "引き分け",
           "metric": "スコア"},
}


def equivalent_command(path: str, base: dict, data: dict) -> str:
    """`lab run PRESET --set …`, on one line (a changed contestants list is a YAML flow value that
    the dumper would otherwise wrap)."""
    return re.sub(r"\n\s+", " ", _equivalent_command(path, base, data))


# ---- form ↔ spec ------------------------------------------------------------------------------------
def contestants_frame(contestants: list[dict]) -> pd.DataFrame:
    rows = [[c.get("name", ""), c.get("model", "tiny"), shown_endpoint(c.get("base_url")), c.get("temperature", 0.0),
             c.get("max_new_tokens", 128)] for c in contestants]
    return pd.DataFrame(rows, columns=CONTESTANT_COLUMNS)


def _text(value) -> str:
    """A table cell as text: empty cells arrive as None, "" or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(value, default, cast):
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
            return default
        return cast(float(value))
    except (TypeError, ValueError):
        raise UserError(f"contestants: '{value}' is not a number") from None


def frame_contestants(frame, base: list[dict]) -> list[dict]:
    """The table's rows as contestant dicts; keys the table does not show (seed, top_p, …) are kept."""
    if frame is None:
        return base
    rows = frame.values.tolist() if isinstance(frame, pd.DataFrame) else list(frame)
    kept = {c.get("name"): c for c in base}
    out = []
    for row in rows:
        row = list(row) + [None] * (len(CONTESTANT_COLUMNS) - len(row))
        name, model = _text(row[0]), _text(row[1])
        if not name and not model:
            continue
        entry = {k: v for k, v in kept.get(name, {}).items() if k not in CONTESTANT_COLUMNS}
        entry.update(name=name, model=model or "tiny", base_url=_text(row[2]) or None,
                     temperature=_number(row[3], 0.0, float), max_new_tokens=_number(row[4], 128, int))
        out.append(entry)
    return out


def form_values(data: dict) -> list:
    q, j = data.get("questions") or {}, data.get("judge") or {}
    names = [c.get("name") for c in data.get("contestants") or []]
    return [q.get("path", "samples/judge_questions_ja.jsonl"), q.get("categories") or [], q.get("max_questions") or 0,
            contestants_frame(data.get("contestants") or []), shown_endpoint(j.get("base_url")), j.get("model") or "",
            j.get("method", "auto"), data.get("mode", "pairwise-baseline"),
            gr.update(choices=names, value=data.get("baseline") or (names[0] if names else None)),
            data.get("prompt_lang", "ja"), data.get("use_reference", True), j.get("concurrency", 4), j.get("max_tokens", 512)]


def form_dict(base: dict, values: list) -> dict:
    (path, categories, max_q, frame, base_url, judge_model, method, mode, baseline, lang, use_ref, concurrency,
     max_tokens) = values
    data = json.loads(json.dumps(base))  # a deep copy
    contestants = frame_contestants(frame, data.get("contestants") or [])
    names = [c["name"] for c in contestants]
    data["questions"] = {**(data.get("questions") or {}), "path": (path or "").strip(), "categories": list(categories or []),
                         "max_questions": int(max_q) if max_q else None}
    data["contestants"] = contestants
    data["judge"] = {**(data.get("judge") or {}), "base_url": (base_url or "").strip() or None,
                     "model": (judge_model or "").strip() or None, "method": method,
                     "concurrency": int(concurrency or 4), "max_tokens": int(max_tokens or 512)}
    data.update(mode=mode, prompt_lang=lang, use_reference=bool(use_ref),
                baseline=baseline if baseline in names and mode == "pairwise-baseline" else None)
    return data


def model_choices(store: RunStore) -> list[str]:
    """tiny and every training run that saved a model."""
    return ["tiny", *(f"run:{run_id}" for run_id in store.find(has_model=True))]


def unique_name(model: str, taken: list[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", model.replace("run:", "")).strip("-.")[:40] or "model"
    name, i = stem, 2
    while name in taken:
        name, i = f"{stem}-{i}", i + 1
    return name


# ---- figures --------------------------------------------------------------------------------------------
def _layout(fig: go.Figure, height: int = 320) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=55, r=20, t=45, b=45), legend=dict(orientation="h", y=-0.22),
                      uirevision="keep")
    return fig


def live_figure(view: RunView | None, lang: str) -> go.Figure:
    c = CHART[lang]
    series = view.series if view else {}
    if not any(series.values()):
        return waiting_figure(c["waiting"])
    fig = make_subplots(rows=1, cols=2, subplot_titles=(c["live_win"], c["live_bias"]), horizontal_spacing=0.1)
    for name, points in series.items():
        if name.startswith(("adjusted_win_rate/", "mean_score/")) or name in ("position_consistency", "unparsed_rate"):
            col = 1 if "/" in name else 2
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=name.split("/")[-1] if col == 1 else name,
                                     mode="lines+markers" if len(points) < 40 else "lines"), row=1, col=col)
    fig.update_xaxes(title_text=c["judged"])
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=2)
    if not any(name.startswith("mean_score/") for name in series):
        fig.update_yaxes(range=[-0.02, 1.02], row=1, col=1)
    return _layout(fig)


def _ci_error(value, ci):
    if value is None or not ci:
        return 0, 0
    return max(0.0, ci[1] - value), max(0.0, value - ci[0])


def results_figure(summary: dict | None, lang: str) -> go.Figure:
    c = CHART[lang]
    if not summary or "table" not in summary:
        return _layout(go.Figure())
    models = list(summary["table"])
    if summary.get("mode") == "single":
        fig = make_subplots(rows=1, cols=2, subplot_titles=(c["score"], c["adjusted"]), horizontal_spacing=0.12)
        scores = [summary["scores"].get(m) for m in models]
        up, down = zip(*[_ci_error(s, summary["score_ci"].get(m)) for m, s in zip(models, scores)])
        fig.add_trace(go.Bar(x=models, y=scores, name=c["score"], error_y=dict(type="data", array=up, arrayminus=down)), row=1, col=1)
    else:
        fig = make_subplots(rows=1, cols=2, subplot_titles=(c["wlt"], c["adjusted"]), horizontal_spacing=0.12)
        for key, color in (("win", "#1b7f3b"), ("tie", "#9e9e9e"), ("loss", "#b00020")):
            fig.add_trace(go.Bar(x=models, y=[summary["table"][m][key] for m in models], name=c[key], marker_color=color),
                          row=1, col=1)
        fig.update_layout(barmode="stack")
    adjusted = [summary["adjusted_win_rate"].get(m) for m in models]
    up, down = zip(*[_ci_error(a, (summary["ci"].get(m) or {}).get("adjusted_win_rate")) for m, a in zip(models, adjusted)])
    fig.add_trace(go.Scatter(x=models, y=adjusted, mode="markers", marker=dict(size=12), name=c["adjusted"],
                             error_y=dict(type="data", array=up, arrayminus=down)), row=1, col=2)
    fig.add_hline(y=0.5, line_dash="dot", line_color="#888", row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return _layout(fig)


def category_figure(summary: dict | None, lang: str) -> go.Figure:
    c = CHART[lang]
    fig = go.Figure()
    if not summary or not summary.get("per_category"):
        return _layout(fig)
    cats = list(summary["per_category"])
    single = summary.get("mode") == "single"
    skip = summary.get("baseline")
    models = [m for m in summary.get("table", {}) if m != skip]
    for m in models:
        ys = [(summary["per_category"][cat].get(m) or {}).get("mean_score" if single else "adjusted_win_rate") for cat in cats]
        fig.add_trace(go.Bar(x=cats, y=ys, name=m))
    fig.update_layout(title=c["category_score" if single else "category"], barmode="group")
    if not single:
        fig.add_hline(y=0.5, line_dash="dot", line_color="#888")
        fig.update_yaxes(range=[0, 1])
    return _layout(fig)


def bias_figure(result, lang: str) -> go.Figure:
    c = CHART[lang]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(c["length"], c["first"]), horizontal_spacing=0.12)
    if result is None or result.mode == "single":
        if result is not None:
            pts = [(j.get("len", 0), j["score"]) for j in result.judgments if j.get("score") is not None]
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers", name=c["score"]), row=1, col=1)
        return _layout(fig)
    xs, ys, texts = [], [], []
    for j in result.judgments:
        if j.get("verdict") in ("A", "B", "tie"):
            xs.append(math.log(max(1, j.get("len_a", 0)) / max(1, j.get("len_b", 0))))
            ys.append({"A": 1, "B": -1, "tie": 0}[j["verdict"]] + (0.06 if j["order"] == "AB" else -0.06))
            texts.append(f"Q{j['question_id']} {j['order']}")
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", text=texts, name=c["verdict"], marker=dict(opacity=0.7)), row=1, col=1)
    first = (result.summary or {}).get("bias", {}).get("first_position", {})
    if first.get("rate") is not None:
        fig.add_trace(go.Bar(x=["A (first)", "B (second)"], y=[first["rate"], 1 - first["rate"]], name=c["first"],
                             marker_color=["#0b57d0", "#8ab4f8"]), row=1, col=2)
        fig.add_hline(y=0.5, line_dash="dot", line_color="#888", row=1, col=2)
    fig.update_xaxes(title_text=c["log_ratio"], row=1, col=1)
    fig.update_yaxes(title_text=c["verdict"], range=[-1.3, 1.3], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return _layout(fig)


def metrics_figure(rows: list[dict], lang: str) -> go.Figure:
    fig = go.Figure()
    if rows:
        metrics = [k for k in rows[0] if "/" in k or k == "average"]
        for row in rows:
            fig.add_trace(go.Bar(x=metrics, y=[row.get(m) for m in metrics], name=row["run"]))
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], title=CHART[lang]["metric"]), showlegend=True)
    return _layout(fig, 380)


# ---- results as text and tables ------------------------------------------------------------------------
def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def _ci(ci) -> str:
    return "–" if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def results_table(summary: dict | None) -> pd.DataFrame:
    if not summary or "table" not in summary:
        return pd.DataFrame(columns=["model"])
    bt = summary.get("bradley_terry") or {}
    rows = []
    for m, r in summary["table"].items():
        row = {"model": m, "win": r["win"], "loss": r["loss"], "tie": r["tie"], "n": r["n"], "win rate": _pct(r["win_rate"]),
               "adjusted": "–" if r["adjusted_win_rate"] is None else f"{r['adjusted_win_rate']:.3f}",
               "95% CI": _ci((summary["ci"].get(m) or {}).get("adjusted_win_rate"))}
        if summary.get("mode") == "single":
            score = summary["scores"].get(m)
            row = {"model": m, "mean score": "–" if score is None else f"{score:.2f}",
                   "score 95% CI": _ci(summary["score_ci"].get(m)), **{k: v for k, v in row.items() if k != "model"}}
        else:
            lc = (summary.get("length_controlled_win_rate") or {}).get(m)
            row["LC win rate"] = "–" if lc is None else f"{lc:.3f}"
        if summary.get("mode") != "single" and bt:
            row["BT rating"] = f"{bt['rating'][m]:.0f}"
            ci = bt.get("rating_ci", {}).get(m)
            row["BT 95% CI"] = f"[{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "–"
        rows.append(row)
    return pd.DataFrame(rows)


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


def items_frame(result, category, winner, inconsistent_only) -> pd.DataFrame:
    if result is None:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    rows = judge_results.rows(result, None if category in (None, "", ALL) else category,
                              None if winner in (None, "", ALL) else winner, bool(inconsistent_only))
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
    empty = ("", "", "", "", "", "<div id='judge-flag'></div>")
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
                f"**{'点数' if ja else 'Score'}: {score}**\n\n```\n{d['rationale']}\n```", "",
                "<div id='judge-flag'></div>")

    def order_md(order: str) -> str:
        o = d["orders"].get(order)
        if not o:
            return f"**{order}**: –"
        shown = f"{o['shown_first']} {'を先に表示' if ja else 'shown first'}"
        reason = f" ({o['unparsed_reason']})" if o.get("unparsed_reason") else ""
        prob = f" · P({d['model_1']})={o['p_model_1']:.2f}" if o.get("p_model_1") is not None else ""
        return f"**{order}** · {shown} → **{o['verdict']}** = {o['winner']}{reason}{prob}\n\n```\n{o['rationale']}\n```"

    if d["inconsistent"]:
        flag = ("⚠ 二つの順番で判定が食い違っています（引き分けとして集計）" if ja else
                "⚠ The two orders disagree (counted as a tie)")
    elif d["single_order"]:
        flag = "片方の順番しか判定できませんでした" if ja else "Only one order could be read"
    else:
        flag = "✓ 両方の順番で同じ判定" if ja else "✓ Same verdict in both orders"
    human = f" · {'あなたの判定' if ja else 'your verdict'}: {d['human']}" if d.get("human") else ""
    flag_html = (f"<div id='judge-flag' data-inconsistent='{int(d['inconsistent'])}'><b>{html.escape(flag)}</b>"
                 f" · {'結果' if ja else 'outcome'}: {html.escape(d['winner'])}{html.escape(human)}</div>")
    return (question, f"### {d['model_1']}\n\n{_turns_md(d['answer_1'])}", f"### {d['model_2']}\n\n{_turns_md(d['answer_2'])}",
            order_md("AB"), order_md("BA"), flag_html)


def metrics_table(rows: list[dict]) -> pd.DataFrame:
    """One line per task/metric, one column per run (model in the header), so runs read side by side."""
    if not rows:
        return pd.DataFrame(columns=["task/metric"])
    metrics = list(dict.fromkeys(k for r in rows for k in r if "/" in k or k == "average"))
    columns = {f"{r['run']} ({r['model']})": [("–" if r.get(m) is None else f"{r[m]:.3f}") for m in metrics] for r in rows}
    return pd.DataFrame({"task/metric": metrics, **columns})


def eval_rows(store: RunStore, run_ids: list[str]) -> list[dict]:
    rows = []
    for run_id in run_ids or []:
        try:
            path = store.get(run_id).dir / "results.json"
        except UserError:
            continue
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            rows.append({"run": run_id, "model": data.get("model"), **data.get("scores", {}), "average": data.get("average")})
    return rows


# ---- the tab ----------------------------------------------------------------------------------------------
def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    lang = i18n.lang
    t = lambda key: i18n.t(f"judge.{key}", lang)  # noqa: E731

    def b(component, key, attr="label"):
        return i18n.bind(component, f"judge.{key}", attr)

    default_path = find_preset("judge-pairwise")
    default_data, _ = read_yaml(default_path)
    eval_default_path = find_preset("eval-metrics")
    eval_default, _ = read_yaml(eval_default_path)
    values0 = form_values(default_data)
    names0 = [c["name"] for c in default_data.get("contestants", [])]

    with gr.Tab(t("tab"), id="judge", elem_id="tab-judge") as tab:
        b(tab, "tab")
        b(gr.Markdown(t("intro")), "intro", "value")
        base_state = gr.State(default_data)
        path_state = gr.State(str(default_path))
        view_state = gr.State(None)
        eval_view_state = gr.State(None)
        with gr.Tabs(elem_id="judge-sections") as sections:
            # ---- set up and run ------------------------------------------------------------------------
            with gr.Tab(t("setup"), id="judge-setup", elem_id="judge-setup") as t_setup:
                b(t_setup, "setup")
                with gr.Row(equal_height=True):
                    preset_dd = b(gr.Dropdown([p.stem for p in list_presets("judge")], value="judge-pairwise",
                                              label=t("preset"), elem_id="judge-preset", scale=3), "preset")
                    load_btn = b(gr.Button(t("load"), elem_id="judge-load", scale=1), "load", "value")
                with gr.Row():
                    with gr.Column(scale=1, min_width=300):
                        with gr.Accordion(t("questions"), open=True) as acc_q:
                            b(acc_q, "questions")
                            q_path = b(gr.Textbox(values0[0], label=t("questions_path"), elem_id="judge-questions-path"), "questions_path")
                            q_max = b(gr.Number(values0[2], precision=0, minimum=0, label=t("max_questions"),
                                                elem_id="judge-max-questions"), "max_questions")
                            # A file box like the other tabs' (an UploadButton cannot be re-labelled: Gradio
                            # reads an update to it as a file, which broke the language switch).
                            q_upload = b(gr.File(label=t("upload"), file_types=[".jsonl"],
                                                 elem_id="judge-upload"), "upload")
                            q_categories = b(gr.CheckboxGroup(choices=_categories(values0[0]), value=values0[1],
                                                              label=t("categories"), elem_id="judge-categories"), "categories")
                            q_preview = gr.Dataframe(_question_preview(values0[0]), interactive=False, max_height=240,
                                                     elem_id="judge-question-preview")
                    with gr.Column(scale=1, min_width=300):
                        with gr.Accordion(t("contestants"), open=True) as acc_c:
                            b(acc_c, "contestants")
                            contestants = gr.Dataframe(values0[3], headers=CONTESTANT_COLUMNS, interactive=True,
                                                       datatype=["str", "str", "str", "number", "number"],
                                                       elem_id="judge-contestants", wrap=False)
                            with gr.Row(equal_height=True):
                                add_dd = b(gr.Dropdown(model_choices(store), value="tiny", allow_custom_value=True,
                                                       label=t("add_model"), elem_id="judge-add-model", scale=3), "add_model")
                                add_btn = b(gr.Button(t("add"), elem_id="judge-add", scale=1, size="sm"), "add", "value")
                    with gr.Column(scale=1, min_width=300):
                        with gr.Accordion(t("judge"), open=True) as acc_j:
                            b(acc_j, "judge")
                            j_url = b(endpoint_field(values0[4], t("base_url"), "judge-base-url"), "base_url")
                            j_model = b(gr.Textbox(values0[5], label=t("model"), elem_id="judge-model"), "model")
                            j_key = b(key_field(t("api_key"), "judge-api-key"), "api_key")
                            with gr.Row():
                                j_method = b(gr.Dropdown(["auto", "generate", "logprob"], value=values0[6], label=t("method"),
                                                         elem_id="judge-method"), "method")
                                j_mode = b(gr.Dropdown(["pairwise-baseline", "pairwise-all", "single"], value=values0[7],
                                                       label=t("mode"), elem_id="judge-mode"), "mode")
                            with gr.Row():
                                j_baseline = b(gr.Dropdown(names0, value=default_data.get("baseline") or names0[0],
                                                           label=t("baseline"), elem_id="judge-baseline"), "baseline")
                                j_lang = b(gr.Radio(["ja", "en"], value=values0[9], label=t("prompt_lang"), elem_id="judge-prompt-lang"), "prompt_lang")
                            with gr.Row():
                                j_conc = b(gr.Number(values0[11], precision=0, minimum=1, label=t("concurrency"),
                                                     elem_id="judge-concurrency"), "concurrency")
                                j_tokens = b(gr.Number(values0[12], precision=0, minimum=1, label=t("max_tokens"),
                                                       elem_id="judge-max-tokens"), "max_tokens")
                            j_ref = b(gr.Checkbox(values0[10], label=t("use_reference"), elem_id="judge-use-reference"), "use_reference")
                command = b(gr.Code(equivalent_command(str(default_path), default_data, default_data), language="shell",
                                    label=t("command"), interactive=False, elem_id="judge-command"), "command")
                with gr.Row():
                    start_btn = b(gr.Button(t("start"), variant="primary", elem_id="judge-start"), "start", "value")
                    stop_btn = b(gr.Button(t("stop"), variant="stop", elem_id="judge-stop"), "stop", "value")
                    watch_dd = b(gr.Dropdown(choices=[], label=t("watch"), elem_id="judge-watch"), "watch")
                error_md = gr.Markdown("", elem_id="judge-error")
                status = gr.HTML(status_html("judge", None, t("no_run")))
                with gr.Row():
                    live_plot = gr.Plot(live_figure(None, lang), elem_id="judge-live-plot", show_label=False, scale=2)
                    log_box = b(gr.Textbox(label=t("log"), lines=12, max_lines=12, autoscroll=True, interactive=False,
                                           elem_id="judge-log", scale=1), "log")
            # ---- results -----------------------------------------------------------------------------------
            with gr.Tab(t("results"), id="judge-results", elem_id="judge-results") as t_results:
                b(t_results, "results")
                run_label = gr.Markdown(t("no_results"), elem_id="judge-run-label")
                bias_box = gr.HTML(bias_html(None, lang), elem_id="judge-bias-box")
                table = gr.Dataframe(results_table(None), interactive=False, elem_id="judge-table", wrap=True)
                results_plot = gr.Plot(results_figure(None, lang), elem_id="judge-results-plot", show_label=False)
                with gr.Row():
                    category_plot = gr.Plot(category_figure(None, lang), elem_id="judge-category-plot", show_label=False)
                    bias_plot = gr.Plot(bias_figure(None, lang), elem_id="judge-bias-plot", show_label=False)
                human_box = gr.Markdown("", elem_id="judge-human")
                with gr.Row():
                    csv_btn = b(gr.Button(t("export_csv"), elem_id="judge-export-csv"), "export_csv", "value")
                    json_btn = b(gr.Button(t("export_json"), elem_id="judge-export-json"), "export_json", "value")
                    pref_btn = b(gr.Button(t("export_pref"), elem_id="judge-export-pref"), "export_pref", "value")
                export_file = b(gr.File(label=t("export_file"), interactive=False, visible=False, elem_id="judge-export-file"), "export_file")
                export_note = gr.Markdown("", elem_id="judge-export-note")
            # ---- viewer --------------------------------------------------------------------------------------
            with gr.Tab(t("viewer"), id="judge-viewer", elem_id="judge-viewer") as t_viewer:
                b(t_viewer, "viewer")
                with gr.Row(equal_height=True):
                    f_category = b(gr.Dropdown([ALL], value=ALL, label=t("filter_category"), elem_id="judge-filter-category"), "filter_category")
                    f_winner = b(gr.Dropdown([ALL], value=ALL, label=t("filter_winner"), elem_id="judge-filter-winner"), "filter_winner")
                    f_inconsistent = b(gr.Checkbox(False, label=t("filter_inconsistent"), elem_id="judge-filter-inconsistent"), "filter_inconsistent")
                items = gr.Dataframe(items_frame(None, ALL, ALL, False), interactive=False, max_height=260,
                                     elem_id="judge-items", wrap=True)
                item_dd = b(gr.Dropdown([], label=t("item"), elem_id="judge-item"), "item")
                flag = gr.HTML("<div id='judge-flag'></div>")
                question_md = gr.Markdown("", elem_id="judge-question")
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
                    save_btn = b(gr.Button(t("save_override"), elem_id="judge-save-override", scale=1), "save_override", "value")
                viewer_human = gr.Markdown("", elem_id="judge-viewer-human")
            # ---- automatic metrics ------------------------------------------------------------------------
            with gr.Tab(t("metrics"), id="judge-metrics", elem_id="judge-metrics") as t_metrics:
                b(t_metrics, "metrics")
                with gr.Row():
                    with gr.Column(scale=1, min_width=320):
                        e_model = b(gr.Dropdown(model_choices(store), value=eval_default["model"]["name"], allow_custom_value=True,
                                                label=t("eval_model"), elem_id="judge-eval-model"), "eval_model")
                        e_tasks = b(gr.Textbox(eval_default.get("tasks"), label=t("eval_tasks"), elem_id="judge-eval-tasks"), "eval_tasks")
                        with gr.Row():
                            e_shots = b(gr.Number(eval_default.get("num_few_shots", 0), precision=0, minimum=0,
                                                  label=t("eval_shots"), elem_id="judge-eval-shots"), "eval_shots")
                            e_samples = b(gr.Number(0, precision=0, minimum=0, label=t("eval_samples"),
                                                    elem_id="judge-eval-samples"), "eval_samples")
                        e_start = b(gr.Button(t("eval_start"), variant="primary", elem_id="judge-eval-start"), "eval_start", "value")
                        e_command = b(gr.Code(equivalent_command(str(eval_default_path), eval_default, eval_default),
                                              language="shell", label=t("eval_command"), interactive=False,
                                              elem_id="judge-eval-command"), "eval_command")
                        e_error = gr.Markdown("", elem_id="judge-eval-error")
                        e_status = gr.HTML(status_html("judge-eval", None, t("no_eval_run")))
                    with gr.Column(scale=2):
                        e_compare = b(gr.CheckboxGroup(_eval_ids(store), label=t("eval_compare"), elem_id="judge-eval-compare"), "eval_compare")
                        e_table = gr.Dataframe(pd.DataFrame(), interactive=False, elem_id="judge-eval-table", wrap=True)
                        e_plot = gr.Plot(metrics_figure([], lang), elem_id="judge-eval-plot", show_label=False)
        timer = gr.Timer(1.0, active=False)  # on while a judge or eval run is watched (see live.timer_after_idle_poll)

    widgets = [q_path, q_categories, q_max, contestants, j_url, j_model, j_method, j_mode, j_baseline, j_lang, j_ref, j_conc, j_tokens]

    # ---- presets and the form ----------------------------------------------------------------------------
    def load_named(name):
        try:
            path = find_preset(name)
            data, _ = read_yaml(path)
        except UserError as e:
            return [gr.skip()] * (len(widgets) + 3) + [f"⚠ {e}"]
        vals = form_values(data)
        return [data, str(path), *vals[:1], gr.update(choices=_categories(vals[0]), value=vals[1]), *vals[2:],
                equivalent_command(str(path), data, data), ""]

    load_btn.click(load_named, [preset_dd], [base_state, path_state, *widgets, command, error_md])

    def update_command(path, base, *values):
        try:
            data = form_dict(base, list(values))
        except UserError as e:
            return gr.skip(), f"⚠ {e}"
        return equivalent_command(path, base, data), ""

    gr.on([w.change for w in widgets], update_command, [path_state, base_state, *widgets], [command, error_md],
          show_progress="hidden")

    def questions_changed(path, ticked=()):
        try:
            questions = load_questions(path)
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}"
        choices = categories_of(questions)
        return gr.update(choices=choices, value=[c for c in ticked or [] if c in choices]), _preview_frame(questions), ""

    q_path.submit(questions_changed, [q_path, q_categories], [q_categories, q_preview, error_md])
    q_path.blur(questions_changed, [q_path, q_categories], [q_categories, q_preview, error_md])

    def take_upload(file):
        if not file:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        target = keep_upload(file)
        categories, preview, error = questions_changed(str(target))
        return str(target), categories, preview, error

    q_upload.upload(take_upload, [q_upload], [q_path, q_categories, q_preview, error_md])

    def add_contestant(model, frame, base):
        model = (model or "").strip()
        if not model:
            return gr.skip(), gr.skip()
        rows = frame_contestants(frame, base.get("contestants") or [])
        rows.append({"name": unique_name(model, [r["name"] for r in rows]), "model": model, "temperature": 0.0,
                     "max_new_tokens": 64})
        names = [r["name"] for r in rows]
        return contestants_frame(rows), gr.update(choices=names)

    add_btn.click(add_contestant, [add_dd, contestants, base_state], [contestants, j_baseline])

    def contestants_changed(frame, base, current):
        try:
            names = [r["name"] for r in frame_contestants(frame, base.get("contestants") or [])]
        except UserError:
            return gr.skip()
        return gr.update(choices=names, value=current if current in names else (names[0] if names else None))

    contestants.input(contestants_changed, [contestants, base_state, j_baseline], [j_baseline])

    # ---- start / stop / watch --------------------------------------------------------------------------
    def run_ids(kind="judge"):
        return store.find(kind=kind)

    def start(base, *values):
        *values, key = values
        try:
            with pasted_key(key):  # to this run's worker alone, never into job.yaml
                run = submit(store, validate(form_dict(base, list(values)), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip(), gr.skip()
        return RunView.open(store, run.id), "", gr.update(choices=run_ids(), value=run.id), gr.Timer(active=True)

    start_btn.click(start, [base_state, *widgets, j_key], [view_state, error_md, watch_dd, timer])

    def stop(view):
        if view is not None:
            store.request_cancel(view.run_id)
            start_thread(store.cancel, view.run_id)

    stop_btn.click(stop, [view_state], None)

    # ---- results and viewer ------------------------------------------------------------------------------
    def load_result(run_id):
        if not run_id:
            return None
        try:
            return judge_results.load_result(store.get(run_id).dir)
        except (UserError, OSError, ValueError):
            return None

    def show_results(run_id, lang_, category, winner, inconsistent):
        result = load_result(run_id)
        summary = result.summary if result else None
        c = i18n.t("judge.no_results", lang_)
        label = f"**{run_id}** · {result.mode} · {len(result.judgments)} judgments" if summary else (f"**{run_id}** · {c}" if run_id else c)
        cats = [ALL] + (result.categories() if result else [])
        winners = [ALL] + ((result.models + (["unparsed"] if result.mode == "single" else ["tie", "unparsed"])) if result else [])
        category = category if category in cats else ALL
        winner = winner if winner in winners else ALL
        frame = items_frame(result, category, winner, inconsistent)
        keys = frame["key"].tolist() if len(frame) else []
        return (label, bias_html(summary, lang_), results_table(summary), results_figure(summary, lang_),
                category_figure(summary, lang_), bias_figure(result, lang_), human_md(result, lang_),
                gr.update(choices=cats, value=category), gr.update(choices=winners, value=winner), frame,
                gr.update(choices=keys, value=None), *detail_md(None, None, lang_), override_update(result, None),
                gr.update(visible=bool(result and result.mode == "single"), value=None), human_md(result, lang_))

    result_outputs = [run_label, bias_box, table, results_plot, category_plot, bias_plot, human_box, f_category, f_winner,
                      items, item_dd, question_md, answer_1, answer_2, order_ab, order_ba, flag, override, override_score,
                      viewer_human]

    def override_update(result, key):
        if result is None or result.mode == "single":
            return gr.update(choices=[], value=None, visible=False)
        choices = list(result.models) + ["tie", "clear"]
        current = result.overrides.get(key, {}).get("winner") if key else None
        if key and "|" in key:
            _, m1, m2 = key.split("|")
            choices = [m1, m2, "tie", "clear"]
        return gr.update(choices=choices, value=current, visible=True)

    def watched(run_id, view, lang_, category, winner, inconsistent):
        new_view = view if (view is not None and view.run_id == run_id) else (RunView.open(store, run_id) if run_id else None)
        return (new_view, *show_results(run_id, lang_, category, winner, inconsistent), gr.Timer(active=new_view is not None))

    watch_dd.input(watched, [watch_dd, view_state, lang_state, f_category, f_winner, f_inconsistent],
                   [view_state, *result_outputs, timer])

    def filter_items(run_id, category, winner, inconsistent):
        result = load_result(run_id)
        frame = items_frame(result, category, winner, inconsistent)
        return frame, gr.update(choices=frame["key"].tolist() if len(frame) else [], value=None)

    gr.on([f_category.input, f_winner.input, f_inconsistent.input], filter_items,
          [watch_dd, f_category, f_winner, f_inconsistent], [items, item_dd], show_progress="hidden")

    def pick_item(run_id, key, lang_):
        result = load_result(run_id)
        score = result.overrides.get(key, {}).get("score") if (result and key) else None
        return (*detail_md(result, key, lang_), override_update(result, key),
                gr.update(visible=bool(result and result.mode == "single"), value=score))

    detail_outputs = [question_md, answer_1, answer_2, order_ab, order_ba, flag, override, override_score]
    item_dd.input(pick_item, [watch_dd, item_dd, lang_state], detail_outputs)

    def select_row(evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        return row[0] if row else gr.skip()

    items.select(select_row, None, [item_dd]).then(pick_item, [watch_dd, item_dd, lang_state], detail_outputs)

    def save_verdict(run_id, key, choice, score, lang_, category, winner, inconsistent):
        result = load_result(run_id)
        if result is None or not key:
            return [gr.skip()] * 5
        if result.mode == "single":
            judge_results.save_override(result.run_dir, key, score=None if score in (None, "") else float(score))
        else:
            judge_results.save_override(result.run_dir, key, winner=None if choice in (None, "clear") else choice)
        result = load_result(run_id)
        frame = items_frame(result, category, winner, inconsistent)
        return frame, human_md(result, lang_), human_md(result, lang_), detail_md(result, key, lang_)[5], gr.update(value=key)

    save_btn.click(save_verdict, [watch_dd, item_dd, override, override_score, lang_state, f_category, f_winner, f_inconsistent],
                   [items, viewer_human, human_box, flag, item_dd])

    def export(kind, run_id, lang_):
        result = load_result(run_id)
        if result is None:
            return gr.skip(), i18n.t("judge.no_results", lang_)
        folder = result.run_dir / "exports"
        if kind == "csv":
            return gr.update(value=str(judge_results.export_csv(result, folder / f"{result.run_dir.name}.csv")), visible=True), ""
        if kind == "json":
            return gr.update(value=str(judge_results.export_json(result, folder / f"{result.run_dir.name}.json")), visible=True), ""
        path, written, skipped = judge_results.export_preferences(result, folder / f"{result.run_dir.name}-preferences.jsonl")
        note = (f"{written} 組を書き出しました（{skipped} 件は引き分け・判定不能・片順のみ・複数ターンのため除外）。DPO タブで使えます：\n"
                if lang_ == "ja" else
                f"{written} pairs written ({skipped} left out: ties, unparsed, one order only, multi-turn). Use them in the DPO tab:\n")
        return gr.update(value=str(path), visible=True), note + f"`lab run presets/dpo-tiny.yaml --set dataset.path={path}`"

    csv_btn.click(lambda r, l_: export("csv", r, l_), [watch_dd, lang_state], [export_file, export_note])
    json_btn.click(lambda r, l_: export("json", r, l_), [watch_dd, lang_state], [export_file, export_note])
    pref_btn.click(lambda r, l_: export("pref", r, l_), [watch_dd, lang_state], [export_file, export_note])

    # ---- automatic metrics -------------------------------------------------------------------------------
    def eval_dict(model, tasks, shots, samples) -> dict:
        data = json.loads(json.dumps(eval_default))
        data["model"] = {**data.get("model", {}), "name": (model or "tiny").strip()}
        data.update(tasks=(tasks or "").strip(), num_few_shots=int(shots or 0), max_samples=int(samples) if samples else None)
        return data

    eval_widgets = [e_model, e_tasks, e_shots, e_samples]
    gr.on([w.change for w in eval_widgets],
          lambda *v: equivalent_command(str(eval_default_path), eval_default, eval_dict(*v)), eval_widgets, [e_command],
          show_progress="hidden")

    def start_eval(*values):
        try:
            run = submit(store, validate(eval_dict(*values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    e_start.click(start_eval, eval_widgets, [eval_view_state, e_error, timer])

    def compare(run_ids_, lang_):
        rows = eval_rows(store, run_ids_)
        return metrics_table(rows), metrics_figure(rows, lang_)

    e_compare.change(compare, [e_compare, lang_state], [e_table, e_plot], show_progress="hidden")

    # ---- live updates -------------------------------------------------------------------------------------
    def tick(view, eval_view, lang_, category, winner, inconsistent, selected_evals):
        out = []
        judge_new = view is not None and view.poll(store)
        eval_new = eval_view is not None and eval_view.poll(store)
        if judge_new:
            finished_now = view.finished and view.rendered_final
            out += [view, live_figure(view, lang_), status_html("judge", view, i18n.t("judge.no_run", lang_)),
                    "\n".join(view.logs[-12:])]
            out += list(show_results(view.run_id, lang_, category, winner, inconsistent)) if finished_now else [gr.skip()] * len(result_outputs)
        else:
            out += [gr.skip()] * (4 + len(result_outputs))
        if eval_new:
            out += [eval_view, status_html("judge-eval", eval_view, i18n.t("judge.no_eval_run", lang_))]
            if eval_view.finished and eval_view.rendered_final:
                chosen = list(dict.fromkeys((selected_evals or []) + [eval_view.run_id]))
                out += [gr.update(choices=_eval_ids(store), value=chosen)]
            else:
                out += [gr.skip()]
        else:
            out += [gr.skip()] * 3
        return out + [gr.skip() if judge_new or eval_new else timer_after_idle_poll(view, eval_view)]

    timer.tick(tick, [view_state, eval_view_state, lang_state, f_category, f_winner, f_inconsistent, e_compare],
               [view_state, live_plot, status, log_box, *result_outputs, eval_view_state, e_status, e_compare, timer],
               show_progress="hidden")

    def on_load(lang_):
        ids = run_ids()
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        view = RunView.open(store, pick) if pick else None
        return (gr.update(choices=ids, value=pick), view, *show_results(pick, lang_, ALL, ALL, False),
                gr.update(choices=_eval_ids(store)), gr.update(choices=model_choices(store)),
                gr.update(choices=model_choices(store)), gr.Timer(active=view is not None))

    def relabel(view, eval_view, lang_, run_id, category, winner, inconsistent):
        return (live_figure(view, lang_), status_html("judge", view, i18n.t("judge.no_run", lang_)),
                status_html("judge-eval", eval_view, i18n.t("judge.no_eval_run", lang_)),
                *show_results(run_id, lang_, category, winner, inconsistent))

    # ---- opened from the Home tab ------------------------------------------------------------------------
    def open_preset(name):
        """A judge preset into the set-up form, the eval preset into the metrics form; with that section shown."""
        n_judge = 5 + len(widgets)  # preset, base, path, the form, command, error
        try:
            path = find_preset(name)
            data, _ = read_yaml(path)
        except UserError as e:
            return [gr.skip()] * (n_judge - 1) + [f"⚠ {e}"] + [gr.skip()] * (len(eval_widgets) + 1)
        if data.get("kind") == "eval":
            values = [data.get("model", {}).get("name", "tiny"), data.get("tasks") or "", data.get("num_few_shots", 0),
                      data.get("max_samples") or 0]
            return [gr.skip()] * n_judge + values + [gr.Tabs(selected="judge-metrics")]
        return [gr.update(value=name), *load_named(name)] + [gr.skip()] * len(eval_widgets) + [gr.Tabs(selected="judge-setup")]

    open_outputs = [preset_dd, base_state, path_state, *widgets, command, error_md, *eval_widgets, sections]

    return {"tab": tab, "contestants": contestants, "open_preset": (open_preset, [], open_outputs),
            "on_load": (on_load, [lang_state], [watch_dd, view_state, *result_outputs, e_compare, add_dd, e_model, timer]),
            "relabel_plot": (relabel, [view_state, eval_view_state, lang_state, watch_dd, f_category, f_winner, f_inconsistent],
                             [live_plot, status, e_status, *result_outputs])}


def _categories(path: str) -> list[str]:
    try:
        return categories_of(load_questions(path))
    except UserError:
        return []


def _preview_frame(questions) -> pd.DataFrame:
    rows = [{"id": q.question_id, "category": q.category, "question": q.turns[0][:40] + ("…" if len(q.turns[0]) > 40 else ""),
             "turns": len(q.turns), "ref": "✓" if q.has_reference else ""} for q in questions]
    return pd.DataFrame(rows, columns=["id", "category", "question", "turns", "ref"])


def _question_preview(path: str) -> pd.DataFrame:
    try:
        return _preview_frame(load_questions(path))
    except UserError:
        return _preview_frame([])


def _eval_ids(store: RunStore) -> list[str]:
    return [i for i in store.find(kind="eval") if (store.root / i / "results.json").exists()]
