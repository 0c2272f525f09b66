"""The Launch tab below the browser: its preset list is every kind the registry says trains a model,
and "Save as preset" writes the form's launch block through the one preset save (lab/preset_save.py),
refusing a bad name in one line."""
import gradio as gr
import yaml

from lab import kinds
from lab.presets import list_presets
from lab.runs import RunStore
from ui.i18n import I18n
from ui.tabs import launch as launch_tab
from ui.tabs.launch.spec_form import first_preset, make_form, training_presets, with_zero_none


def _fn(demo, name):
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    return next(f.fn for f in fns if f.name == name)


def test_the_preset_list_is_every_kind_that_trains_a_model():
    assert launch_tab.TRAINING_KINDS == kinds.model_kinds()
    expected = {p.stem for p in list_presets() if yaml.safe_load(p.read_text(encoding="utf-8")).get("kind")
                in kinds.model_kinds()}
    assert set(training_presets()) == expected and "pretrain-tiny" in expected and "sft-tiny" in expected


def test_save_as_preset_writes_the_launch_block_and_refuses_a_bad_name(workspace):
    with gr.Blocks() as demo:
        launch_tab.build(RunStore(), I18n(lang="en"), gr.State("en"))
    save = _fn(demo, "save")
    path, base, form_data = first_preset()
    form = make_form()
    values = form.values_from(with_zero_none({**form_data, "launch": {**form_data["launch"], "nproc_per_node": 2}}))
    error, dropdown = save("sft-ddp2", base, 7, *values)
    assert error == "" and dropdown["value"] == "sft-ddp2" and "sft-ddp2" in dropdown["choices"]
    saved = yaml.safe_load((workspace / "presets" / "sft-ddp2.yaml").read_text(encoding="utf-8"))
    assert saved["launch"]["nproc_per_node"] == 2 and saved["launch"]["zero_stage"] is None
    assert saved["train"]["max_steps"] == 7 and saved["kind"] == "sft"
    error, dropdown = save("../x", base, 7, *values)
    assert error.startswith("⚠ preset name") and "\n" not in error
    assert sorted(p.name for p in (workspace / "presets").iterdir()) == ["sft-ddp2.yaml"]
