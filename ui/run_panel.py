"""The run panel every training tab shares (SFT, DPO/KTO): a form built from the job spec, presets in
and out, the equivalent `lab run` command, Start/Stop, live charts with progress, ETA and the log
tail, and after success a side-by-side streaming chat of the result with the model it started from.
A tab module supplies a TrainTab (its spec, form keys, chart panels, texts) and gets all of this.
It builds specs and reads run folders; the worker process does the training."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gradio as gr

from lab.errors import UserError
from lab.events import metric_series, read_events
from lab.jobs import submit
from lab.models import chat
from lab.names import check_name, inside
from lab.paths import REPO_DIR, workspace
from lab.presets import diff_as_overrides, dump_spec, find_preset, list_presets, read_yaml, validate
from lab.runs import RunStore
from lab.spec import spec_to_dict
from lab.threads import start_thread

from . import memory_note
from .form import SpecForm
from .i18n import I18n
from .inspect_panel import build_inspect_panel
from .live import timer_after_idle_poll, training_figure
from .runview import RunView
from .uploads import keep_upload

COMMON_TEXT = {
    "preset": ("Preset", "プリセット"),
    "load": ("Load preset", "プリセットを読み込む"),
    "preset_files": ("Preset files (open / download)", "プリセットファイル（開く／ダウンロード）"),
    "open_file": ("Open a preset file", "プリセットファイルを開く"),
    "save_name": ("Save as preset (name)", "プリセットとして保存（名前）"),
    "save": ("Save as preset", "プリセットとして保存"),
    "saved_file": ("Saved preset", "保存したプリセット"),
    "model_data": ("Model and data", "モデルとデータ"),
    "training": ("Training", "学習"),
    "upload_data": ("Upload a dataset", "データセットをアップロード"),
    "command": ("Equivalent command", "同じことをするコマンド"),
    "start": ("Start", "開始"),
    "stop": ("Stop", "停止"),
    "watch": ("Show run", "表示する実行"),
    "log_y": ("Log scale (loss)", "対数目盛（loss）"),
    "log": ("Log", "ログ"),
    "message": ("Message", "メッセージ"),
    "send": ("Send", "送信"),
    "clear": ("Clear", "クリア"),
    "max_new_tokens": ("Max new tokens", "最大生成トークン数"),
    "temperature": ("Temperature", "温度"),
    "no_run": ("No run yet: load a preset and press Start.", "まだ実行はありません。プリセットを読み込んで「開始」を押してください。"),
    "waiting": ("waiting for the first logged step…", "最初のステップの記録を待っています…"),
    "to_judge": ("Compare both in the Judge tab", "両方を審査タブで比べる"),
    # form fields, keyed by their spec key
    "model.name": ("Model (tiny, run:ID, folder or Hub id)", "モデル（tiny、run:ID、フォルダ、Hub の ID）"),
    "method": ("Method", "手法"),
    "lora.r": ("LoRA rank r", "LoRA のランク r"),
    "lora.alpha": ("LoRA alpha", "LoRA の alpha"),
    "dataset.path": ("Dataset file (JSONL/JSON)", "データセットファイル（JSONL/JSON）"),
    "dataset.format": ("Format", "形式"),
    "dataset.eval_split": ("Eval split", "評価用に分ける割合"),
    "train.max_steps": ("Max steps (-1 = by epochs)", "最大ステップ数（-1 はエポック数で）"),
    "train.num_train_epochs": ("Epochs", "エポック数"),
    "train.learning_rate": ("Learning rate", "学習率"),
    "train.lr_scheduler_type": ("LR schedule", "学習率スケジュール"),
    "train.warmup_steps": ("Warm-up steps", "ウォームアップステップ"),
    "train.per_device_train_batch_size": ("Batch size per device", "デバイスあたりのバッチサイズ"),
    "train.gradient_accumulation_steps": ("Gradient accumulation", "勾配累積"),
    "train.max_length": ("Max length (tokens)", "最大長（トークン）"),
    "train.logging_steps": ("Log every N steps", "N ステップごとに記録"),
    "train.eval_steps": ("Eval every N steps", "N ステップごとに評価"),
    "train.save_steps": ("Checkpoint every N steps", "N ステップごとにチェックポイント"),
    "train.seed": ("Seed", "シード"),
}


@dataclass
class TrainTab:
    prefix: str                       # elem_id prefix and i18n namespace, e.g. "sft"
    kinds: tuple[str, ...]            # run kinds this tab starts and shows
    spec_cls: type
    default_preset: str
    model_data_keys: list[str]
    training_keys: list[str]
    panels: tuple[tuple[str, tuple[str, ...]], ...]
    panel_titles: dict[str, tuple[str, ...]]
    text: dict[str, tuple[str, str]]  # the tab's own labels: "tab", "chat_title", "chat_left", "chat_right", …
    to_spec: Callable[[dict], dict] = lambda d: d        # form dict → spec dict (e.g. algorithm kto → kind kto)
    from_spec: Callable[[dict], dict] = lambda d: d      # preset dict → form dict
    extra_series: Callable[[RunStore, RunView], dict] = lambda store, view: {}
    extra: Callable | None = None     # extra(form, i18n, lang, lang_state, store): more components under the form
    choices: dict[str, list] = field(default_factory=dict)  # widget choices that differ from the spec's
    to_judge: bool = False            # offer "compare both in the Judge tab" beside the chat


def _preset_names(cfg: TrainTab) -> list[str]:
    return [p.stem for kind in cfg.kinds for p in list_presets(kind)]


def preset_command_path(path: str | None) -> str:
    if not path:
        return "PRESET.yaml"
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_DIR))
    except ValueError:
        return str(p)


def equivalent_command(preset_path: str | None, base: dict, data: dict) -> str:
    """`lab run PRESET --set …` for what the form changed, compared after validation so that a
    value the form merely spelled out (a default, 1 for 1.0) is not shown as a change."""
    try:
        base, data = spec_to_dict(validate(base)), spec_to_dict(validate(data))
    except UserError:
        pass
    sets = " ".join(f"--set {s}" if " " not in s else f"--set '{s}'" for s in diff_as_overrides(base, data))
    return f"lab run {preset_command_path(preset_path)} {sets}".strip()


def format_eta(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def status_html(prefix: str, view: RunView | None, no_run: str) -> str:
    if view is None:
        return f"<div id='{prefix}-status'>{html.escape(no_run)}</div>"
    p = view.progress
    step, total = p.get("step", 0), p.get("total") or 0
    state = view.state
    pct = int(100 * step / total) if total else 0
    env = view.env
    env_line = (f" · {env.get('device')} · {env.get('dtype')} · world size {env.get('world_size')}"
                f" · {env.get('trainable_params', 0):,}/{env.get('params', 0):,} params") if env else ""
    parent = view.status.get("parent")
    parent_line = f" · parent {parent}" if parent else ""
    if view.status.get("slurm_job"):  # a Slurm run: which job, and where Slurm has it
        parent_line += f" · Slurm {view.status['slurm_job']} {view.status.get('slurm_state') or ''}".rstrip()
    error = f"<div class='lab-error'>⚠ {html.escape(view.status.get('error') or '')}</div>" if state == "failed" else ""
    return (f"<div id='{prefix}-status' data-state='{state}' data-step='{step}'>"
            f"<b>{html.escape(view.run_id)}</b> · <span class='lab-state lab-{state}'>{state}</span>"
            f" · step {step}/{total or '?'} · ETA {format_eta(p.get('eta_s'))}{html.escape(env_line + parent_line)}"
            f"<br><progress max='100' value='{pct}' style='width:100%'></progress>{error}</div>")


def parent_series(store: RunStore, view: RunView, metric: str = "eval_loss", label: str = "parent/eval_loss") -> dict:
    """A metric of the run this one started from (e.g. the SFT run's eval loss beside DPO)."""
    parent = view.status.get("parent")
    if not parent:
        return {}
    try:
        events, _ = read_events(store.get(parent).events_path)
    except UserError:
        return {}
    points = metric_series(events).get(metric, [])
    return {label: points} if points else {}


def build_train_tab(cfg: TrainTab, store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(COMMON_TEXT)
    i18n.add({f"{cfg.prefix}.{k}": v for k, v in cfg.text.items()})
    lang = i18n.lang
    p = cfg.prefix
    form = SpecForm(cfg.spec_cls, cfg.model_data_keys + cfg.training_keys, id_prefix=f"{p}-f-", choices=cfg.choices)
    default_path = find_preset(cfg.default_preset)
    default_data, _ = read_yaml(default_path)
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    tt = lambda key: i18n.t(f"{p}.{key}", lang)  # noqa: E731

    def figure(view, log_on, lang_):
        series = dict(view.series) if view else {}
        if view is not None:
            series.update(cfg.extra_series(store, view))
        return training_figure(series, log_on, cfg.panel_titles[lang_], cfg.panels, i18n.t("waiting", lang_))

    with gr.Tab(tt("tab"), id=p, elem_id=f"tab-{p}") as tab:
        i18n.bind(tab, f"{p}.tab")
        base_state = gr.State(default_data)
        path_state = gr.State(str(default_path))
        view_state = gr.State(None)
        history_state = gr.State(([], []))

        with gr.Row(equal_height=True):
            preset_dd = i18n.bind(gr.Dropdown(choices=_preset_names(cfg), value=cfg.default_preset, label=t("preset"),
                                              elem_id=f"{p}-preset", scale=2), "preset")
            load_btn = i18n.bind(gr.Button(t("load"), elem_id=f"{p}-load", scale=1), "load", "value")
            save_name = i18n.bind(gr.Textbox(label=t("save_name"), placeholder=f"my-{p}", elem_id=f"{p}-save-name",
                                             scale=2), "save_name")
            save_btn = i18n.bind(gr.Button(t("save"), elem_id=f"{p}-save", scale=1), "save", "value")
        with gr.Accordion(t("preset_files"), open=False) as acc0:
            i18n.bind(acc0, "preset_files")
            with gr.Row():
                preset_file = i18n.bind(gr.File(label=t("open_file"), file_types=[".yaml", ".yml"], height=120,
                                                elem_id=f"{p}-preset-file"), "open_file")
                saved_file = i18n.bind(gr.File(label=t("saved_file"), interactive=False, height=120,
                                               elem_id=f"{p}-saved-file"), "saved_file")

        form_data = cfg.from_spec(default_data)
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                with gr.Accordion(t("model_data"), open=True) as acc1:
                    i18n.bind(acc1, "model_data")
                    for key in cfg.model_data_keys:
                        i18n.bind(form.widget(key, _label(i18n, p, key, lang), form_data), _label_key(i18n, p, key))
                    upload = i18n.bind(gr.File(label=t("upload_data"), file_types=[".jsonl", ".json"],
                                               elem_id=f"{p}-upload"), "upload_data")
                with gr.Accordion(t("training"), open=True) as acc2:
                    i18n.bind(acc2, "training")
                    for key in cfg.training_keys:
                        i18n.bind(form.widget(key, _label(i18n, p, key, lang), form_data), _label_key(i18n, p, key))
                if cfg.extra:
                    cfg.extra(form, i18n, lang, lang_state, store)
                inspect_area = gr.Column()  # filled below, once the form's widgets are known
            with gr.Column(scale=2):
                command = i18n.bind(gr.Code(value=equivalent_command(str(default_path), default_data, default_data),
                                            language="shell", label=t("command"), interactive=False,
                                            elem_id=f"{p}-command"), "command")
                memory = memory_note.component(p, default_data)
                with gr.Row():
                    start_btn = i18n.bind(gr.Button(t("start"), variant="primary", elem_id=f"{p}-start"), "start", "value")
                    stop_btn = i18n.bind(gr.Button(t("stop"), variant="stop", elem_id=f"{p}-stop"), "stop", "value")
                    watch_dd = i18n.bind(gr.Dropdown(choices=[], label=t("watch"), elem_id=f"{p}-watch"), "watch")
                error_md = gr.Markdown("", elem_id=f"{p}-error", elem_classes=["lab-error-box"])
                status = gr.HTML(status_html(p, None, t("no_run")))
                log_y = i18n.bind(gr.Checkbox(label=t("log_y"), value=False, elem_id=f"{p}-log-y"), "log_y")
                plot = gr.Plot(figure(None, False, lang), elem_id=f"{p}-plot", show_label=False)
                log_box = i18n.bind(gr.Textbox(label=t("log"), lines=8, max_lines=8, autoscroll=True,
                                               interactive=False, elem_id=f"{p}-log"), "log")

        with gr.Column(visible=False, elem_id=f"{p}-chat") as chat_col:
            i18n.bind(gr.Markdown(tt("chat_title")), f"{p}.chat_title", "value")
            with gr.Row():
                bot_left = i18n.bind(gr.Chatbot(label=tt("chat_left"), height=300, elem_id=f"{p}-chat-trained"),
                                     f"{p}.chat_left")
                bot_right = i18n.bind(gr.Chatbot(label=tt("chat_right"), height=300, elem_id=f"{p}-chat-base"),
                                      f"{p}.chat_right")
            with gr.Row():
                msg = i18n.bind(gr.Textbox(label=t("message"), scale=4, elem_id=f"{p}-chat-msg"), "message")
                send_btn = i18n.bind(gr.Button(t("send"), variant="primary", scale=1, elem_id=f"{p}-chat-send"), "send", "value")
                clear_btn = i18n.bind(gr.Button(t("clear"), scale=1), "clear", "value")
                to_judge = (i18n.bind(gr.Button(t("to_judge"), scale=1, elem_id=f"{p}-to-judge"), "to_judge", "value")
                            if cfg.to_judge else None)
            with gr.Row():
                max_new = i18n.bind(gr.Slider(8, 512, value=96, step=8, label=t("max_new_tokens")), "max_new_tokens")
                temperature = i18n.bind(gr.Slider(0.0, 1.5, value=0.7, step=0.05, label=t("temperature")), "temperature")
        timer = gr.Timer(1.0, active=False)  # on only while a run is watched and not yet drawn finished

    widgets = form.components()

    def form_dict(base, values):
        return cfg.to_spec(form.to_dict(cfg.from_spec(base), list(values)))

    # ---- presets ----------------------------------------------------------------------------
    preset_outputs = [base_state, path_state, *widgets, command, error_md]

    def fill(data, path):
        return [data, path, *form.values_from(cfg.from_spec(data)), equivalent_command(path, data, data), ""]

    def load_named(name):
        try:
            path = find_preset(name)
            data, _ = read_yaml(path)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * (len(preset_outputs) - 1) + [f"⚠ {e}"]
        return fill(data, str(path))

    def load_file(file):
        if not file:
            return [gr.skip()] * len(preset_outputs)
        try:
            data, tree = read_yaml(Path(file))
            validate(data, Path(file).name, tree)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * (len(preset_outputs) - 1) + [f"⚠ {e}"]
        return fill(data, file)

    load_btn.click(load_named, [preset_dd], preset_outputs)
    preset_file.upload(load_file, [preset_file], preset_outputs)

    def save_preset(name, base, *values):
        try:
            spec = validate(form_dict(base, values), "form")
            name = (name or "").strip()
            if not name or not all(c.isalnum() or c in "-_." for c in name):
                raise UserError("preset name: use letters, digits, '-', '_' or '.'")
            folder = workspace() / "presets"
            folder.mkdir(parents=True, exist_ok=True)
            path = inside(folder, f"{check_name(name, 'preset name')}.yaml", "preset name")
            path.write_text(dump_spec(spec), encoding="utf-8")
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}"
        return str(path), gr.update(choices=_preset_names(cfg), value=name), ""

    save_btn.click(save_preset, [save_name, base_state, *widgets], [saved_file, preset_dd, error_md])

    def update_command(path, base, *values):
        data = form_dict(base, values)
        return equivalent_command(path, base, data), memory_note.note_text(data)

    gr.on([w.change for w in widgets], update_command, [path_state, base_state, *widgets], [command, memory],
          show_progress="hidden")

    def take_upload(file):
        if not file:
            return gr.skip()
        return keep_upload(file)

    upload.upload(take_upload, [upload], [form.widgets["dataset.path"]])
    with inspect_area:
        build_inspect_panel(p, i18n, lang, [base_state, *widgets], lambda base, *values: form_dict(base, values), lang_state)

    # ---- start / stop / watch ---------------------------------------------------------------
    def run_ids():
        return store.find(kind=cfg.kinds)

    def start(base, *values):
        try:
            run = submit(store, validate(form_dict(base, values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip(), gr.skip(), gr.skip(), gr.skip()
        view = RunView.open(store, run.id)
        return (view, "", gr.update(choices=run_ids(), value=run.id), gr.update(visible=False), ([], []),
                gr.Timer(active=True))

    start_btn.click(start, [base_state, *widgets], [view_state, error_md, watch_dd, chat_col, history_state, timer])

    def stop(view):
        if view is None:
            return
        store.request_cancel(view.run_id)
        start_thread(store.cancel, view.run_id)

    stop_btn.click(stop, [view_state], None)

    def watch(run_id, view):
        if not run_id or (view is not None and view.run_id == run_id):
            return gr.skip(), gr.skip(), gr.skip()
        return RunView.open(store, run_id), ([], []), gr.Timer(active=True)

    watch_dd.input(watch, [watch_dd, view_state], [view_state, history_state, timer])

    def tick(view, log_y_on, lang_):
        """Nothing new: skip; once the run has ended and been drawn so, nothing will be: the timer stops."""
        if view is None or not view.poll(store):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), timer_after_idle_poll(view)
        log_text = store.get(view.run_id).log_tail(12)
        return (view, figure(view, log_y_on, lang_), status_html(p, view, i18n.t("no_run", lang_)), log_text,
                gr.update(visible=view.state == "succeeded"), gr.skip())

    timer.tick(tick, [view_state, log_y, lang_state], [view_state, plot, status, log_box, chat_col, timer],
               show_progress="hidden")
    log_y.change(lambda v, on, lang_: figure(v, on, lang_), [view_state, log_y, lang_state], [plot],
                 show_progress="hidden")

    # ---- chat: the result (left) beside the model it started from (right) ---------------------
    def send(text, histories, view, max_new_tokens, temp):
        if view is None or not (text or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        start_model = store.get(view.run_id).load_spec().model.name
        hist_a, hist_b = (h + [{"role": "user", "content": text}] for h in histories)
        reply_a = reply_b = ""
        for reply_a, reply_b in chat.stream_many([f"run:{view.run_id}", start_model], [hist_a, hist_b],
                                                 int(max_new_tokens), float(temp)):
            yield (hist_a + [{"role": "assistant", "content": reply_a}],
                   hist_b + [{"role": "assistant", "content": reply_b}], gr.skip(), "")
        hist_a = hist_a + [{"role": "assistant", "content": reply_a}]
        hist_b = hist_b + [{"role": "assistant", "content": reply_b}]
        yield hist_a, hist_b, (hist_a, hist_b), ""

    chat_inputs = [msg, history_state, view_state, max_new, temperature]
    chat_outputs = [bot_left, bot_right, history_state, msg]
    send_btn.click(send, chat_inputs, chat_outputs)
    msg.submit(send, chat_inputs, chat_outputs)
    clear_btn.click(lambda: ([], [], ([], [])), None, [bot_left, bot_right, history_state])

    def on_load():
        ids = run_ids()
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        return gr.update(choices=ids, value=pick), (RunView.open(store, pick) if pick else None), gr.Timer(active=bool(pick))

    # ---- opened from elsewhere: a preset from the Home tab's gallery, a dataset from the Data tab ------
    def open_preset(name):
        return [gr.update(value=name), *load_named(name)]

    dataset_keys = [k for k in ("dataset.path", "dataset.format", "train.assistant_only_loss") if k in form.widgets]

    def use_dataset(path, fmt):
        """Plain text has no assistant turns, so a text dataset also turns assistant-only loss off."""
        values = {"dataset.path": path, "dataset.format": fmt, "train.assistant_only_loss": False if fmt == "text" else gr.skip()}
        return [values[k] for k in dataset_keys]

    return {"tab": tab, "on_load": (on_load, [], [watch_dd, view_state, timer]),
            "open_preset": (open_preset, [], [preset_dd, *preset_outputs]),
            "use_dataset": (use_dataset, [form.widgets[k] for k in dataset_keys]),
            "relabel_plot": (lambda v, on, lang_: (figure(v, on, lang_), status_html(p, v, i18n.t("no_run", lang_))),
                             [view_state, log_y, lang_state], [plot, status]),
            "to_judge": to_judge, "form": form, "view_state": view_state, "base_state": base_state, "path_state": path_state,
            "watch": watch_dd, "preset_outputs": preset_outputs, "fill": fill}


def _label_key(i18n: I18n, prefix: str, key: str) -> str:
    """A tab may word a field its own way (`dpo.train.beta`); else the common label."""
    return f"{prefix}.{key}" if f"{prefix}.{key}" in i18n.table else key


def _label(i18n: I18n, prefix: str, key: str, lang: str) -> str:
    return i18n.t(_label_key(i18n, prefix, key), lang)
