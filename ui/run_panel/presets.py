"""The run panel's preset section: load a bundled or saved preset by name, open a preset file, save
the form as a preset (lab/preset_save.py), keep the equivalent command and memory note in step with
the form, take a dataset upload (ui/uploads.py) and inspect the form's data."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from lab.errors import UserError
from lab.preset_save import save_preset as write_preset
from lab.presets import find_preset, read_yaml, validate

from .. import memory_note
from ..inspect_panel import build_inspect_panel
from ..uploads import keep_upload
from .layout import Panel, Parts
from .status import equivalent_command


def take_upload(file):
    """A dataset upload, checked and kept like every upload (ui/uploads.py); its path goes into the form."""
    if not file:
        return gr.skip()
    return keep_upload(file)


def wire_presets(panel: Panel, parts: Parts) -> dict:
    """Connect the preset section; returns what the tab hands out: `fill`, `load_named`, `preset_outputs`."""
    form, widgets = panel.form, parts.widgets
    preset_outputs = [parts.base_state, parts.path_state, *widgets, parts.command, parts.error_md]

    def fill(data, path):
        return [data, path, *form.values_from(panel.cfg.from_spec(data)), equivalent_command(path, data, data), ""]

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

    parts.load_btn.click(load_named, [parts.preset_dd], preset_outputs)
    parts.preset_file.upload(load_file, [parts.preset_file], preset_outputs)

    def save_preset(name, base, *values):
        try:
            path = write_preset(name, panel.form_dict(base, values))
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}"
        return str(path), gr.update(choices=panel.preset_names(), value=path.stem), ""

    parts.save_btn.click(save_preset, [parts.save_name, parts.base_state, *widgets],
                         [parts.saved_file, parts.preset_dd, parts.error_md])

    def update_command(path, base, *values):
        data = panel.form_dict(base, values)
        return equivalent_command(path, base, data), memory_note.note_text(data)

    gr.on([w.change for w in widgets], update_command, [parts.path_state, parts.base_state, *widgets],
          [parts.command, parts.memory], show_progress="hidden")

    parts.upload.upload(take_upload, [parts.upload], [form.widgets["dataset.path"]])
    with parts.inspect_area:
        build_inspect_panel(panel.p, panel.i18n, panel.i18n.lang, [parts.base_state, *widgets],
                            lambda base, *values: panel.form_dict(base, values), panel.lang_state)
    return {"fill": fill, "load_named": load_named, "preset_outputs": preset_outputs}
