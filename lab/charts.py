"""Plotly figures of run events, shared by the live UI (ui/live.py) and the offline report
(lab/report.py): the training panels, an overlay of one metric across runs, every metric series of
a run grouped into panels, and a run's family drawn as a small graph. Long runs are downsampled so
a refresh stays cheap. No gradio here: lab/ never imports it."""
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


def waiting_figure(text: str) -> go.Figure:
    """A live chart before its first point: one quiet line instead of a grid of empty axes."""
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, font=dict(size=14, color="#888"), xref="paper", yref="paper",
                       x=0.5, y=0.5)
    fig.update_layout(height=160, margin=dict(l=20, r=20, t=20, b=20), xaxis_visible=False, yaxis_visible=False)
    return fig


def training_figure(series: dict[str, list[tuple[float, float]]], log_y: bool = False,
                    titles: tuple[str, ...] | None = None, panels=PANELS,
                    empty_text: str = "waiting for the first logged step…") -> go.Figure:
    """One subplot per panel (two per row); each panel draws the series it names. Once there is data,
    panels with nothing to draw (e.g. KTO's KL in a DPO run) are left out rather than shown empty."""
    titles = titles or tuple(p[0] for p in panels)
    if not any(series.values()):
        return waiting_figure(empty_text)
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


def overlay_figure(per_run: dict[str, list[tuple[float, float]]], metric: str, log_y: bool = False,
                   hint: str = "Tick runs under 'Overlay runs' to draw their curves here",
                   no_values: str = "No '{metric}' values in the selected runs yet") -> go.Figure:
    """`hint` shows while no run is ticked, `no_values` (with {metric}) when the ticked runs lack the metric."""
    fig = go.Figure()
    for run_id, points in per_run.items():
        if points:
            x, y = _xy(points)
            fig.add_trace(go.Scatter(x=x, y=y, name=run_id, mode="lines+markers" if len(x) < 30 else "lines"))
    fig.update_layout(height=420, margin=dict(l=50, r=20, t=40, b=40), title=metric, xaxis_title="step",
                      yaxis_type="log" if log_y else "linear", legend=dict(orientation="h", y=-0.2), uirevision="keep")
    if not fig.data:  # say what to do instead of drawing an empty grid
        fig.update_layout(xaxis_visible=False, yaxis_visible=False, annotations=[dict(
            text=hint if not per_run else no_values.format(metric=metric), showarrow=False, font=dict(size=15, color="#666"),
            xref="paper", yref="paper", x=0.5, y=0.5)])
    return fig


# ---- every metric of a run (the report) --------------------------------------------------------------
def metric_group(name: str) -> str:
    """The panel a metric goes to: a training metric beside its eval twin (not for timings, which
    measure different work), `x/chosen` beside `x/rejected`."""
    base = name[5:] if name.startswith("eval_") else name
    if base.endswith(("_per_second", "runtime")):
        return name
    if base in ("loss", "train_loss"):
        return "loss"
    head, _, tail = base.partition("/")
    return head if tail in ("chosen", "rejected") else base  # rewards/chosen beside rewards/rejected


