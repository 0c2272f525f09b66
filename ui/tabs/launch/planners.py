"""The Launch tab's planners, each a small form over lab.distributed: memory per device for each ZeRO
stage and offload (LoRA optional), 3D parallelism's constraints (TP × PP × DP) with a Megatron-style
command, and compute (6·N·D FLOPs, days on N GPUs) on the Kaplan and Chinchilla curves."""
from __future__ import annotations

from dataclasses import dataclass, fields

import gradio as gr
import plotly.graph_objects as go

from lab.distributed.model_size import count_params, load_shape, lora_params
from lab.distributed.plan_compute import GPUS, plan_compute
from lab.distributed.plan_memory import plan_memory
from lab.distributed.plan_parallel import plan_parallel
from lab.errors import UserError

from ...i18n import I18n


@dataclass
class PlannerParts:
    mem_model: gr.Textbox
    mem_params: gr.Number
    mem_largest: gr.Number
    mem_gpn: gr.Number
    mem_nodes: gr.Number
    mem_lora: gr.Number
    mem_btn: gr.Button
    mem_out: gr.Markdown
    par_model: gr.Textbox
    par_gpus: gr.Number
    par_tp: gr.Number
    par_pp: gr.Number
    par_micro: gr.Number
    par_global: gr.Number
    par_btn: gr.Button
    par_out: gr.Markdown
    par_cmd: gr.Code
    cmp_params: gr.Textbox
    cmp_tokens: gr.Textbox
    cmp_gpus: gr.Number
    cmp_type: gr.Dropdown
    cmp_mfu: gr.Slider
    cmp_btn: gr.Button
    cmp_out: gr.Markdown
    cmp_plot: gr.Plot


def build_planners(i18n: I18n) -> PlannerParts:
    t = lambda key: i18n.t(key, i18n.lang)  # noqa: E731
    bind = i18n.bind
    with gr.Accordion(t("launch.planners"), open=False) as acc_plan:
        bind(acc_plan, "launch.planners")
        with gr.Tab(t("launch.memory")) as tab_mem:
            bind(tab_mem, "launch.memory")
            with gr.Row():
                mem_model = bind(gr.Textbox(value="llama-2-7b", label=t("launch.model"), elem_id="plan-mem-model"), "launch.model")
                mem_params = bind(gr.Number(value=None, label=t("launch.params")), "launch.params")
                mem_largest = bind(gr.Number(value=None, label=t("launch.largest")), "launch.largest")
                mem_gpn = bind(gr.Number(value=8, precision=0, label=t("launch.gpus_per_node")), "launch.gpus_per_node")
                mem_nodes = bind(gr.Number(value=1, precision=0, label=t("launch.nodes")), "launch.nodes")
                mem_lora = bind(gr.Number(value=0, precision=0, minimum=0, label=t("launch.lora_r"),
                                          elem_id="plan-mem-lora"), "launch.lora_r")
            mem_btn = bind(gr.Button(t("launch.estimate"), elem_id="plan-mem-go"), "launch.estimate", "value")
            mem_out = gr.Markdown(elem_id="plan-mem-out")
        with gr.Tab(t("launch.parallel")) as tab_par:
            bind(tab_par, "launch.parallel")
            with gr.Row():
                par_model = bind(gr.Textbox(value="llama-2-7b", label=t("launch.model")), "launch.model")
                par_gpus = bind(gr.Number(value=8, precision=0, label=t("launch.gpus_total")), "launch.gpus_total")
                par_tp = bind(gr.Number(value=2, precision=0, label=t("launch.tp")), "launch.tp")
                par_pp = bind(gr.Number(value=2, precision=0, label=t("launch.pp")), "launch.pp")
                par_micro = bind(gr.Number(value=1, precision=0, label=t("launch.micro")), "launch.micro")
                par_global = bind(gr.Number(value=1024, precision=0, label=t("launch.global")), "launch.global")
            par_btn = bind(gr.Button(t("launch.estimate"), elem_id="plan-par-go"), "launch.estimate", "value")
            par_out = gr.Markdown(elem_id="plan-par-out")
            par_cmd = gr.Code(language="shell", interactive=False, show_label=False)
        with gr.Tab(t("launch.compute")) as tab_cmp:
            bind(tab_cmp, "launch.compute")
            with gr.Row():
                cmp_params = bind(gr.Textbox(value="7e9", label=t("launch.params")), "launch.params")
                cmp_tokens = bind(gr.Textbox(value="", label=t("launch.tokens")), "launch.tokens")
                cmp_gpus = bind(gr.Number(value=64, precision=0, label=t("launch.gpus_total")), "launch.gpus_total")
                cmp_type = bind(gr.Dropdown(list(GPUS), value="a100" if "a100" in GPUS else list(GPUS)[0],
                                            label=t("launch.gpu_type")), "launch.gpu_type")
                cmp_mfu = bind(gr.Slider(0.05, 0.8, value=0.4, step=0.05, label=t("launch.mfu")), "launch.mfu")
            cmp_btn = bind(gr.Button(t("launch.estimate"), elem_id="plan-cmp-go"), "launch.estimate", "value")
            cmp_out = gr.Markdown(elem_id="plan-cmp-out")
            cmp_plot = gr.Plot(elem_id="plan-cmp-plot", show_label=False)
    made = locals()
    return PlannerParts(**{f.name: made[f.name] for f in fields(PlannerParts)})


