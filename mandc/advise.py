"""From a target to a ranked answer: the one call the CLI and the app share.

``advise`` resolves the target (a dataset of the graph, or a folder, zip, upload or Hub id that is
described and placed in the graph), fits the chosen method and returns a JSON-ready dict: the
ranking, the measured scores where the target has them, and the profiled datasets that drove the
prediction — the reasons shown to the user.
"""

from __future__ import annotations

import math

import pandas as pd

from .errors import ConfigError
from .graph.matching_graph import MatchingGraph
from .graph.views import score_matrix, without_scores_of
from .ranking.methods import make_method


def advise(graph: MatchingGraph, target, *, method: str = "mandc", metric: str | None = None,
           top: int | None = 10, neighbours: int = 3, hold_out: bool = False, seed: int = 0,
           samples: int | None = None, graph_source: str | None = None,
           probe: bool = False) -> dict:
    """Rank every model of ``graph`` for ``target`` (see the module docstring). ``probe``: a new
    target is first probed by every model of the graph (:mod:`mandc.profile.probe`; the models
    must load on this machine), so that a graph with probe metrics can use them. ``top=None``
    keeps every candidate in the ranking."""
    from .graph.defaults import resolve_target

    if top is not None and top < 1:
        raise ConfigError(f"top must be at least 1, got {top}")
    source = target
    graph, target = resolve_target(graph, target, samples=samples, seed=seed)
    if probe and not graph.probe_metrics:
        raise ConfigError("--probe needs a graph with probe metrics (`mandc probe`)")
    if probe and not _has_probes(graph, target):
        from .profile.probe import probe_dataset

        graph = graph.add_scores(probe_dataset(graph.model_ids, source, name=target))
    metric = graph._metric(metric)
    measured = score_matrix(graph, metric)[target]
    fit_on = without_scores_of(graph, target) if hold_out else graph
    fitted = make_method(method, metric=metric, seed=seed).fit(fit_on)
    ranking = fitted.rank(target)
    return {
        "target": target, "method": method, "metric": metric,
        "higher_is_better": graph.higher_is_better(metric), "held_out": hold_out,
        "graph": graph_source, "candidates": len(ranking),
        "ranking": ranking_rows(ranking if top is None else ranking.head(top),
                                None if measured.isna().all() else measured),
        "neighbours": similar_profiled_datasets(fitted, fit_on, target, neighbours),
        "probe_metrics": list(getattr(fitted, "probe_metrics_", [])),
    }


def similar_profiled_datasets(method, graph: MatchingGraph, target: str, n: int) -> list[dict]:
    """The profiled datasets most similar to ``target``, with the weight they had in the prediction
    when the method explains itself (``explain(dataset)``), else the graph's dataset similarity."""
    if hasattr(method, "explain"):
        table = method.explain(target).head(n)
        return [{"dataset": str(row["dataset"]), "similarity": float(row["similarity"]),
                 "weight": float(row["weight"])} for row in table.to_dict(orient="records")]
    if hasattr(method, "neighbours"):
        near = method.neighbours(target, n)
    else:
        from .graph.similarity import dataset_similarity

        profiled = set(graph.measured_scores["dataset"].astype(str)) - {target}
        row = dataset_similarity(graph).loc[target]
        near = row[row.index.isin(profiled)].dropna().sort_values(ascending=False,
                                                                   kind="stable").head(n)
    return [{"dataset": str(d), "similarity": float(s)} for d, s in near.items()]


def _has_probes(graph: MatchingGraph, target: str) -> bool:
    rows = graph.probe_scores_of(target).drop_duplicates(["model", "metric"])
    return len(rows) == len(graph.model_ids) * len(graph.probe_metrics)


def ranking_rows(ranking: pd.DataFrame, measured: pd.Series | None) -> list[dict]:
    """Rows of a ranking (``model``, ``predicted``, ``rank``; ``low``, ``high``: the prediction
    interval, when the method gives one) with the measured score if any."""
    rows = []
    for record in ranking.to_dict(orient="records"):
        row = {"rank": int(record["rank"]), "model": str(record["model"]),
               "predicted": _finite(record["predicted"])}
        if "low" in record:
            row["low"], row["high"] = _finite(record["low"]), _finite(record["high"])
        if measured is not None:
            row["measured"] = _finite(measured.get(record["model"]))
        rows.append(row)
    return rows


def _finite(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
