"""Lineage: a run records what it was made from (files with their sha256, models, the runs they came
from) when it is created, and its family — the runs it came from and the runs that used it — can be
walked both ways. Run folders are made by RunStore.create (no worker is started)."""
import hashlib
import json

import pytest

from lab.charts import family_figure
from lab.dedup.spec import DedupSpec
from lab.errors import UserError
from lab.evals.spec import JudgeSpec
from lab.events import read_events
from lab.lineage import digest, family, inputs_of
from lab.rag.spec import RagEvalSpec, RagIndexSpec
from lab.runs import RunStore
from lab.spec import DPOSpec, PretrainSpec, SFTSpec


def jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "\n", encoding="utf-8")
    return path


def finished(run, **result):
    run.set_status(state="succeeded", ended_at=1.0, **({"result": result} if result else {}))
    return run


@pytest.fixture
def chain(workspace):
    """dedup → sft (on the dedup's kept set) → dpo (from the sft) → judge (sft vs dpo), plus a second
    sft on the same kept set (a sibling of the first)."""
    store = RunStore()
    corpus = jsonl(workspace / "corpus.jsonl", [{"id": i, "text": f"文書{i}"} for i in range(5)])
    dedup = finished(store.create(DedupSpec(input=str(corpus))))
    kept = jsonl(dedup.artifacts / "kept.jsonl", [{"text": f"文書{i}"} for i in range(3)])
    sft = finished(store.create(SFTSpec(dataset={"path": str(kept)})))
    dpo = finished(store.create(DPOSpec(model={"name": f"run:{sft.id}"})))
    judge = store.create(JudgeSpec(contestants=[{"name": "sft", "model": f"run:{sft.id}"},
                                                {"name": "dpo", "model": f"run:{dpo.id}"}]))
    sibling = store.create(SFTSpec(dataset={"path": str(kept)}))
    return store, dedup, sft, dpo, judge, sibling, kept


def test_a_run_records_its_data_file_hash_rows_and_the_run_that_made_it(chain):
    _, dedup, sft, *_, kept = chain
    status = sft.read_status()
    data = status["inputs"]["files"][0]
    assert data["field"] == "dataset.path" and data["path"] == str(kept)
    assert data["sha256"] == hashlib.sha256(kept.read_bytes()).hexdigest()
    assert data["size"] == kept.stat().st_size and data["rows"] == 3  # the blank line is not a row
    assert data["run"] == dedup.id
    assert status["inputs"]["model"] == {"field": "model.name", "name": "tiny", "role": "model"}
    assert status["inputs"]["parents"] == [{"run": dedup.id, "role": "data", "field": "dataset.path"}]
    assert status["parent"] is None  # "parent" stays the run whose model it starts from


def test_the_inputs_are_emitted_once_as_an_event(chain):
    _, _, sft, *_ = chain
    events, _ = read_events(sft.events_path)
    inputs = [e for e in events if e["type"] == "inputs"]
    assert len(inputs) == 1 and inputs[0]["files"] == sft.read_status()["inputs"]["files"]


def test_a_model_from_a_run_is_the_parent_and_judge_contestants_are_compared(chain):
    _, _, sft, dpo, judge, *_ = chain
    assert dpo.read_status()["parent"] == sft.id
    assert dpo.read_status()["inputs"]["model"]["run"] == sft.id
    inputs = judge.read_status()["inputs"]
    assert [(p["run"], p["role"]) for p in inputs["parents"]] == [(sft.id, "compared"), (dpo.id, "compared")]
    judge_model = next(m for m in inputs["models"] if m["field"] == "judge.model")
    assert judge_model == {"field": "judge.model", "name": "tiny", "role": "judge"}
    assert inputs["files"][0]["field"] == "questions.path" and inputs["files"][0]["rows"] > 0


def test_family_walks_up_to_the_data_and_down_to_the_runs_that_used_it(chain):
    store, dedup, sft, dpo, judge, sibling, _ = chain
    graph = family(store, dpo.id)
    runs = {n["id"] for n in graph["nodes"] if n["state"] != "input"}
    assert runs == {dedup.id, sft.id, dpo.id, judge.id}  # the sibling sft is not dpo's family
    edges = {(e["source"], e["target"], e["label"]) for e in graph["edges"]}
    assert {(dedup.id, sft.id, "data"), (sft.id, dpo.id, "model"), (sft.id, judge.id, "compared"),
            (dpo.id, judge.id, "compared")} <= edges
    gen = {n["id"]: n["generation"] for n in graph["nodes"]}
    assert gen[dedup.id] < gen[sft.id] < gen[dpo.id] < gen[judge.id]
    node = {n["id"]: n for n in graph["nodes"]}
    assert node[dpo.id]["selected"] and node[dpo.id]["kind"] == "dpo" and node[dpo.id]["state"] == "succeeded"
    assert node[dpo.id]["title"] == "" and node[judge.id]["state"] == "queued"
    # the dataset no run made is drawn as an input of the selected run
    assert any(n["state"] == "input" and n["title"] == "dpo_ja.jsonl" for n in graph["nodes"])

    down = family(store, dedup.id)
    assert {n["id"] for n in down["nodes"] if n["state"] != "input"} == {dedup.id, sft.id, sibling.id, dpo.id, judge.id}
    assert not down["truncated"] and family(store, dedup.id, limit=2)["truncated"]


