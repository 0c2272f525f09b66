"""Launch tab: run any training preset across processes, GPUs or nodes. It shows the hardware, builds
the `launch:` block, previews the exact command and every generated file (accelerate config,
DeepSpeed JSON, hostfile, sbatch script) before anything starts, saves it all as a preset, and
plots the run live with per-rank step time and memory. Planners for memory (ZeRO), 3D parallelism
and compute sit below. The worker runs what the preview shows: both come from lab.distributed.launch_plan."""
from __future__ import annotations

import io
import zipfile

import gradio as gr
import plotly.graph_objects as go

from lab.distributed import configs, ds_check, hardware
from lab.distributed.launch_plan import plan
from lab.distributed.model_size import count_params, load_shape, lora_params
from lab.distributed.plan_compute import GPUS, plan_compute
from lab.distributed.plan_memory import plan_memory
from lab.distributed.plan_parallel import plan_parallel
from lab.errors import UserError
from lab.jobs import submit
from lab.names import check_name, inside
from lab.paths import workspace
from lab.presets import dump_spec, find_preset, list_presets, read_yaml, validate
from lab.runs import RunStore
from lab.spec import SFTSpec
from lab.threads import start_thread

from ..form import SpecForm
from ..i18n import I18n
from ..live import timer_after_idle_poll, training_figure
from ..runview import RunView
from .. import memory_note
from ..run_panel import COMMON_TEXT, equivalent_command, status_html

TRAINING_KINDS = ("sft", "dpo", "kto", "pretrain")
LAUNCH_KEYS = ["launch.launcher", "launch.nproc_per_node", "launch.gpus", "launch.nnodes", "launch.node_rank",
               "launch.master_addr", "launch.master_port", "launch.rdzv_endpoint", "launch.zero_stage",
               "launch.offload_optimizer", "launch.offload_param", "launch.fsdp", "launch.mixed_precision",
               "launch.hostfile", "launch.slurm.partition", "launch.slurm.account", "launch.slurm.time",
               "launch.slurm.gpus_per_node", "launch.slurm.node_launcher"]
DATA_KEYS = ["dataset.path", "dataset.format"]  # so a dataset handed over (the Data tab's kept corpus) shows in the command
DATA_FORMATS = ["auto", "messages", "alpaca", "sharegpt", "prompt_completion", "text", "preference", "hh_rlhf", "kto"]
FILES = ("command.sh", "accelerate.yaml", "deepspeed.json", "hostfile", "job.sbatch")