def memory(model, params, largest, gpn, nodes, lora_r):
    try:
        trainable = None
        if (model or "").strip():
            shape = load_shape(model.strip())
            count = count_params(shape)
            params, largest = count.total, count.largest_layer
            trainable = lora_params(shape, int(lora_r)) if lora_r else None
        elif lora_r:
            raise UserError("LoRA rank: the adapter's size comes from a model's shape: give a model")
        if not params or not largest:
            raise UserError("give a model, or both parameter counts")
        mp = plan_memory(int(params), int(largest), int(gpn or 1), int(nodes or 1), trainable_params=trainable)
    except UserError as e:
        return f"⚠ {e}"
    gib = lambda b: f"{b / 2**30:,.2f}"  # noqa: E731
    rows = ["| ZeRO | offload optimizer | offload params | GPU GiB / device | CPU GiB / node |", "|---|---|---|---|---|"]
    rows += [f"| {s.stage} | {'✓' if s.offload_optimizer else ''} | {'✓' if s.offload_param else ''} | "
             f"{gib(s.gpu_bytes_per_device)} | {gib(s.cpu_bytes)} |" for s in mp.stages]
    notes = "\n".join(f"- {n}" for n in mp.notes)
    return f"{int(params):,} params · largest layer {int(largest):,}\n\n" + "\n".join(rows) + "\n\n" + notes


def parallel(model, gpus, tp, pp, micro, global_, lang_):
    try:
        pl = plan_parallel(int(gpus), int(tp), int(pp), int(micro), int(global_), load_shape(model.strip() or "llama-2-7b"))
    except (UserError, TypeError, ValueError) as e:
        return f"⚠ {e}", ""
    head = (f"DP = {pl.dp} · gradient accumulation = {pl.grad_accum_steps} · "
            f"pipeline bubble = {pl.pipeline_bubble if pl.pipeline_bubble is None else f'{pl.pipeline_bubble:.3f}'}")
    say = (lambda v: v.ja) if lang_ == "ja" else (lambda v: v.en)
    problems = "\n".join(f"- ⚠ **{v.constraint}**: {say(v)}" for v in pl.violations)
    warnings = "\n".join(f"- {say(w)}" for w in pl.warnings)
    ok = "✓ " + ("制約はすべて満たされています" if lang_ == "ja" else "all constraints hold") if pl.valid else ""
    return "\n\n".join(x for x in (head, ok, problems, warnings) if x), pl.command()


def compute(params, tokens, gpus, gpu_type, mfu):
    try:
        n = float(params)
        d = float(tokens) if str(tokens).strip() else None
        cp = plan_compute(n, int(gpus), gpu_type, d, float(mfu))
    except (UserError, ValueError) as e:
        return f"⚠ {e}", gr.skip()
    text = (f"tokens {cp.tokens:.3g} ({cp.tokens_source}) · FLOPs ≈ 6·N·D = {cp.flops:.3g}\n\n"
            f"{cp.gpus} × {cp.gpu_name} at {cp.peak_tflops_per_gpu:g} TFLOPS peak, MFU {cp.mfu:g}: "
            f"**{cp.days:,.1f} days** ({cp.gpu_hours:,.0f} GPU-hours)")
    fig = go.Figure()
    curves = cp.curves
    fig.add_trace(go.Scatter(x=curves["compute"], y=curves["kaplan"]["params"], name="Kaplan et al. 2020", mode="lines"))
    fig.add_trace(go.Scatter(x=curves["compute"], y=curves["chinchilla"]["params"], name="Chinchilla (Hoffmann et al. 2022)", mode="lines"))
    fig.add_trace(go.Scatter(x=[cp.flops], y=[cp.params], name="your plan", mode="markers", marker=dict(size=12, symbol="star")))
    fig.update_layout(xaxis_type="log", yaxis_type="log", xaxis_title="training FLOPs", yaxis_title="parameters",
                      height=380, margin=dict(l=50, r=20, t=30, b=40), legend=dict(orientation="h", y=-0.25))
    return text, fig


def wire_planners(pp: PlannerParts, lang_state: gr.State) -> None:
    pp.mem_btn.click(memory, [pp.mem_model, pp.mem_params, pp.mem_largest, pp.mem_gpn, pp.mem_nodes, pp.mem_lora],
                     [pp.mem_out])
    pp.par_btn.click(parallel, [pp.par_model, pp.par_gpus, pp.par_tp, pp.par_pp, pp.par_micro, pp.par_global, lang_state],
                     [pp.par_out, pp.par_cmd])
    pp.cmp_btn.click(compute, [pp.cmp_params, pp.cmp_tokens, pp.cmp_gpus, pp.cmp_type, pp.cmp_mfu],
                     [pp.cmp_out, pp.cmp_plot])
