"""The UI starts without the training stack: building the page imports neither torch, transformers nor TRL, the
train-key check answers the typed keys from a list the real config classes are checked against here, and presets
are parsed once per change of their file."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from lab import presets
from lab.errors import UserError
from lab.spec_base import OWN_TYPED_FIELDS, known_config_fields, real_config_fields

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINING_STACK = ("torch", "transformers", "trl", "peft")


@pytest.mark.parametrize("class_path", sorted(OWN_TYPED_FIELDS))
def test_every_key_known_without_importing_trl_is_a_field_of_the_installed_config_class(class_path):
    import transformers
    module, _, name = class_path.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), name), transformers.TrainingArguments)
    assert known_config_fields(class_path) <= real_config_fields(class_path)


def test_every_config_class_a_spec_checks_against_has_its_known_keys_listed():
    from lab.spec_base import SFTTrainArgs, TrainArgs
    from lab.train.spec import PREFERENCE_CONFIGS
    checked = {TrainArgs.config_class, SFTTrainArgs.config_class, *PREFERENCE_CONFIGS.values()}
    assert checked <= set(OWN_TYPED_FIELDS)


def test_building_the_page_imports_no_training_library(tmp_path):
    code = ("import sys, json\nimport ui.app\nui.app.build_app(lang='en')\n"
            f"print(json.dumps([m for m in {TRAINING_STACK!r} if m in sys.modules]))")
    env = {**os.environ, "LAB_WORKSPACE": str(tmp_path), "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_typed_keys_are_checked_without_trl_and_unknown_keys_still_name_the_config_class():
    code = ("import sys\nfrom lab.presets import load_preset\nfrom lab.errors import UserError\n"
            "for name in ('sft-tiny', 'dpo-tiny', 'kto-tiny', 'pretrain-tiny'):\n    load_preset(name)\n"
            f"print([m for m in {TRAINING_STACK!r} if m in sys.modules])\n"
            "try:\n    load_preset('dpo-tiny', ['train.packing=true'])\nexcept UserError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported, error = proc.stdout.strip().splitlines()[-2:]
    assert imported == "[]"
    assert error == "--set train.packing: unknown key (not a field of DPOConfig)"


def test_a_preset_is_read_again_once_its_file_changes_and_callers_get_their_own_copy(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("kind: sft\ntrain:\n  max_steps: 3\n", encoding="utf-8")
    data, tree = presets.read_yaml(path)
    assert data["train"]["max_steps"] == 3 and tree.start_mark.line == 0
    data["train"]["max_steps"] = 99  # what apply_overrides does to its copy
    assert presets.read_yaml(path)[0]["train"]["max_steps"] == 3
    assert presets._kind_of(path) == "sft"
    stat = path.stat()
    path.write_text("kind: dpo\ntrain:\n  max_steps: 30\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a save within the clock's resolution
    assert presets.read_yaml(path)[0]["train"]["max_steps"] == 30
    assert presets._kind_of(path) == "dpo"


def test_invalid_yaml_still_names_line_and_the_offending_character(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: sft\ntrain:\n\tmax_steps: 3\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.yaml:3: invalid YAML: found character '\\t' that cannot start any token"):
        presets.read_yaml(path)


def _relabel_table(demo) -> tuple[list, dict]:
    first = next(fn for fn in demo.fns.values() if fn.fn is None and fn.js and "window.__labRelabel = " in fn.js)
    text = first.js.split("window.__labRelabel = ", 1)[1]
    return first.outputs[:-1], json.JSONDecoder().raw_decode(text)[0]  # the last output: the shown tab's id


def test_the_page_carries_both_languages_for_every_bound_component_and_groups_them_by_tab(tmp_path, monkeypatch):
    import gradio as gr

    import ui.app
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    demo = ui.app.build_app(lang="en")
    outputs, table = _relabel_table(demo)
    ja, en = table["text"]["ja"], table["text"]["en"]
    assert len(ja) == len(en) == len(outputs) > 300
    assert all(pairs and len(pairs) % 2 == 0 for pairs in ja + en)
    by_elem = {c.elem_id: i for i, c in enumerate(outputs) if getattr(c, "elem_id", None)}
    home = next(b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.elem_id == "tab-home")
    tab_titles = [b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.parent is home.parent]
    assert len(tab_titles) >= 8 and {id(t) for t in tab_titles} <= set(map(id, outputs))
    assert ja[by_elem["sft-start"]] == ["value", "開始"] and en[by_elem["sft-start"]] == ["value", "Start"]
    assert by_elem["sft-start"] in table["groups"]["tab-sft-button"]
    grouped = {i for positions in table["groups"].values() for i in positions}
    first_step = {by_elem["lang"]} | {i for i, c in enumerate(outputs) if any(c is t for t in tab_titles)}
    assert not first_step & grouped  # the header and the tab titles change at once, whichever tab is shown
    server_half = next(fn for fn in demo.fns.values() if fn.fn is not None and fn.name == "switch")
    assert not set(map(id, server_half.outputs)) & {id(t) for t in tab_titles}  # labels are not the server's job
    # the server redraws the tab shown alone; the others redraw when next selected
    values = [{"lang": "ja", "lang-shown-tab": "sft"}.get(getattr(c, "elem_id", None), getattr(c, "value", None))
              for c in server_half.inputs]
    sent = dict(zip((getattr(c, "elem_id", None) for c in server_half.outputs), server_half.fn(*values)))
    assert sent["sft-plot"] != gr.skip() and "最初のステップ" in str(sent["sft-plot"])
    assert sent["dedup-scurve"] == gr.skip() and sent["launch-plot"] == gr.skip()
