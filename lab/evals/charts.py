"""Plotly figures of a judge run and of eval runs, drawn the same in the Judge tab and in a run's HTML
report: the running win rate and bias while the judge works, win / loss / tie (or mean scores) with the
adjusted win rate's 95% interval, the adjusted win rate per category, the verdict against the answers'
length ratio with the first-position share, and eval scores side by side. Every function takes what
the run folder says (summary.json, judgments, metric series) and a language, en or ja."""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..charts import waiting_figure

LABELS = {
    "en": {"waiting": "waiting for the first judgment…", "judged": "judgments", "live_win": "adjusted win rate (running)",
           "live_bias": "consistency · unparsed", "wlt": "win / loss / tie", "adjusted": "adjusted win rate, 95% CI",
           "bt": "Bradley–Terry rating, 95% CI", "score": "mean score, 95% CI", "category": "adjusted win rate by category",
           "category_score": "mean score by category", "length": "verdict vs answer length",
           "log_ratio": "log(len A / len B)", "verdict": "verdict (+1 A, −1 B)", "first": "first-position share",
           "win": "win", "loss": "loss", "tie": "tie", "metric": "score"},
    "ja": {"waiting": "最初の判定を待っています…", "judged": "判定数", "live_win": "調整勝率（途中経過）",
           "live_bias": "一貫性・判定不能率", "wlt": "勝ち／負け／引き分け", "adjusted": "調整勝率と 95% 信頼区間",
           "bt": "Bradley–Terry レーティングと 95% 信頼区間", "score": "平均点と 95% 信頼区間",
           "category": "カテゴリ別の調整勝率", "category_score": "カテゴリ別の平均点", "length": "判定と回答の長さ",
           "log_ratio": "log(A の長さ / B の長さ)", "verdict": "判定（+1 が A、−1 が B）",
           "first": "先に示した回答の選択率", "win": "勝ち", "loss": "負け", "tie": "引き分け", "metric": "スコア"},
}
LIVE_RATE_PREFIXES = ("adjusted_win_rate/", "mean_score/")  # one series per contestant, named <metric>/<model>
LIVE_BIAS_SERIES = ("position_consistency", "unparsed_rate")


def _labels(lang: str) -> dict[str, str]:
    return LABELS["ja" if lang == "ja" else "en"]


def _layout(fig: go.Figure, height: int = 320) -> go.Figure:
    # uirevision keeps a user's zoom across the live refreshes
    fig.update_layout(height=height, margin=dict(l=55, r=20, t=45, b=45), legend=dict(orientation="h", y=-0.22),
                      uirevision="keep")
    return fig


def _ci_error(value, ci) -> tuple[float, float]:
    """(up, down) error bar lengths of an interval around `value`; none without one."""
    if value is None or not ci:
        return 0, 0
    return max(0.0, ci[1] - value), max(0.0, value - ci[0])


def live_figure(series: dict[str, list[tuple[float, float]]] | None, lang: str) -> go.Figure:
    """While the judge works: each contestant's running win rate (or mean score) on the left, the
    judge's position consistency and unparsed rate on the right, against the number judged."""
    c = _labels(lang)
    series = series or {}
    if not any(series.values()):
        return waiting_figure(c["waiting"])
    fig = make_subplots(rows=1, cols=2, subplot_titles=(c["live_win"], c["live_bias"]), horizontal_spacing=0.1)
    for name, points in series.items():
        if name.startswith(LIVE_RATE_PREFIXES) or name in LIVE_BIAS_SERIES:
            col = 1 if "/" in name else 2
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                     name=name.split("/")[-1] if col == 1 else name,
                                     mode="lines+markers" if len(points) < 40 else "lines"), row=1, col=col)
    fig.update_xaxes(title_text=c["judged"])
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=2)
    if not any(name.startswith("mean_score/") for name in series):  # scores run 1–10, rates 0–1
        fig.update_yaxes(range=[-0.02, 1.02], row=1, col=1)
    return _layout(fig)


