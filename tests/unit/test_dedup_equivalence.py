"""The dedup engine removes exactly the documents it removed before it was made faster, for the same
reasons, into the same clusters: on the bundled corpus and on a generated duplicate-heavy corpus (every
text with 8+ exact copies, some spelled differently but equal after normalisation, near-duplicates with
copies of their own, and one boilerplate page copied 90 times so an LSH bucket overflows).

The expected outputs were recorded from the engine as it was before the speed work (commit 40d6fa3), as
SHA-256 digests of each output (the full files would weigh megabytes) beside their counts.
`LAB_RECORD_DEDUP=1 pytest tests/unit/test_dedup_equivalence.py` records them again (only do that on
purpose, when a change of removals is intended and explained); `LAB_DEDUP_DUMP=FILE` also writes the
full outputs to FILE, to diff two versions of the engine."""
import hashlib
import json
import os
import random
import re
from pathlib import Path

import pytest

from lab.context import RunContext
from lab.dedup import job
from lab.dedup.spec import DedupSpec
from lab.runs import RunStore

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "lab" / "samples" / "dedup_corpus.jsonl"
EXPECTED = Path(__file__).with_name("dedup_equivalence_expected.json")
RECORD = os.environ.get("LAB_RECORD_DEDUP") == "1"
DUMP = os.environ.get("LAB_DEDUP_DUMP")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def sentences() -> list[str]:
    pool = []
    for line in BUNDLED.read_text(encoding="utf-8").splitlines():
        pool += [s for s in re.findall(r"[^。\n]+。", json.loads(line)["text"]) if len(s) >= 15]
    return sorted(set(pool))


def spelled_differently(text: str, rng: random.Random) -> str:
    """The same text after NFKC + whitespace normalisation, different before (and of another length)."""
    choice = rng.randrange(4)
    if choice == 0:
        return text
    if choice == 1:
        return "  " + text + " \n"
    if choice == 2:
        return text.translate(FULL_WIDTH) + "\t"
    return "\u3000" + text


def duplicate_heavy_corpus(seed: int = 7, bases: int = 160) -> list[dict]:
    rng = random.Random(seed)
    pool = sentences()
    texts: list[str] = []
    for _ in range(bases):
        base = "".join(rng.sample(pool, rng.randint(6, 12))) + f"（{rng.randrange(10**6)}）"
        texts += [spelled_differently(base, rng) for _ in range(8 + rng.randrange(4))]
        for _ in range(rng.choice((0, 1, 2, 3))):  # near-duplicates, some with copies of their own
            parts = re.findall(r"[^。]+。?", base)
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                parts[rng.randrange(len(parts))] = rng.choice(pool)
            if rng.random() < 0.3:
                parts = ["【転載】"] + parts
            near = "".join(parts)
            texts += [spelled_differently(near, rng) for _ in range(1 + rng.choice((0, 0, 1, 3)))]
    boiler = "".join(rng.sample(pool, 10))
    texts += [spelled_differently(boiler, rng) for _ in range(90)]
    for k in range(6):
        parts = re.findall(r"[^。]+。", boiler)
        parts[k] = rng.choice(pool)
        texts.append("".join(parts))
    texts += ["".join(rng.sample(pool, rng.randint(6, 12))) for _ in range(200)]  # unique pages
    texts += ["短い。", "短い。", "  短い。"]
    rng.shuffle(texts)
    return [{"id": f"d{i:05d}", "text": t} for i, t in enumerate(texts)]


CASES = {
    "bundled-minhash": ("bundled", {}),
    "bundled-quality-exact-minhash": ("bundled", {"combine_with": ["quality", "exact"]}),
    "bundled-exact-punctuation": ("bundled", {"method": "exact", "normalize": {"punctuation": True}}),
    "heavy-minhash": ("heavy", {}),
    "heavy-minhash-keep-longest": ("heavy", {"keep": "longest", "threshold": 0.7}),
    "heavy-minhash-keep-last-raw": ("heavy", {"keep": "last", "normalize": {"nfkc": False, "whitespace": False}}),
    "heavy-exact-minhash": ("heavy", {"combine_with": ["exact"], "keep": "shortest"}),
    "heavy-minhash-two-workers": ("heavy", {"workers": 2, "batch_size": 256}),
}