def test_a_dedup_output_dir_outside_the_runs_folder_still_names_its_run(workspace):
    store = RunStore()
    corpus = jsonl(workspace / "corpus.jsonl", [{"id": 1, "text": "a"}])
    out = workspace / "elsewhere"
    dedup = finished(store.create(DedupSpec(input=str(corpus), output_dir=str(out))), output_dir=str(out))
    kept = jsonl(out / "kept.jsonl", [{"text": "a"}])
    sft = store.create(SFTSpec(dataset={"path": str(kept)}))
    assert sft.read_status()["inputs"]["files"][0]["run"] == dedup.id


def test_the_tiny_model_links_to_the_pretraining_run_that_exported_it_without_becoming_the_parent(workspace):
    store = RunStore()
    corpus = jsonl(workspace / "corpus.jsonl", [{"text": "a"}])
    pretrain = finished(store.create(PretrainSpec(dataset={"path": str(corpus)})),
                        exported=str(workspace / "models" / "tiny"))
    sft = store.create(SFTSpec(dataset={"path": str(corpus)}))
    status = sft.read_status()
    assert status["inputs"]["model"]["run"] == pretrain.id and status["parent"] is None
    assert {"run": pretrain.id, "role": "model", "field": "model.name"} in status["inputs"]["parents"]


def test_a_model_folder_inside_a_run_names_that_run(chain):
    store, _, sft, *_ = chain
    folder = sft.artifacts / "model"
    folder.mkdir()
    dpo = store.create(DPOSpec(model={"name": str(folder)}))
    assert dpo.read_status()["parent"] == sft.id


def test_rag_eval_reads_the_index_the_last_rag_index_run_built(workspace):
    store = RunStore()
    index_run = store.create(RagIndexSpec(index="kb"))
    other = store.create(RagIndexSpec(index="other"))
    evaluation = store.create(RagEvalSpec(index="kb", docs=None))
    inputs = evaluation.read_status()["inputs"]
    assert inputs["index"]["run"] == index_run.id and inputs["index"]["path"] == str(workspace / "rag" / "kb")
    assert {p["run"] for p in inputs["parents"]} == {index_run.id} != {other.id}
    assert {f["field"] for f in inputs["files"]} == {"qa"}
    edge = [e for e in family(store, index_run.id)["edges"] if e["target"] == evaluation.id]
    assert edge == [{"source": index_run.id, "target": evaluation.id, "label": "index"}]


def test_a_judge_reusing_answers_names_that_run(workspace):
    store = RunStore()
    first = store.create(JudgeSpec())
    second = store.create(JudgeSpec(answers_from=first.id))
    assert {"run": first.id, "role": "answers", "field": "answers_from"} in second.read_status()["inputs"]["parents"]


def test_a_missing_file_is_recorded_not_fatal_and_folders_hash_by_content(workspace):
    store = RunStore()
    run = store.create(SFTSpec(dataset={"path": "nowhere.jsonl"}))
    assert run.read_status()["inputs"]["files"][0]["missing"] is True
    folder = workspace / "docs"
    jsonl(folder / "a.jsonl", [{"x": 1}])
    (folder / "b.txt").write_text("日本語", encoding="utf-8")
    first = digest(folder)
    assert first["files"] == 2 and first["sha256"] == digest(folder)["sha256"]
    (folder / "b.txt").write_text("日本語。", encoding="utf-8")
    assert digest(folder)["sha256"] != first["sha256"]


def test_runs_made_before_lineage_get_their_links_from_job_yaml(chain):
    store, _, sft, dpo, *_ = chain
    status = json.loads(dpo.status_path.read_text())
    del status["inputs"]
    dpo.status_path.write_text(json.dumps(status))
    edges = {(e["source"], e["target"], e["label"]) for e in family(store, sft.id)["edges"]}
    assert (sft.id, dpo.id, "model") in edges


def test_hash_files_false_reads_no_file(workspace):
    data = jsonl(workspace / "d.jsonl", [{"text": "a"}])
    inputs = inputs_of(SFTSpec(dataset={"path": str(data)}), workspace / "runs", hash_files=False)
    assert "sha256" not in inputs["files"][0] and inputs["files"][0]["path"] == str(data)


