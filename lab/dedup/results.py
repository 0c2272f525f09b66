"""Reading a finished dedup run back for a viewer (the Data tab, the HTML report): the report, the
clusters with their texts, samples of the removed documents per reason, the kept corpus as a dataset,
character-level differences and pairwise Jaccard inside a cluster. Everything here is quick (a viewer
may call it on a click).

The layout of an output folder: report.json (counts, parameters, `outputs`), clusters_preview.jsonl
(clusters with their texts), removed.jsonl (one row per removed document with its reason), kept.jsonl
and, when the text field had another name, kept_text.jsonl."""
from __future__ import annotations

import difflib
import json
from itertools import combinations
from pathlib import Path

from ..errors import UserError
from ..paths import check_writable
from .normalize import normalizer
from .shingles import jaccard_sorted, shingle_set
from .spec import METHOD_ORDER, NormalizeSpec


def output_folder(run) -> Path | None:
    """Where a run wrote its files: the folder its worker reported (a relative output_dir was resolved
    in the worker's folder), else its spec's output_dir, else its artifacts. In workshop mode a folder
    outside the participant's workspace is never taken, whatever status.json or job.yaml say."""
    reported = (run.read_status().get("result") or {}).get("output_dir")
    spec = run.load_spec()
    for folder in (reported, spec.output_dir and Path(spec.output_dir).expanduser(), run.artifacts):
        if not folder:
            continue
        try:
            folder = check_writable(Path(folder), "output_dir")
        except UserError:
            continue
        if (folder / "report.json").is_file():
            return folder
    return None


def read_results(run) -> dict | None:
    """What a viewer shows of a finished run: its output folder, its report (with `outputs` cut down to
    the files of that folder), the preview clusters and samples of the removed documents per reason;
    None when the run wrote no report."""
    try:
        folder = output_folder(run)
    except UserError:
        return None
    if folder is None:
        return None
    report = load_report(folder)
    # report.json is data: what it lists under `outputs` is shown or served only if it is a file of this output folder
    report["outputs"] = {k: str(v) for k, v in output_files(folder, report).items() if k != "report"}
    return {"run_id": run.id, "folder": str(folder), "report": report, "clusters": load_preview(folder),
            "removed": removed_samples(folder)}


def kept_dataset(report: dict | None) -> str | None:
    """The kept corpus as a `text` dataset: kept_text.jsonl when the text field had another name."""
    if not report:
        return None
    outputs = report.get("outputs") or {}
    path = outputs.get("kept_text") or outputs.get("kept")
    return str(path) if path else None


def clusters_in_order(clusters: list[dict]) -> list[dict]:
    """Clusters by method in the order they ran, biggest first, then by id."""
    return sorted(clusters, key=lambda c: (METHOD_ORDER.index(c["method"]), -len(c["members"]), c["cluster_id"]))


def load_report(folder: Path) -> dict:
    return json.loads((Path(folder) / "report.json").read_text(encoding="utf-8"))


def output_files(folder: Path, report: dict) -> dict[str, Path]:
    """The files a report lists under `outputs` that may be shown or served: each must resolve (links
    followed) to a file inside the run's output folder. report.json is data a participant could have
    written, never a say in what the server reads; anything else it names is left out."""
    root = Path(folder).resolve()
    out: dict[str, Path] = {}
    for key, value in (report.get("outputs") or {}).items():
        if not isinstance(value, str) or not value:
            continue
        path = Path(value) if Path(value).is_absolute() else root / value
        real = path.resolve()
        if real.is_relative_to(root) and real.is_file():
            out[key] = real
    report_path = (root / "report.json").resolve()
    if report_path.is_relative_to(root) and report_path.is_file():
        out["report"] = report_path
    return out


def load_preview(folder: Path) -> list[dict]:
    path = Path(folder) / "clusters_preview.jsonl"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def removed_samples(folder: Path, per_reason: int = 50, max_lines: int = 200_000) -> dict[str, list[dict]]:
    """Up to `per_reason` removed documents for each reason, in file order."""
    out: dict[str, list[dict]] = {}
    path = Path(folder) / "removed.jsonl"
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= max_lines:
                break
            row = json.loads(line)
            bucket = out.setdefault(row["reason"], [])
            if len(bucket) < per_reason:
                bucket.append(row)
    return out


def char_diff(a: str, b: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Segments of a and of b, each ("same" | "changed", text): what b changed relative to a."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left, right = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        kind = "same" if op == "equal" else "changed"
        if i2 > i1:
            left.append((kind, a[i1:i2]))
        if j2 > j1:
            right.append((kind, b[j1:j2]))
    return left, right


def pairwise_jaccard(texts: list[str], ngram: int, unit: str, normalize: dict | None = None) -> list[list[float]]:
    """Exact Jaccard of every pair of texts on the run's shingles (same normalisation)."""
    norm = normalizer(NormalizeSpec(**(normalize or {})))
    sets = [shingle_set(norm(t), ngram, unit) for t in texts]
    n = len(sets)
    matrix = [[1.0] * n for _ in range(n)]
    for i, j in combinations(range(n), 2):
        matrix[i][j] = matrix[j][i] = round(jaccard_sorted(sets[i], sets[j]), 4)
    return matrix