def results_figure(summary: dict | None, lang: str) -> go.Figure:
    """Win / loss / tie stacked per model (single mode: mean score with its interval), beside the
    adjusted win rate with its 95% interval and the 0.5 line."""
    c = _labels(lang)
    if not summary or "table" not in summary:
        return _layout(go.Figure())
    models = list(summary["table"])
    if summary.get("mode") == "single":
        fig = make_subplots(rows=1, cols=2, subplot_titles=(c["score"], c["adjusted"]), horizontal_spacing=0.12)
        scores = [summary["scores"].get(m) for m in models]
        up, down = zip(*[_ci_error(s, summary["score_ci"].get(m)) for m, s in zip(models, scores)])
        fig.add_trace(go.Bar(x=models, y=scores, name=c["score"], error_y=dict(type="data", array=up, arrayminus=down)),
                      row=1, col=1)
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
    """The adjusted win rate (single mode: the mean score) per category, one bar per model; the
    baseline, which only ever plays itself, is left out."""
    c = _labels(lang)
    fig = go.Figure()
    if not summary or not summary.get("per_category"):
        return _layout(fig)
    cats = list(summary["per_category"])
    single = summary.get("mode") == "single"
    skip = summary.get("baseline")
    for m in (m for m in summary.get("table", {}) if m != skip):
        ys = [(summary["per_category"][cat].get(m) or {}).get("mean_score" if single else "adjusted_win_rate")
              for cat in cats]
        fig.add_trace(go.Bar(x=cats, y=ys, name=m))
    fig.update_layout(title=c["category_score" if single else "category"], barmode="group")
    if not single:
        fig.add_hline(y=0.5, line_dash="dot", line_color="#888")
        fig.update_yaxes(range=[0, 1])
    return _layout(fig)


def verdict_length_points(judgments: list[dict]) -> list[tuple[float, float, str]]:
    """(log(len A / len B), verdict, label) per decided pairwise judgment: +1 A, −1 B, 0 tie, nudged up
    for order AB and down for BA so the two orders of one item sit apart."""
    out = []
    for j in judgments:
        if j.get("verdict") in ("A", "B", "tie"):
            x = math.log(max(1, j.get("len_a", 0)) / max(1, j.get("len_b", 0)))
            y = {"A": 1, "B": -1, "tie": 0}[j["verdict"]] + (0.06 if j.get("order") == "AB" else -0.06)
            out.append((x, y, f"Q{j['question_id']} {j.get('order')}"))
    return out


def bias_figure(mode: str | None, judgments: list[dict], summary: dict | None, lang: str) -> go.Figure:
    """Pairwise: each verdict against the answers' length ratio (a length bias leans the cloud), beside
    how often the answer shown first won. Single: the score against the answer's length."""
    c = _labels(lang)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(c["length"], c["first"]), horizontal_spacing=0.12)
    if mode is None or mode == "single":
        if mode is not None:
            pts = [(j.get("len", 0), j["score"]) for j in judgments if j.get("score") is not None]
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers", name=c["score"]),
                          row=1, col=1)
        return _layout(fig)
    points = verdict_length_points(judgments)
    fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="markers",
                             text=[p[2] for p in points], name=c["verdict"], marker=dict(opacity=0.7)), row=1, col=1)
    first = (summary or {}).get("bias", {}).get("first_position", {})
    if first.get("rate") is not None:
        fig.add_trace(go.Bar(x=["A (first)", "B (second)"], y=[first["rate"], 1 - first["rate"]], name=c["first"],
                             marker_color=["#0b57d0", "#8ab4f8"]), row=1, col=2)
        fig.add_hline(y=0.5, line_dash="dot", line_color="#888", row=1, col=2)
    fig.update_xaxes(title_text=c["log_ratio"], row=1, col=1)
    fig.update_yaxes(title_text=c["verdict"], range=[-1.3, 1.3], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return _layout(fig)


def eval_scores_figure(rows: list[dict], lang: str) -> go.Figure:
    """Eval runs side by side: one bar group per task/metric (and the average), one bar per run.
    `rows` as lab.evals.results.eval_rows reads them."""
    fig = go.Figure()
    if rows:
        metrics = [k for k in rows[0] if "/" in k or k == "average"]
        for row in rows:
            fig.add_trace(go.Bar(x=metrics, y=[row.get(m) for m in metrics], name=row["run"]))
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], title=_labels(lang)["metric"]), showlegend=True)
    return _layout(fig, 380)
