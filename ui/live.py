"""Live charts from run events: one figure with the four training panels, and an overlay of one
metric across runs. Long runs are downsampled so a refresh stays cheap."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 400
PANELS = (
    ("loss", ("loss", "eval_loss")),
    ("learning rate", ("learning_rate",)),
    ("grad norm", ("grad_norm",)),
    ("throughput (tokens/s)", ("tokens_per_second",)),
)


def downsample(points: list[tuple[float, float]], max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """Keep every k-th point plus the last, and the min and max of each bucket so spikes survive."""
    n = len(points)
    if n <= max_points:
        return points
    bucket = -(-n // (max_points // 2))
    out = []
    for i in range(0, n, bucket):
        chunk = points[i:i + bucket]
        lo = min(chunk, key=lambda p: p[1])
        hi = max(chunk, key=lambda p: p[1])
        out.extend(sorted({lo, hi}, key=lambda p: p[0]))
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def _xy(points):
    pts = downsample(points)
    return [p[0] for p in pts], [p[1] for p in pts]


def training_figure(series: dict[str, list[tuple[float, float]]], log_y: bool = False,
                    titles: tuple[str, ...] | None = None, panels=PANELS) -> go.Figure:
    """One subplot per panel (two per row); each panel draws the series it names. Once there is data,
    panels with nothing to draw (e.g. KTO's KL in a DPO run) are left out rather than shown empty."""
    titles = titles or tuple(p[0] for p in panels)
    if not any(series.values()):  # nothing yet: one quiet panel instead of a grid of empty axes
        fig = go.Figure()
        fig.add_annotation(text="waiting for the first logged step…", showarrow=False, font=dict(size=14, color="#888"),
                           xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_layout(height=160, margin=dict(l=20, r=20, t=20, b=20), xaxis_visible=False, yaxis_visible=False)
        return fig
    if any(series.values()):
        keep = [i for i, (_, names) in enumerate(panels) if i == 0 or any(series.get(n) for n in names)
                or (names == ("tokens_per_second",) and series.get("samples_per_second"))]
        panels, titles = tuple(panels[i] for i in keep), tuple(titles[i] for i in keep)
    rows = -(-len(panels) // 2)
    fig = make_subplots(rows=rows, cols=2, subplot_titles=titles, horizontal_spacing=0.1,
                        vertical_spacing=0.4 / rows)
    for i, (_, names) in enumerate(panels):
        row, col = divmod(i, 2)
        if names == ("tokens_per_second",) and not series.get("tokens_per_second"):
            names = ("samples_per_second",)  # data without token counts
        for name in names:
            if name in series and series[name]:
                x, y = _xy(series[name])
                mode = "lines+markers" if name.startswith("eval_") or len(x) < 30 else "lines"
                fig.add_trace(go.Scatter(x=x, y=y, name=name, mode=mode), row=row + 1, col=col + 1)
        if row == rows - 1:
            fig.update_xaxes(title_text="step", row=row + 1, col=col + 1)
    if log_y:
        fig.update_yaxes(type="log", row=1, col=1)
    fig.update_layout(height=260 * rows, margin=dict(l=50, r=20, t=40, b=40),
                      legend=dict(orientation="h", y=-0.24 / rows), uirevision="keep")
    return fig


def overlay_figure(per_run: dict[str, list[tuple[float, float]]], metric: str, log_y: bool = False) -> go.Figure:
    fig = go.Figure()
    for run_id, points in per_run.items():
        if points:
            x, y = _xy(points)
            fig.add_trace(go.Scatter(x=x, y=y, name=run_id, mode="lines+markers" if len(x) < 30 else "lines"))
    fig.update_layout(height=420, margin=dict(l=50, r=20, t=40, b=40), title=metric, xaxis_title="step",
                      yaxis_type="log" if log_y else "linear", legend=dict(orientation="h", y=-0.2), uirevision="keep")
    return fig
