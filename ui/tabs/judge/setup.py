"""Set up and run: a judge preset in a form (questions, contestants, judge endpoint, mode), the
equivalent `lab run` command, Start / Stop, and the live chart and log of the run being watched."""
from __future__ import annotations

import gradio as gr

from lab.cancel import cancel_in_background
from lab.endpoints import pasted_key
from lab.errors import UserError
from lab.evals.charts import live_figure
from lab.evals.questions import categories_of, load_questions
from lab.jobs import submit
from lab.presets import find_preset, list_presets, read_yaml, validate

from ...endpoint_fields import endpoint_field, key_field
from ...run_panel import status_html
from ...runview import RunView
from ...uploads import keep_upload
from .parts import Context, JudgeParts, SetupParts, ordered
from .spec_form import (CONTESTANT_COLUMNS, LABEL_KEYS, ELEM_IDS, categories, contestant_names, contestants_frame,
                        equivalent_command, form_dict, frame_contestants, from_spec, model_choices, new_form,
                        preview_frame, question_preview, unique_name)

DEFAULT_PRESET = "judge-pairwise"


def layout(ctx: Context, data: dict, path: str) -> SetupParts:
    """The section's components, showing preset `data` (read from `path`)."""
    t, b = ctx.t, ctx.bind
    shown = from_spec(data)
    form = new_form(contestant_names(data))

    def field(key: str, **kwargs):
        return b(form.widget(key, t(LABEL_KEYS[key]), shown, elem_id=ELEM_IDS[key], **kwargs), LABEL_KEYS[key])

    with gr.Tab(t("setup"), id="judge-setup", elem_id="judge-setup") as tab:
        b(tab, "setup")
        with gr.Row(equal_height=True):
            preset = b(gr.Dropdown([p.stem for p in list_presets("judge")], value=DEFAULT_PRESET,
                                   label=t("preset"), elem_id="judge-preset", scale=3), "preset")
            load = b(gr.Button(t("load"), elem_id="judge-load", scale=1), "load", "value")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                with gr.Accordion(t("questions"), open=True) as acc_q:
                    b(acc_q, "questions")
                    field("questions.path")
                    field("questions.max_questions", minimum=0)
                    # A file box like the other tabs' (an UploadButton cannot be re-labelled: Gradio
                    # reads an update to it as a file, which broke the language switch).
                    upload = b(gr.File(label=t("upload"), file_types=[".jsonl"], elem_id="judge-upload"), "upload")
                    question_path = shown["questions"]["path"]
                    field("questions.categories",
                          component=lambda **kw: gr.CheckboxGroup(choices=categories(question_path), **kw))
                    preview = gr.Dataframe(question_preview(question_path), interactive=False, max_height=240,
                                           elem_id="judge-question-preview")
            with gr.Column(scale=1, min_width=300):
                with gr.Accordion(t("contestants"), open=True) as acc_c:
                    b(acc_c, "contestants")
                    contestants = gr.Dataframe(contestants_frame(data.get("contestants") or []), headers=CONTESTANT_COLUMNS,
                                               interactive=True, datatype=["str", "str", "str", "number", "number"],
                                               elem_id="judge-contestants", wrap=False)
                    with gr.Row(equal_height=True):
                        add_model = b(gr.Dropdown(model_choices(ctx.store), value="tiny", allow_custom_value=True,
                                                  label=t("add_model"), elem_id="judge-add-model", scale=3), "add_model")
                        add = b(gr.Button(t("add"), elem_id="judge-add", scale=1, size="sm"), "add", "value")
            with gr.Column(scale=1, min_width=300):
                with gr.Accordion(t("judge"), open=True) as acc_j:
                    b(acc_j, "judge")
                    field("judge.base_url", component=endpoint_field)
                    field("judge.model")
                    api_key = b(key_field(t("api_key"), "judge-api-key"), "api_key")
                    with gr.Row():
                        field("judge.method")
                        field("mode")
                    with gr.Row():
                        field("baseline")
                        field("prompt_lang", component=lambda **kw: gr.Radio(["ja", "en"], **kw))
                    with gr.Row():
                        field("judge.concurrency", minimum=1)
                        field("judge.max_tokens", minimum=1)
                    field("use_reference")
        command = b(gr.Code(equivalent_command(path, data, data), language="shell", label=t("command"),
                            interactive=False, elem_id="judge-command"), "command")
        with gr.Row():
            start = b(gr.Button(t("start"), variant="primary", elem_id="judge-start"), "start", "value")
            stop = b(gr.Button(t("stop"), variant="stop", elem_id="judge-stop"), "stop", "value")
            watch = b(gr.Dropdown(choices=[], label=t("watch"), elem_id="judge-watch"), "watch")
        error = gr.Markdown("", elem_id="judge-error")
        status = gr.HTML(status_html("judge", None, t("no_run")))
        with gr.Row():
            live_plot = gr.Plot(live_figure(None, ctx.lang), elem_id="judge-live-plot", show_label=False, scale=2)
            log = b(gr.Textbox(label=t("log"), lines=12, max_lines=12, autoscroll=True, interactive=False,
                               elem_id="judge-log", scale=1), "log")
    return SetupParts(form, preset, load, upload, preview, contestants, add_model, add, api_key, command, start, stop,
                      watch, error, status, live_plot, log)