def metrics_figure(series: dict[str, list[tuple[float | None, float]]], max_panels: int = 24) -> go.Figure | None:
    """One panel per metric group (two per row) with every series of the run that has at least two
    points (a single final value belongs in a table, not a chart); None when there is none."""
    groups: dict[str, list[str]] = {}
    for name, points in series.items():
        if len(points) >= 2:
            groups.setdefault(metric_group(name), []).append(name)
    if not groups:
        return None
    first = [g for g in ("loss", "learning_rate", "grad_norm", "rewards") if g in groups]
    order = (first + [g for g in groups if g not in first])[:max_panels]
    rows = -(-len(order) // 2)
    fig = make_subplots(rows=rows, cols=2, subplot_titles=order, horizontal_spacing=0.1,
                        vertical_spacing=min(0.12, 0.5 / rows))
    for i, group in enumerate(order):
        row, col = divmod(i, 2)
        for name in groups[group]:
            points = series[name]
            if any(p[0] is None for p in points):  # metrics logged without a step: plot them in order
                points = [(j, v) for j, (_, v) in enumerate(points)]
            x, y = _xy(points)
            mode = "lines+markers" if name.startswith("eval_") or len(x) < 30 else "lines"
            # a panel's title names its only series; the legend is for panels that draw several
            fig.add_trace(go.Scatter(x=x, y=y, name=name, mode=mode, showlegend=len(groups[group]) > 1),
                          row=row + 1, col=col + 1)
    fig.update_layout(height=max(300, 250 * rows), margin=dict(l=50, r=20, t=40, b=40),
                      legend=dict(orientation="h", y=-0.08 / rows), template="plotly_white")
    return fig


# ---- a run's family (lab.lineage.family) -------------------------------------------------------------
STATE_COLOURS = {"succeeded": "#1b7f3b", "failed": "#b00020", "cancelled": "#8a6d00", "running": "#0b57d0",
                 "queued": "#777777", "missing": "#bbbbbb", "input": "#9aa5b1"}


def family_layout(graph: dict) -> dict[str, tuple[float, float]]:
    """x = generation; within a generation, nodes ordered by the mean height of their inputs so
    arrows cross less, and centred on 0."""
    nodes, edges = graph.get("nodes", []), graph.get("edges", [])
    by_gen: dict[int, list[dict]] = {}
    for node in nodes:
        by_gen.setdefault(node.get("generation", 0), []).append(node)
    sources: dict[str, list[str]] = {}
    for e in edges:
        sources.setdefault(e["target"], []).append(e["source"])
    pos: dict[str, tuple[float, float]] = {}
    for gen in sorted(by_gen):
        members = by_gen[gen]
        def height(node, _members=members):
            ys = [pos[s][1] for s in sources.get(node["id"], []) if s in pos]
            return -(sum(ys) / len(ys)) if ys else _members.index(node) - len(_members)
        members = sorted(members, key=height)
        for j, node in enumerate(members):
            pos[node["id"]] = (gen, (len(members) - 1) / 2 - j)
    return pos


def family_figure(graph: dict, height: int | None = None, role_names: dict[str, str] | None = None) -> go.Figure:
    """Nodes laid out by generation (left to right), arrows from an input to the run that used it,
    labelled with the role (data, model, compared, …, or `role_names` of them); the run the graph is
    about is ringed. An arrow that would cross another node bends around it."""
    role_names = role_names or {}
    nodes, edges = graph.get("nodes", []), graph.get("edges", [])
    fig = go.Figure()
    if not nodes:
        fig.update_layout(height=120, xaxis_visible=False, yaxis_visible=False, margin=dict(l=10, r=10, t=10, b=10))
        return fig
    pos = family_layout(graph)
    bends, ys = 0, [p[1] for p in pos.values()]
    for edge in edges:
        if edge["source"] not in pos or edge["target"] not in pos:
            continue
        p0, p1 = pos[edge["source"]], pos[edge["target"]]
        blocked = any(_near_segment(q, p0, p1) for nid, q in pos.items() if nid not in (edge["source"], edge["target"]))
        bend = 0.0
        if blocked:  # upwards, since node labels hang below the nodes; each further bent arrow a bit higher
            bend, bends = 0.7 + 0.3 * bends, bends + 1
        ctrl = ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2 + bend)
        curve = [_bezier(p0, ctrl, p1, k / 24) for k in range(25)]
        ys.extend(c[1] for c in curve)
        fig.add_trace(go.Scatter(x=[c[0] for c in curve], y=[c[1] for c in curve], mode="lines", hoverinfo="skip",
                                 line=dict(color="#8899aa", width=1.4), showlegend=False))
        tail = _bezier(p0, ctrl, p1, 0.8)
        fig.add_annotation(x=p1[0], y=p1[1], ax=tail[0], ay=tail[1], xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=2, arrowsize=1.3, arrowwidth=1.4, arrowcolor="#8899aa", standoff=16)
        mid = _bezier(p0, ctrl, p1, 0.5)
        label = ", ".join(role_names.get(r, r) for r in edge.get("label", "").split(", "))
        fig.add_annotation(x=mid[0], y=mid[1], text=label, showarrow=False,
                           font=dict(size=11, color="#445566"), bgcolor="rgba(255,255,255,0.9)")
    for selected in (False, True):
        chosen = [n for n in nodes if bool(n.get("selected")) == selected]
        if not chosen:
            continue
        fig.add_trace(go.Scatter(
            x=[pos[n["id"]][0] for n in chosen], y=[pos[n["id"]][1] for n in chosen], mode="markers+text",
            text=[_node_label(n) for n in chosen], textposition="bottom center", textfont=dict(size=11),
            hovertext=[_node_hover(n) for n in chosen], hoverinfo="text", showlegend=False,
            marker=dict(size=30 if selected else 22,
                        symbol=["circle" if n.get("state") != "input" else "square" for n in chosen],
                        color=[STATE_COLOURS.get(n.get("state"), "#777777") for n in chosen],
                        line=dict(width=4 if selected else 1, color="#111111" if selected else "#ffffff"))))
    xs = [p[0] for p in pos.values()]
    tallest = max(ys) - min(ys) + 1
    fig.update_layout(height=height or int(max(230, 105 * tallest + 110)), margin=dict(l=10, r=10, t=10, b=10),
                      plot_bgcolor="white", paper_bgcolor="white", showlegend=False, hovermode="closest",
                      xaxis=dict(visible=False, range=[min(xs) - 0.6, max(xs) + 0.6], fixedrange=True),
                      yaxis=dict(visible=False, range=[min(ys) - 0.9, max(ys) + 0.7], fixedrange=True))
    return fig


def _bezier(p0, c, p1, t: float) -> tuple[float, float]:
    u = 1 - t
    return (u * u * p0[0] + 2 * u * t * c[0] + t * t * p1[0], u * u * p0[1] + 2 * u * t * c[1] + t * t * p1[1])


def _near_segment(q, a, b, radius: float = 0.3) -> bool:
    (ax, ay), (bx, by), (qx, qy) = a, b, q
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy or 1e-9
    t = max(0.0, min(1.0, ((qx - ax) * dx + (qy - ay) * dy) / length2))
    return (ax + t * dx - qx) ** 2 + (ay + t * dy - qy) ** 2 < radius ** 2


def _node_label(node: dict) -> str:
    if node.get("state") == "input":
        return f"<i>{node.get('title') or node['id']}</i>"
    short = node["id"].removeprefix(f"{node.get('kind')}-")
    return f"<b>{node.get('kind', '?')}</b><br>{short}"


def _node_hover(node: dict) -> str:
    lines = [node["id"], f"{node.get('kind', '')} · {node.get('state', '')}"]
    if node.get("title") and node.get("state") != "input":
        lines.append(node["title"])
    return "<br>".join(lines)
