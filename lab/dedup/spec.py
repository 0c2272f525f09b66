"""The `dedup` job spec. The top-level keys are a contract (presets and the CLI use them verbatim):
`lab run presets/dedup-minhash.yaml --set input=FILE --set text_field=text --set id_field=id
--set method=minhash --set ngram=5 --set threshold=0.8 --set num_perm=128 --set output_dir=DIR`."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec_base import PresetMeta, Strict


class DedupSpec(Strict):
    kind: Literal["dedup"] = "dedup"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    input: str = Field("samples/dedup_corpus.jsonl", description="JSONL, Parquet or plain text (one document per line)")
    text_field: str = "text"
    id_field: str | None = "id"
    method: Literal["exact", "minhash", "semantic", "quality"] = "minhash"
    ngram: int = Field(5, ge=1, le=64)
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    num_perm: int = Field(128, ge=8, le=1024)
    output_dir: str | None = Field(None, description="default: the run's artifacts folder")
