"""Which (model, dataset) pair to profile next: the unmeasured pairs whose fine-tuning result
would most change the recommendations.

The value of measuring a pair is its *knowledge gradient* (Frazier, Powell & Dayanik, "A
knowledge-gradient policy for sequential information collection", SIAM J. Control Optim. 2008):
the expected gain in the quality of the model one would pick for that dataset once the result is
known. On each dataset every model has a belief about its normalised score: a measured pair is
known (its normalised score), an unmeasured one is normal around the recommender's prediction
with sd ``s``. Measuring model ``m`` reveals its score ``X``; the pick becomes
``max(X, best of the others)``, so the expected gain over the current pick is::

    value = s * f(-|mu_m - mu_rival| / s),   f(z) = z * Phi(z) + phi(z)

where ``mu_rival`` is the best belief among the *other* models on the dataset. The value is large
when the pair's interval reaches the rival's (a contender) and grows with the width of its
interval; a pair far below a measured winner is worth almost nothing, as is a pair whose
prediction is sure. Every dataset's decision counts the same, as every target counts the same in
the leave-one-dataset-out mean regret.

The sd of an unmeasured pair: the recommender's split-conformal half-width at ``level`` (one
number for every prediction, :attr:`~mandc.ranking.recommend.Recommender.interval_halfwidths_`)
sets the scale (an 80% half-width is 1.2816 sd of a normal), and a committee of refits, each
without the scores of one group of profiled datasets (a delete-a-group jackknife), makes it vary
from pair to pair: ``s = sd * spread / mean spread``, the normalised-residual idea of locally
weighted conformal prediction (Lei et al., JASA 2018, section 5.2). ``committee=0`` keeps one sd
for every pair; the value then ranks by closeness to the rival alone.

Measured and predicted beliefs are put on one scale. The recommender predicts z-scores over
*all* the models of a dataset, but the graph normalises a dataset's measured scores over the
models measured there: on a dataset where only the strong models are measured the best of them
sits near +1, where every model is measured near +1.5, and a predicted +1.1 would look out of
reach of a tie. So on each dataset the measured scores are mapped by the affine map that gives
the whole column (measured scores mapped, the others predicted) mean 0 and variance 1, as a
z-score over all the models has (with every model measured it is the graph's own normalisation;
with one measured model its score is what makes the mean 0). The criterion remains a guide for
the order of profiling, not a calibrated probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..graph.matching_graph import MatchingGraph
from ..graph.views import normalized_score_matrix
from .recommend import INTERVAL_LEVELS, Recommender

COMMITTEE = 4
"""Refits of the committee (each without one of four groups of profiled datasets): enough for a
relative spread, and four fits more per call."""
NORMAL_QUANTILE = {0.8: 1.2815515655446004, 0.95: 1.959963984540054}
"""Half-width of a central interval of a standard normal, by coverage."""
SPREAD_FLOOR = 0.25
"""Lowest relative spread kept: a pair on which the committee happens to agree still has a
quarter of the typical uncertainty, not none."""
COLUMNS = ["model", "dataset", "value", "p_best", "predicted", "low", "high", "rival",
           "rival_score", "rival_measured", "reason"]


def knowledge_gradient(mean: np.ndarray, sd: np.ndarray, rival: np.ndarray) -> np.ndarray:
    """Expected gain of the best belief when a normal belief ``N(mean, sd^2)`` is replaced by its
    exact value and the best of the others is ``rival``: ``sd * f(-|mean - rival| / sd)``."""
    from scipy.stats import norm

    mean, sd, rival = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (mean, sd, rival)))
    gap = np.abs(mean - rival)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, -gap / sd, -np.inf)
        value = sd * (z * norm.cdf(z) + norm.pdf(z))
    return np.where(sd > 0, np.nan_to_num(value, nan=0.0), 0.0)


def suggest(graph: MatchingGraph, *, budget: int | None = None, datasets: list[str] | None = None,
            method: Recommender | None = None, metric: str | None = None, level: float = 0.8,
            committee: int = COMMITTEE, seed: int = 0) -> pd.DataFrame:
    """Every unmeasured (model, dataset) pair of ``graph``, most worth profiling first.

    Columns: ``model``, ``dataset``, ``value`` (the knowledge gradient, in normalised units:
    the expected gain of the dataset's pick), ``p_best`` (chance that the pair beats the rival),
    ``predicted``, ``low``, ``high`` (its interval at ``level``, widened or narrowed by the
    committee), ``rival`` (the best other model on the dataset), ``rival_score`` (its normalised
    score), ``rival_measured`` and ``reason`` (in words). ``budget`` keeps the first ``budget``
    rows. ``datasets``: only pairs on these datasets (every dataset's evidence still counts).
    ``method``: an unfitted :class:`Recommender` with the settings to use (default: the
    default one). ``attrs`` carries ``measured_pairs`` and ``total_pairs``; with nothing
    unmeasured the table is empty.
    """
    if budget is not None and (not isinstance(budget, (int, np.integer)) or budget < 1):
        raise ConfigError(f"budget must be a positive integer, got {budget!r}")
    if level not in INTERVAL_LEVELS:
        raise ConfigError(f"interval level must be one of {INTERVAL_LEVELS}, got {level!r}")
    if not isinstance(committee, (int, np.integer)) or committee < 0 or committee == 1:
        raise ConfigError(f"committee must be 0 or at least 2, got {committee!r}")
    if len(graph.model_ids) < 2:
        raise ConfigError("suggest compares models on each dataset; the graph has "
                          f"{len(graph.model_ids)} model")
    metric = graph._metric(metric)
    normalised = normalized_score_matrix(graph, metric)
    measured = normalised.notna().to_numpy()
    wanted = np.ones(measured.shape[1], dtype=bool)
    if datasets is not None:
        datasets = [datasets] if isinstance(datasets, str) else list(datasets)
        unknown = sorted(set(datasets) - set(normalised.columns))
        if unknown:
            raise ConfigError(f"datasets not in the graph: {unknown[:5]}")
        wanted = normalised.columns.isin(datasets)
    total = int(wanted.sum()) * measured.shape[0]
    if measured[:, wanted].all():
        return _table([], measured=int(measured[:, wanted].sum()), total=total)
    settings = {**(method.get_params() if method is not None else {}), "metric": metric,
                "seed": seed}
    base = Recommender(**settings).fit(graph)
    columns = list(normalised.columns)
    predicted = np.column_stack([base.predict(d).to_numpy() for d in columns])
    sd = base.interval_halfwidths_[level] / NORMAL_QUANTILE[level]
    if not np.isfinite(sd):  # fewer than two profiled datasets: no calibrated scale yet
        sd = 1.0
    spread = np.ones_like(predicted)
    if committee:
        spread = _committee_spread(graph, settings, columns, ~measured, committee, seed)
    sds = np.where(measured, 0.0, sd * spread)
    beliefs = np.column_stack([common_scale(normalised.iloc[:, j].to_numpy(), predicted[:, j])
                               for j in range(len(columns))])
    rows = []
    models = list(normalised.index)
    quantile = NORMAL_QUANTILE[level]
    for j in np.flatnonzero(wanted):
        dataset, column = columns[j], beliefs[:, j]
        for i in np.flatnonzero(~measured[:, j]):
            others = np.delete(np.arange(len(models)), i)
            r = others[int(np.argmax(column[others]))]
            rows.append({"model": models[i], "dataset": dataset, "predicted": column[i],
                         "sd": sds[i, j], "rival": models[r], "rival_score": column[r],
                         "rival_measured": bool(measured[r, j]), "rival_sd": sds[r, j]})
    table = pd.DataFrame(rows)
    if table.empty:
        return _table([], measured=int(measured[:, wanted].sum()), total=total)
    table["value"] = knowledge_gradient(table["predicted"], table["sd"], table["rival_score"])
    from scipy.stats import norm

    table["p_best"] = norm.cdf((table["predicted"] - table["rival_score"])
                               / np.hypot(table["sd"], table["rival_sd"]))
    table["low"] = table["predicted"] - quantile * table["sd"]
    table["high"] = table["predicted"] + quantile * table["sd"]
    table["reason"] = [_reason(row, quantile, level) for row in table.to_dict("records")]
    # equal values (often zero: pairs far below a measured winner) go by their chance to win
    table = table.sort_values(["value", "p_best", "dataset", "model"],
                              ascending=[False, False, True, True],
                              kind="stable").reset_index(drop=True)
    if budget is not None:
        table = table.head(budget)
    return _table(table[COLUMNS], measured=int(measured[:, wanted].sum()), total=total)


def common_scale(measured: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """One dataset's column of beliefs: ``predicted`` where ``measured`` is NaN, elsewhere the
    measured normalised scores mapped by ``a * score + b`` (``a > 0``) so that the whole column
    has mean 0 and variance 1 (see the module docstring). When the predictions alone carry
    nearly all the variance, ``a`` keeps a floor (measured spread at least 0.3)."""
    known = ~np.isnan(measured)
    if known.all() or not known.any():
        return np.where(known, measured, predicted)
    n, k = len(measured), int(known.sum())
    others = predicted[~known]
    # the measured models' mean on the common scale (kept within 3 sd: with few measured models
    # among many, a small bias of every prediction would otherwise add up to an absurd mean)
    centre = float(np.clip(-others.sum() / k, -3.0, 3.0))
    spread = np.std(measured[known])
    if spread <= 0:
        return np.where(known, centre, predicted)
    variance = max((n - float(others @ others)) / k - centre ** 2, 0.1)
    scale = np.sqrt(variance) / spread
    mapped = scale * (measured - measured[known].mean()) + centre
    return np.where(known, mapped, predicted)


def _committee_spread(graph: MatchingGraph, settings: dict, datasets: list[str],
                      unmeasured: np.ndarray, members: int, seed: int) -> np.ndarray:
    """Each pair's prediction spread over refits without one group of profiled datasets,
    relative to the mean spread over unmeasured pairs (1 everywhere when it cannot vary)."""
    profiled = [d for d, has in zip(datasets, ~unmeasured.all(axis=0)) if has]
    if len(profiled) < max(members, 3):
        return np.ones(unmeasured.shape)
    groups = np.array_split(np.random.default_rng(seed).permutation(profiled), members)
    predictions = []
    for group in groups:
        dropped = set(group.tolist())
        scores = graph.scores
        keep = ~scores["dataset"].isin(dropped) | scores["metric"].isin(graph.probe_metrics)
        part = MatchingGraph(graph.models, graph.datasets, scores[keep], graph.similarity,
                             dict(graph.meta))
        member = Recommender(**settings).fit(part)
        predictions.append(np.column_stack([member.predict(d).to_numpy() for d in datasets]))
    spread = np.std(np.stack(predictions), axis=0)
    typical = float(spread[unmeasured].mean())
    if not np.isfinite(typical) or typical <= 0:
        return np.ones(unmeasured.shape)
    return np.maximum(spread / typical, SPREAD_FLOOR)


def _reason(row: dict, quantile: float, level: float) -> str:
    """Why a pair is (or is not) worth profiling, in words."""
    percent = f"{level:.0%}"
    model, rival, where = row["model"], row["rival"], f"on {row['dataset']}"
    mine = f"{model} (predicted {row['predicted']:+.2f})"
    theirs = f"{rival} ({'measured' if row['rival_measured'] else 'predicted'} " \
             f"{row['rival_score']:+.2f})"
    low, high = (row["predicted"] - quantile * row["sd"], row["predicted"] + quantile * row["sd"])
    rival_low = row["rival_score"] - quantile * row["rival_sd"]
    rival_high = row["rival_score"] + quantile * row["rival_sd"]
    if low <= rival_high and rival_low <= high:
        if row["rival_measured"]:
            return f"{mine} may beat {theirs} {where}: the score is within its {percent} interval"
        return f"the {percent} intervals of {mine} and {theirs} overlap {where}"
    if row["predicted"] > row["rival_score"]:
        return (f"{mine} is predicted best {where}, clear of {theirs}; measuring would confirm "
                "the pick")
    return f"{mine} is unlikely to beat {theirs} {where}: beyond its {percent} interval"


def _table(table, *, measured: int, total: int) -> pd.DataFrame:
    frame = pd.DataFrame(table, columns=COLUMNS) if isinstance(table, list) else table
    frame = frame.reset_index(drop=True)
    frame.attrs.update({"measured_pairs": measured, "total_pairs": total})
    return frame