TEXT = {
    "launch.tab": ("Launch", "分散学習"),
    "launch.hardware": ("Hardware", "ハードウェア"),
    "launch.preset": ("Training preset", "学習のプリセット"),
    "launch.max_steps": ("Max steps (override)", "最大ステップ数（上書き）"),
    "launch.dataset.path": ("Dataset file (override)", "データセットファイル（上書き）"),
    "launch.dataset.format": ("Dataset format", "データセットの形式"),
    "launch.how": ("How it runs", "実行のしかた"),
    "launch.preview": ("Before anything starts: the command and the generated files",
                       "開始する前に：実行するコマンドと生成されるファイル"),
    "launch.download": ("Download the launch files", "起動ファイルをダウンロード"),
    "launch.check": ("Check the DeepSpeed config with DeepSpeed", "DeepSpeed の設定を DeepSpeed で検査"),
    "launch.save_name": ("Save as preset (name)", "プリセットとして保存（名前）"),
    "launch.save": ("Save as preset", "プリセットとして保存"),
    "launch.start": ("Start", "開始"),
    "launch.stop": ("Stop", "停止"),
    "launch.planners": ("Planners", "見積もり"),
    "launch.memory": ("Memory: ZeRO stages and offload", "メモリ：ZeRO の段階とオフロード"),
    "launch.parallel": ("3D parallelism (TP × PP × DP)", "3 次元並列（TP × PP × DP）"),
    "launch.compute": ("Compute: tokens, FLOPs and wall-clock", "計算量：トークン数・FLOPs・所要時間"),
    "launch.model": ("Model (tiny, llama-2-7b, a folder, or leave empty and give params)",
                     "モデル（tiny、llama-2-7b、フォルダ。空なら下のパラメータ数）"),
    "launch.params": ("Parameters", "パラメータ数"),
    "launch.largest": ("Largest layer parameters", "最大の層のパラメータ数"),
    "launch.gpus_per_node": ("GPUs per node", "ノードあたり GPU 数"),
    "launch.nodes": ("Nodes", "ノード数"),
    "launch.lora_r": ("LoRA rank (0 = full fine-tuning)", "LoRA のランク（0 は全パラメータ）"),
    "launch.estimate": ("Estimate", "見積もる"),
    "launch.gpus_total": ("GPUs", "GPU 数"),
    "launch.tp": ("Tensor parallel (TP)", "テンソル並列（TP）"),
    "launch.pp": ("Pipeline parallel (PP)", "パイプライン並列（PP）"),
    "launch.micro": ("Micro batch", "マイクロバッチ"),
    "launch.global": ("Global batch", "グローバルバッチ"),
    "launch.llama_example": ("The book's Llama-2-7B example (TP=2, PP=2)", "本書の Llama-2-7B の例（TP=2、PP=2）"),
    "launch.tokens": ("Tokens (empty = Chinchilla-optimal, 20 per parameter)", "トークン数（空なら Chinchilla 最適＝パラメータの 20 倍）"),
    "launch.gpu_type": ("GPU type", "GPU の種類"),
    "launch.mfu": ("Assumed MFU", "想定 MFU"),
    "launch.no_run": ("No distributed run yet.", "まだ分散実行はありません。"),
}
LABELS = {
    "launch.launcher": ("Launcher", "ランチャー"), "launch.nproc_per_node": ("Processes (GPUs) per node", "ノードあたりのプロセス（GPU）数"),
    "launch.gpus": ("GPU ids (e.g. 0,1)", "使う GPU の番号（例 0,1）"), "launch.nnodes": ("Nodes", "ノード数"),
    "launch.node_rank": ("This node's rank", "このノードの番号"), "launch.master_addr": ("Master address", "マスターのアドレス"),
    "launch.master_port": ("Master port", "マスターのポート"), "launch.rdzv_endpoint": ("Rendezvous endpoint (host:port)", "ランデブーの接続先（host:port）"),
    "launch.zero_stage": ("DeepSpeed ZeRO stage", "DeepSpeed ZeRO の段階"), "launch.offload_optimizer": ("Offload optimizer", "オプティマイザのオフロード"),
    "launch.offload_param": ("Offload parameters", "パラメータのオフロード"), "launch.fsdp": ("FSDP (full shard, wrap by layer)", "FSDP（全シャード、層ごとにラップ）"),
    "launch.mixed_precision": ("Mixed precision", "混合精度"), "launch.hostfile": ("DeepSpeed hostfile ('host slots=N', comma separated)", "DeepSpeed の hostfile（'host slots=N' をカンマ区切り）"),
    "launch.slurm.partition": ("Slurm partition", "Slurm のパーティション"), "launch.slurm.account": ("Slurm account", "Slurm のアカウント"),
    "launch.slurm.time": ("Slurm time limit", "Slurm の制限時間"), "launch.slurm.gpus_per_node": ("Slurm GPUs per node (0: one per process where GPUs are)", "Slurm のノードあたり GPU 数（0: GPU があればプロセスごとに 1 つ）"),
    "launch.slurm.node_launcher": ("Launcher on each Slurm node", "各ノードで使うランチャー"),
}
PANELS_TITLES = {"en": ("loss", "step time per rank (s)", "memory per rank (MB)", "throughput (tokens/s)"),
                 "ja": ("損失（loss）", "ランクごとのステップ時間（秒）", "ランクごとのメモリ（MB）", "スループット（トークン/秒）")}