def filled(parts: JudgeParts, data: dict, path: str) -> dict:
    """The form showing preset `data`, remembered as the base the form is written back into."""
    s = parts.setup
    shown = from_spec(data)
    names = contestant_names(data)
    values = dict(zip(s.form.components(), s.form.values_from(shown)))
    values[s["questions.categories"]] = gr.update(choices=categories(shown["questions"]["path"]),
                                                  value=shown["questions"]["categories"])
    values[s["baseline"]] = gr.update(choices=names, value=shown["baseline"])
    return {**values, s.contestants: contestants_frame(data.get("contestants") or []), parts.base_state: data,
            parts.path_state: path, s.command: equivalent_command(path, data, data), s.error: ""}


def load_outputs(parts: JudgeParts) -> list:
    s = parts.setup
    return [parts.base_state, parts.path_state, *s.spec_inputs(), s.command, s.error]


def load_named(parts: JudgeParts, name: str) -> dict:
    try:
        path = find_preset(name)
        data, _ = read_yaml(path)
    except UserError as e:
        return {parts.setup.error: f"⚠ {e}"}
    return filled(parts, data, str(path))


def run_ids(ctx: Context) -> list[str]:
    return ctx.store.find(kind="judge")


def wire(ctx: Context, parts: JudgeParts) -> None:
    s = parts.setup
    form = s.form
    spec_inputs = s.spec_inputs()
    outputs = load_outputs(parts)
    s.load.click(lambda name: ordered(outputs, load_named(parts, name)), [s.preset], outputs)

    def update_command(path, base, *values):
        try:
            data = form_dict(form, base, values)
        except UserError as e:
            return gr.skip(), f"⚠ {e}"
        return equivalent_command(path, base, data), ""

    gr.on([w.change for w in spec_inputs], update_command, [parts.path_state, parts.base_state, *spec_inputs],
          [s.command, s.error], show_progress="hidden")

    def questions_changed(path, ticked=()):
        try:
            questions = load_questions(path)
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}"
        choices = categories_of(questions)
        return gr.update(choices=choices, value=[c for c in ticked or [] if c in choices]), preview_frame(questions), ""

    path_box, categories_box = s["questions.path"], s["questions.categories"]
    path_box.submit(questions_changed, [path_box, categories_box], [categories_box, s.preview, s.error])
    path_box.blur(questions_changed, [path_box, categories_box], [categories_box, s.preview, s.error])

    def take_upload(file):
        if not file:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        target = keep_upload(file)
        return (str(target), *questions_changed(str(target)))

    s.upload.upload(take_upload, [s.upload], [path_box, categories_box, s.preview, s.error])

    def add_contestant(model, frame, base):
        model = (model or "").strip()
        if not model:
            return gr.skip(), gr.skip()
        rows = frame_contestants(frame, base.get("contestants") or [])
        rows.append({"name": unique_name(model, [r["name"] for r in rows]), "model": model, "temperature": 0.0,
                     "max_new_tokens": 64})
        return contestants_frame(rows), gr.update(choices=[r["name"] for r in rows])

    s.add.click(add_contestant, [s.add_model, s.contestants, parts.base_state], [s.contestants, s["baseline"]])

    def contestants_changed(frame, base, current):
        try:
            names = [r["name"] for r in frame_contestants(frame, base.get("contestants") or [])]
        except UserError:
            return gr.skip()
        return gr.update(choices=names, value=current if current in names else (names[0] if names else None))

    s.contestants.input(contestants_changed, [s.contestants, parts.base_state, s["baseline"]], [s["baseline"]])

    def start(base, *values):
        *values, key = values
        try:
            with pasted_key(key):  # to this run's worker alone, never into job.yaml
                run = submit(ctx.store, validate(form_dict(form, base, values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip(), gr.skip()
        return RunView.open(ctx.store, run.id), "", gr.update(choices=run_ids(ctx), value=run.id), gr.Timer(active=True)

    s.start.click(start, [parts.base_state, *spec_inputs, s.api_key], [parts.view_state, s.error, s.watch, parts.timer])

    def stop(view):
        cancel_in_background(ctx.store, view.run_id if view is not None else None)

    s.stop.click(stop, [parts.view_state], None)
