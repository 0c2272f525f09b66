"""From judgments to results.

Pairwise: every (question, model_1, model_2) item is judged in both orders. The two verdicts are
combined as FastChat does: the same winner in both orders wins; disagreeing orders count as a tie.
An order the judge left unparsed is dropped; an item with only one parsed order keeps that verdict
(flagged `single_order`); an item with none is unparsed. A log-probability judge's two orders are
combined by averaging P(model_1 wins) and calling a tie within `tie_margin` of 0.5.

From the items: win / loss / tie per model, the win rate and the adjusted win rate
(win + ½·tie) / n, percentile bootstrap 95% intervals that resample questions, a per-category table,
and Bradley–Terry ratings fitted on the single-order judgments with a term for the first position
(as Rakuda does): P(the answer shown first wins) = σ(θ_first − θ_second + γ).

Single grading: mean score per model with a bootstrap interval, per category, and win rates read
from the scores (on each question, the higher score wins)."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0


@dataclass
class Item:
    question_id: str
    category: str
    model_1: str
    model_2: str
    orders: dict = field(default_factory=dict)  # "AB"/"BA" → "1" / "2" / "tie" / None (unparsed)
    probs: dict = field(default_factory=dict)   # "AB"/"BA" → P(model_1 wins) for a logprob judge
    outcome: str | None = None                  # "1" / "2" / "tie" / None
    consistent: bool | None = None              # both orders parsed and agreeing
    single_order: bool = False

    @property
    def key(self) -> str:
        return item_key(self.question_id, self.model_1, self.model_2)

    def winner(self) -> str | None:
        return {"1": self.model_1, "2": self.model_2, "tie": "tie"}.get(self.outcome or "")


def item_key(question_id, model_1: str, model_2: str) -> str:
    return f"{question_id}|{model_1}|{model_2}"


def side_of(judgment: dict) -> str | None:
    """A pairwise judgment's verdict in model terms: "1", "2", "tie", or None when unparsed."""
    winner = judgment.get("winner")
    if winner is None:
        return None
    if winner == "tie":
        return "tie"
    return "1" if winner == judgment["model_1"] else "2"


def combine(orders: dict, probs: dict | None = None, tie_margin: float = 0.1) -> tuple[str | None, bool | None, bool]:
    """(outcome, consistent, single_order) from the verdicts of the two orders."""
    parsed = [v for v in (orders.get("AB"), orders.get("BA")) if v is not None]
    consistent = (orders.get("AB") == orders.get("BA")) if len(parsed) == 2 else None
    if probs and len(probs) == 2:
        p = (probs["AB"] + probs["BA"]) / 2
        outcome = "1" if p > 0.5 + tie_margin else "2" if p < 0.5 - tie_margin else "tie"
        return outcome, consistent, False
    if not parsed:
        return None, None, False
    if len(parsed) == 1:
        return parsed[0], None, True
    return (parsed[0] if consistent else "tie"), consistent, False


def pair_items(judgments: list[dict], tie_margin: float = 0.1) -> list[Item]:
    items: dict[str, Item] = {}
    for j in judgments:
        if j.get("mode") == "single":
            continue
        key = item_key(j["question_id"], j["model_1"], j["model_2"])
        item = items.setdefault(key, Item(str(j["question_id"]), j.get("category", ""), j["model_1"], j["model_2"]))
        item.orders[j["order"]] = side_of(j)
        if j.get("p_model_1") is not None:
            item.probs[j["order"]] = j["p_model_1"]
    for item in items.values():
        item.outcome, item.consistent, item.single_order = combine(item.orders, item.probs, tie_margin)
    return list(items.values())


# ---- win / loss / tie ----------------------------------------------------------------------------
def _record_of(item: Item, model: str) -> str | None:
    """"win" / "loss" / "tie" for `model` in this item, None if it is not in it or unparsed."""
    if item.outcome is None or model not in (item.model_1, item.model_2):
        return None
    if item.outcome == "tie":
        return "tie"
    mine = "1" if model == item.model_1 else "2"
    return "win" if item.outcome == mine else "loss"


