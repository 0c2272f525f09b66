"""The judge's own biases, measured on the run and shown beside its verdicts.

- position consistency: of the items whose two orders were both parsed, the share with the same
  verdict in both orders; the inconsistent items are listed.
- first-position preference: of the decisive single-order verdicts, the share that picked the
  answer shown first (0.5 = no preference).
- verbosity: correlation between the verdict (+1 first wins, −1 second wins, 0 tie) and the
  log length ratio of the two answers, and how often the longer answer won; for single grading,
  the correlation of the score with the answer's length.
- self-enhancement: a warning when the judge is also a contestant.
- unparsed rate: a judge that cannot follow the verdict format is a finding too.
Warnings carry English and Japanese text, so the UI can show them in either language."""
from __future__ import annotations

import math

import numpy as np

from .aggregate import Item

CONSISTENCY_WARN = 0.65
FIRST_POSITION_WARN = 0.15
LENGTH_CORR_WARN = 0.3
UNPARSED_WARN = 0.2


def position_consistency(items: list[Item]) -> dict:
    both = [i for i in items if i.consistent is not None]
    consistent = sum(1 for i in both if i.consistent)
    return {"rate": consistent / len(both) if both else None, "consistent": consistent, "pairs": len(both),
            "single_order_items": sum(1 for i in items if i.single_order)}


def inconsistent_items(items: list[Item]) -> list[dict]:
    def named(item: Item, side: str | None) -> str:
        return {"1": item.model_1, "2": item.model_2, "tie": "tie"}.get(side or "", "unparsed")

    return [{"key": i.key, "question_id": i.question_id, "category": i.category, "model_1": i.model_1,
             "model_2": i.model_2, "verdict_ab": named(i, i.orders.get("AB")), "verdict_ba": named(i, i.orders.get("BA"))}
            for i in items if i.consistent is False]


def first_position_preference(judgments: list[dict]) -> dict:
    decisive = [j for j in judgments if j.get("mode") != "single" and j.get("verdict") in ("A", "B")]
    first = sum(1 for j in decisive if j["verdict"] == "A")
    return {"rate": first / len(decisive) if decisive else None, "decisive": len(decisive), "first": first}


def _pearson(x: list[float], y: list[float]) -> float | None:
    if len(x) < 3:
        return None
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.std() == 0 or ya.std() == 0:
        return None
    return float(np.corrcoef(xa, ya)[0, 1])


def length_bias(judgments: list[dict]) -> dict:
    pair = [j for j in judgments if j.get("mode") != "single" and j.get("verdict") in ("A", "B", "tie")]
    x, y = [], []
    longer_won = decided = 0
    for j in pair:
        la, lb = max(1, j.get("len_a", 0)), max(1, j.get("len_b", 0))
        score = {"A": 1.0, "B": -1.0, "tie": 0.0}[j["verdict"]]
        x.append(math.log(la / lb))
        y.append(score)
        if score != 0 and la != lb:
            decided += 1
            longer_won += (score > 0) == (la > lb)
    single = [j for j in judgments if j.get("mode") == "single" and j.get("score") is not None]
    return {"correlation": _pearson(x, y), "n": len(pair),
            "longer_wins_rate": longer_won / decided if decided else None, "decided_with_length_gap": decided,
            "score_length_correlation": _pearson([math.log(max(1, j.get("len", 0))) for j in single],
                                                 [j["score"] for j in single]),
            "n_single": len(single)}


def _norm(name: str | None) -> str:
    return (name or "").strip().lower().removeprefix("run:").rstrip("/")


def judge_is_contestant(judge_model: str, judge_base_url: str | None, contestants: list) -> str | None:
    """The contestant the judge also plays, if any (same model name, or same endpoint and model)."""
    j = _norm(judge_model)
    for c in contestants:
        if c.base_url and judge_base_url and c.base_url.rstrip("/") == judge_base_url.rstrip("/") and _norm(c.model) == j:
            return c.name
        if j and (_norm(c.model) == j or _norm(c.name) == j):
            return c.name
    return None


def _warn(code: str, en: str, ja: str) -> dict:
    return {"code": code, "en": en, "ja": ja}


def diagnostics(items: list[Item], judgments: list[dict], judge_model: str, judge_base_url: str | None,
                contestants: list) -> dict:
    consistency = position_consistency(items)
    first = first_position_preference(judgments)
    length = length_bias(judgments)
    parsed = [j for j in judgments if j.get("verdict") != "unparsed"]
    unparsed_rate = 1 - len(parsed) / len(judgments) if judgments else None
    self_judge = judge_is_contestant(judge_model, judge_base_url, contestants)
    warnings = []
    if self_judge:
        warnings.append(_warn("self_judge",
                              f"The judge ({judge_model}) is also the contestant '{self_judge}': judges tend to prefer their own answers (self-enhancement bias).",
                              f"審査員（{judge_model}）は出場者「{self_judge}」と同じモデルです。LLM は自分の回答を高く評価しがちです（自己評価バイアス）。"))
    if consistency["rate"] is not None and consistency["rate"] < CONSISTENCY_WARN:
        warnings.append(_warn("position_inconsistent",
                              f"Only {consistency['rate']:.0%} of the pairs get the same verdict in both orders: the verdicts depend on the order.",
                              f"両方の順番で同じ判定になったペアは {consistency['rate']:.0%} だけです。判定が提示順に左右されています。"))
    if first["rate"] is not None and first["decisive"] >= 4 and abs(first["rate"] - 0.5) > FIRST_POSITION_WARN:
        side = ("first", "最初") if first["rate"] > 0.5 else ("second", "後")
        warnings.append(_warn("position_bias",
                              f"The judge picked the {side[0]} answer in {max(first['rate'], 1 - first['rate']):.0%} of its decisive verdicts (position bias).",
                              f"決着がついた判定の {max(first['rate'], 1 - first['rate']):.0%} で{side[1]}に示した回答が選ばれました（位置バイアス）。"))
    corr = length["correlation"] if length["n"] else length["score_length_correlation"]
    if corr is not None and corr > LENGTH_CORR_WARN:
        warnings.append(_warn("verbosity_bias",
                              f"Verdicts follow answer length (correlation {corr:.2f}): check whether longer answers are really better (verbosity bias).",
                              f"判定が回答の長さと相関しています（相関係数 {corr:.2f}）。長い回答が本当に良いのか確かめてください（冗長バイアス）。"))
    if unparsed_rate is not None and unparsed_rate > UNPARSED_WARN:
        warnings.append(_warn("unparsed",
                              f"{unparsed_rate:.0%} of the judge's replies had no readable verdict: this judge does not follow the format.",
                              f"審査員の返答の {unparsed_rate:.0%} から判定を読み取れませんでした。この審査員は形式に従えていません。"))
    return {"position_consistency": consistency, "first_position": first, "length": length,
            "inconsistent_items": inconsistent_items(items), "unparsed_rate": unparsed_rate,
            "judge_is_contestant": self_judge, "warnings": warnings}