def hardware_markdown(lang: str) -> str:
    hw = hardware.detect()
    ja = lang == "ja"
    lines = [f"**CPU**: {hw['cpu_cores']} {'コア' if ja else 'cores'} · {hw['memory_gb']} GB "
             f"({hw['memory_available_gb']} GB {'空き' if ja else 'free'})"]
    if hw["gpus"]:
        # bf16 ✓ only where the card computes it natively (sm80+); elsewhere the lab trains in fp16.
        lines += ["", "| GPU | name | memory | free | util | bf16 |", "|---|---|---|---|---|---|"]
        lines += [f"| {g['index']} | {g['name']} | {g['memory_gb']} GB | {g['free_gb']} GB | "
                  f"{'' if g['utilization'] is None else str(g['utilization']) + '%'} | "
                  f"{'?' if g['bf16'] is None else '✓' if g['bf16'] else '–'} |"
                  for g in hw["gpus"]]
    else:
        lines.append("")
        lines.append("GPU なし：CPU で gloo バックエンドの分散学習（torchrun / accelerate）を実行できます。" if ja else
                     "No GPU: distributed runs use CPU processes with the gloo backend (torchrun / accelerate).")
    return "\n".join(lines)


def rank_panels(series: dict) -> tuple:
    ranks_time = tuple(sorted(k for k in series if k.endswith("/step_time_s")))
    ranks_mem = tuple(sorted(k for k in series if k.endswith("/rss_mb") or k.endswith("/gpu_mem_mb")))
    return (("loss", ("loss", "eval_loss")), ("step time", ranks_time or ("rank0/step_time_s",)),
            ("memory", ranks_mem or ("rss_mb",)), ("throughput", ("tokens_per_second",)))


WAITING = dict(zip(("en", "ja"), COMMON_TEXT["waiting"]))


def figure(view: RunView | None, lang: str) -> go.Figure:
    series = view.series if view else {}
    return training_figure(series, False, PANELS_TITLES[lang], rank_panels(series), WAITING[lang])


