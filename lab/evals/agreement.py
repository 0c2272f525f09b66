"""How far to trust a judge: agreement with people, a win rate with the length bias taken out, and
how much the judge favours itself.

- Judge–human agreement: on the items a person gave a verdict, the raw agreement and Cohen's κ
  (agreement beyond what the two label frequencies give by chance: κ = (p_o − p_e) / (1 − p_e)),
  with a percentile bootstrap interval that resamples items. Pairwise labels are "1" / "2" / "tie";
  single grades use the quadratic-weighted κ on the rounded scores (a 7 against an 8 is a near miss,
  not a full disagreement).
- Length-controlled win rate, after AlpacaEval-LC (Dubois et al., 2024): fit a logistic model of the
  judged preference on a model term and tanh of the standardised length difference, then predict the
  preference with the length difference set to zero. With the two or three contestants of a lab run
  there are too few models to fit AlpacaEval's per-instruction difficulty term, so the model term is
  one intercept per model (its opponents pooled): LC = σ(θ). Ties count half a win (as a weight of ½
  on each label). κ and the fit are short, so they are written here rather than pulling in a stats
  package: scikit-learn's cohen_kappa_score gives the same κ (a test checks), but not the bootstrap.
- Self-preference: when the judge is also a contestant, the judge's adjusted win rate of itself beside
  the people's on the same items (self-preference = judge − human); without human verdicts only the
  judge's own figure is given, since nothing measures what it should have been."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from . import aggregate

BOOTSTRAP_ROUNDS = 1000


# ---- Cohen's κ -------------------------------------------------------------------------------------
def cohen_kappa(a: list, b: list, weights: str | None = None) -> float | None:
    """κ of two raters over the same items. weights=None: unweighted (labels are categories);
    "quadratic": labels are numbers and a disagreement costs (a − b)², scaled by the label range."""
    if len(a) != len(b) or not a:
        return None
    if weights is None:
        n = len(a)
        observed = sum(x == y for x, y in zip(a, b)) / n
        count_a, count_b = Counter(a), Counter(b)
        expected = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
        if expected == 1.0:
            return 1.0 if observed == 1.0 else None  # both raters always gave the one same label
        return (observed - expected) / (1.0 - expected)
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    # weighted κ = 1 − Σ w·O / Σ w·E with O the observed and E the chance joint distribution
    observed = float(np.mean((xa - xb) ** 2))
    expected = float(np.mean((xa[:, None] - xb[None, :]) ** 2))
    if expected == 0.0:
        return 1.0 if observed == 0.0 else None
    return 1.0 - observed / expected


def kappa_with_ci(a: list, b: list, weights: str | None = None, rounds: int = BOOTSTRAP_ROUNDS,
                  seed: int = 0) -> dict:
    n = len(a)
    out = {"n": n, "raw_agreement": (sum(x == y for x, y in zip(a, b)) / n) if n else None,
           "kappa": cohen_kappa(a, b, weights), "kappa_ci": None, "weights": weights or "none"}
    if n >= 2:
        rng = np.random.default_rng(seed)
        samples = []
        for pick in rng.integers(0, n, size=(rounds, n)):
            k = cohen_kappa([a[i] for i in pick], [b[i] for i in pick], weights)
            if k is not None:
                samples.append(k)
        if samples:
            lo, hi = np.percentile(samples, [2.5, 97.5])
            out["kappa_ci"] = [float(lo), float(hi)]
    return out


def judge_human_agreement(items: list[aggregate.Item], judgments: list[dict], overrides: dict[str, dict],
                          mode: str, seed: int = 0) -> dict | None:
    """κ and raw agreement between the judge and the people's verdicts (human_overrides.jsonl), or
    None when nobody has given a verdict the judge also gave."""
    judge_labels, human_labels = [], []
    if mode == "single":
        scores = {f"{j['question_id']}|{j['model']}": j.get("score") for j in judgments if j.get("mode") == "single"}
        for key, o in overrides.items():
            if o.get("score") is not None and scores.get(key) is not None:
                judge_labels.append(round(float(scores[key])))
                human_labels.append(round(float(o["score"])))
        weights = "quadratic"
    else:
        by_key = {i.key: i for i in items}
        for key, o in overrides.items():
            item = by_key.get(key)
            if item is None or item.outcome is None or o.get("winner") is None:
                continue
            judge_labels.append(item.outcome)
            human_labels.append("tie" if o["winner"] == "tie" else "1" if o["winner"] == item.model_1 else "2")
        weights = None
    if not judge_labels:
        return None
    return kappa_with_ci(judge_labels, human_labels, weights, seed=seed)


# ---- length-controlled win rate -----------------------------------------------------------------------
def _fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3) -> tuple[float, float]:
    """(intercept θ, slope φ) of P(y=1) = σ(θ + φ·x) by weighted maximum likelihood (Newton steps,
    a tiny L2 prior so a model that always wins stays finite)."""
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        grad = X.T @ (w * (p - y)) + 2 * l2 * beta
        hess = (X * (w * p * (1 - p))[:, None]).T @ X + 2 * l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def answer_lengths(judgments: list[dict]) -> dict[str, tuple[int, int]]:
    """item key → (length of model_1's answer, length of model_2's), read off the judgments' len_a/len_b."""
    out = {}
    for j in judgments:
        if j.get("mode") == "single" or "len_a" not in j:
            continue
        key = aggregate.item_key(j["question_id"], j["model_1"], j["model_2"])
        first_is_1 = j.get("model_a") == j["model_1"]
        out[key] = (j["len_a"], j["len_b"]) if first_is_1 else (j["len_b"], j["len_a"])
    return out


