"""SFT tab: a form built from SFTSpec, presets in and out, the equivalent `lab run` command,
Start/Stop, live charts, progress, log tail, and after success a side-by-side chat of the trained
model with its base. It builds specs and reads run folders; the worker process does the training."""
from __future__ import annotations

import html
import shutil
import threading
from pathlib import Path

import gradio as gr

from lab.errors import UserError
from lab.jobs import precheck, resolve_paths
from lab.models import chat
from lab.paths import REPO_DIR, workspace
from lab.presets import diff_as_overrides, dump_spec, find_preset, list_presets, read_yaml, validate
from lab.runs import RunStore
from lab.spec import SFTSpec, spec_to_dict

from ..form import SpecForm
from ..i18n import I18n
from ..live import PANELS, training_figure
from ..runview import RunView

DEFAULT_PRESET = "sft-tiny"

TEXT = {
    "tab": ("SFT", "SFT（指示チューニング）"),
    "preset": ("Preset", "プリセット"),
    "load": ("Load preset", "プリセットを読み込む"),
    "preset_files": ("Preset files (open / download)", "プリセットファイル（開く／ダウンロード）"),
    "open_file": ("Open a preset file", "プリセットファイルを開く"),
    "save_name": ("Save as preset (name)", "プリセットとして保存（名前）"),
    "save": ("Save as preset", "プリセットとして保存"),
    "saved_file": ("Saved preset", "保存したプリセット"),
    "model_data": ("Model and data", "モデルとデータ"),
    "training": ("Training", "学習"),
    "model.name": ("Model (tiny, run:ID, folder or Hub id)", "モデル（tiny、run:ID、フォルダ、Hub の ID）"),
    "method": ("Method", "手法"),
    "lora.r": ("LoRA rank r", "LoRA のランク r"),
    "lora.alpha": ("LoRA alpha", "LoRA の alpha"),
    "dataset.path": ("Dataset file (JSONL/JSON)", "データセットファイル（JSONL/JSON）"),
    "upload_data": ("Upload a dataset", "データセットをアップロード"),
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
    "train.packing": ("Packing", "パッキング"),
    "train.assistant_only_loss": ("Loss on assistant turns only", "アシスタントの発話だけで損失を計算"),
    "train.logging_steps": ("Log every N steps", "N ステップごとに記録"),
    "train.eval_steps": ("Eval every N steps", "N ステップごとに評価"),
    "train.save_steps": ("Checkpoint every N steps", "N ステップごとにチェックポイント"),
    "train.seed": ("Seed", "シード"),
    "command": ("Equivalent command", "同じことをするコマンド"),
    "start": ("Start", "開始"),
    "stop": ("Stop", "停止"),
    "watch": ("Show run", "表示する実行"),
    "log_y": ("Log scale (loss)", "対数目盛（loss）"),
    "log": ("Log", "ログ"),
    "chat_title": ("### Chat: trained model (left) and its base (right)", "### チャット：学習したモデル（左）と元のモデル（右）"),
    "trained": ("Trained", "学習後"),
    "base": ("Base", "学習前"),
    "message": ("Message", "メッセージ"),
    "send": ("Send", "送信"),
    "clear": ("Clear", "クリア"),
    "max_new_tokens": ("Max new tokens", "最大生成トークン数"),
    "temperature": ("Temperature", "温度"),
    "no_run": ("No run yet: load a preset and press Start.", "まだ実行はありません。プリセットを読み込んで「開始」を押してください。"),
}
PANEL_TITLES = {"en": tuple(p[0] for p in PANELS), "ja": ("損失（loss）", "学習率", "勾配ノルム", "スループット（トークン/秒）")}

FORM_KEYS = [
    "model.name", "method", "lora.r", "lora.alpha", "dataset.path", "dataset.format", "dataset.eval_split",
    "train.max_steps", "train.num_train_epochs", "train.learning_rate", "train.lr_scheduler_type",
    "train.warmup_steps", "train.per_device_train_batch_size", "train.gradient_accumulation_steps",
    "train.max_length", "train.packing", "train.assistant_only_loss", "train.logging_steps",
    "train.eval_steps", "train.save_steps", "train.seed",
]
MODEL_DATA_KEYS = FORM_KEYS[:7]


