"""The Launch tab's preview and presets: every change of the form redraws the command, the memory
note and each generated file (from lab.distributed.launch_plan, the same plan the worker runs);
picking a preset loads it; "Check" asks DeepSpeed about the JSON; "Save" writes the preset
(lab/preset_save.py)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from lab.distributed import configs, ds_check
from lab.distributed.launch_plan import plan
from lab.errors import UserError
from lab.preset_save import save_preset
from lab.presets import find_preset, read_yaml, validate

from ... import memory_note
from ...form import SpecForm
from ...run_panel import equivalent_command
from .layout import Parts
from .spec_form import FILES, LAUNCH_KEYS, spec_dict, training_presets, zip_launch_files


@dataclass
class Preview:
    """The preview and preset handlers over one form, for the tab's own events and its `open_preset`."""
    form: SpecForm
    parts: Parts

    def preview(self, path, base, steps, *values):
        try:
            data = spec_dict(self.form, base, steps, values)
            spec = validate(data, "form")
            p = plan(spec, "runs/<RUN_ID>")
        except UserError as e:
            return [gr.skip()] * (len(FILES) + 3) + [f"⚠ {e}"]
        files = [p.files.get(name, "") for name in FILES]
        return [equivalent_command(path, base, data), memory_note.note_text(data), *files,
                zip_launch_files(p.files, spec), ""]

    def load(self, name):
        path = find_preset(name)
        data, _ = read_yaml(path)
        return data, str(path), data.get("train", {}).get("max_steps", -1), *self.form.values_from(data)[len(LAUNCH_KEYS):]

    @property
    def open_outputs(self) -> list:
        p = self.parts
        return [p.preset_dd, p.base_state, p.path_state, p.max_steps, *p.data_widgets, *p.preview_outputs]

    def open_preset(self, name, *values, dataset: tuple[str, str] | None = None):
        """The preset (from the Home tab), or pretrain-tiny on a dataset (from the Data tab), under the form's launch settings."""
        try:
            data, path, steps, *data_values = self.load(name)
        except UserError as e:
            return [gr.skip()] * (len(self.open_outputs) - 1) + [f"⚠ {e}"]
        if dataset is not None:
            data_values = list(dataset)
        launch_values = list(values[:len(LAUNCH_KEYS)])
        return [gr.update(value=name), data, path, steps, *data_values,
                *self.preview(path, data, steps, *launch_values, *data_values)]


def wire_preview(pv: Preview) -> None:
    form, parts = pv.form, pv.parts
    preview_inputs = [parts.path_state, parts.base_state, parts.max_steps, *parts.widgets]
    # named functions, not bound methods, keep the endpoints' names (/preview, /load, …) as they were
    preview, load = pv.preview, pv.load
    gr.on([w.change for w in parts.widgets] + [parts.max_steps.change], preview, preview_inputs, parts.preview_outputs,
          show_progress="hidden")
    parts.preset_dd.input(load, [parts.preset_dd], [parts.base_state, parts.path_state, parts.max_steps,
                                                    *parts.data_widgets]).then(
        preview, preview_inputs, parts.preview_outputs, show_progress="hidden")

    def check(base, steps, *values):
        try:
            spec = validate(spec_dict(form, base, steps, values), "form")
        except UserError as e:
            return f"⚠ {e}"
        if spec.launch.zero_stage is None:
            return "ZeRO: –"
        problem = ds_check.check(configs.deepspeed_config(spec.launch), spec.train.per_device_train_batch_size,
                                 spec.train.gradient_accumulation_steps, spec.train.max_grad_norm)
        return f"⚠ DeepSpeed: {problem}" if problem else "✓ DeepSpeed accepts deepspeed.json"

    parts.check_btn.click(check, [parts.base_state, parts.max_steps, *parts.widgets], [parts.check_md])

    def save(name, base, steps, *values):
        try:
            path = save_preset(name, spec_dict(form, base, steps, values))
        except UserError as e:
            return f"⚠ {e}", gr.skip()
        return "", gr.update(choices=training_presets(), value=path.stem)

    parts.save_btn.click(save, [parts.save_name, parts.base_state, parts.max_steps, *parts.widgets],
                         [parts.error_md, parts.preset_dd])
