"""Reading a finished dedup run back (lab/dedup/results.py), as the Data tab and the report do: the report
with only the files of its own output folder, the preview clusters in the order they ran, samples of the
removed documents per reason, and the kept corpus as a `text` dataset."""
import json

from lab.dedup.results import clusters_in_order, kept_dataset, read_results
from lab.dedup.spec import METHOD_ORDER
from tests.unit.test_dedup_charts import finished_run


def test_a_finished_run_reads_back_whole(workspace):
    run, report = finished_run(workspace, method="minhash", combine_with=["quality", "exact"])
    results = read_results(run)
    assert results["run_id"] == run.id and results["folder"] == str(run.artifacts.resolve())
    assert results["report"]["docs_in"] == report["docs_in"]
    assert set(results["report"]["outputs"]) >= {"kept", "removed", "clusters"}
    assert {c["method"] for c in results["clusters"]} <= set(report["methods"]) and results["clusters"]
    removed_rows = [json.loads(line) for line in (run.artifacts / "removed.jsonl").read_text(encoding="utf-8").splitlines()]
    assert set(results["removed"]) == {r["reason"] for r in removed_rows} == set(report["removed_by_reason"])
    for reason, rows in results["removed"].items():
        assert len(rows) == min(50, report["removed_by_reason"][reason])
        assert all(r["reason"] == reason for r in rows)


def test_outputs_that_point_outside_the_output_folder_are_left_out(workspace, tmp_path):
    run, _ = finished_run(workspace, method="exact")
    secret = tmp_path / "accounts.csv"
    secret.write_text("alice,pw\n", encoding="utf-8")
    path = run.artifacts / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    report["outputs"].update(kept=str(secret), kept_text="../../../accounts.csv", removed="removed.jsonl")
    path.write_text(json.dumps(report), encoding="utf-8")
    outputs = read_results(run)["report"]["outputs"]
    assert "kept" not in outputs and "kept_text" not in outputs
    assert outputs["removed"] == str((run.artifacts / "removed.jsonl").resolve())
    assert kept_dataset(read_results(run)["report"]) is None


def test_a_run_without_a_report_has_no_results(workspace):
    from lab.dedup.spec import DedupSpec
    from lab.runs import RunStore
    run = RunStore(workspace / "runs").create(DedupSpec())
    assert read_results(run) is None


def test_the_kept_corpus_as_a_text_dataset():
    assert kept_dataset(None) is None
    assert kept_dataset({"outputs": {"kept": "/o/kept.jsonl"}}) == "/o/kept.jsonl"
    assert kept_dataset({"outputs": {"kept": "/o/kept.jsonl", "kept_text": "/o/kept_text.jsonl"}}) == "/o/kept_text.jsonl"
    assert kept_dataset({"outputs": {}}) is None


def test_clusters_come_in_the_order_the_methods_ran_biggest_first():
    clusters = [{"cluster_id": 3, "method": "minhash", "members": ["a", "b"]},
                {"cluster_id": 1, "method": "minhash", "members": ["c", "d", "e"]},
                {"cluster_id": 2, "method": "exact", "members": ["f", "g"]},
                {"cluster_id": 0, "method": "minhash", "members": ["h", "i"]}]
    ordered = clusters_in_order(clusters)
    assert [c["cluster_id"] for c in ordered] == [2, 1, 0, 3]
    assert METHOD_ORDER.index("exact") < METHOD_ORDER.index("minhash")
