"""Memoised views of a :class:`~mandc.graph.MatchingGraph` shared by every ranking method.

Leave-one-dataset-out evaluation fits every method once per target dataset. Rebuilding the
models × datasets score matrix (a group-by and pivot of every score row) and the dataset
similarity for each fold would cost more than the methods themselves, so derived views are
computed once per graph and kept on the graph object:

- :func:`score_matrix` and :func:`normalized_score_matrix` (keyed by metric; they depend on the
  ``scores`` table);
- any other view through :func:`cached_view` (e.g.
  :func:`mandc.graph.similarity.dataset_similarity`, which depends only on ``datasets`` and
  ``similarity``).

A view is valid while the tables it depends on are the very same objects (``is``), so assigning a
new table to ``graph.scores`` invalidates it; tables are treated as immutable, as everywhere in
M&C. Returned frames are shared: read them, do not modify them in place.

:func:`without_scores_of` is the leave-one-dataset-out cut with its views carried over: the cut
graph's score matrices are the parent's with the target's column blanked (probe metrics excepted;
the within-dataset normalisation of one column never depends on another), and views of the
untouched tables are reused as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from .matching_graph import MatchingGraph

T = TypeVar("T")

_VIEWS = "_mandc_views"
_PARENT = "_mandc_views_parent"
_SCORE_VIEWS = ("score_matrix", "normalized_score_matrix")
_SCORE_TABLES = ("scores", "models", "datasets")


def cached_view(graph: MatchingGraph, key: tuple, compute: Callable[[], T], *,
                depends_on: tuple[str, ...]) -> T:
    """``compute()`` memoised on ``graph`` under ``key``, valid while ``depends_on`` tables stay.

    On a cut made by :func:`without_scores_of`, a view of tables the cut shares with its parent
    is computed on (and kept by) the parent, so every fold of an evaluation shares it.
    """
    views = graph.__dict__.setdefault(_VIEWS, {})
    entry = views.get(key)
    if entry is not None and _still_valid(graph, entry):
        return entry[2]
    parent = graph.__dict__.get(_PARENT)
    if parent is not None and all(getattr(parent, n) is getattr(graph, n) for n in depends_on):
        value = cached_view(parent, key, compute, depends_on=depends_on)
    else:
        value = compute()
    # holding the tables themselves (not their ids) means an id can never be reused by a new table
    views[key] = (depends_on, tuple(getattr(graph, name) for name in depends_on), value)
    return value


def score_matrix(graph: MatchingGraph, metric: str | None = None) -> pd.DataFrame:
    """Memoised :meth:`MatchingGraph.score_matrix` (models × datasets, raw units)."""
    metric = graph._metric(metric)
    return cached_view(graph, ("score_matrix", metric), lambda: graph.score_matrix(metric),
                       depends_on=_SCORE_TABLES)


def normalized_score_matrix(graph: MatchingGraph, metric: str | None = None) -> pd.DataFrame:
    """Memoised :meth:`MatchingGraph.normalized_score_matrix` (z-scored per dataset)."""
    metric = graph._metric(metric)
    return cached_view(graph, ("normalized_score_matrix", metric),
                       lambda: graph.normalized_score_matrix(metric), depends_on=_SCORE_TABLES)


def without_scores_of(graph: MatchingGraph, dataset: str) -> MatchingGraph:
    """:meth:`MatchingGraph.without_scores_of` that keeps the parent's views (the fast LODO cut).

    The result is the same graph as ``graph.without_scores_of(dataset)``; only its memoised
    score matrices are derived from the parent's (target column blanked) instead of being rebuilt
    from the rows, and views of tables the cut shares with the parent are reused.
    """
    cut = graph.without_scores_of(dataset)
    probes = set(graph.probe_metrics)
    carried = {}
    for key, entry in graph.__dict__.get(_VIEWS, {}).items():
        if not _still_valid(graph, entry):
            continue
        names, tables, value = entry
        if key[0] in _SCORE_VIEWS:
            if key[1] not in probes:  # the cut keeps probe edges
                value = value.copy()
                if dataset in value.columns:
                    value[dataset] = np.nan
            tables = tuple(getattr(cut, name) for name in names)
        elif not _still_valid(cut, entry):
            continue  # depends on a table the cut replaced (its scores)
        carried[key] = (names, tables, value)
    cut.__dict__[_VIEWS] = carried
    cut.__dict__[_PARENT] = graph
    return cut


def _still_valid(graph: MatchingGraph, entry: tuple) -> bool:
    names, tables, _ = entry
    return all(getattr(graph, name) is table for name, table in zip(names, tables))