def _training_presets() -> list[str]:
    return [p.stem for kind in TRAINING_KINDS for p in list_presets(kind)]


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    i18n.add(LABELS)
    lang = i18n.lang
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    form = SpecForm(SFTSpec, LAUNCH_KEYS + DATA_KEYS, id_prefix="launch-f-",
                    choices={"launch.zero_stage": ["none", 0, 1, 2, 3], "dataset.format": DATA_FORMATS})
    first = "sft-tiny"
    first_data, _ = read_yaml(find_preset(first))
    # One process per visible GPU; on a CPU box two gloo ranks show distributed training.
    form_data = {**first_data, "launch": {"launcher": "torchrun", "nproc_per_node": hardware.default_nproc()}}

    with gr.Tab(t("launch.tab"), id="launch", elem_id="tab-launch") as tab:
        i18n.bind(tab, "launch.tab")
        base_state = gr.State(first_data)
        path_state = gr.State(str(find_preset(first)))
        view_state = gr.State(None)
        with gr.Accordion(t("launch.hardware"), open=True) as acc_hw:
            i18n.bind(acc_hw, "launch.hardware")
            hw_md = gr.Markdown(hardware_markdown(lang), elem_id="launch-hardware")
        with gr.Row(equal_height=True):
            preset_dd = i18n.bind(gr.Dropdown(_training_presets(), value=first, label=t("launch.preset"),
                                              elem_id="launch-preset", scale=2), "launch.preset")
            max_steps = i18n.bind(gr.Number(value=first_data.get("train", {}).get("max_steps", -1), precision=0,
                                            label=t("launch.max_steps"), elem_id="launch-max-steps", scale=1),
                                  "launch.max_steps")
            save_name = i18n.bind(gr.Textbox(label=t("launch.save_name"), placeholder="sft-tiny-ddp2",
                                             elem_id="launch-save-name", scale=2), "launch.save_name")
            save_btn = i18n.bind(gr.Button(t("launch.save"), elem_id="launch-save", scale=1), "launch.save", "value")
        with gr.Row(equal_height=True):
            for key in DATA_KEYS:
                i18n.bind(form.widget(key, t(f"launch.{key}"), form_data, scale=3 if key == "dataset.path" else 1),
                          f"launch.{key}")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                with gr.Accordion(t("launch.how"), open=True) as acc_how:
                    i18n.bind(acc_how, "launch.how")
                    for key in LAUNCH_KEYS:
                        value_data = dict(form_data)
                        zero = value_data.get("launch", {}).get("zero_stage")
                        if key == "launch.zero_stage" and zero is None:
                            value_data = {**value_data, "launch": {**value_data["launch"], "zero_stage": "none"}}
                        i18n.bind(form.widget(key, t(key), value_data), key)
            with gr.Column(scale=2):
                i18n.bind(gr.Markdown(f"**{t('launch.preview')}**"), "launch.preview", "value")
                command = gr.Code(language="shell", label="lab run …", interactive=False, elem_id="launch-command")
                memory = memory_note.component("launch")
                with gr.Tabs():
                    previews = {}
                    for name in FILES:
                        with gr.Tab(name):
                            previews[name] = gr.Code(language="json" if name.endswith("json") else "yaml"
                                                     if name.endswith("yaml") else "shell", interactive=False,
                                                     show_label=False, elem_id=f"launch-file-{name.replace('.', '-')}")
                with gr.Row():
                    download = i18n.bind(gr.File(label=t("launch.download"), interactive=False, height=80,
                                                 elem_id="launch-download"), "launch.download")
                    check_btn = i18n.bind(gr.Button(t("launch.check"), elem_id="launch-check"), "launch.check", "value")
                check_md = gr.Markdown("", elem_id="launch-check-result")
                with gr.Row():
                    start_btn = i18n.bind(gr.Button(t("launch.start"), variant="primary", elem_id="launch-start"), "launch.start", "value")
                    stop_btn = i18n.bind(gr.Button(t("launch.stop"), variant="stop", elem_id="launch-stop"), "launch.stop", "value")
                error_md = gr.Markdown("", elem_id="launch-error")
                status = gr.HTML(status_html("launch", None, t("launch.no_run")))
                plot = gr.Plot(figure(None, lang), elem_id="launch-plot", show_label=False)

        with gr.Accordion(t("launch.planners"), open=False) as acc_plan:
            i18n.bind(acc_plan, "launch.planners")
            with gr.Tab(t("launch.memory")) as tab_mem:
                i18n.bind(tab_mem, "launch.memory")
                with gr.Row():
                    mem_model = i18n.bind(gr.Textbox(value="llama-2-7b", label=t("launch.model"), elem_id="plan-mem-model"), "launch.model")
                    mem_params = i18n.bind(gr.Number(value=None, label=t("launch.params")), "launch.params")
                    mem_largest = i18n.bind(gr.Number(value=None, label=t("launch.largest")), "launch.largest")
                    mem_gpn = i18n.bind(gr.Number(value=8, precision=0, label=t("launch.gpus_per_node")), "launch.gpus_per_node")
                    mem_nodes = i18n.bind(gr.Number(value=1, precision=0, label=t("launch.nodes")), "launch.nodes")
                    mem_lora = i18n.bind(gr.Number(value=0, precision=0, minimum=0, label=t("launch.lora_r"),
                                                   elem_id="plan-mem-lora"), "launch.lora_r")
                mem_btn = i18n.bind(gr.Button(t("launch.estimate"), elem_id="plan-mem-go"), "launch.estimate", "value")
                mem_out = gr.Markdown(elem_id="plan-mem-out")
            with gr.Tab(t("launch.parallel")) as tab_par:
                i18n.bind(tab_par, "launch.parallel")
                with gr.Row():
                    par_model = i18n.bind(gr.Textbox(value="llama-2-7b", label=t("launch.model")), "launch.model")
                    par_gpus = i18n.bind(gr.Number(value=8, precision=0, label=t("launch.gpus_total")), "launch.gpus_total")
                    par_tp = i18n.bind(gr.Number(value=2, precision=0, label=t("launch.tp")), "launch.tp")
                    par_pp = i18n.bind(gr.Number(value=2, precision=0, label=t("launch.pp")), "launch.pp")
                    par_micro = i18n.bind(gr.Number(value=1, precision=0, label=t("launch.micro")), "launch.micro")
                    par_global = i18n.bind(gr.Number(value=1024, precision=0, label=t("launch.global")), "launch.global")
                par_btn = i18n.bind(gr.Button(t("launch.estimate"), elem_id="plan-par-go"), "launch.estimate", "value")
                par_out = gr.Markdown(elem_id="plan-par-out")
                par_cmd = gr.Code(language="shell", interactive=False, show_label=False)
            with gr.Tab(t("launch.compute")) as tab_cmp:
                i18n.bind(tab_cmp, "launch.compute")
                with gr.Row():
                    cmp_params = i18n.bind(gr.Textbox(value="7e9", label=t("launch.params")), "launch.params")
                    cmp_tokens = i18n.bind(gr.Textbox(value="", label=t("launch.tokens")), "launch.tokens")
                    cmp_gpus = i18n.bind(gr.Number(value=64, precision=0, label=t("launch.gpus_total")), "launch.gpus_total")
                    cmp_type = i18n.bind(gr.Dropdown(list(GPUS), value="a100" if "a100" in GPUS else list(GPUS)[0],
                                                     label=t("launch.gpu_type")), "launch.gpu_type")
                    cmp_mfu = i18n.bind(gr.Slider(0.05, 0.8, value=0.4, step=0.05, label=t("launch.mfu")), "launch.mfu")
                cmp_btn = i18n.bind(gr.Button(t("launch.estimate"), elem_id="plan-cmp-go"), "launch.estimate", "value")
                cmp_out = gr.Markdown(elem_id="plan-cmp-out")
                cmp_plot = gr.Plot(elem_id="plan-cmp-plot", show_label=False)
        timer = gr.Timer(1.0, active=False)  # on only while a run is watched and not yet drawn finished

    widgets = form.components()

    # ---- spec from preset + launch form -----------------------------------------------------------
    def spec_dict(base, steps, values):
        data = form.to_dict(base, list(values))
        launch = data["launch"]
        launch["zero_stage"] = None if launch.get("zero_stage") in ("none", "", None) else int(launch["zero_stage"])
        hostfile = launch.get("hostfile")
        launch["hostfile"] = [h.strip() for h in hostfile.split(",") if h.strip()] if isinstance(hostfile, str) else hostfile or []
        for key in ("gpus", "rdzv_endpoint"):
            launch[key] = launch.get(key) or None
        slurm = launch.get("slurm", {})
        for key in ("partition", "account"):
            slurm[key] = slurm.get(key) or None
        # an empty number box arrives as 0: that means "follow the request" (one GPU per rank where GPUs are)
        slurm["gpus_per_node"] = slurm.get("gpus_per_node") or None
        if steps is not None:
            data.setdefault("train", {})["max_steps"] = int(steps)
        return data

    def preview(path, base, steps, *values):
        try:
            data = spec_dict(base, steps, values)
            spec = validate(data, "form")
            p = plan(spec, "runs/<RUN_ID>")
        except UserError as e:
            return [gr.skip()] * (len(FILES) + 3) + [f"⚠ {e}"]
        files = [p.files.get(name, "") for name in FILES]
        return [equivalent_command(path, base, data), memory_note.note_text(data), *files, _zip(p.files, spec), ""]

    preview_outputs = [command, memory, *previews.values(), download, error_md]
    preview_inputs = [path_state, base_state, max_steps, *widgets]
    gr.on([w.change for w in widgets] + [max_steps.change], preview, preview_inputs, preview_outputs,
          show_progress="hidden")

    data_widgets = [form.widgets[k] for k in DATA_KEYS]

    def load(name):
        path = find_preset(name)
        data, _ = read_yaml(path)
        return data, str(path), data.get("train", {}).get("max_steps", -1), *form.values_from(data)[len(LAUNCH_KEYS):]

    preset_dd.input(load, [preset_dd], [base_state, path_state, max_steps, *data_widgets]).then(
        preview, preview_inputs, preview_outputs, show_progress="hidden")

    def open_preset(name, *values, dataset: tuple[str, str] | None = None):
        """The preset (from the Home tab), or pretrain-tiny on a dataset (from the Data tab), under the form's launch settings."""
        try:
            data, path, steps, *data_values = load(name)
        except UserError as e:
            return [gr.skip()] * (len(open_outputs) - 1) + [f"⚠ {e}"]
        if dataset is not None:
            data_values = list(dataset)
        launch_values = list(values[:len(LAUNCH_KEYS)])
        return [gr.update(value=name), data, path, steps, *data_values,
                *preview(path, data, steps, *launch_values, *data_values)]

    open_outputs = [preset_dd, base_state, path_state, max_steps, *data_widgets, *preview_outputs]

    def check(base, steps, *values):
        try:
            spec = validate(spec_dict(base, steps, values), "form")
        except UserError as e:
            return f"⚠ {e}"
        if spec.launch.zero_stage is None:
            return "ZeRO: –"
        problem = ds_check.check(configs.deepspeed_config(spec.launch), spec.train.per_device_train_batch_size,
                                 spec.train.gradient_accumulation_steps, spec.train.max_grad_norm)
        return f"⚠ DeepSpeed: {problem}" if problem else "✓ DeepSpeed accepts deepspeed.json"

    check_btn.click(check, [base_state, max_steps, *widgets], [check_md])

    def save(name, base, steps, *values):
        try:
            spec = validate(spec_dict(base, steps, values), "form")
            name = (name or "").strip()
            if not name or not all(c.isalnum() or c in "-_." for c in name):
                raise UserError("preset name: use letters, digits, '-', '_' or '.'")
            folder = workspace() / "presets"
            folder.mkdir(parents=True, exist_ok=True)
            inside(folder, f"{check_name(name, 'preset name')}.yaml", "preset name").write_text(dump_spec(spec), encoding="utf-8")
        except UserError as e:
            return f"⚠ {e}", gr.skip()
        return "", gr.update(choices=_training_presets(), value=name)

    save_btn.click(save, [save_name, base_state, max_steps, *widgets], [error_md, preset_dd])

    # ---- run ----------------------------------------------------------------------------------------
    def start(base, steps, *values):
        try:
            run = submit(store, validate(spec_dict(base, steps, values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    start_btn.click(start, [base_state, max_steps, *widgets], [view_state, error_md, timer])

    def stop(view):
        if view is not None:
            store.request_cancel(view.run_id)
            start_thread(store.cancel, view.run_id)

    stop_btn.click(stop, [view_state], None)

    def tick(view, lang_):
        """Nothing new: skip; once the run has ended and been drawn so, nothing will be: the timer stops."""
        if view is None or not view.poll(store):
            return gr.skip(), gr.skip(), gr.skip(), timer_after_idle_poll(view)
        return view, figure(view, lang_), status_html("launch", view, i18n.t("launch.no_run", lang_)), gr.skip()

    timer.tick(tick, [view_state, lang_state], [view_state, plot, status, timer], show_progress="hidden")

    # ---- planners -------------------------------------------------------------------------------------
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

    mem_btn.click(memory, [mem_model, mem_params, mem_largest, mem_gpn, mem_nodes, mem_lora], [mem_out])

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

    par_btn.click(parallel, [par_model, par_gpus, par_tp, par_pp, par_micro, par_global, lang_state], [par_out, par_cmd])

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

    cmp_btn.click(compute, [cmp_params, cmp_tokens, cmp_gpus, cmp_type, cmp_mfu], [cmp_out, cmp_plot])

    def on_load(lang_):
        return (hardware_markdown(lang_), *preview(*_initial_inputs()))

    def _initial_inputs():
        return (str(find_preset(first)), first_data, first_data.get("train", {}).get("max_steps", -1),
                *form.values_from({**form_data, "launch": {**form_data["launch"], "zero_stage": "none"}}))

    return {"tab": tab, "on_load": (on_load, [lang_state], [hw_md, *preview_outputs]),
            "open_preset": (open_preset, widgets, open_outputs),
            "relabel_plot": (lambda v, lang_: (figure(v, lang_), status_html("launch", v, i18n.t("launch.no_run", lang_)),
                                               hardware_markdown(lang_)),
                             [view_state, lang_state], [plot, status, hw_md])}


def _zip(files: dict[str, str], spec) -> str:
    """launch files + job.yaml in one zip, for taking to a cluster."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(f"launch/{name}", text)
        z.writestr("job.yaml", dump_spec(spec))
    folder = workspace() / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"launch-{spec.kind}-{spec.launch.launcher}.zip"
    path.write_bytes(buf.getvalue())
    return str(path)
