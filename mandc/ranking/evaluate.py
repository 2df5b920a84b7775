"""Leave-one-dataset-out evaluation of ranking methods, with tie-aware ranking metrics.

The protocol is the one of TransferGraph (ICDE 2024) and M&C (arXiv 2508.10993): for each target
dataset that has scores, remove all its model–data edges (its features and data–data edges stay),
fit the method on what is left, rank the models for the target and compare the ranking with the
scores that were measured. Only models with a measured score on the target are compared.

Metrics of one target (``s`` is the score signed so that higher is better, ``best`` the measured
best raw score, ``pick`` the method's top model):

- ``top1``: the pick is a true best model; ``top3``: a true best model is among the first three;
- ``regret``: relative quality lost by taking the pick instead of the true best (0 = the best
  was picked). For a ``log_scale`` metric (FID, KID: compared by ratios) it is the log ratio
  ``|log(pick / best)|``, i.e. ``log(pick / best)`` when lower is better and ``log(best / pick)``
  when higher is better. The log ratio is the relative error that stays symmetric and bounded
  where ``(pick - best) / best`` is not (Tofallis, "A better measure of relative prediction
  accuracy", J. Oper. Res. Soc. 2015): with FIDs 11.5 against 62 the plain ratio gives 4.4 and
  lets one dataset dominate a mean, the log ratio 1.7; for small losses the two agree
  (``log(1 + x) ≈ x``). For any other metric it stays ``(best - pick) / |best|`` when higher is
  better, ``(pick - best) / |best|`` when lower is better (undefined, and skipped, when
  ``best == 0``);
- ``top1_noise`` (only when a ``tie_tolerance`` is given): noise-aware top-1, the pick is within
  the tolerance of the true best, in regret units (for FID the log ratio): two models whose scores
  differ by less than the seed-to-seed spread of one model's score are a tie;
- ``regret_norm`` (per dataset only): ``(s_best - s_pick) / (s_best - s_worst)`` in [0, 1];
- ``pearson`` and ``spearman``: correlation of predicted and measured quality over the models;
- ``ndcg3``: NDCG@3 with gains ``(s - s_worst) / (s_best - s_worst)`` (min-max within the
  target, so the worst model has gain 0 and the best 1) and discount ``1 / log2(1 + position)``.

Ties in the predictions (``random`` predicts one value for all models) are scored by their
expectation over a uniformly random order of the tied models: top-k is the probability that a
true best lands in the first k, regret and NDCG average over the orders, and Spearman is
``cov(mid-rank of prediction, rank of truth) / (sd(1..n) · sd(rank of truth))`` — the exact
expected Spearman of a random tie-break. A constant prediction therefore has correlation 0 (as a
random ranking has on average), not "undefined". A NaN prediction ranks below every number.
Correlations and NDCG are undefined, and skipped in the mean, when all measured scores are equal.
Summary figures are the mean over targets of the per-target figures; ``regret_median`` (the
median over targets) stands beside the mean regret, which one bad target can move.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, ValidationError
from ..graph.matching_graph import MatchingGraph
from ..graph.views import normalized_score_matrix, score_matrix, without_scores_of
from .methods import METHODS, RankingMethod, make_method

METRICS = ("top1", "top3", "regret", "pearson", "spearman", "ndcg3")
DETAIL_METRICS = METRICS + ("regret_norm",)


# --------------------------------------------------------------------------- metrics of one target
def ranking_metrics(predicted, measured, *, higher_is_better: bool = True,
                    log_scale: bool = False,
                    tie_tolerance: float | None = None) -> dict[str, float]:
    """Tie-aware metrics of one ranking (see the module docstring for the definitions).

    ``predicted`` (higher = better) and ``measured`` (raw metric values) are aligned, one entry per
    model measured on the target; a NaN prediction ranks last. ``log_scale``: the metric is
    compared by ratios (its values must be positive), so regret is a log ratio.
    ``tie_tolerance``: adds ``top1_noise``, the share of picks within it of the best.
    """
    predicted = np.asarray(predicted, dtype=float)
    measured = np.asarray(measured, dtype=float)
    if predicted.shape != measured.shape or predicted.ndim != 1:
        raise ValidationError(f"predicted {predicted.shape} and measured {measured.shape} must be "
                              "1-d arrays of the same length")
    if len(measured) == 0 or np.isnan(measured).any():
        raise ValidationError("measured scores must be non-empty and finite")
    if log_scale and (measured <= 0).any():
        raise ValidationError("a log_scale metric needs positive measured scores")
    goodness = measured if higher_is_better else -measured
    order_key = np.where(np.isnan(predicted), -np.inf, predicted)
    groups = _leading_tie_groups(order_key, 3)  # tied models at the head, best group first
    is_best = goodness == goodness.max()
    top = groups[0]

    spread = goodness.max() - goodness.min()
    loss = goodness.max() - goodness[top]
    best_raw = measured[is_best][0]
    if log_scale:
        regrets = np.abs(np.log(measured[top] / best_raw))
    else:
        regrets = loss / abs(best_raw) if best_raw != 0 else np.where(loss > 0, math.nan, 0.0)
    regret = float(regrets.mean()) if loss.any() else 0.0
    noise_aware = {} if tie_tolerance is None else {
        "top1_noise": float(np.mean((loss == 0) | (regrets <= tie_tolerance)))}
    return {
        **noise_aware,
        "top1": _expected_hit(groups, is_best, 1),
        "top3": _expected_hit(groups, is_best, 3),
        "regret": regret,
        "regret_norm": float(loss.mean() / spread) if spread > 0 else 0.0,
        "pearson": _pearson(predicted, goodness),
        "spearman": _expected_spearman(order_key, goodness),
        "ndcg3": _expected_ndcg(groups, goodness, 3),
    }


def _leading_tie_groups(key: np.ndarray, k: int) -> list[np.ndarray]:
    """Groups of tied models (best first) that cover the first ``k`` positions of the ranking."""
    groups, covered = [], 0
    remaining = key
    while covered < min(k, len(key)):
        top = remaining.max()
        members = np.nonzero(key == top)[0]
        groups.append(members)
        covered += len(members)
        remaining = key[key < top]
    return groups


def _expected_hit(groups: list[np.ndarray], is_best: np.ndarray, k: int) -> float:
    """Probability that a true best model is in the first ``k`` under random tie-breaking."""
    filled = 0
    for group in groups:
        slots = k - filled
        if slots <= 0:
            break
        n, hits = len(group), int(is_best[group].sum())
        if hits and n <= slots:
            return 1.0
        if n > slots:
            return 1.0 - math.comb(n - hits, slots) / math.comb(n, slots) if hits else 0.0
        filled += n
    return 0.0


def _pearson(predicted: np.ndarray, goodness: np.ndarray) -> float:
    finite = np.isfinite(predicted)
    x, y = predicted[finite], goodness[finite]
    if len(x) < 2 or np.ptp(y) == 0:
        return math.nan
    if np.ptp(x) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _expected_spearman(order_key: np.ndarray, goodness: np.ndarray) -> float:
    n = len(goodness)
    if n < 2 or np.ptp(goodness) == 0:
        return math.nan
    predicted_rank = _mid_ranks(order_key)
    true_rank = _mid_ranks(goodness)
    covariance = np.mean((predicted_rank - predicted_rank.mean()) * (true_rank - true_rank.mean()))
    untied_sd = math.sqrt((n * n - 1) / 12.0)  # sd of a permutation of 1..n
    return float(covariance / (untied_sd * true_rank.std()))


def _mid_ranks(values: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return (starts + (counts + 1) / 2.0)[inverse]


def _expected_ndcg(groups: list[np.ndarray], goodness: np.ndarray, k: int) -> float:
    spread = goodness.max() - goodness.min()
    if spread == 0:
        return math.nan
    gain = (goodness - goodness.min()) / spread
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    expected_gain_at = np.concatenate([np.full(len(g), gain[g].mean()) for g in groups])[:k]
    # (``groups`` cover at least the first k positions)
    ideal = np.sort(gain)[::-1][:k]
    return float(expected_gain_at @ discounts[:len(expected_gain_at)]
                 / (ideal @ discounts[:len(ideal)]))


# --------------------------------------------------------------------------- the report
@dataclass
class EvaluationReport:
    """Summary and per-target results of a leave-one-dataset-out evaluation."""

    summary: pd.DataFrame
    """one row per method, one column per metric in :data:`METRICS` (means over targets), then
    ``regret_median`` (the median regret over targets)."""
    per_dataset: pd.DataFrame
    """one row per (method, target): the metrics, ``regret_norm``, pick, true best, ties."""
    datasets: int
    models: int
    metric: str
    seed: int
    seconds: dict[str, float] = field(default_factory=dict)
    """fit + predict time per method over all folds."""

    def to_dict(self) -> dict:
        """``{"methods": {name: {metric: value}}, "datasets": N, "models": M}`` (None=undefined)."""
        methods = {name: {m: _json_number(row[m]) for m in METRICS}
                   for name, row in self.summary.iterrows()}
        return {"methods": methods, "datasets": self.datasets, "models": self.models}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_table(self) -> pd.DataFrame:
        """The summary as a DataFrame (methods × metrics); ``str(report)`` prints it as text."""
        return self.summary.copy()

    def __str__(self) -> str:
        header = (f"leave-one-dataset-out on {self.datasets} datasets, {self.models} models, "
                  f"metric {self.metric!r}")
        return header + "\n" + self.summary.to_string(float_format=lambda v: f"{v:.3f}")


def _json_number(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


# --------------------------------------------------------------------------- the protocol
def leave_one_dataset_out(graph: MatchingGraph, methods: str | list[str] | dict[str, RankingMethod],
                          *, metric: str | None = None, seed: int = 0,
                          datasets: list[str] | None = None, tie_tolerance: float | None = None,
                          progress: bool = False) -> EvaluationReport:
    """Evaluate ``methods`` (registered names, or name → unfitted method) by leave-one-dataset-out.

    Targets are ``datasets`` or, by default, every dataset with at least two measured models (one
    model cannot be ranked wrong). Each method is fitted once per target on
    ``graph.without_scores_of(target)`` and never sees the target's scores. ``tie_tolerance``
    (regret units, e.g. the seed-to-seed spread) adds the noise-aware ``top1_noise``.
    """
    metric = graph._metric(metric)
    named = _build_methods(methods, metric, seed)
    measured = score_matrix(graph, metric)
    normalized_score_matrix(graph, metric)  # computed once; every fold derives its own from it
    targets = _targets(measured, datasets)
    higher_is_better = graph.higher_is_better(metric)
    log_scale = graph.log_scale(metric)
    model_ids = np.asarray(graph.model_ids, dtype=object)
    seconds = dict.fromkeys(named, 0.0)
    rows = []
    for target in _progress(targets, progress):
        column = measured[target].to_numpy()
        has_score = ~np.isnan(column)
        fold = without_scores_of(graph, target)
        for name, method in named.items():
            start = time.perf_counter()
            predicted = method.fit(fold).predict(target).to_numpy()[has_score]
            seconds[name] += time.perf_counter() - start
            result = ranking_metrics(predicted, column[has_score],
                                     higher_is_better=higher_is_better, log_scale=log_scale,
                                     tie_tolerance=tie_tolerance)
            candidates = model_ids[has_score]
            key = np.where(np.isnan(predicted), -np.inf, predicted)
            goodness = column[has_score] if higher_is_better else -column[has_score]
            rows.append({"method": name, "dataset": target, "n_models": int(has_score.sum()),
                         **result, "pick": candidates[int(np.argmax(key))],
                         "n_tied": int((key == key.max()).sum()),
                         "best": candidates[int(np.argmax(goodness))]})
    noise_aware = ["top1_noise"] if tie_tolerance is not None else []
    per_dataset = pd.DataFrame(rows, columns=["method", "dataset", "n_models", *DETAIL_METRICS,
                                              *noise_aware, "pick", "n_tied", "best"])
    summary = summarise(per_dataset).reindex(list(named))
    return EvaluationReport(summary=summary, per_dataset=per_dataset, datasets=len(targets),
                            models=len(graph.model_ids), metric=metric, seed=seed,
                            seconds=seconds)


def summarise(per_dataset: pd.DataFrame) -> pd.DataFrame:
    """Per-method means of :data:`METRICS` over targets, and the median regret beside them."""
    grouped = per_dataset.groupby("method", sort=False)
    summary = grouped[[m for m in METRICS if m in per_dataset]].mean()
    summary["regret_median"] = grouped["regret"].median()
    if "top1_noise" in per_dataset:
        summary["top1_noise"] = grouped["top1_noise"].mean()
    return summary


def interval_coverage(graph: MatchingGraph, make, *, metric: str | None = None,
                      levels=(0.8, 0.95), datasets: list[str] | None = None) -> pd.DataFrame:
    """Leave-one-dataset-out coverage of a method's prediction intervals: for each target, the
    share of its measured normalised scores inside ``rank(target, level=...)``'s ``low``/``high``.

    ``make()`` returns an unfitted method whose ``rank`` has those columns (the ``mandc``
    recommender). One row per (target, level): ``coverage`` and the interval ``width``.
    """
    metric = graph._metric(metric)
    normalised = normalized_score_matrix(graph, metric)
    rows = []
    for target in _targets(score_matrix(graph, metric), datasets):
        method = make().fit(without_scores_of(graph, target))
        truth = normalised[target].dropna()
        for level in levels:
            table = method.rank(target, level=level).set_index("model").loc[truth.index]
            inside = (truth >= table["low"]) & (truth <= table["high"])
            rows.append({"dataset": target, "level": level, "coverage": float(inside.mean()),
                         "width": float((table["high"] - table["low"]).mean())})
    return pd.DataFrame(rows)


def _build_methods(methods, metric: str, seed: int) -> dict[str, RankingMethod]:
    if isinstance(methods, str):
        methods = [methods]
    if isinstance(methods, dict):
        named = {}
        for name, method in methods.items():
            if not isinstance(method, RankingMethod):
                raise ConfigError(f"method {name!r} is a {type(method).__name__}, not a "
                                  "RankingMethod")
            params = method.get_params()
            if params.get("metric") not in (None, metric):
                raise ConfigError(f"method {name!r} is set to metric {params['metric']!r} but the "
                                  f"evaluation uses {metric!r}")
            named[name] = type(method)(**{**params, "metric": metric})  # a fresh, unfitted clone
    else:
        names = list(methods)
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ConfigError(f"methods named twice: {duplicated}")
        named = {name: make_method(name, metric=metric, seed=seed) for name in names}
    if not named:
        raise ConfigError(f"no method to evaluate; choose from {METHODS.names()}")
    return named


def _targets(measured: pd.DataFrame, datasets: list[str] | None) -> list[str]:
    counts = measured.notna().sum(axis=0)
    if datasets is None:
        targets = [d for d in measured.columns if counts[d] >= 2]
        if not targets:
            raise ValidationError("no dataset has scores of two or more models, so there is "
                                  "nothing to evaluate", file="scores")
        return targets
    if isinstance(datasets, str):
        datasets = [datasets]
    unknown = [d for d in datasets if d not in counts.index]
    if unknown:
        raise ValidationError(f"unknown target datasets {unknown[:5]}", file="datasets")
    too_few = [d for d in datasets if counts[d] < 2]
    if too_few:
        raise ValidationError(f"targets with fewer than two measured models cannot be evaluated: "
                              f"{too_few[:5]}", file="scores")
    return list(dict.fromkeys(datasets))


def _progress(targets: list[str], enabled: bool):
    if not enabled:
        return targets
    from tqdm.auto import tqdm

    return tqdm(targets, desc="leave-one-dataset-out", unit="dataset")


def paired_comparison(per_dataset: pd.DataFrame, reference: str, *, metric: str = "regret",
                      resamples: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """How ``reference`` compares with each other method, target by target, on ``metric`` (a
    loss: lower is better), and whether the difference is more than chance.

    With a few dozen targets a mean can turn on one of them, so for each other method this gives
    the targets where ``reference`` loses less (``wins``), the same (``ties``) or more
    (``losses``); the two-sided sign-test p-value of wins against losses (ties dropped);
    ``gain``, the mean of (other − reference), positive when ``reference`` is better; and a
    paired bootstrap 95% interval of ``gain`` (``resamples`` draws of the targets, seeded).

    ``per_dataset`` has one row per (method, dataset) with ``method``, ``dataset`` and ``metric``
    columns, as :attr:`EvaluationReport.per_dataset`.
    """
    from scipy.stats import binomtest

    missing = {"method", "dataset", metric} - set(per_dataset.columns)
    if missing:
        raise ValidationError(f"per-dataset results lack columns {sorted(missing)}")
    table = per_dataset.pivot(index="dataset", columns="method", values=metric)
    if reference not in table.columns:
        raise ConfigError(f"reference method {reference!r} is not among {list(table.columns)}")
    rng = np.random.default_rng(seed)
    rows = {}
    for other in table.columns.drop(reference):
        both = table[[reference, other]].dropna()
        gain = (both[other] - both[reference]).to_numpy()
        wins, losses = int((gain > 1e-9).sum()), int((gain < -1e-9).sum())
        p_value = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
        if len(gain):
            draws = gain[rng.integers(0, len(gain), size=(resamples, len(gain)))].mean(axis=1)
            low, high = np.quantile(draws, [0.025, 0.975])
        else:
            low = high = math.nan
        rows[other] = {"targets": len(gain), "wins": wins, "ties": len(gain) - wins - losses,
                       "losses": losses, "p_sign": float(p_value),
                       "gain": float(gain.mean()) if len(gain) else math.nan,
                       "gain_low": float(low), "gain_high": float(high)}
    return pd.DataFrame.from_dict(rows, orient="index")