def outcome(tmp_path: Path, corpus: str, keys: dict) -> dict:
    """What the job removed and why (every field of removed.jsonl but the text) and its clusters."""
    if corpus == "bundled":
        path = BUNDLED
    else:
        path = tmp_path / "heavy.jsonl"
        if not path.exists():
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in duplicate_heavy_corpus()),
                            encoding="utf-8")
    spec = DedupSpec(input=str(path), **keys)
    run = RunStore(tmp_path / "runs").create(spec)
    job.run(spec, RunContext(run))
    lines = lambda name: [json.loads(x) for x in (run.artifacts / name).read_text(encoding="utf-8").splitlines()]  # noqa: E731
    removed = [{k: v for k, v in r.items() if k != "text"} for r in lines("removed.jsonl")]
    report = json.loads((run.artifacts / "report.json").read_text(encoding="utf-8"))
    return {"docs_in": report["docs_in"], "removed_by_reason": report["removed_by_reason"],
            "removed": removed, "clusters": lines("clusters.jsonl"), "kept": [r["id"] for r in lines("kept.jsonl")]}


def sha(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def fingerprint(got: dict) -> dict:
    """Counts to read, and digests that change if any removal, reason, partner, similarity, cluster
    membership, cluster number or verified pair changes."""
    return {"docs_in": got["docs_in"], "removed_by_reason": got["removed_by_reason"],
            "clusters": len(got["clusters"]), "removed": sha(got["removed"]), "kept": sha(got["kept"]),
            "cluster_members": sha([{k: v for k, v in c.items() if k != "pairs"} for c in got["clusters"]]),
            "cluster_pairs": sha([c["pairs"] for c in got["clusters"]])}


@pytest.fixture(scope="module")
def expected():
    yield {} if RECORD else json.loads(EXPECTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def recorded():
    found: dict = {}
    yield found
    if RECORD and found:
        EXPECTED.write_text(json.dumps({k: v[0] for k, v in found.items()}, ensure_ascii=False, sort_keys=True,
                                       indent=1) + "\n", encoding="utf-8")
    if DUMP and found:
        Path(DUMP).write_text(json.dumps({k: v[1] for k, v in found.items()}, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("case", list(CASES))
def test_removals_are_exactly_those_recorded_before_the_speed_work(case, expected, recorded, tmp_path_factory):
    corpus, keys = CASES[case]
    got = outcome(tmp_path_factory.mktemp(case), corpus, keys)
    recorded[case] = (fingerprint(got), got)
    if not RECORD:
        assert fingerprint(got) == expected[case]


def test_the_generated_corpus_is_duplicate_heavy_and_overflows_a_bucket():
    rows = duplicate_heavy_corpus()
    counts: dict[str, int] = {}
    for r in rows:
        key = " ".join(r["text"].translate(str.maketrans("０１２３４５６７８９", "0123456789")).split())  # NFKC + spaces
        counts[key] = counts.get(key, 0) + 1
    assert max(counts.values()) >= 90 > 64
    assert sum(1 for c in counts.values() if c >= 8) >= 160


def test_batch_token_count_is_the_regex_count():
    import random as _random

    from lab.dedup.job import approx_token_counts, approx_tokens
    rng = _random.Random(3)
    alphabet = (list("abcXYZ019_ \t\n\u3000、。・ー゛゙ｱｶﾞ漢字かなカナ①²½ÀéßΩЖ한글٣!?#@-'\"")
                + ["\u0301", "\u200b", "\U0001F600", "\U00020000", "\ufa0e", "\u309b", "\ud800"])
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    texts += [json.loads(line)["text"] for line in BUNDLED.read_text(encoding="utf-8").splitlines()] + ["", "_"]
    assert approx_token_counts(texts).tolist() == [approx_tokens(t) for t in texts]
