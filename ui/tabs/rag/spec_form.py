"""The RAG tab's forms, mapped through ui/form.SpecForm by the specs' own dotted keys: the index form
(a `rag_index` spec), the retrieval and answer settings the chat uses, and the evaluation's own
fields; all three together make a `rag_eval` spec. The widgets are the tab's (sliders, radios, the
endpoint box) with the element ids its tests use; values go to and from spec dicts here only."""
from __future__ import annotations

import copy
from dataclasses import dataclass

from lab.presets import find_preset, read_yaml
from lab.rag.chain import DEFAULT_PROMPT
from lab.rag.spec import RagEvalSpec, RagIndexSpec

from ...endpoint_fields import shown as shown_endpoint
from ...form import SpecForm, default_value, get_in

INDEX_KEYS = ["index", "docs", "chunking.size", "chunking.overlap", "embedding.model", "tokenizer"]
RETRIEVAL_KEYS = ["retrieval.mode", "retrieval.k", "retrieval.dense_weight", "retrieval.rerank_model", "retrieval.fusion"]
GENERATOR_KEYS = ["generator.model", "generator.base_url", "generator.temperature", "generator.max_new_tokens",
                  "generator.prompt"]
EVAL_KEYS = ["qa", "max_questions", "judge.model", "judge.base_url", "judge.api_key_env"]
ENDPOINT_KEYS = ("generator.base_url", "judge.base_url")


@dataclass
class RagForms:
    index: SpecForm        # INDEX_KEYS
    chat: SpecForm         # RETRIEVAL_KEYS + GENERATOR_KEYS
    eval: SpecForm         # EVAL_KEYS
    index_preset: str
    eval_preset: str
    index_base: dict
    eval_base: dict

    @classmethod
    def create(cls) -> "RagForms":
        index_preset, eval_preset = find_preset("rag-index"), find_preset("rag-eval")
        return cls(SpecForm(RagIndexSpec, INDEX_KEYS, id_prefix="rag-"),
                   SpecForm(RagEvalSpec, RETRIEVAL_KEYS + GENERATOR_KEYS, id_prefix="rag-"),
                   SpecForm(RagEvalSpec, EVAL_KEYS, id_prefix="rag-"),
                   str(index_preset), str(eval_preset), read_yaml(index_preset)[0], read_yaml(eval_preset)[0])

    # ---- form → spec dict (values keyed by spec key, as `by_key` makes them from an event's values) -------
    @property
    def keys(self) -> list[str]:
        """Every widget's key, in the order of `all_widgets` (index, chat, evaluation)."""
        return [*self.index.keys, *self.chat.keys, *self.eval.keys]

    def by_key(self, values, form: SpecForm | None = None) -> dict:
        """An event's positional values (of `form`'s widgets, or of `all_widgets`) keyed by spec key."""
        return dict(zip(form.keys if form is not None else self.keys, values, strict=True))

    def index_dict(self, values: dict) -> dict:
        """A `rag_index` spec dict: the preset with the index form's values."""
        return self._index_fields(self.index.to_dict(copy.deepcopy(self.index_base), _ordered(self.index, values)))

    def _index_fields(self, data: dict) -> dict:
        data["docs"] = data.get("docs") or ""
        if not data["embedding"].get("model"):  # an emptied box means the preset's embedder
            data["embedding"]["model"] = self.index_base["embedding"]["model"]
        return data

    def chat_dict(self, values: dict) -> dict:
        """The eval preset with the chat's retrieval and answer settings."""
        data = self.chat.to_dict(copy.deepcopy(self.eval_base), _ordered(self.chat, values))
        retrieval, generator = data["retrieval"], data["generator"]
        # one slider shares the fusion's weight: BM25 gets what the dense list does not
        retrieval["dense_weight"] = round(float(retrieval["dense_weight"]), 4)
        retrieval["bm25_weight"] = round(1.0 - retrieval["dense_weight"], 4)
        generator["model"] = (generator.get("model") or "").strip()
        prompt = generator.get("prompt")
        if prompt is None or not prompt.strip() or prompt.strip() == DEFAULT_PROMPT.strip():
            generator.pop("prompt", None)  # the default prompt stays out of the spec (and the command)
        return data

    def eval_dict(self, values: dict) -> dict:
        """A `rag_eval` spec dict from all three forms' values."""
        data = self.eval.to_dict(self.chat_dict(values), _ordered(self.eval, values))
        data = self._index_fields(self.index.to_dict(data, _ordered(self.index, values)))
        data["docs"] = data["docs"] or None  # no folder: evaluate the index as it is
        data["max_questions"] = int(data["max_questions"]) if data.get("max_questions") else None
        data["judge"]["model"] = data["judge"].get("model") or None  # empty: skip the judged views
        return data

    # ---- spec → form values ------------------------------------------------------------------------
    def values_from(self, form: SpecForm, data: dict) -> list:  # data: a spec dict
        """`form`'s values for a spec dict, as its widgets show them (endpoint names, the default prompt, 0 = all)."""
        values = dict(zip(form.keys, form.values_from(data)))
        for key in ENDPOINT_KEYS:
            if key in values:
                values[key] = shown_endpoint(values[key] or None)
        if "generator.prompt" in values:
            values["generator.prompt"] = values["generator.prompt"] or DEFAULT_PROMPT
        if "max_questions" in values:
            values["max_questions"] = values["max_questions"] or 0
        if "judge.model" in values:
            values["judge.model"] = values["judge.model"] or ""
        return [values[k] for k in form.keys]

    def value(self, form: SpecForm, key: str, data: dict | None = None):
        """What `key`'s widget starts with: its value in `data` (a preset dict), else the spec's default."""
        return get_in(data or {}, key, default_value(form.spec_cls, key))

    @staticmethod
    def widget(form: SpecForm, key: str, component):
        """`component` (a slider, radio, the endpoint box …) made by the tab is `key`'s widget in `form`:
        the form reads and fills it by that key."""
        form.widgets[key] = component
        return component

    def preset_values(self, form: SpecForm) -> dict:
        """`form`'s values for its preset (the index preset for the index form, else the eval preset), by key."""
        return dict(zip(form.keys, self.values_from(form, self.index_base if form is self.index else self.eval_base)))

    @property
    def all_widgets(self) -> list:
        return [*self.index.components(), *self.chat.components(), *self.eval.components()]


def _ordered(form: SpecForm, values: dict) -> list:
    return [values[key] for key in form.keys]
