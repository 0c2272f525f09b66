"""summary.json of a judge run: results, intervals, ratings, per-category tables and the judge's
bias diagnostics, computed from judgments.jsonl (so it can always be rebuilt from the folder).

Keys every pairwise summary has: "win_rate" and "adjusted_win_rate" ({model: rate}), "ci"
({model: {"win_rate": [lo, hi], "adjusted_win_rate": [lo, hi]}}), "position_consistency" (the
share of pairs judged the same in both orders, or null when no pair has two parsed orders), and
"per_category" ({category: {model: {win, loss, tie, n, win_rate, adjusted_win_rate}}}).
Pairwise summaries also have "length_controlled_win_rate" ({model: rate or null}, AlpacaEval-LC style)
and "self_preference" (null unless the judge is a contestant); every summary has "human_agreement"
(null until a person gives verdicts in the viewer: {n, raw_agreement, kappa, kappa_ci}), refreshed
when a verdict is saved (lab/evals/results.save_override)."""
from __future__ import annotations

from . import aggregate, agreement
from .bias import diagnostics
from .prompts import PROMPT_VERSION


def summarize(spec, judgments: list[dict], judge_model: str, n_questions: int, overrides: dict | None = None) -> dict:
    models = [c.name for c in spec.contestants]
    unparsed = sum(1 for j in judgments if j.get("verdict") == "unparsed")
    summary = {
        "mode": spec.mode,
        "judge": {"model": judge_model, "base_url": spec.judge.base_url, "method": spec.judge.resolved_method,
                  "prompt_lang": spec.prompt_lang, "prompt_version": PROMPT_VERSION, "use_reference": spec.use_reference},
        "contestants": [c.model_dump(exclude_none=True) for c in spec.contestants],
        "n_questions": n_questions,
        "n_judgments": len(judgments),
        "n_unparsed": unparsed,
        "unparsed_rate": unparsed / len(judgments) if judgments else None,
    }
    if spec.mode == "single":
        scores = aggregate.single_scores(judgments, models, spec.bootstrap_rounds, spec.seed)
        categories = {str(j["question_id"]): j.get("category", "") for j in judgments}
        items = aggregate.items_from_scores(scores["by_question"], models, categories)
        table = aggregate.win_table(items, models)
        summary.update({
            "scores": scores["scores"], "score_ci": scores["score_ci"],
            "table": table,
            "win_rate": {m: r["win_rate"] for m, r in table.items()},
            "adjusted_win_rate": {m: r["adjusted_win_rate"] for m, r in table.items()},
            "ci": aggregate.bootstrap_ci(items, models, spec.bootstrap_rounds, spec.seed),
            "per_category": scores["per_category"],
            "position_consistency": None,
            "bradley_terry": None,
        })
        bias = diagnostics([], judgments, judge_model, spec.judge.base_url, spec.contestants)
        summary.update(human_fields(spec.mode, [], judgments, overrides or {}, None, spec.seed))
    else:
        items = aggregate.pair_items(judgments, spec.tie_margin)
        table = aggregate.win_table(items, models)
        bias = diagnostics(items, judgments, judge_model, spec.judge.base_url, spec.contestants)
        summary.update({
            "baseline": spec.baseline_name if spec.mode == "pairwise-baseline" else None,
            "n_items": len(items),
            "n_items_unparsed": sum(1 for i in items if i.outcome is None),
            "table": table,
            "win_rate": {m: r["win_rate"] for m, r in table.items()},
            "adjusted_win_rate": {m: r["adjusted_win_rate"] for m, r in table.items()},
            "ci": aggregate.bootstrap_ci(items, models, spec.bootstrap_rounds, spec.seed),
            "per_category": aggregate.per_category(items, models),
            "position_consistency": bias["position_consistency"]["rate"],
            "bradley_terry": aggregate.bradley_terry(judgments, models, rounds=min(200, spec.bootstrap_rounds), seed=spec.seed),
        })
        lc = agreement.length_controlled_win_rate(items, agreement.answer_lengths(judgments), models)
        summary["length_controlled_win_rate"] = {m: (r or {}).get("lc_win_rate") for m, r in lc.items()}
        summary["length_control"] = lc
        summary.update(human_fields(spec.mode, items, judgments, overrides or {}, bias["judge_is_contestant"], spec.seed))
    summary["bias"] = bias
    summary["warnings"] = bias["warnings"]
    return summary


def human_fields(mode: str, items: list, judgments: list[dict], overrides: dict, self_name: str | None,
                 seed: int = 0) -> dict:
    """The keys that change when a person gives verdicts: judge–human agreement and self-preference."""
    out = {"human_agreement": agreement.judge_human_agreement(items, judgments, overrides, mode, seed)}
    if mode != "single":
        out["self_preference"] = agreement.self_preference(self_name, items, overrides)
    return out


def live_metrics(spec, judgments: list[dict]) -> dict[str, float]:
    """The numbers the live chart follows while judging (cheap: no bootstrap, no fit)."""
    models = [c.name for c in spec.contestants]
    out: dict[str, float] = {}
    if judgments:
        out["unparsed_rate"] = sum(1 for j in judgments if j.get("verdict") == "unparsed") / len(judgments)
    if spec.mode == "single":
        sums: dict[str, list[float]] = {}
        for j in judgments:
            if j.get("score") is not None:
                sums.setdefault(j["model"], []).append(float(j["score"]))
        out.update({f"mean_score/{m}": sum(v) / len(v) for m, v in sums.items()})
        return out
    items = aggregate.pair_items(judgments, spec.tie_margin)
    for m, row in aggregate.win_table(items, models).items():
        if row["adjusted_win_rate"] is not None and not (spec.mode == "pairwise-baseline" and m == spec.baseline_name):
            out[f"adjusted_win_rate/{m}"] = row["adjusted_win_rate"]
    both = [i for i in items if i.consistent is not None]
    if both:
        out["position_consistency"] = sum(1 for i in both if i.consistent) / len(both)
    return out
