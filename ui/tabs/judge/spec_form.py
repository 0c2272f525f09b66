"""The set-up form ↔ a JudgeSpec: the fields go through ui/form.SpecForm keyed by their spec paths; the
contestants list is a table (one row per contestant) of which only the columns shown are edited, the
rest of each contestant (seed, top_p, …) kept from the preset. `from_spec`/`to_spec` hold the few
places where the form shows a value its own way (0 = all questions, an endpoint by its name)."""
from __future__ import annotations

import copy
import math
import re

import pandas as pd

from lab.errors import UserError
from lab.evals.questions import categories_of, load_questions
from lab.evals.spec import JudgeSpec
from lab.runs import RunStore

from ...endpoint_fields import shown as shown_endpoint
from ...form import SpecForm
from ...run_panel import equivalent_command as _equivalent_command

# in the order the form shows them; each is a JudgeSpec path
FORM_KEYS = ["questions.path", "questions.categories", "questions.max_questions", "judge.base_url", "judge.model",
             "judge.method", "mode", "baseline", "prompt_lang", "use_reference", "judge.concurrency", "judge.max_tokens"]
# the ids and label keys the page had before the form was built from the spec (the browser tests use them)
ELEM_IDS = {"questions.path": "judge-questions-path", "questions.categories": "judge-categories",
            "questions.max_questions": "judge-max-questions", "judge.base_url": "judge-base-url",
            "judge.model": "judge-model", "judge.method": "judge-method", "mode": "judge-mode",
            "baseline": "judge-baseline", "prompt_lang": "judge-prompt-lang", "use_reference": "judge-use-reference",
            "judge.concurrency": "judge-concurrency", "judge.max_tokens": "judge-max-tokens"}
LABEL_KEYS = {"questions.path": "questions_path", "questions.categories": "categories",
              "questions.max_questions": "max_questions", "judge.base_url": "base_url", "judge.model": "model",
              "judge.method": "method", "mode": "mode", "baseline": "baseline", "prompt_lang": "prompt_lang",
              "use_reference": "use_reference", "judge.concurrency": "concurrency", "judge.max_tokens": "max_tokens"}
MODES = ["pairwise-baseline", "pairwise-all", "single"]
CONTESTANT_COLUMNS = ["name", "model", "base_url", "temperature", "max_new_tokens"]


def new_form(contestant_names: list[str]) -> SpecForm:
    return SpecForm(JudgeSpec, FORM_KEYS, id_prefix="judge-", choices={"mode": MODES, "baseline": contestant_names})


def contestant_names(data: dict) -> list[str]:
    return [c.get("name") for c in data.get("contestants") or []]


def from_spec(data: dict) -> dict:
    """A preset dict as the form shows it: no question limit as 0, an endpoint by its name, the
    baseline spelled out (the first contestant when the preset leaves it empty)."""
    data = copy.deepcopy(data)
    questions, judge = data.setdefault("questions", {}), data.setdefault("judge", {})
    questions["max_questions"] = questions.get("max_questions") or 0
    questions["categories"] = list(questions.get("categories") or [])
    judge["base_url"] = shown_endpoint(judge.get("base_url"))
    names = contestant_names(data)
    data["baseline"] = data.get("baseline") or (names[0] if names else None)
    return data


def to_spec(data: dict, frame) -> dict:
    """The form's dict (SpecForm.to_dict) with the contestants table read in, back in the spec's terms."""
    data = copy.deepcopy(data)
    contestants = frame_contestants(frame, data.get("contestants") or [])
    names = [c["name"] for c in contestants]
    questions, judge = data["questions"], data["judge"]
    questions["categories"] = list(questions.get("categories") or [])
    questions["max_questions"] = int(questions["max_questions"]) if questions.get("max_questions") else None
    judge["concurrency"] = int(judge.get("concurrency") or 4)
    judge["max_tokens"] = int(judge.get("max_tokens") or 512)
    data["contestants"] = contestants
    data["use_reference"] = bool(data.get("use_reference"))
    keep_baseline = data.get("baseline") in names and data.get("mode") == "pairwise-baseline"
    data["baseline"] = data["baseline"] if keep_baseline else None
    return data


def form_dict(form: SpecForm, base: dict, values) -> dict:
    """`values`: the form's widgets then the contestants table (SetupParts.spec_inputs)."""
    *fields, frame = values
    return to_spec(form.to_dict(base, list(fields)), frame)


def equivalent_command(path: str, base: dict, data: dict) -> str:
    """`lab run PRESET --set …`, on one line (a changed contestants list is a YAML flow value that
    the dumper would otherwise wrap)."""
    return re.sub(r"\n\s+", " ", _equivalent_command(path, base, data))


# ---- the contestants table --------------------------------------------------------------------------
def contestants_frame(contestants: list[dict]) -> pd.DataFrame:
    rows = [[c.get("name", ""), c.get("model", "tiny"), shown_endpoint(c.get("base_url")), c.get("temperature", 0.0),
             c.get("max_new_tokens", 128)] for c in contestants]
    return pd.DataFrame(rows, columns=CONTESTANT_COLUMNS)


def _text(value) -> str:
    """A table cell as text: empty cells arrive as None, "" or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(value, default, cast):
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
            return default
        return cast(float(value))
    except (TypeError, ValueError):
        raise UserError(f"contestants: '{value}' is not a number") from None


def frame_contestants(frame, base: list[dict]) -> list[dict]:
    """The table's rows as contestant dicts; keys the table does not show (seed, top_p, …) are kept."""
    if frame is None:
        return base
    rows = frame.values.tolist() if isinstance(frame, pd.DataFrame) else list(frame)
    kept = {c.get("name"): c for c in base}
    out = []
    for row in rows:
        row = list(row) + [None] * (len(CONTESTANT_COLUMNS) - len(row))
        name, model = _text(row[0]), _text(row[1])
        if not name and not model:
            continue
        entry = {k: v for k, v in kept.get(name, {}).items() if k not in CONTESTANT_COLUMNS}
        entry.update(name=name, model=model or "tiny", base_url=_text(row[2]) or None,
                     temperature=_number(row[3], 0.0, float), max_new_tokens=_number(row[4], 128, int))
        out.append(entry)
    return out


def model_choices(store: RunStore) -> list[str]:
    """tiny and every training run that saved a model."""
    return ["tiny", *(f"run:{run_id}" for run_id in store.find(has_model=True))]


def unique_name(model: str, taken: list[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", model.replace("run:", "")).strip("-.")[:40] or "model"
    name, i = stem, 2
    while name in taken:
        name, i = f"{stem}-{i}", i + 1
    return name


# ---- the question file ----------------------------------------------------------------------------------
def categories(path: str) -> list[str]:
    try:
        return categories_of(load_questions(path))
    except UserError:
        return []


def preview_frame(questions) -> pd.DataFrame:
    rows = [{"id": q.question_id, "category": q.category, "question": q.turns[0][:40] + ("…" if len(q.turns[0]) > 40 else ""),
             "turns": len(q.turns), "ref": "✓" if q.has_reference else ""} for q in questions]
    return pd.DataFrame(rows, columns=["id", "category", "question", "turns", "ref"])


def question_preview(path: str) -> pd.DataFrame:
    try:
        return preview_frame(load_questions(path))
    except UserError:
        return preview_frame([])
