"""The MinHash job as a datatrove pipeline: MinhashDedupSignature → MinhashDedupBuckets →
MinhashDedupCluster → MinhashDedupFilter, four executors run one after the other.

The steps are the same wherever they run; only the executor differs (as in datatrove itself). Locally
they run on datatrove's LocalPipelineExecutor over the (sampled) corpus staged as JSONL; with
`executor: datatrove-slurm` on SlurmPipelineExecutor, submitted from this machine with sbatch and
followed until the last stage leaves the queue (`run_on_slurm`); `slurm_script` renders the same four
stages as a Python script to run on a login node. Both Slurm paths import the lab in the jobs (the
normaliser, the shingle tokenizer), so the lab must be installed in the cluster's environment and the
work folder must sit on a file system every node sees. datatrove does not verify candidates: its clusters can hold
pairs below the threshold, which the lab reports next to its own verified path."""
from __future__ import annotations

import functools
import json
import secrets
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from backends import slurm as slurm_backend

from datatrove.pipeline.base import PipelineStep
from datatrove.utils.word_tokenizers import WordTokenizer

from .. import shell_safe
from ..errors import UserError
from ..paths import confined
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
           tasks: int = 1, workers: int = 1, job_tag: str = ""):
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
            return SlurmPipelineExecutor(pipeline=pipeline, tasks=n_tasks, job_name=f"dedup-{name}{job_tag}", depends=depends,
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


STAGE_NAMES = ("signatures", "buckets", "clusters", "filter")
SLURM_POLL_S = 1.0


def run_pipeline(spec, unit: str, bands: int, rows: int, staged: Path, work: Path, on_stage=None,
                 should_stop=lambda: False):
    """The four stages on the executor the spec names; None when stopped before the end."""
    if spec.executor == "datatrove-slurm":
        return run_on_slurm(spec, unit, bands, rows, staged, work, on_stage, should_stop)
    return run_local(spec, unit, bands, rows, staged, work, on_stage)


def slurm_options(spec, venv: str | None = None) -> dict:
    """SlurmPipelineExecutor keyword arguments from the spec (values already pattern-checked)."""
    dt = spec.datatrove
    options = {"partition": dt.slurm_partition, "time": dt.slurm_time, "cpus_per_task": dt.slurm_cpus_per_task,
               "mem_per_cpu_gb": dt.slurm_mem_per_cpu_gb}
    if dt.slurm_venv or venv:
        options["venv_path"] = dt.slurm_venv or venv
    return options


def _own_venv() -> str | None:
    """The activate script of the venv this lab runs in: the jobs need the same datatrove and lab."""
    activate = Path(sys.prefix) / "bin" / "activate"
    return str(activate) if sys.prefix != sys.base_prefix and activate.exists() else None


def _record_job_id(submitted: list, process_output: str) -> str:
    """datatrove's job-id retriever, also keeping every id it submits (stages and their stats jobs)."""
    job_id = process_output.split()[-1]
    submitted.append(job_id)
    return job_id


def run_on_slurm(spec, unit: str, bands: int, rows: int, staged: Path, work: Path, on_stage=None,
                 should_stop=lambda: False):
    """Submit the four stages with datatrove's SlurmPipelineExecutor (chained with afterok), follow
    them stage by stage, and read the removals back like `run_local`. A stage that leaves the queue
    with tasks not completed fails the run with its log's last line; a stop request is scancel."""
    from datatrove.executor.slurm import SlurmPipelineExecutor  # noqa: F401 - fail here when datatrove lacks it

    if not slurm_backend.available():
        raise UserError(f"executor: datatrove-slurm needs {slurm_backend.missing_message()}")
    if spec.datatrove.slurm_venv and confined():  # every job would `source` it: a participant's file would run as a script
        raise UserError("datatrove.slurm_venv: set by the facilitator only; leave it empty to use the lab's own venv")
    venv = None if spec.datatrove.slurm_venv else _own_venv()
    if venv and not shell_safe.is_safe(venv, "path"):
        raise UserError(f"datatrove.slurm_venv: {shell_safe.refusal('the lab venv', venv, 'path')}; set one")
    options = slurm_options(spec, venv)
    problem = slurm_backend.dry_run(f"--partition={options['partition']}", f"--time={options['time']}",
                                    f"--cpus-per-task={options['cpus_per_task']}",
                                    f"--mem-per-cpu={options['mem_per_cpu_gb']}G", "--qos=normal")
    if problem:
        raise UserError(f"datatrove.slurm_partition/slurm_time: {problem}")
    submitted: list[str] = []
    options["job_id_retriever"] = functools.partial(_record_job_id, submitted)
    executors = stages(spec, unit, bands, rows, str(staged.parent), str(work), "slurm", glob=staged.name,
                       slurm=options, tasks=1, job_tag=f"-{secrets.token_hex(3)}")  # one staged file: one task reads it
    if on_stage:
        on_stage(0, executors[0])
    try:
        executors[-1].run()  # launches the stages it depends on first
    except subprocess.CalledProcessError as e:
        slurm_backend.cancel(*submitted)
        raise UserError(f"sbatch refused a datatrove stage (exit code {e.returncode}); see worker.log") from None
    try:
        for i, ex in enumerate(executors):
            while slurm_backend.in_queue(ex.job_id):
                if should_stop():
                    slurm_backend.cancel(*submitted)
                    return None
                time.sleep(SLURM_POLL_S)
            missing = ex.get_incomplete_ranks()
            if missing:
                raise RuntimeError(f"datatrove stage {STAGE_NAMES[i]} (Slurm job {ex.job_id}): "
                                   f"{len(missing)} of {ex.world_size} tasks did not complete{_last_log_line(ex)}")
            if on_stage and i + 1 < len(executors):
                on_stage(i + 1, executors[i + 1])
        while any(slurm_backend.in_queue(j) for j in submitted):  # datatrove's stats jobs: leave nothing behind
            if should_stop():
                break
            time.sleep(SLURM_POLL_S)
    except BaseException:
        slurm_backend.cancel(*submitted)  # later stages wait on afterok forever otherwise
        raise
    return read_clusters(work / "remove_ids")


def _last_log_line(ex) -> str:
    logs = sorted(Path(ex.slurm_logs_folder).glob("*.out"), key=lambda p: p.stat().st_mtime)
    for path in reversed(logs):
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        errors = [ln for ln in lines if "Error" in ln or "error" in ln] or lines
        if errors:
            return f"; {path.name}: {errors[-1][:200]}"
    return ""


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
    slurm = slurm_options(spec)
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