def length_controlled_win_rate(items: list[aggregate.Item], lengths: dict[str, tuple[int, int]],
                               models: list[str]) -> dict[str, dict | None]:
    """model → {"lc_win_rate", "win_rate" (adjusted, same items), "length_coef", "n"}: the win rate
    the judge would give if the model's answers were as long as its opponents'."""
    out: dict[str, dict | None] = {}
    for m in models:
        deltas, prefs = [], []
        for item in items:
            if item.outcome is None or m not in (item.model_1, item.model_2) or item.key not in lengths:
                continue
            l1, l2 = lengths[item.key]
            mine, theirs = (l1, l2) if m == item.model_1 else (l2, l1)
            deltas.append(float(mine - theirs))
            prefs.append(0.5 if item.outcome == "tie" else 1.0 if (item.outcome == "1") == (m == item.model_1) else 0.0)
        if not prefs:
            out[m] = None
            continue
        d = np.asarray(deltas)
        sd = float(d.std())
        x = np.tanh(d / sd) if sd > 0 else np.zeros_like(d)
        pref = np.asarray(prefs)
        # a tie is half a win and half a loss: both labels, each with weight ½
        xs = np.concatenate([x, x])
        ys = np.concatenate([np.ones_like(pref), np.zeros_like(pref)])
        ws = np.concatenate([pref, 1.0 - pref])
        theta, phi = _fit_logistic(xs, ys, ws)
        out[m] = {"lc_win_rate": 1.0 / (1.0 + math.exp(-theta)), "win_rate": float(pref.mean()),
                  "length_coef": phi, "n": len(prefs)}
    return out


# ---- self-preference ------------------------------------------------------------------------------------
def self_preference(self_name: str | None, items: list[aggregate.Item], overrides: dict[str, dict]) -> dict | None:
    """The judge's adjusted win rate of its own answers, beside the people's on the items they judged."""
    if not self_name:
        return None
    mine = [i for i in items if self_name in (i.model_1, i.model_2) and i.outcome is not None]
    judge_rate = aggregate.win_table(mine, [self_name])[self_name]["adjusted_win_rate"]
    human_items, judge_on_same = [], []
    for item in mine:
        o = overrides.get(item.key)
        if not o or o.get("winner") is None:
            continue
        outcome = "tie" if o["winner"] == "tie" else "1" if o["winner"] == item.model_1 else "2"
        human_items.append(aggregate.Item(item.question_id, item.category, item.model_1, item.model_2, outcome=outcome))
        judge_on_same.append(item)
    out = {"contestant": self_name, "n": len(mine), "judge_self_win_rate": judge_rate,
           "n_human": len(human_items), "human_self_win_rate": None, "judge_self_win_rate_on_human_items": None,
           "self_preference": None}
    if human_items:
        human_rate = aggregate.win_table(human_items, [self_name])[self_name]["adjusted_win_rate"]
        judge_same = aggregate.win_table(judge_on_same, [self_name])[self_name]["adjusted_win_rate"]
        out.update(human_self_win_rate=human_rate, judge_self_win_rate_on_human_items=judge_same,
                   self_preference=judge_same - human_rate)
    return out