def preset_label(path: Path) -> str:
    return path.stem


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


def status_html(view: RunView | None, lang: str) -> str:
    if view is None:
        return f"<div id='sft-status'>{html.escape(TEXT['no_run'][1 if lang == 'ja' else 0])}</div>"
    p = view.progress
    step, total = p.get("step", 0), p.get("total") or 0
    state = view.state
    pct = int(100 * step / total) if total else 0
    env = view.env
    env_line = (f" · {env.get('device')} · {env.get('dtype')} · world size {env.get('world_size')}"
                f" · {env.get('trainable_params', 0):,}/{env.get('params', 0):,} params") if env else ""
    error = f"<div class='lab-error'>⚠ {html.escape(view.status.get('error') or '')}</div>" if state == "failed" else ""
    return (f"<div id='sft-status' data-state='{state}' data-step='{step}'>"
            f"<b>{html.escape(view.run_id)}</b> · <span class='lab-state lab-{state}'>{state}</span>"
            f" · step {step}/{total or '?'} · ETA {format_eta(p.get('eta_s'))}{html.escape(env_line)}"
            f"<br><progress max='100' value='{pct}' style='width:100%'></progress>{error}</div>")


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    lang = i18n.lang
    form = SpecForm(SFTSpec, FORM_KEYS)
    default_path = find_preset(DEFAULT_PRESET)
    default_data, _ = read_yaml(default_path)
    t = lambda key: i18n.t(key, lang)  # noqa: E731

    with gr.Tab(t("tab"), id="sft", elem_id="tab-sft") as tab:
        i18n.bind(tab, "tab")
        base_state = gr.State(default_data)
        path_state = gr.State(str(default_path))
        view_state = gr.State(None)
        history_state = gr.State(([], []))

        with gr.Row(equal_height=True):
            preset_dd = i18n.bind(gr.Dropdown(choices=[preset_label(p) for p in list_presets("sft")], value=DEFAULT_PRESET,
                                              label=t("preset"), elem_id="sft-preset", scale=2), "preset")
            load_btn = i18n.bind(gr.Button(t("load"), elem_id="sft-load", scale=1), "load", "value")
            save_name = i18n.bind(gr.Textbox(label=t("save_name"), placeholder="my-sft", elem_id="sft-save-name", scale=2), "save_name")
            save_btn = i18n.bind(gr.Button(t("save"), elem_id="sft-save", scale=1), "save", "value")
        with gr.Accordion(t("preset_files"), open=False) as acc0:
            i18n.bind(acc0, "preset_files")
            with gr.Row():
                preset_file = i18n.bind(gr.File(label=t("open_file"), file_types=[".yaml", ".yml"], height=120,
                                                elem_id="sft-preset-file"), "open_file")
                saved_file = i18n.bind(gr.File(label=t("saved_file"), interactive=False, height=120,
                                               elem_id="sft-saved-file"), "saved_file")

        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                with gr.Accordion(t("model_data"), open=True) as acc1:
                    i18n.bind(acc1, "model_data")
                    for key in MODEL_DATA_KEYS:
                        i18n.bind(form.widget(key, t(key), default_data), key)
                    upload = i18n.bind(gr.File(label=t("upload_data"), file_types=[".jsonl", ".json"], height=90,
                                               elem_id="sft-upload"), "upload_data")
                with gr.Accordion(t("training"), open=True) as acc2:
                    i18n.bind(acc2, "training")
                    for key in FORM_KEYS[len(MODEL_DATA_KEYS):]:
                        i18n.bind(form.widget(key, t(key), default_data), key)
            with gr.Column(scale=2):
                command = i18n.bind(gr.Code(value=equivalent_command(str(default_path), default_data, default_data),
                                            language="shell", label=t("command"), interactive=False,
                                            elem_id="sft-command"), "command")
                with gr.Row():
                    start_btn = i18n.bind(gr.Button(t("start"), variant="primary", elem_id="sft-start"), "start", "value")
                    stop_btn = i18n.bind(gr.Button(t("stop"), variant="stop", elem_id="sft-stop"), "stop", "value")
                    watch_dd = i18n.bind(gr.Dropdown(choices=[], label=t("watch"), elem_id="sft-watch",
                                                     allow_custom_value=False), "watch")
                error_md = gr.Markdown("", elem_id="sft-error")
                status = gr.HTML(status_html(None, lang))
                log_y = i18n.bind(gr.Checkbox(label=t("log_y"), value=False, elem_id="sft-log-y"), "log_y")
                plot = gr.Plot(training_figure({}, titles=PANEL_TITLES[lang]), elem_id="sft-plot", show_label=False)
                log_box = i18n.bind(gr.Textbox(label=t("log"), lines=8, max_lines=8, autoscroll=True,
                                               interactive=False, elem_id="sft-log"), "log")

        with gr.Column(visible=False, elem_id="sft-chat") as chat_col:
            chat_md = i18n.bind(gr.Markdown(t("chat_title")), "chat_title", "value")
            with gr.Row():
                bot_trained = i18n.bind(gr.Chatbot(label=t("trained"), height=300, elem_id="sft-chat-trained"), "trained")
                bot_base = i18n.bind(gr.Chatbot(label=t("base"), height=300, elem_id="sft-chat-base"), "base")
            with gr.Row():
                msg = i18n.bind(gr.Textbox(label=t("message"), scale=4, elem_id="sft-chat-msg"), "message")
                send_btn = i18n.bind(gr.Button(t("send"), variant="primary", scale=1, elem_id="sft-chat-send"), "send", "value")
                clear_btn = i18n.bind(gr.Button(t("clear"), scale=1), "clear", "value")
            with gr.Row():
                max_new = i18n.bind(gr.Slider(8, 512, value=96, step=8, label=t("max_new_tokens")), "max_new_tokens")
                temperature = i18n.bind(gr.Slider(0.0, 1.5, value=0.7, step=0.05, label=t("temperature")), "temperature")
        timer = gr.Timer(1.0)

    widgets = form.components()

    # ---- presets --------------------------------------------------------------------------------
    def load_named(name):
        path = find_preset(name)
        data, _ = read_yaml(path)
        return [data, str(path), *form.values_from(data), equivalent_command(str(path), data, data), ""]

    def load_file(file):
        if not file:
            return [gr.skip()] * (len(widgets) + 4)
        try:
            data, tree = read_yaml(Path(file))
            validate(data, Path(file).name, tree)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * (len(widgets) + 3) + [f"⚠ {e}"]
        return [data, file, *form.values_from(data), equivalent_command(file, data, data), ""]

    preset_outputs = [base_state, path_state, *widgets, command, error_md]
    load_btn.click(lambda name: _guard(load_named, name, n=len(preset_outputs)), [preset_dd], preset_outputs)
    preset_file.upload(load_file, [preset_file], preset_outputs)

    def save_preset(name, base, *values):
        try:
            spec = validate(form.to_dict(base, list(values)), "form")
            name = (name or "").strip()
            if not name or not all(c.isalnum() or c in "-_." for c in name):
                raise UserError("preset name: use letters, digits, '-', '_' or '.'")
            folder = workspace() / "presets"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}.yaml"
            path.write_text(dump_spec(spec), encoding="utf-8")
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}"
        choices = [preset_label(p) for p in list_presets("sft")]
        return str(path), gr.update(choices=choices, value=name), ""

    save_btn.click(save_preset, [save_name, base_state, *widgets], [saved_file, preset_dd, error_md])

    def update_command(path, base, *values):
        return equivalent_command(path, base, form.to_dict(base, list(values)))

    gr.on([w.change for w in widgets], update_command, [path_state, base_state, *widgets], [command], show_progress="hidden")

    def take_upload(file):
        if not file:
            return gr.skip()
        folder = workspace() / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(file).name
        shutil.copyfile(file, target)
        return str(target)

    upload.upload(take_upload, [upload], [form.widgets["dataset.path"]])

    # ---- start / stop / watch -------------------------------------------------------------------
    def sft_run_ids():
        return [i for i in store.ids() if i.startswith("sft-")]

    def start(base, *values):
        try:
            spec = validate(form.to_dict(base, list(values)), "form")
            precheck(spec)
            run = store.submit(resolve_paths(spec))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip(), gr.skip(), gr.skip()
        view = RunView.open(store, run.id)
        return view, "", gr.update(choices=sft_run_ids(), value=run.id), gr.update(visible=False), ([], [])

    start_btn.click(start, [base_state, *widgets], [view_state, error_md, watch_dd, chat_col, history_state])

    def stop(view):
        if view is None:
            return
        store.request_cancel(view.run_id)
        threading.Thread(target=store.cancel, args=(view.run_id,), daemon=True).start()

    stop_btn.click(stop, [view_state], None)

    def watch(run_id, view):
        if not run_id or (view is not None and view.run_id == run_id):
            return gr.skip(), gr.skip()
        return RunView.open(store, run_id), ([], [])

    watch_dd.input(watch, [watch_dd, view_state], [view_state, history_state])

    def tick(view, log_y_on, lang):
        if view is None or not view.poll(store):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        fig = training_figure(view.series, log_y_on, PANEL_TITLES[lang])
        log_text = store.get(view.run_id).log_tail(12)
        return view, fig, status_html(view, lang), log_text, gr.update(visible=view.state == "succeeded")

    timer.tick(tick, [view_state, log_y, lang_state], [view_state, plot, status, log_box, chat_col], show_progress="hidden")
    log_y.change(lambda v, on, lang: training_figure(v.series, on, PANEL_TITLES[lang]) if v else gr.skip(),
                 [view_state, log_y, lang_state], [plot], show_progress="hidden")

    # ---- chat -----------------------------------------------------------------------------------
    def send(text, histories, view, max_new_tokens, temp):
        if view is None or not (text or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        base_name = store.get(view.run_id).load_spec().model.name
        hist_a, hist_b = histories
        hist_a = hist_a + [{"role": "user", "content": text}]
        hist_b = hist_b + [{"role": "user", "content": text}]
        reply_a = reply_b = ""
        for reply_a, reply_b in chat.stream_many([f"run:{view.run_id}", base_name], [hist_a, hist_b],
                                                 int(max_new_tokens), float(temp)):
            yield (hist_a + [{"role": "assistant", "content": reply_a}],
                   hist_b + [{"role": "assistant", "content": reply_b}], gr.skip(), "")
        hist_a = hist_a + [{"role": "assistant", "content": reply_a}]
        hist_b = hist_b + [{"role": "assistant", "content": reply_b}]
        yield hist_a, hist_b, (hist_a, hist_b), ""

    chat_inputs = [msg, history_state, view_state, max_new, temperature]
    chat_outputs = [bot_trained, bot_base, history_state, msg]
    send_btn.click(send, chat_inputs, chat_outputs)
    msg.submit(send, chat_inputs, chat_outputs)
    clear_btn.click(lambda: ([], [], ([], [])), None, [bot_trained, bot_base, history_state])

    def on_load():
        ids = sft_run_ids()
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        return gr.update(choices=ids, value=pick), (RunView.open(store, pick) if pick else None)

    return {"tab": tab, "on_load": (on_load, [], [watch_dd, view_state]), "plot": plot, "lang_outputs": [],
            "relabel_plot": (lambda v, on, lang: training_figure(v.series if v else {}, on, PANEL_TITLES[lang]),
                             [view_state, log_y, lang_state], [plot])}


def _guard(fn, *args, n: int):
    try:
        return fn(*args)
    except UserError as e:
        gr.Warning(str(e))
        return [gr.skip()] * (n - 1) + [f"⚠ {e}"]
