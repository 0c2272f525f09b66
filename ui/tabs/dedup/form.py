"""The Data tab's form: the preset picker, the corpus (with its upload and a look at its fields), the
methods, MinHash-LSH, SemDeDup, the quality rules and the datatrove scale-out, each widget made by
ui/form.SpecForm for its DedupSpec key (spec_form.py). Its events: load a preset, keep the equivalent
command up to date, redraw the S-curve as the threshold moves, and render the Slurm version."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from lab.dedup import lsh
from lab.dedup.charts import scurve_figure
from lab.dedup.spec import METHOD_ORDER, DedupSpec
from lab.errors import UserError
from lab.presets import find_preset, list_presets, read_yaml, validate

from ...form import SpecForm
from ...run_panel import equivalent_command
from ...uploads import keep_upload
from .preview import fields_summary
from .spec_form import FIELDS, form_to_spec, form_values, from_spec, rule_choices, spec_form
from .text import DEFAULT_PRESET, P, Labels

if TYPE_CHECKING:  # run.py builds on this module
    from .results import ResultsParts
    from .run import RunParts

NUM_PERMS = [32, 64, 128, 256, 512]
LABEL_KEYS = {"methods": "method_pick"}  # the accordion holding it is "methods"


@dataclass
class FormParts:
    form: SpecForm
    base_state: gr.State    # the loaded preset (the form's values are written back into it)
    path_state: gr.State    # its file, for the equivalent command
    preset_dd: gr.Dropdown
    load_btn: gr.Button
    upload: gr.File
    fields_md: gr.Markdown
    slurm_btn: gr.Button

    def w(self, name: str):
        """A widget by its short name (spec_form.FIELDS)."""
        return self.form.widgets[FIELDS[name]]

    @property
    def widgets(self) -> list:
        return self.form.components()


def default_preset() -> tuple[Path, dict]:
    path = find_preset(DEFAULT_PRESET)
    data, _ = read_yaml(path)
    return path, data


def build_preset_row(labels: Labels, default_path: Path, default_data: dict):
    base_state, path_state = gr.State(default_data), gr.State(str(default_path))
    presets = [p.stem for p in list_presets("dedup")]
    with gr.Row(equal_height=True):
        preset_dd = labels.bind(gr.Dropdown(presets, value=DEFAULT_PRESET, label=labels.t("preset"), elem_id=f"{P}-preset",
                                            scale=3), "preset")
        load_btn = labels.bind(gr.Button(labels.t("load"), elem_id=f"{P}-load", scale=1), "load", "value")
    return base_state, path_state, preset_dd, load_btn


def build_form(labels: Labels, preset_row, default_data: dict) -> FormParts:
    """The form column (call inside it)."""
    t, bind = labels.t, labels.bind
    form, data = spec_form(), from_spec(default_data)

    def field(name: str, component=None, **kwargs):
        label = LABEL_KEYS.get(name, name)
        return bind(form.widget(FIELDS[name], t(label), data, component=component, elem_id=f"{P}-{name.replace('_', '-')}",
                                **kwargs), label)

    with gr.Accordion(t("corpus"), open=True) as acc:
        bind(acc, "corpus")
        field("input")
        upload = bind(gr.File(label=t("upload"), file_types=[".jsonl", ".json", ".parquet", ".txt", ".text"], height=120,
                              elem_id=f"{P}-upload"), "upload")
        fields_md = gr.Markdown(fields_summary(data["input"], data["format"], data["text_field"], data["id_field"] or "",
                                               labels.lang), elem_id=f"{P}-fields")
        with gr.Row():
            field("format")
            field("sample_size", minimum=0)
        with gr.Row():
            field("text_field")
            field("id_field")
    with gr.Accordion(t("methods"), open=True) as acc:
        bind(acc, "methods")
        field("methods", gr.CheckboxGroup, choices=list(METHOD_ORDER))
        field("keep")
        for pair in (("nfkc", "lowercase"), ("whitespace", "punctuation")):
            with gr.Row():
                for name in pair:
                    field(name)
    with gr.Accordion(t("minhash"), open=True) as acc:
        bind(acc, "minhash")
        with gr.Row():
            field("shingle")
            field("ngram", gr.Slider, minimum=1, maximum=16, step=1)
        field("threshold", gr.Slider, minimum=0.3, maximum=1.0, step=0.01)
        field("num_perm", gr.Dropdown, choices=NUM_PERMS)
        field("br_mode", gr.Radio, choices=[(t("br_auto"), "auto"), (t("br_manual"), "manual")])
        with gr.Row():
            field("bands", minimum=1)
            field("rows", minimum=1)
        field("fn_weight", gr.Slider, minimum=0.05, maximum=0.95, step=0.05)
    with gr.Accordion(t("semantic"), open=False) as acc:
        bind(acc, "semantic")
        field("sem_model")
        field("sem_eps", gr.Slider, minimum=0.005, maximum=0.3, step=0.005)
        with gr.Row():
            field("sem_k", minimum=0)
            field("sem_keep")
    with gr.Accordion(t("quality"), open=False) as acc:
        bind(acc, "quality")
        field("q_lang")
        field("q_rules", gr.CheckboxGroup, choices=rule_choices())
        field("ng_words", lines=3)
    with gr.Accordion(t("scale"), open=False) as acc:
        bind(acc, "scale")
        field("executor", gr.Radio, choices=["lab", "datatrove", "datatrove-slurm"])
        with gr.Row():
            for name in ("slurm_partition", "slurm_time"):
                field(name)
            field("slurm_tasks", minimum=1)
        field("output_dir")
        slurm_btn = bind(gr.Button(t("render_slurm"), elem_id=f"{P}-render-slurm"), "render_slurm", "value")
    return FormParts(form, *preset_row, upload=upload, fields_md=fields_md, slurm_btn=slurm_btn)


def auto_bands_rows(threshold, num_perm, fn_weight) -> tuple[int, int]:
    return lsh.optimal_params(round(float(threshold), 6), int(num_perm), round(1 - float(fn_weight), 3),
                              round(float(fn_weight), 3))


def wire_form(parts: FormParts, run: RunParts, results: ResultsParts, lang_state: gr.State):
    """The form's events; returns open_preset(name) for the Home tab's preset buttons."""
    widgets, w = parts.widgets, parts.w
    command, error_md = run.command, run.error_md

    def fill(data, path):
        return [data, path, *form_values(data), equivalent_command(path, data, data), ""]

    def load_named(name):
        try:
            path = find_preset(name)
            data, _ = read_yaml(path)
            return fill(data, str(path))
        except UserError as e:
            return [gr.skip()] * (len(widgets) + 3) + [f"⚠ {e}"]

    parts.load_btn.click(load_named, [parts.preset_dd], [parts.base_state, parts.path_state, *widgets, command, error_md])

    def open_preset(name):
        return [gr.update(value=name), *load_named(name)]

    def update_command(path, base, *vals):
        return equivalent_command(path, base, form_to_spec(base, list(vals)))

    gr.on([x.change for x in widgets], update_command, [parts.path_state, parts.base_state, *widgets], [command],
          show_progress="hidden")

    def curve(threshold, num_perm, mode, bands, rows, fn_weight, results_, lang_):
        report = (results_ or {}).get("report")
        if mode == "manual":
            b, r = int(bands or 1), int(rows or 1)
        else:
            b, r = auto_bands_rows(threshold, num_perm, fn_weight)
        return scurve_figure(float(threshold), b, r, report, lang_), (gr.skip() if mode == "manual" else b), \
            (gr.skip() if mode == "manual" else r)

    curve_inputs = [w("threshold"), w("num_perm"), w("br_mode"), w("bands"), w("rows"), w("fn_weight"), results.state,
                    lang_state]
    # bands/rows follow the threshold in auto mode, so only a person typing into them redraws from them
    gr.on([*(w(k).change for k in ("threshold", "num_perm", "br_mode", "fn_weight")), w("bands").input, w("rows").input],
          curve, curve_inputs, [results.scurve, w("bands"), w("rows")], show_progress="hidden")

    corpus = [w("input"), w("format"), w("text_field"), w("id_field")]
    gr.on([x.change for x in corpus], fields_summary, [*corpus, lang_state], [parts.fields_md], show_progress="hidden")

    def take_upload(file):
        if not file:
            return gr.skip()
        return keep_upload(file)

    parts.upload.upload(take_upload, [parts.upload], [w("input")])

    def render_slurm(base, *vals):
        from lab.dedup.datatrove_pipeline import sbatch_preview, slurm_script
        from lab.paths import resolve_input
        try:
            spec: DedupSpec = validate(form_to_spec(base, list(vals)), "form")
            params = lsh.resolve(spec)
            unit = spec.shingle if spec.shingle != "auto" else "char"
            try:
                path = str(resolve_input(spec.input, "input"))
            except UserError:
                path = spec.input
            script = slurm_script(spec, unit, params["bands"], params["rows"], path)
            sbatch = sbatch_preview(spec, unit, params["bands"], params["rows"], path, Path(tempfile.mkdtemp(prefix="lab-slurm-")))
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}", gr.skip()
        return script, sbatch, "", gr.Tabs(selected=f"{P}-slurm-tab")

    parts.slurm_btn.click(render_slurm, [parts.base_state, *widgets],
                          [results.slurm_code, results.sbatch_code, error_md, results.tabs])
    return open_preset
