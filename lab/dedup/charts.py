"""The dedup charts, drawn the same way by the Data tab and by the run's HTML report (lab/report.py):
the S-curve of the chosen bands × rows with the exact Jaccard of the verified candidate pairs on top,
and the waterfall from the input to the kept documents, one step per quality rule and per method.
Each takes a run's report.json (as read by lab/dedup/results.py) or None before a run."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import lsh
from .quality import RULES


def scurve_figure(threshold: float, bands: int, rows: int, report: dict | None, lang: str) -> go.Figure:
    """P(candidate | s) for (bands, rows) — the form's, which may differ from the run's — with the run's
    candidate pair histogram split at the run's threshold, and the run's own curve when it differs."""
    s = np.linspace(0, 1, 201)
    fig = go.Figure()
    ja = lang == "ja"
    hist = (report or {}).get("minhash", {}).get("similarity_histogram")
    if hist and sum(hist["counts"]):
        edges = np.array(hist["edges"])
        centers = (edges[:-1] + edges[1:]) / 2
        counts = np.array(hist["counts"])
        run_t = report["parameters"]["threshold"]
        ok = centers >= run_t
        fig.add_trace(go.Bar(x=centers[~ok].tolist(), y=counts[~ok].tolist(), width=edges[1] - edges[0], yaxis="y2", marker_color="#b0b7c3",
                             name="候補ペア（閾値未満で棄却）" if ja else "candidate pairs (rejected, below threshold)"))
        fig.add_trace(go.Bar(x=centers[ok].tolist(), y=counts[ok].tolist(), width=edges[1] - edges[0], yaxis="y2", marker_color="#e8743b",
                             name="候補ペア（検証済み・統合）" if ja else "candidate pairs (verified, merged)"))
        rp = report["parameters"]
        if (rp.get("bands"), rp.get("rows")) != (bands, rows):
            fig.add_trace(go.Scatter(x=s.tolist(), y=lsh.s_curve(s, rp["bands"], rp["rows"]).tolist(), mode="lines",
                                     line=dict(dash="dot", color="#888"),
                                     name=(f"実行時の曲線 b={rp['bands']}, r={rp['rows']}" if ja else
                                           f"the run's curve b={rp['bands']}, r={rp['rows']}")))
    fig.add_trace(go.Scatter(x=s.tolist(), y=lsh.s_curve(s, bands, rows).tolist(), mode="lines", line=dict(width=3, color="#0b57d0"),
                             name=f"P(candidate | s) = 1 − (1 − s^{rows})^{bands}"))
    eff = (1.0 / bands) ** (1.0 / rows)
    fig.add_vline(x=threshold, line=dict(color="#b00020", width=2),
                  annotation_text=(f"閾値 {threshold:g}" if ja else f"threshold {threshold:g}"), annotation_position="top left")
    fig.add_vline(x=eff, line=dict(color="#0b57d0", dash="dash", width=1),
                  annotation_text=f"(1/b)^(1/r) = {eff:.2f}", annotation_position="bottom right")
    fig.update_layout(
        # two lines: one long line ran under plotly's toolbar at the top right
        title=("S 字曲線：候補になる確率<br><sup>と、検証した候補ペアの Jaccard 係数</sup>" if ja else
               "S-curve: probability of becoming a candidate<br><sup>and the exact Jaccard of candidate pairs</sup>"),
        xaxis=dict(title="Jaccard s", range=[0, 1]),
        yaxis=dict(title="P(candidate)" if not ja else "候補になる確率", range=[0, 1.05]),
        yaxis2=dict(title="ペア数" if ja else "pairs", overlaying="y", side="right", showgrid=False, rangemode="tozero"),
        barmode="overlay", height=420, margin=dict(l=60, r=60, t=70, b=40), legend=dict(orientation="h", y=-0.2),
        uirevision="keep")
    return fig


def run_scurve_figure(report: dict, lang: str) -> go.Figure | None:
    """The S-curve at the run's own threshold and bands × rows; None when MinHash did not run."""
    params = report.get("parameters") or {}
    if "minhash" not in (report.get("methods") or []) or not all(params.get(k) for k in ("threshold", "bands", "rows")):
        return None
    return scurve_figure(float(params["threshold"]), int(params["bands"]), int(params["rows"]), report, lang)


def counts_figure(report: dict | None, lang: str) -> go.Figure:
    """A waterfall from the input to the kept documents: one step per quality rule and per method."""
    ja = lang == "ja"
    fig = go.Figure()
    if not report:
        fig.update_layout(title="手法・ルールごとの除去数" if ja else "Removed per method and rule", height=300,
                          annotations=[dict(text="実行すると表示されます" if ja else "shown after a run", showarrow=False,
                                            x=0.5, y=0.5, xref="paper", yref="paper")])
        return fig
    labels, values, measures = ["入力" if ja else "input"], [report["docs_in"]], ["absolute"]
    by_reason = report["removed_by_reason"]
    quality_rules = [r for r in by_reason if r in RULES]
    for rule in sorted(quality_rules, key=lambda r: -by_reason[r]):
        labels.append(rule)
        values.append(-by_reason[rule])
        measures.append("relative")
    for method in ("exact", "minhash", "semantic"):
        if method in report["methods"]:
            labels.append(method)
            values.append(-by_reason.get(method, 0))
            measures.append("relative")
    labels.append("残り" if ja else "kept")
    values.append(report["docs_kept"])
    measures.append("total")
    fig.add_trace(go.Waterfall(orientation="h", y=labels, x=values, measure=measures, text=[f"{abs(v)}" for v in values],
                               textposition="outside", connector=dict(line=dict(color="#bbb")),
                               decreasing=dict(marker_color="#e8743b"), totals=dict(marker_color="#1b7f3b"),
                               increasing=dict(marker_color="#0b57d0")))
    fig.update_layout(title=("文書数：入力 → 手法・ルールごとの除去 → 残り" if ja else
                             "Documents: input → removed per method and rule → kept"),
                      height=max(280, 60 + 34 * len(labels)), margin=dict(l=10, r=40, t=50, b=30),
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(title="documents" if not ja else "文書数"),
                      showlegend=False, uirevision="keep")
    return fig
