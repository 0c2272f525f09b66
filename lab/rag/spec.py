"""Specs of the RAG job kinds. Contract: `lab run presets/rag-index.yaml --set docs=DIR --set index=DIR_OR_NAME`."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec_base import PresetMeta, Strict


class RagIndexSpec(Strict):
    kind: Literal["rag_index"] = "rag_index"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    docs: str = Field("samples/rag_docs", description="a folder (or a file) of txt, md, html, pdf, jsonl documents")
    index: str = Field("default", description="an index name (under the workspace) or a folder")


class RagEvalSpec(Strict):
    kind: Literal["rag_eval"] = "rag_eval"
    meta: PresetMeta = Field(default_factory=PresetMeta)
    index: str = "default"
