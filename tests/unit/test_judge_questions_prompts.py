"""Question sets in the MT-bench / Japanese Vicuna QA schema, the bundled Japanese set, the judge
prompts in both languages, and the judge spec's own checks."""
import pytest

from lab.errors import UserError
from lab.evals.prompts import ANSWER_MARKERS, extract_answers, pairwise_prompt, single_prompt
from lab.evals.questions import categories_of, load_questions
from lab.evals.spec import JudgeSpec
from lab.presets import load_preset


def write(tmp_path, text, name="q.jsonl"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_set_has_several_categories_and_references():
    questions = load_questions("samples/judge_questions_ja.jsonl")
    assert len(questions) >= 20
    assert len(categories_of(questions)) >= 6
    assert sum(q.has_reference for q in questions) >= 8
    assert any(len(q.turns) > 1 for q in questions)
    assert all(any("\u3040" <= ch <= "\u30ff" for ch in q.turns[0]) for q in questions)  # Japanese


def test_filters_and_the_old_vicuna_text_form(tmp_path):
    path = write(tmp_path, '{"question_id": 1, "category": "math", "text": "1+1は？"}\n'
                           '{"question_id": 2, "category": "writing", "turns": ["詩を書いて"], "reference": "参考"}\n')
    qs = load_questions(str(path))
    assert qs[0].turns == ["1+1は？"] and qs[1].reference == ["参考"]
    assert [q.question_id for q in load_questions(str(path), categories=["writing"])] == [2]
    assert len(load_questions(str(path), max_questions=1)) == 1


@pytest.mark.parametrize("text, message", [
    ('{"question_id": 1, "turns": ["a"]}\n{"category": "x", "turns": ["b"]}\n', r"q.jsonl:2: question_id: field required"),
    ('{"question_id": 1, "turns": []}\n', r"q.jsonl:1: turns: list should have at least 1 item"),
    ('{"question_id": 1, "turns": ["a", " "]}\n', r"q.jsonl:1: turns: turn 2 is empty"),
    ('{"question_id": 1, "turns": ["a"]}\n{"question_id": 1, "turns": ["b"]}\n', r"q.jsonl:2: question_id: 1 is already used on line 1"),
    ('{"question_id": 1, "turns": ["a"]}\nnot json\n', r"q.jsonl:2: invalid JSON"),
])
def test_bad_question_files_name_file_line_and_field(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        load_questions(str(write(tmp_path, text)))


def test_unknown_category_is_named(tmp_path):
    path = write(tmp_path, '{"question_id": 1, "category": "math", "turns": ["a"]}\n')
    with pytest.raises(UserError, match=r"questions.categories: 'poetry' is not a category of q.jsonl \(math\)"):
        load_questions(str(path), categories=["poetry"])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_prompts_follow_mt_bench_conventions_in_both_languages(lang):
    pair = pairwise_prompt(["質問です", "続きの質問"], ["答えA1", "答えA2"], ["答えB1", "答えB2"], lang, reference=["参考1", "参考2"])
    system, user = pair.messages[0]["content"], pair.messages[1]["content"]
    assert "[[A]]" in user and "[[B]]" in user and "[[C]]" in user
    assert pair.prompt_id == f"pair-ref-v1-{lang}"
    assert ("参考1" in user) and ("続きの質問" in user)
    assert extract_answers(user) == {"A": pair_block(lang, "答えA1", "答えA2"), "B": pair_block(lang, "答えB1", "答えB2")}
    assert ("longer answer" in system) if lang == "en" else ("長い回答" in system)  # the verbosity warning
    single = single_prompt(["質問"], ["答え"], lang)
    assert "[[" in single.messages[1]["content"] and single.prompt_id == f"single-v1-{lang}"
    assert extract_answers(single.messages[1]["content"]) == {"single": "答え"}
    only = pairwise_prompt(["q"], ["a"], ["b"], lang, verdict_only=True)
    assert only.prompt_id.startswith("pair-only")


def pair_block(lang, first, second):
    label = "(turn {n})" if lang == "en" else "（ターン{n}）"
    return f"{label.format(n=1)}\n{first}\n\n{label.format(n=2)}\n{second}"


def test_markers_differ_per_language():
    assert ANSWER_MARKERS["ja"]["A"] != ANSWER_MARKERS["en"]["A"]


@pytest.mark.parametrize("overrides, message", [
    (["contestants=[{name: a, model: tiny}, {name: a, model: tiny}]"], "the name 'a' is used twice"),
    (["contestants=[{name: a, model: tiny}]"], "needs at least two contestants"),
    (["baseline=nobody"], "'nobody' is not a contestant"),
    (["judge.method=logprob", "judge.base_url=http://127.0.0.1:9/v1"], "logprob needs a local judge"),
    (["judge.base_url=127.0.0.1:9"], "expected an http"),
    (["contestants=[{name: 'a b', model: tiny}, {name: c}]"], "contestants[0].name"),
])
def test_judge_spec_checks(overrides, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_preset("presets/judge-pairwise.yaml", overrides)


def test_the_contract_overrides_apply():
    spec = load_preset("presets/judge-pairwise.yaml", ["judge.base_url=http://127.0.0.1:8123/v1", "judge.model=NAME"])
    assert isinstance(spec, JudgeSpec) and spec.judge.base_url == "http://127.0.0.1:8123/v1"
    assert spec.judge.model == "NAME" and spec.judge.resolved_method == "generate"
    assert load_preset("presets/judge-pairwise.yaml").judge.resolved_method == "logprob"
