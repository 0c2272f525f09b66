"""MinHash-LSH finds planted near-duplicates whose exact Jaccard is known, merges nothing far below
the threshold, keeps shared-boilerplate pages apart, and says what it did in its output files.
The runs are real jobs in a real run folder, called in-process (no worker) to stay quick."""
import itertools
import json
import random

import pytest

from lab.context import RunContext
from lab.dedup import job
from lab.dedup.spec import DedupSpec
from lab.runs import RunStore
from tests.unit.test_dedup_quality import GOOD_JA

ALPHABET = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)] + [chr(c) for c in range(0x3041, 0x3097)]


def grams(text: str, n: int = 5) -> set[str]:
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def true_jaccard(a: str, b: str) -> float:
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def planted_corpus(seed: int = 0):
    """Base pages, one edited copy for most of them (Jaccard spread over 0.45–1), and pages that
    share a long boilerplate footer with different bodies."""
    rng = random.Random(seed)
    rows, pairs = [], []
    for i in range(300):
        base = "".join(rng.choices(ALPHABET, k=rng.randint(300, 600)))
        rows.append({"id": f"b{i}", "text": base})
        if i < 220:
            copy = list(base)
            for pos in rng.sample(range(len(copy)), rng.randint(0, len(copy) // 14)):
                copy[pos] = rng.choice(ALPHABET)
            rows.append({"id": f"v{i}", "text": "".join(copy)})
            pairs.append((f"b{i}", f"v{i}", true_jaccard(base, "".join(copy))))
    footer = "".join(rng.choices(ALPHABET, k=260))
    for i in range(40):
        rows.append({"id": f"bp{i}", "text": "".join(rng.choices(ALPHABET, k=240)) + footer})
    rng.shuffle(rows)
    return rows, pairs


def run_job(tmp_path, rows, **spec_keys):
    tmp_path.mkdir(parents=True, exist_ok=True)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    spec = DedupSpec(input=str(corpus), **spec_keys)
    run = RunStore(tmp_path / "runs").create(spec)
    result = job.run(spec, RunContext(run))
    out = run.artifacts
    read = lambda name: [json.loads(x) for x in (out / name).read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return result, json.loads((out / "report.json").read_text()), read("clusters.jsonl"), read("removed.jsonl"), read("kept.jsonl"), run


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rows, pairs = planted_corpus()
    return rows, pairs, run_job(tmp_path_factory.mktemp("planted"), rows, threshold=0.8, ngram=5, num_perm=128)


def test_recall_of_planted_pairs_at_or_above_the_threshold(planted):
    rows, pairs, (_, _, clusters, _, _, _) = planted
    cluster_of = {m: c["cluster_id"] for c in clusters for m in c["members"]}
    above = [(a, b) for a, b, j in pairs if j >= 0.8]
    found = sum(1 for a, b in above if a in cluster_of and cluster_of.get(a) == cluster_of.get(b))
    assert len(above) >= 80
    assert found / len(above) >= 0.95


def test_no_merged_pair_below_threshold_minus_0_1(planted):
    rows, _, (_, _, clusters, _, _, _) = planted
    text = {r["id"]: r["text"] for r in rows}
    for c in clusters:
        for a, b in itertools.combinations(c["members"], 2):
            assert true_jaccard(text[a], text[b]) >= 0.7, (c["cluster_id"], a, b)
        for a, b, j in c["pairs"]:  # every merge was verified at the threshold
            assert j >= 0.8 and j == pytest.approx(true_jaccard(text[a], text[b]), abs=1e-4)


def test_shared_boilerplate_with_different_bodies_stays_apart(planted):
    _, _, (_, _, clusters, _, kept, _) = planted
    assert not [c for c in clusters if sum(m.startswith("bp") for m in c["members"]) > 1]
    assert sum(r["id"].startswith("bp") for r in kept) == 40


def test_outputs_follow_the_contract(planted):
    rows, _, (result, report, clusters, removed, kept, run) = planted
    assert len(kept) + len(removed) == len(rows) == report["docs_in"] == result["docs_in"]
    c = clusters[0]
    assert set(c) >= {"cluster_id", "members", "kept", "pairs"} and c["kept"] in c["members"]
    assert all(len(p) == 3 for p in c["pairs"])
    assert {r["reason"] for r in removed} == {"minhash"} and all(r["duplicate_of"] for r in removed)
    params = report["parameters"]
    assert (params["bands"], params["rows"], params["bands_rows_source"]) == (16, 8, "optimal")
    assert report["removed_by_reason"] == {"minhash": len(removed)} and report["docs_per_second"] > 0
    assert set(report["timings"]) >= {"read_s", "lsh_s", "verify_s", "write_s"}
    events = [json.loads(x) for x in run.events_path.read_text().splitlines()]
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["step"] == progress[-1]["total"] == len(rows)
    assert any(e["type"] == "metric" and "docs_per_second" in e for e in events)


def test_chains_keep_both_ends_and_the_keep_policy_picks_the_survivor(tmp_path):
    rng = random.Random(5)
    s = ["".join(rng.choices(ALPHABET, k=40)) for _ in range(10)]
    t = ["".join(rng.choices(ALPHABET, k=40)) for _ in range(10)]
    a = "".join(s)
    b = "".join(s[:9] + t[9:])          # a ~ b
    c = "".join(s[:8] + t[8:])          # b ~ c, but a ≁ c
    assert min(true_jaccard(a, b), true_jaccard(b, c)) > 0.78 > 0.72 > true_jaccard(a, c)
    rows = [{"id": "a", "text": a}, {"id": "b", "text": b}, {"id": "c", "text": c}]
    _, _, _, removed, kept, _ = run_job(tmp_path, rows, threshold=0.75, keep="first")
    assert [r["id"] for r in kept] == ["a", "c"] and [r["id"] for r in removed] == ["b"]
    long_b = b + "".join(rng.choices(ALPHABET, k=5))
    _, _, clusters, _, _, _ = run_job(tmp_path / "2", [{"id": "a", "text": a}, {"id": "b", "text": long_b}],
                                      threshold=0.7, keep="longest")
    assert clusters[0]["kept"] == "b" and clusters[0]["keep_reason"] == "longest text"


def test_exact_method_sees_through_normalisation(tmp_path):
    rows = [{"id": 1, "text": "価格は100円です。今日、買いました。"}, {"id": 2, "text": "価格は１００円です．今日，買いました．"},
            {"id": 3, "text": "まったく別の文書です。"}]
    _, report, clusters, removed, _, _ = run_job(tmp_path, rows, method="exact", normalize={"punctuation": True})
    assert [c["members"] for c in clusters] == [[1, 2]] and removed[0]["reason"] == "exact"
    _, _, clusters, _, _, _ = run_job(tmp_path / "2", rows, method="exact")
    assert clusters == []


def test_methods_combine_and_each_removal_keeps_its_reason(tmp_path):
    good = GOOD_JA
    rows = [{"id": "good", "text": good}, {"id": "copy", "text": good}, {"id": "short", "text": "短い投稿です。"}]
    _, report, _, removed, kept, _ = run_job(tmp_path, rows, method="minhash", combine_with=["quality", "exact"])
    assert report["methods"] == ["quality", "exact", "minhash"]
    assert {r["id"]: r["reason"] for r in removed} == {"copy": "exact", "short": "swallow_num_letters"}
    short = next(r for r in removed if r["id"] == "short")
    assert short["value"] == 7 and short["threshold"] == 400 and short["method"] == "quality"
    assert [r["id"] for r in kept] == ["good"]


def test_two_worker_processes_remove_the_same_documents_as_one(tmp_path):
    rows, _ = planted_corpus(seed=3)
    rows = rows[:260]
    one = run_job(tmp_path / "one", rows, workers=1, batch_size=64, combine_with=["exact"])
    two = run_job(tmp_path / "two", rows, workers=2, batch_size=64, combine_with=["exact"])
    assert two[1]["parameters"]["workers"] == 2
    assert [r["id"] for r in one[3]] == [r["id"] for r in two[3]] and one[2] == two[2]