def rates(win: int, loss: int, tie: int) -> dict:
    n = win + loss + tie
    return {"win": win, "loss": loss, "tie": tie, "n": n,
            "win_rate": win / n if n else None, "loss_rate": loss / n if n else None,
            "adjusted_win_rate": (win + 0.5 * tie) / n if n else None}


def win_table(items: list[Item], models: list[str]) -> dict[str, dict]:
    out = {}
    for m in models:
        counts = {"win": 0, "loss": 0, "tie": 0}
        for item in items:
            r = _record_of(item, m)
            if r:
                counts[r] += 1
        out[m] = rates(**counts)
    return out


def _percentile_ci(samples: list[float], level: float = 0.95) -> list[float] | None:
    samples = [s for s in samples if s is not None]
    if not samples:
        return None
    lo, hi = np.percentile(samples, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return [float(lo), float(hi)]


def bootstrap_ci(items: list[Item], models: list[str], rounds: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Percentile intervals of the win rate and the adjusted win rate, resampling whole questions
    (all the pairs of a question travel together, since they share its difficulty)."""
    by_question: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.outcome is not None:
            by_question[item.question_id].append(item)
    questions = list(by_question)
    out = {m: {"win_rate": None, "adjusted_win_rate": None} for m in models}
    if not questions:
        return out
    rng = np.random.default_rng(seed)
    # counts[q][m] = (win, loss, tie) so a round is a sum of rows
    counts = np.zeros((len(questions), len(models), 3))
    for qi, q in enumerate(questions):
        for item in by_question[q]:
            for mi, m in enumerate(models):
                r = _record_of(item, m)
                if r:
                    counts[qi, mi, ("win", "loss", "tie").index(r)] += 1
    picks = rng.integers(0, len(questions), size=(rounds, len(questions)))
    totals = counts[picks].sum(axis=1)  # rounds × models × 3
    n = totals.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(n > 0, totals[:, :, 0] / n, np.nan)
        adjusted = np.where(n > 0, (totals[:, :, 0] + 0.5 * totals[:, :, 2]) / n, np.nan)
    for mi, m in enumerate(models):
        wr, ad = win_rate[:, mi], adjusted[:, mi]
        out[m] = {"win_rate": _percentile_ci([float(x) for x in wr if not math.isnan(x)]),
                  "adjusted_win_rate": _percentile_ci([float(x) for x in ad if not math.isnan(x)])}
    return out


def per_category(items: list[Item], models: list[str]) -> dict[str, dict]:
    cats: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        cats[item.category].append(item)
    return {cat: {m: row for m, row in win_table(group, models).items() if row["n"]} for cat, group in cats.items()}


# ---- Bradley–Terry with a position term ------------------------------------------------------------
def position_observations(judgments: list[dict]) -> list[tuple[str, str, float]]:
    """(model shown first, model shown second, score of the first: 1, 0 or ½) per parsed judgment."""
    out = []
    for j in judgments:
        if j.get("mode") == "single" or j.get("verdict") not in ("A", "B", "tie"):
            continue
        out.append((j["model_a"], j["model_b"], {"A": 1.0, "B": 0.0, "tie": 0.5}[j["verdict"]]))
    return out


def fit_bradley_terry(observations: list[tuple[str, str, float]], models: list[str], position_term: bool = True,
                      l2: float = 0.01) -> dict | None:
    """Maximum likelihood (with a small L2 prior so a model that always wins stays finite) of
    P(first wins) = σ(θ_first − θ_second + γ). Ties count half a win for each side. θ are centred.
    It is a logistic regression on a few parameters, solved by Newton's method with backtracking
    (fast enough to refit inside a bootstrap)."""
    if not observations:
        return None
    index = {m: i for i, m in enumerate(models)}
    k = len(models)
    n = len(observations)
    X = np.zeros((n, k + (1 if position_term else 0)))
    rows = np.arange(n)
    X[rows, [index[a] for a, _, _ in observations]] += 1.0
    X[rows, [index[b] for _, b, _ in observations]] -= 1.0
    if position_term:
        X[:, k] = 1.0
    y = np.array([s for _, _, s in observations])

    def loss(x):
        z = X @ x
        # log(1 + e^z) − y·z, written to stay finite for large |z|
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + l2 * x @ x)

    x = np.zeros(X.shape[1])
    current = loss(x)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(X @ x)))
        grad = X.T @ (p - y) + 2 * l2 * x
        hess = (X * (p * (1 - p))[:, None]).T @ X + 2 * l2 * np.eye(X.shape[1])
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-6:
            candidate = loss(x - t * step)
            if candidate <= current:
                break
            t /= 2
        x, current = x - t * step, candidate
        if np.max(np.abs(t * step)) < 1e-9:
            break
    theta = x[:k] - x[:k].mean()
    gamma = float(x[k]) if position_term else 0.0
    return {"strength": {m: float(theta[i]) for m, i in index.items()},
            "rating": {m: ELO_BASE + ELO_SCALE * float(theta[i]) for m, i in index.items()},
            "position_logit": gamma, "first_position_win_prob": 1.0 / (1.0 + math.exp(-gamma)),
            "n": len(observations)}


def bradley_terry(judgments: list[dict], models: list[str], rounds: int = 200, seed: int = 0) -> dict | None:
    """The fit, plus bootstrap 95% intervals of each rating (resampling questions)."""
    obs_by_q: dict[str, list] = defaultdict(list)
    for j in judgments:
        for obs in position_observations([j]):
            obs_by_q[str(j["question_id"])].append(obs)
    all_obs = [o for group in obs_by_q.values() for o in group]
    fit = fit_bradley_terry(all_obs, models)
    if fit is None:
        return None
    rng = np.random.default_rng(seed)
    questions = list(obs_by_q)
    samples: dict[str, list[float]] = {m: [] for m in models}
    gammas = []
    for _ in range(rounds):
        picked = [o for qi in rng.integers(0, len(questions), size=len(questions)) for o in obs_by_q[questions[qi]]]
        boot = fit_bradley_terry(picked, models)
        for m in models:
            samples[m].append(boot["rating"][m])
        gammas.append(boot["position_logit"])
    fit["rating_ci"] = {m: _percentile_ci(samples[m]) for m in models}
    fit["position_logit_ci"] = _percentile_ci(gammas)
    return fit


# ---- single grading ----------------------------------------------------------------------------------
def single_scores(judgments: list[dict], models: list[str], rounds: int = 1000, seed: int = 0) -> dict:
    by_model: dict[str, dict[str, float]] = defaultdict(dict)
    cats: dict[str, str] = {}
    for j in judgments:
        if j.get("mode") == "single" and j.get("score") is not None:
            by_model[j["model"]][str(j["question_id"])] = float(j["score"])
            cats[str(j["question_id"])] = j.get("category", "")
    rng = np.random.default_rng(seed)
    scores, ci = {}, {}
    for m in models:
        values = np.array(list(by_model[m].values()))
        scores[m] = float(values.mean()) if len(values) else None
        if len(values):
            boots = values[rng.integers(0, len(values), size=(rounds, len(values)))].mean(axis=1)
            ci[m] = _percentile_ci(list(boots))
        else:
            ci[m] = None
    category: dict[str, dict] = defaultdict(dict)
    for cat in dict.fromkeys(cats.values()):
        for m in models:
            vals = [s for q, s in by_model[m].items() if cats[q] == cat]
            if vals:
                category[cat][m] = {"mean_score": sum(vals) / len(vals), "n": len(vals)}
    return {"scores": scores, "score_ci": ci, "per_category": dict(category), "by_question": dict(by_model)}


def items_from_scores(by_question: dict[str, dict[str, float]], models: list[str], categories: dict[str, str]) -> list[Item]:
    """Pairwise items read off single grades: on each question the higher score wins."""
    items = []
    for i, m1 in enumerate(models):
        for m2 in models[i + 1:]:
            for q in by_question.get(m1, {}):
                if q in by_question.get(m2, {}):
                    s1, s2 = by_question[m1][q], by_question[m2][q]
                    items.append(Item(q, categories.get(q, ""), m1, m2, outcome="1" if s1 > s2 else "2" if s2 > s1 else "tie"))
    return items
