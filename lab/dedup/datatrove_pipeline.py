"""The MinHash job as a datatrove pipeline: MinhashDedupSignature → MinhashDedupBuckets →
MinhashDedupCluster → MinhashDedupFilter, four executors run one after the other.

Locally it runs on datatrove's LocalPipelineExecutor over the (sampled) corpus staged as JSONL; for a
cluster, `slurm_script` renders the same four stages on SlurmPipelineExecutor as a Python script to
run on a login node (it imports the lab for the normaliser and the shingle tokenizer, so install
the lab in the cluster's environment). datatrove does not verify candidates: its clusters can hold
pairs below the threshold, which the lab reports next to its own verified path."""
from __future__ import annotations

import json
import struct
import textwrap
from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.utils.word_tokenizers import WordTokenizer

from .normalize import normalizer
from .spec import NormalizeSpec


class ShingleTokenizer(WordTokenizer):
    """Units for datatrove's n-grams: characters (Japanese) or space-delimited words."""

    def __init__(self, unit: str = "char"):
        super().__init__("xx")
        self.unit = unit

    def word_tokenize(self, text: str) -> list[str]:
        return list(text) if self.unit == "char" else text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


class LabNormalize(PipelineStep):
    """The lab's text normalisation, so both engines shingle the same text."""
    name = "lab normalise"
    type = "✂️ - FORMAT"

    def __init__(self, normalize: dict):
        super().__init__()
        self.normalize = normalize

    def run(self, data, rank: int = 0, world_size: int = 1):
        apply = normalizer(NormalizeSpec(**self.normalize))
        for doc in data:
            doc.text = apply(doc.text)
            yield doc


def minhash_config(spec, bands: int, rows: int):
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.text import TextNormConfig
    # the lab's normaliser already ran; datatrove's own one would lowercase and drop punctuation
    keep_text = TextNormConfig(lowercase=False, norm_whitespace=False, remove_punctuation=False,
                               norm_unicode_diacritics=False, norm_numbers=False)
    return MinhashConfig(n_grams=spec.ngram, num_buckets=bands, hashes_per_bucket=rows, seed=spec.seed,
                         norm_config=keep_text, hash_config=HashConfig(precision=64, hash_fc="xxhash"))


def stages(spec, unit: str, bands: int, rows: int, input_dir: str, work: str, executor: str = "local",
           text_key: str = "text", id_key: str = "id", glob: str | None = None, slurm: dict | None = None,
           tasks: int = 1, workers: int = 1):
    """The four executors, in order."""
    from datatrove.pipeline.dedup.minhash import (MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter,
                                                  MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    config = minhash_config(spec, bands, rows)
    normalize = LabNormalize(spec.normalize.model_dump())

    def reader():
        return JsonlReader(input_dir, text_key=text_key, id_key=id_key, glob_pattern=glob, compression=None)

    if executor == "slurm":
        from datatrove.executor.slurm import SlurmPipelineExecutor

        def make(name, pipeline, n_tasks, depends=None):
            return SlurmPipelineExecutor(pipeline=pipeline, tasks=n_tasks, job_name=f"dedup-{name}", depends=depends,
                                         logging_dir=f"{work}/logs/{name}", **(slurm or {}))
    else:
        from datatrove.executor.local import LocalPipelineExecutor

        def make(name, pipeline, n_tasks, depends=None):
            return LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks, workers=min(workers, n_tasks),
                                         logging_dir=f"{work}/logs/{name}", skip_completed=False)

    s1 = make("signatures", [reader(), normalize, MinhashDedupSignature(output_folder=f"{work}/signatures", config=config,
                                                                       language=ShingleTokenizer(unit))], tasks)
    s2 = make("buckets", [MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets",
                                              config=config)], bands, s1)
    s3 = make("clusters", [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids",
                                               config=config, save_cluster_id=True)], 1, s2)
    s4 = make("filter", [reader(), MinhashDedupFilter(input_folder=f"{work}/remove_ids", load_cluster_ids=True,
                                                      exclusion_writer=JsonlWriter(f"{work}/removed", compression=None)),
                         JsonlWriter(f"{work}/deduped", compression=None)], tasks, s3)
    return [s1, s2, s3, s4]


