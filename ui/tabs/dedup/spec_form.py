"""The Data tab's form as a ui/form.SpecForm over DedupSpec. Each field has a short name (its label key,
its element id and its place in the form's API, FORM_KEYS) and the spec key it edits. Four fields are
views the tab maps itself: the list of methods (`method` + `combine_with`), "bands × rows from the
threshold or by hand" (bands/rows None or set), the rules switched on (the complement of
`quality.disable`) and the NG expressions one per line."""
from __future__ import annotations

import copy

from lab.dedup import lsh
from lab.dedup.quality import DEFAULT_NG_WORDS, RULES
from lab.dedup.spec import METHOD_ORDER, DedupSpec
from lab.presets import validate

from ...form import SpecForm, default_value, set_in

FIELDS = {  # short name → spec key, in the order the form's events take them
    "input": "input", "format": "format", "text_field": "text_field", "id_field": "id_field",
    "sample_size": "sample_size", "methods": "methods", "keep": "keep",
    "nfkc": "normalize.nfkc", "whitespace": "normalize.whitespace", "punctuation": "normalize.punctuation",
    "lowercase": "normalize.lowercase",
    "shingle": "shingle", "ngram": "ngram", "threshold": "threshold", "num_perm": "num_perm",
    "br_mode": "br_mode", "bands": "bands", "rows": "rows", "fn_weight": "fn_weight",
    "sem_model": "semantic.model", "sem_eps": "semantic.eps", "sem_k": "semantic.clusters", "sem_keep": "semantic.keep",
    "q_lang": "quality.language", "q_rules": "quality.rules", "ng_words": "quality.ng_words",
    "executor": "executor", "slurm_partition": "datatrove.slurm_partition", "slurm_time": "datatrove.slurm_time",
    "slurm_tasks": "datatrove.slurm_tasks", "output_dir": "output_dir",
}
OWN = ("methods", "br_mode", "quality.rules")  # no spec field: to_spec maps them
FORM_KEYS = list(FIELDS)


def spec_form() -> SpecForm:
    return SpecForm(DedupSpec, list(FIELDS.values()), id_prefix="dedup-", own=OWN)


def rule_choices() -> list[tuple[str, str]]:
    sign = {"min": "≥", "max": "≤"}
    return [(f"{r.name} ({sign[r.bound]} {r.threshold:g})", r.name) for r in RULES.values()]


def _value_at(spec, dotted: str):
    for part in dotted.split("."):
        spec = getattr(spec, part)
    return spec


def from_spec(data: dict) -> dict:
    """A preset dict → the form's dict: the validated spec's values at the form's keys, and the views."""
    spec: DedupSpec = validate(copy.deepcopy(data), "preset")
    form = copy.deepcopy(data)
    for key in FIELDS.values():
        if key not in OWN:
            set_in(form, key, _value_at(spec, key))
    auto = lsh.resolve(spec)
    q = spec.quality
    for key, value in (("methods", list(spec.methods)), ("br_mode", "manual" if spec.bands else "auto"),
                       ("bands", spec.bands or auto["bands"]), ("rows", spec.rows or auto["rows"]),
                       ("sample_size", spec.sample_size or 0), ("semantic.clusters", spec.semantic.clusters or 0),
                       ("quality.rules", [r for r in RULES if r not in q.disable]),
                       ("quality.ng_words", "\n".join(DEFAULT_NG_WORDS if q.ng_words is None else q.ng_words))):
        set_in(form, key, value)
    return form


def to_spec(form: dict) -> dict:
    """The form's dict → a spec dict (validated later, by whoever submits or shows it)."""
    data = copy.deepcopy(form)
    chosen = data.pop("methods", None) or []
    methods = [m for m in METHOD_ORDER if m in chosen] or [data.get("method", "minhash")]
    main = data.get("method") if data.get("method") in methods else next(
        m for m in ("minhash", "semantic", "exact", "quality") if m in methods)
    data["method"], data["combine_with"] = main, [m for m in methods if m != main]
    data["id_field"] = (data.get("id_field") or "").strip() or None
    data["sample_size"] = int(data.get("sample_size") or 0) or None
    if data.pop("br_mode", "auto") == "manual":
        data["bands"], data["rows"] = int(data["bands"]), int(data["rows"])
    else:
        data["bands"] = data["rows"] = None
    fn_weight = float(data["fn_weight"])
    data["fn_weight"], data["fp_weight"] = round(fn_weight, 3), round(1.0 - fn_weight, 3)
    semantic = data["semantic"]
    semantic["model"] = (semantic.get("model") or "").strip() or default_value(DedupSpec, "semantic.model")
    semantic["clusters"] = int(semantic.get("clusters") or 0) or None
    quality = data["quality"]
    rules = quality.pop("rules", None) or []
    quality["disable"] = [r for r in RULES if r not in rules]
    text = quality.get("ng_words") or ""
    words = [w.strip() for w in text.replace("、", "\n").replace(",", "\n").splitlines() if w.strip()]
    quality["ng_words"] = None if words == list(DEFAULT_NG_WORDS) else words
    datatrove = data["datatrove"]
    for key in ("slurm_partition", "slurm_time"):
        datatrove[key] = (datatrove.get(key) or "").strip() or default_value(DedupSpec, f"datatrove.{key}")
    datatrove["slurm_tasks"] = int(datatrove.get("slurm_tasks") or 1)
    return data


def form_values(data: dict) -> list:
    """Widget values (in FORM_KEYS order) for a preset dict."""
    return spec_form().values_from(from_spec(data))


def form_to_spec(base: dict, values: list) -> dict:
    """The spec dict the form's values (in FORM_KEYS order) make of the loaded preset `base`."""
    return to_spec(spec_form().to_dict(from_spec(base), list(values)))


def form_value(values: list, name: str):
    """One field's value, by short name, out of the form's values."""
    return values[FORM_KEYS.index(name)]

