"""The Data tab's results: the summary, the S-curve and the waterfall of counts (lab/dedup/charts.py),
then sub-tabs for the cluster browser, the removed documents by reason, downloads with the hand-off to
the SFT and pretraining forms, the datatrove Slurm version and the log. `render` draws a finished run's
results (read by lab/dedup/results.py) or clears them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from lab.dedup.charts import counts_figure, scurve_figure
from lab.dedup.results import clusters_in_order

from .preview import cluster_html, cluster_label, handoff_md, removed_table, servable, summary_md
from .text import P, Labels


@dataclass
class ResultsParts:
    state: gr.State          # what read_results returned for the run on show, or None
    summary: gr.Markdown
    scurve: gr.Plot
    counts: gr.Plot
    tabs: gr.Tabs
    cluster_dd: gr.Dropdown
    cluster_view: gr.HTML
    reason_dd: gr.Dropdown
    removed_df: gr.Dataframe
    kept_file: gr.File
    removed_file: gr.File
    clusters_file: gr.File
    report_file: gr.File
    slurm_file: gr.File
    handoff: gr.Markdown
    handoff_row: gr.Row
    use_sft: gr.Button
    use_pretrain: gr.Button
    slurm_code: gr.Code
    sbatch_code: gr.Code
    log_box: gr.Textbox

    def outputs(self) -> list:
        """What `render` fills, in its order."""
        return [self.state, self.summary, self.scurve, self.counts, self.cluster_dd, self.cluster_view, self.reason_dd,
                self.removed_df, self.kept_file, self.removed_file, self.clusters_file, self.report_file, self.slurm_file,
                self.handoff, self.slurm_code]


def build_results(labels: Labels, threshold: float, bands: int, rows: int) -> ResultsParts:
    """The results column below the run controls (call inside it); the S-curve starts at the form's values."""
    t, bind, lang = labels.t, labels.bind, labels.lang
    state = gr.State(None)
    summary = gr.Markdown("", elem_id=f"{P}-summary")
    scurve = gr.Plot(scurve_figure(threshold, bands, rows, None, lang), elem_id=f"{P}-scurve", show_label=False)
    counts = gr.Plot(counts_figure(None, lang), elem_id=f"{P}-counts", show_label=False)
    with gr.Tabs(elem_id=f"{P}-results") as tabs:
        with gr.Tab(t("clusters"), id=f"{P}-clusters-tab") as sub:
            bind(sub, "clusters")
            cluster_dd = bind(gr.Dropdown([], label=t("cluster_pick"), elem_id=f"{P}-cluster"), "cluster_pick")
            cluster_view = gr.HTML(cluster_html(None, None, lang))
        with gr.Tab(t("removed_tab"), id=f"{P}-removed-tab") as sub:
            bind(sub, "removed_tab")
            reason_dd = bind(gr.Dropdown([], label=t("reason_pick"), elem_id=f"{P}-reason"), "reason_pick")
            removed_df = gr.Dataframe(removed_table([]), interactive=False, wrap=True, elem_id=f"{P}-removed",
                                      column_widths=["110px", "90px", "150px", "60%"])
        with gr.Tab(t("files"), id=f"{P}-files-tab") as sub:
            bind(sub, "files")
            with gr.Row():
                kept_file = bind(gr.File(label=t("kept_file"), interactive=False, elem_id=f"{P}-kept-file"), "kept_file")
                removed_file = bind(gr.File(label=t("removed_file"), interactive=False, elem_id=f"{P}-removed-file"),
                                    "removed_file")
            with gr.Row():
                clusters_file = bind(gr.File(label=t("clusters_file"), interactive=False), "clusters_file")
                report_file = bind(gr.File(label=t("report_file"), interactive=False), "report_file")
                slurm_file = bind(gr.File(label=t("slurm_file"), interactive=False), "slurm_file")
            handoff = gr.Markdown("", elem_id=f"{P}-handoff")
            with gr.Row(visible=False) as handoff_row:
                use_sft = bind(gr.Button(t("use_sft"), variant="primary", elem_id=f"{P}-use-sft"), "use_sft", "value")
                use_pretrain = bind(gr.Button(t("use_pretrain"), elem_id=f"{P}-use-pretrain"), "use_pretrain", "value")
        with gr.Tab(t("scale"), id=f"{P}-slurm-tab") as sub:
            bind(sub, "scale")
            slurm_code = bind(gr.Code("", language="python", label=t("slurm_script"), interactive=False,
                                      elem_id=f"{P}-slurm-script"), "slurm_script")
            sbatch_code = bind(gr.Code("", language="shell", label=t("sbatch"), interactive=False,
                                       elem_id=f"{P}-sbatch"), "sbatch")
        with gr.Tab(t("log"), id=f"{P}-log-tab") as sub:
            bind(sub, "log")
            log_box = bind(gr.Textbox(lines=10, max_lines=10, interactive=False, label=t("log"), elem_id=f"{P}-log"), "log")
    return ResultsParts(state, summary, scurve, counts, tabs, cluster_dd, cluster_view, reason_dd, removed_df, kept_file,
                        removed_file, clusters_file, report_file, slurm_file, handoff, handoff_row, use_sft, use_pretrain,
                        slurm_code, sbatch_code, log_box)


