"""The llm-jp-eval-style metrics, loaded as local `evaluate` modules by path (no network), checked
against values worked out by hand; multiple-choice picking; task files with errors that name the
file, the line and the field."""
import json

import pytest

from lab.errors import UserError
from lab.evals.mc_loglik import accuracy, pick
from lab.evals.metrics import load
from lab.evals.metrics.textnorm import normalize, split_set
from lab.evals.tasks import load_task, load_tasks, prompt


@pytest.fixture(scope="module")
def metrics():
    return {name: load(name) for name in ("exact_match", "char_f1", "set_f1")}


def test_normalisation():
    assert normalize(" 富士山。") == normalize("富士山") == "富士山"
    assert normalize("１２か月") == "12か月" and normalize("ＴＯＫＹＯ") == "tokyo"
    assert split_set("東京、大阪\n京都, 東京") == {"東京", "大阪", "京都"}


def test_exact_match(metrics):
    out = metrics["exact_match"].compute(predictions=["富士山。", "東京都", "12か月"], references=["富士山", "東京", "１２か月"])
    assert out == {"exact_match": pytest.approx(2 / 3)}


def test_char_f1_by_hand(metrics):
    # 富士山です vs 富士山: 3 shared characters, precision 3/5, recall 1 → F1 0.75; 東京 vs 大阪: 0
    out = metrics["char_f1"].compute(predictions=["富士山です", "東京"], references=["富士山", "大阪"])
    assert out["char_f1"] == pytest.approx(0.375)
    # repeated characters count as a multiset: ああい vs あい → shared 2, P 2/3, R 1 → 0.8
    assert metrics["char_f1"].compute(predictions=["ああい"], references=["あい"])["char_f1"] == pytest.approx(0.8)


def test_set_f1_by_hand(metrics):
    # {東京, 大阪, 京都} vs {大阪, 東京}: P 2/3, R 1 → 0.8; {名古屋} vs {札幌, 仙台}: 0
    out = metrics["set_f1"].compute(predictions=["東京、大阪\n京都", "名古屋"], references=["大阪、東京", "札幌、仙台"])
    assert out["set_f1"] == pytest.approx(0.4)


def test_mc_pick_and_length_normalised_accuracy():
    choices = ["犬", "長い長い選択肢"]
    # total log-likelihood favours the short choice; per character the long one wins
    assert pick([-2.0, -7.0], choices) == (0, 1)
    picks = [{"pred": 0, "pred_norm": 1}, {"pred": 1, "pred_norm": 1}, {"pred": 2, "pred_norm": 0}]
    assert accuracy(picks, [1, 1, 1]) == {"acc": pytest.approx(1 / 3), "acc_norm": pytest.approx(2 / 3)}


def test_the_bundled_tasks_cover_every_metric():
    tasks = load_tasks("samples/eval_tasks_ja")
    metrics = {m for t in tasks for m in t.metrics}
    assert metrics == {"exact_match", "char_f1", "set_f1", "mc_loglik"}
    mc = next(t for t in tasks if t.is_mc)
    text = prompt(mc, mc.samples[0], num_few_shots=1)
    assert text.endswith("出力：") and mc.few_shots[0].answer in text and "選択肢：" in text


def write_task(tmp_path, data) -> str:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["samples"][1].pop("output"), r"t.json:(\d+): samples\[1\].output: field required"),
    (lambda d: d.update(metrics=["bleu"]), r"t.json:\d+: metrics: 'bleu' is not a metric of the lab"),
    (lambda d: d["samples"].append({"input": "q", "choices": ["a", "b"], "gold": 5}), r"t.json:\d+: samples\[2\].gold: 5 is not an index"),
    (lambda d: d.pop("instruction"), r"t.json:1: instruction: field required"),
])
def test_bad_task_files_name_file_line_and_field(tmp_path, change, message):
    data = {"instruction": "答えて", "metrics": ["exact_match"],
            "samples": [{"input": "a", "output": "b"}, {"input": "c", "output": "d"}]}
    change(data)
    with pytest.raises(UserError, match=message) as e:
        load_task(write_task(tmp_path, data))
    if "samples[1].output" in str(e.value):
        line = int(str(e.value).split(":")[1])
        assert '"input": "c"' in write_task(tmp_path, data).read_text().splitlines()[line]  # the sample's own line