def test_an_unknown_run_has_no_family(workspace):
    with pytest.raises(UserError):
        family(RunStore(), "sft-nope")


def test_the_family_figure_draws_every_node_and_a_labelled_arrow_per_edge(chain):
    store, _, sft, *_ = chain
    graph = family(store, sft.id)
    fig = family_figure(graph)
    markers = [t for t in fig.data if t.mode == "markers+text"]
    assert sum(len(t.x) for t in markers) == len(graph["nodes"])
    labels = [a.text for a in fig.layout.annotations if a.text]
    assert sorted(labels) == sorted(e["label"] for e in graph["edges"])


# ---- the report of each kind shows what the run produced ---------------------------------------------
def test_reports_show_each_kinds_samples_escaped_with_the_charts_inlined(workspace):
    from lab.evals.spec import EvalSpec
    from lab.report import render_report
    store = RunStore()
    for old_layout in (False, True):  # runs made before judge and eval outputs moved under artifacts/ still report
        judge = store.create(JudgeSpec())
        out = judge.dir if old_layout else judge.artifacts
        jsonl(out / "questions.jsonl", [{"question_id": 7, "category": "writing", "turns": ["俳句を作って"]}])
        for name, text in (("tiny-greedy", "古池や"), ("tiny-t1", "<script>alert(1)</script>")):
            jsonl(out / "answers" / f"{name}.jsonl", [{"question_id": 7, "choices": [{"index": 0, "turns": [text]}]}])
        jsonl(out / "judgments.jsonl", [{"mode": "pairwise", "question_id": 7, "model_a": "tiny-greedy",
                                         "model_b": "tiny-t1", "verdict": "A", "winner": "tiny-greedy",
                                         "order": "AB", "rationale": "季語がある"}])
        (out / "summary.json").write_text(json.dumps({"win_rate": {"tiny-t1": 0.25}, "n_questions": 1}))
        for step, rate in ((1, 0.5), (2, 0.375)):
            judge.events.emit("metric", step=step, position_consistency=rate)
        page = render_report(judge, "ja")
        assert "俳句を作って" in page and "古池や" in page and "季語がある" in page and "サンプル" in page
        assert "tiny-t1" in page and "0.25" in page  # summary.json's table
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
        assert '"name":"position_consistency"' in page and "0.375" in page and "Plotly.newPlot" in page

        evaluation = store.create(EvalSpec())
        out = evaluation.dir if old_layout else evaluation.artifacts
        (out / "results.json").write_text(json.dumps({"scores": {"jcommonsenseqa/exact_match": 0.5}}))
        jsonl(out / "predictions" / "jcommonsenseqa.jsonl", [{"input": "質問です", "gold": "1", "prediction": "2"}])
        page = render_report(evaluation, "en")
        assert "jcommonsenseqa/exact_match" in page and "質問です" in page

    rag = store.create(RagEvalSpec(docs=None))
    (rag.artifacts / "summary.json").write_text(json.dumps({"recall_at_k": 1.0, "questions": 1}))
    jsonl(rag.artifacts / "evidence.jsonl", [{"question": "富士山の高さは？", "answer": "3776 m", "reference": "3776 m",
                                              "retrieved": [{"source": "fuji.md#0"}], "recall_at_k": 1.0}])
    page = render_report(rag, "en")
    assert "富士山の高さは？" in page and "fuji.md#0" in page

    index = store.create(RagIndexSpec())
    (index.artifacts / "report.json").write_text(json.dumps({"chunks_total": 12, "files_detail": [{"file": "a.md", "chunks": 12}]}))
    index.set_status(state="failed", error="docs: not found")
    page = render_report(index, "en")
    assert "a.md" in page and "docs: not found" in page and "chunks_total" in page


def test_a_report_and_a_family_node_take_the_kind_from_the_run_not_its_id(workspace):
    """A folder renamed by hand and a run from before status.json held its kind: the report still shows
    that kind's samples and names it, and the family graph labels it, from status.json or job.yaml."""
    from lab.report import render_report
    store = RunStore()
    run = store.create(RagIndexSpec())
    (run.artifacts / "report.json").write_text(json.dumps({"chunks_total": 12, "files_detail": [{"file": "a.md", "chunks": 12}]}))
    status = json.loads(run.status_path.read_text())
    del status["kind"]
    run.status_path.write_text(json.dumps(status | {"state": "succeeded"}))
    renamed = run.dir.with_name("my-index-run")
    run.dir.rename(renamed)
    moved = store.get("my-index-run")
    page = render_report(moved, "ja")
    assert "a.md" in page and "chunks_total" in page  # the rag_index samples, not a training run's
    assert "RAG の索引 <code>rag_index</code>" in page
    node = family(store, "my-index-run")["nodes"][0]
    assert node["id"] == "my-index-run" and node["kind"] == "rag_index"