def stage_corpus(docs, path: Path) -> int:
    """Write (id, text) of the corpus (or its sample) as JSONL for datatrove's reader."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps({"id": str(doc.index), "text": doc.text}, ensure_ascii=False) + "\n")
            n += 1
    return n


def run_local(spec, unit: str, bands: int, rows: int, staged: Path, work: Path,
              on_stage=None) -> tuple[dict[int, int], set[int]]:
    """Run the four stages; returns ({document index: cluster id}, {removed document indexes}), the
    indexes being the staged order, i.e. the lab's document indexes."""
    executors = stages(spec, unit, bands, rows, str(staged.parent), str(work), "local", glob=staged.name,
                       workers=spec.datatrove.workers)
    for i, ex in enumerate(executors):
        if on_stage:
            on_stage(i, ex)
        ex.run()
    return read_clusters(work / "remove_ids")


def read_clusters(folder: Path) -> tuple[dict[int, int], set[int]]:
    """({doc: cluster id} for clustered docs, {removed docs}) from the cluster stage's binary files."""
    clusters: dict[int, int] = {}
    removed: set[int] = set()
    for path in sorted(folder.glob("*.clusters")):
        data = path.read_bytes()
        for doc, cid in struct.iter_unpack("<2I", data):
            clusters[doc] = cid
    for path in sorted(folder.glob("*.remove")):
        removed.update(x for (x,) in struct.iter_unpack("<I", path.read_bytes()))
    return clusters, removed


def slurm_script(spec, unit: str, bands: int, rows: int, input_path: str) -> str:
    """A Python script that runs this job on a Slurm cluster with datatrove."""
    dt = spec.datatrove
    slurm = {"partition": dt.slurm_partition, "time": dt.slurm_time, "cpus_per_task": dt.slurm_cpus_per_task,
             "mem_per_cpu_gb": dt.slurm_mem_per_cpu_gb}
    if dt.slurm_venv:
        slurm["venv_path"] = dt.slurm_venv
    path = Path(input_path)
    fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else path.suffix.lower().lstrip(".")
    note = "" if fmt == "jsonl" else (f"# NOTE: datatrove reads JSONL here; convert {path.name} first "
                                      "(or swap JsonlReader for ParquetReader).\n")
    return textwrap.dedent(f'''\
        """MinHash dedup on Slurm with datatrove, written by LLM Lab from a `dedup` job.

        Same normalisation, shingles ({unit} {spec.ngram}-grams), num_perm = {bands * rows} as {bands} bands × {rows} rows,
        threshold {spec.threshold} and seed as the lab run. Run it on a login node where datatrove and
        the lab are installed:  python dedup_slurm.py
        Stage 2 runs one task per band; stage 3 is a single task. Kept documents land in WORK/deduped,
        removed ones (with their cluster id) in WORK/removed."""
        from lab.dedup.datatrove_pipeline import stages
        from lab.dedup.spec import DedupSpec

        {note}INPUT_DIR = {str(path.parent)!r}
        GLOB = {path.name!r}  # a folder of shards: "*.jsonl", and set tasks to about the number of files
        WORK = "dedup-work"
        SPEC = DedupSpec.model_validate({_job_keys(spec)!r})
        SLURM = {slurm!r}

        signatures, buckets, clusters, filtering = stages(
            SPEC, unit={unit!r}, bands={bands}, rows={rows}, input_dir=INPUT_DIR, work=WORK, executor="slurm",
            text_key={spec.text_field!r}, id_key={(spec.id_field or "id")!r}, glob=GLOB, slurm=SLURM, tasks={dt.slurm_tasks})

        if __name__ == "__main__":
            filtering.run()  # launches the three stages it depends on first, chained with afterok
        ''')


def sbatch_preview(spec, unit: str, bands: int, rows: int, input_path: str, scratch: Path) -> str:
    """The sbatch file datatrove would submit for stage 1 (rendered, not submitted)."""
    dt = spec.datatrove
    slurm = {"partition": dt.slurm_partition, "time": dt.slurm_time, "cpus_per_task": dt.slurm_cpus_per_task,
             "mem_per_cpu_gb": dt.slurm_mem_per_cpu_gb, "venv_path": dt.slurm_venv}
    path = Path(input_path)
    first = stages(spec, unit, bands, rows, str(path.parent), str(scratch / "dedup-work"), "slurm", glob=path.name,
                   slurm=slurm, tasks=dt.slurm_tasks)[0]
    first.slurm_logs_folder = str(scratch / "slurm_logs")
    command = f"srun -l -n 1 launch_pickled_pipeline {first.logging_dir.resolve_paths('executor.pik')}"
    return first.get_launch_file_contents(first.get_sbatch_args(min(dt.slurm_tasks, first.max_array_size)), command)


def _job_keys(spec) -> dict:
    return {k: v for k, v in spec.model_dump(mode="json").items()
            if k in ("ngram", "threshold", "num_perm", "seed", "normalize", "text_field", "id_field")}
