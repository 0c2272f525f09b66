"""The Judge tab's forms map to and from the spec without a browser: a preset shown in the form and
read straight back is the same preset; what the form shows its own way (0 = all questions, no
baseline outside pairwise-baseline, the contestants table) comes back in the spec's terms; hidden
contestant keys survive an edit of the table."""
import pytest

from lab.errors import UserError
from lab.presets import find_preset, read_yaml, validate
from ui.form import SpecForm
from ui.tabs.judge import metrics, spec_form


@pytest.fixture
def preset():
    data, _ = read_yaml(find_preset("judge-pairwise"))
    return data


def form_values(preset: dict) -> tuple[SpecForm, dict]:
    form = spec_form.new_form(spec_form.contestant_names(preset))
    values = dict(zip(spec_form.FORM_KEYS, form.values_from(spec_form.from_spec(preset))))
    values["questions.categories"] = spec_form.from_spec(preset)["questions"]["categories"]  # a CheckboxGroup holds a list
    return form, values


def read_back(form, preset, values, frame=None):
    frame = spec_form.contestants_frame(preset["contestants"]) if frame is None else frame
    return spec_form.form_dict(form, preset, [values[k] for k in spec_form.FORM_KEYS] + [frame])


def test_a_preset_shown_and_read_back_is_the_same_preset(preset):
    form, values = form_values(preset)
    assert values["questions.max_questions"] == 0 and values["baseline"] == "tiny-greedy"
    data = read_back(form, preset, values)
    assert validate(data, "form") == validate(preset, "preset")


def test_what_the_form_shows_its_own_way_comes_back_in_the_specs_terms(preset):
    form, values = form_values(preset)
    values.update({"questions.max_questions": 3.0, "questions.categories": ["math"], "judge.base_url": " http://127.0.0.1:9/v1 ",
                   "judge.model": " ", "judge.concurrency": None, "mode": "pairwise-all"})
    data = read_back(form, preset, values)
    assert data["questions"] == {**preset["questions"], "max_questions": 3, "categories": ["math"]}
    assert data["judge"]["base_url"] == "http://127.0.0.1:9/v1" and data["judge"]["model"] is None
    assert data["judge"]["concurrency"] == 4          # an emptied number falls back to the spec's default
    assert data["baseline"] is None                   # only pairwise-baseline has one
    assert "--set mode=pairwise-all" in spec_form.equivalent_command("presets/judge-pairwise.yaml", preset, data)


def test_the_contestants_table_keeps_what_it_does_not_show(preset):
    preset["contestants"][0]["seed"] = 7
    form, values = form_values(preset)
    frame = spec_form.contestants_frame(preset["contestants"]).astype(object)  # cells as the page sends them
    frame.loc[len(frame)] = ["extra", "run:abc", "", None, ""]
    data = read_back(form, preset, values, frame)
    assert data["contestants"][0]["seed"] == 7
    assert data["contestants"][2] == {"name": "extra", "model": "run:abc", "base_url": None, "temperature": 0.0,
                                      "max_new_tokens": 128}
    frame.loc[len(frame)] = ["bad", "tiny", "", "hot", 1]
    with pytest.raises(UserError, match="contestants: 'hot' is not a number"):
        read_back(form, preset, values, frame)
    assert spec_form.unique_name("run:tiny-greedy", ["tiny-greedy"]) == "tiny-greedy-2"


def test_the_metrics_form_reads_no_limit_as_zero_and_back():
    data, _ = read_yaml(find_preset("eval-metrics"))
    form = SpecForm(metrics.EvalSpec, metrics.FORM_KEYS)
    assert form.values_from(metrics.from_spec(data)) == ["tiny", "samples/eval_tasks_ja", 1, 0]
    back = metrics.to_spec(form.to_dict(data, [" run:x ", " samples/eval_tasks_ja ", None, 5.0]))
    assert (back["model"]["name"], back["tasks"], back["num_few_shots"], back["max_samples"]) == ("run:x", "samples/eval_tasks_ja", 0, 5)
    assert metrics.to_spec(form.to_dict(data, ["", "t", 1, 0]))["max_samples"] is None
    assert metrics.to_spec(form.to_dict(data, ["", "t", 1, 0]))["model"]["name"] == "tiny"


def test_a_judge_or_eval_run_clones_into_its_form_and_section(workspace, preset):
    """The Runs tab's Clone hands a run's job.yaml to the tab's `fill`: a judge job fills the set-up form,
    an eval job the metrics form, and the matching section is shown."""
    import gradio as gr

    from lab.runs import RunStore
    from ui.i18n import I18n
    from ui.tabs import judge

    with gr.Blocks():
        part = judge.build(RunStore(), I18n(lang="en"), gr.State("en"))
    outputs = part["preset_outputs"]
    at = lambda elem_id: next(i for i, c in enumerate(outputs) if getattr(c, "elem_id", None) == elem_id)  # noqa: E731
    section = next(i for i, c in enumerate(outputs) if isinstance(c, gr.Tabs))

    preset["judge"]["model"] = "run:sft-20260101-000000-abcd"
    values = part["fill"](preset, "/runs/judge-x/job.yaml")
    assert len(values) == len(outputs)
    assert values[at("judge-model")] == "run:sft-20260101-000000-abcd"
    assert values[section].selected == "judge-setup"

    eval_data, _ = read_yaml(find_preset("eval-metrics"))
    values = part["fill"](eval_data, "/runs/eval-x/job.yaml")
    assert values[section].selected == "judge-metrics"
    assert values[at("judge-eval-model")] == eval_data["model"]["name"]
    assert values[at("judge-model")] == gr.skip()  # the set-up form is left as it was
