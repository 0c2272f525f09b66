"""The RAG evaluation's chart, per question as the `rag_eval` job scores it: retrieval (recall@k,
MRR) on the left, the judged views and answer F1 (all 0–1) on the right. The RAG tab draws it live
and the HTML report (lab/report.py) draws the same figure from the run's events."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..charts import downsample

PLOT_TITLES = {"en": ("retrieval", "judged views (0–1)"), "ja": ("検索", "審査による評価（0〜1）")}
RETRIEVAL_SERIES = ("recall_at_k", "mrr")
JUDGED_SERIES = ("context_relevance", "groundedness", "answer_relevance", "answer_f1")


def eval_figure(series: dict, lang: str = "en") -> go.Figure:
    """`series`: metric name → [(question number, value)], as lab.events.metric_series gives them."""
    lang = "ja" if lang == "ja" else "en"
    fig = make_subplots(rows=1, cols=2, subplot_titles=PLOT_TITLES[lang], horizontal_spacing=0.1)
    for col, names in ((1, RETRIEVAL_SERIES), (2, JUDGED_SERIES)):
        # an empty trace keeps the panel's axes drawn before the first question is scored
        fig.add_trace(go.Scatter(x=[], y=[], showlegend=False, hoverinfo="skip"), row=1, col=col)
        for name in names:
            points = downsample(series.get(name, []))
            if points:
                fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=name,
                                         mode="lines+markers"), row=1, col=col)
        fig.update_xaxes(title_text="question" if lang == "en" else "質問", tickformat="d", row=1, col=col)
        fig.update_yaxes(range=[-0.02, 1.02], row=1, col=col)
    fig.update_layout(height=320, margin=dict(l=50, r=20, t=40, b=40), legend=dict(orientation="h", y=-0.3),
                      uirevision="keep")
    return fig


def has_scores(series: dict) -> bool:
    return any(series.get(name) for name in RETRIEVAL_SERIES + JUDGED_SERIES)
