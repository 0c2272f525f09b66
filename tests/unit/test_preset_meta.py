"""Every bundled preset carries what the Home tab's gallery shows: a title and a description in English and
Japanese, estimated times on CPU and GPU, and tags; and the gallery knows which tab opens it."""
from __future__ import annotations

import pytest

from lab.paths import PRESETS_DIR
from lab.presets import load_preset
from ui.tabs.home import COURSE, OPEN_IN, gallery_presets

PRESETS = sorted(PRESETS_DIR.glob("*.yaml"))


def test_there_are_presets_and_the_gallery_shows_every_one():
    assert len(PRESETS) >= 10
    assert sorted(name for name, _, _ in gallery_presets()) == sorted(p.stem for p in PRESETS)


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_meta_is_complete_in_both_languages(path):
    meta = load_preset(path).meta
    for field in ("title", "description"):
        text = getattr(meta, field)
        for lang in ("en", "ja"):
            assert text.get(lang, "").strip(), f"{path.name}: meta.{field}.{lang} is missing"
        assert text["en"] != text["ja"], f"{path.name}: meta.{field} is not translated"
    for device in ("cpu", "gpu"):
        assert meta.est_time.get(device, "").strip(), f"{path.name}: meta.est_time.{device} is missing"
    assert meta.tags and all(tag.strip() for tag in meta.tags), f"{path.name}: meta.tags is empty"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_kind_has_a_tab_that_opens_it(path):
    assert load_preset(path).kind in OPEN_IN


def test_the_course_path_names_only_bundled_presets():
    names = {p.stem for p in PRESETS}
    for step in COURSE:
        assert step.presets, step.key
        for name, tab, _ in step.presets:
            assert name in names, f"course step {step.key}: no preset {name}"
            assert tab in set(OPEN_IN.values()), f"course step {step.key}: no tab {tab}"


@pytest.mark.parametrize("name", ["sft-tiny", "sft-qwen2.5-0.5b-lora", "sft-llm-jp-1.8b-lora"])
def test_an_sft_preset_opens_in_the_form_as_itself(name):
    """Keys a preset leaves out (dataset.format) show their defaults, so the form reads back as the preset."""
    from lab.presets import find_preset, read_yaml
    from ui.form import SpecForm
    from ui.tabs.sft import TAB
    from ui.run_panel import equivalent_command

    path = find_preset(name)
    data, _ = read_yaml(path)
    form = SpecForm(TAB.spec_cls, TAB.model_data_keys + TAB.training_keys)
    assert equivalent_command(str(path), data, form.to_dict(data, form.values_from(data))) == f"lab run presets/{name}.yaml"