def render(results: dict | None, threshold, bands, rows, lang: str) -> list:
    """Values for ResultsParts.outputs(): a run's results, or everything cleared (None)."""
    if not results:
        return [None, "", scurve_figure(float(threshold), int(bands or 1), int(rows or 1), None, lang),
                counts_figure(None, lang), gr.update(choices=[], value=None), cluster_html(None, None, lang),
                gr.update(choices=[], value=None), removed_table([]), None, None, None, None, None, "", gr.skip()]
    report = results["report"]
    ordered = clusters_in_order(results["clusters"])
    choices = [(cluster_label(c), c["cluster_id"]) for c in ordered]
    first = ordered[0] if ordered else None
    reasons = [(f"{r} ({report['removed_by_reason'][r]})", r) for r in report["removed_by_reason"]]
    first_reason = reasons[0][1] if reasons else None
    out = report["outputs"]
    return [results, summary_md(report, lang),
            scurve_figure(float(threshold), int(bands or 1), int(rows or 1), report, lang), counts_figure(report, lang),
            gr.update(choices=choices, value=first["cluster_id"] if first else None), cluster_html(first, report, lang),
            gr.update(choices=reasons, value=first_reason),
            removed_table(results["removed"].get(first_reason, []) if first_reason else []),
            servable(out.get("kept")), servable(out.get("removed")), servable(out.get("clusters")),
            servable(str(Path(results["folder"]) / "report.json")), servable(out.get("slurm_script")),
            handoff_md(report, lang),
            Path(out["slurm_script"]).read_text(encoding="utf-8") if out.get("slurm_script") else gr.skip()]


def wire_results(parts: ResultsParts, lang_state: gr.State) -> None:
    def pick_cluster(cid, results, lang_):
        if not results or cid is None:
            return cluster_html(None, None, lang_)
        c = next((c for c in results["clusters"] if c["cluster_id"] == cid), None)
        return cluster_html(c, results["report"], lang_)

    parts.cluster_dd.change(pick_cluster, [parts.cluster_dd, parts.state, lang_state], [parts.cluster_view],
                            show_progress="hidden")

    def pick_reason(reason, results):
        if not results or not reason:
            return removed_table([])
        return removed_table(results["removed"].get(reason, []))

    parts.reason_dd.change(pick_reason, [parts.reason_dd, parts.state], [parts.removed_df], show_progress="hidden")
    # the hand-off buttons show once there is a kept corpus to hand off (app.py wires them to the other tabs)
    parts.handoff.change(lambda md: gr.update(visible=bool(md)), [parts.handoff], [parts.handoff_row], show_progress="hidden")
