"""The contract every ranking method follows (M&C's recommender and the baselines alike).

A method is a scikit-learn style estimator: ``__init__`` stores keyword settings, ``fit(graph)``
learns from a :class:`~mandc.graph.MatchingGraph` and returns ``self``, and
``predict(dataset)`` returns one predicted, within-dataset-normalised quality per model of the
graph (higher is better). ``rank(dataset)`` turns that into a ranking. Methods are picked by name
from :data:`METHODS`, so the evaluation and the CLI can run any of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from ..errors import NotFittedError, ValidationError
from ..graph.matching_graph import MatchingGraph
from ..registry import Registry

METHODS: Registry[type[RankingMethod]] = Registry("method")


class RankingMethod(ABC):
    """Base class: subclasses implement ``_fit`` and ``_predict``."""

    def __init__(self, *, metric: str | None = None, seed: int = 0):
        self.metric = metric
        self.seed = seed

    def get_params(self) -> dict:
        """The constructor settings (learned state, ending in ``_``, is left out)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def fit(self, graph: MatchingGraph) -> RankingMethod:
        self.graph_ = graph
        self.metric_ = graph._metric(self.metric)
        self._fit(graph)
        return self

    def predict(self, dataset: str) -> pd.Series:
        """Predicted normalised quality of every model on ``dataset`` (higher is better)."""
        self._check_target(dataset)
        prediction = self._predict(dataset)
        return prediction.reindex(self.graph_.model_ids).astype(float).rename("predicted")

    def _check_target(self, dataset: str) -> None:
        """Fitted, and ``dataset`` is in the graph (what a prediction for it needs)."""
        if not hasattr(self, "graph_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(graph) first")
        if dataset not in set(self.graph_.dataset_ids):
            raise ValidationError(f"dataset {dataset!r} is not in the graph; add it (with its "
                                  "features or similarities) before ranking models for it")

    def rank(self, dataset: str) -> pd.DataFrame:
        """Models sorted best first: columns ``model``, ``predicted``, ``rank`` (1 = best)."""
        prediction = self.predict(dataset).sort_values(ascending=False, kind="stable")
        table = prediction.rename_axis("model").reset_index()
        table["rank"] = range(1, len(table) + 1)
        return table

    @abstractmethod
    def _fit(self, graph: MatchingGraph) -> None:
        """Learn from ``graph`` (already stored as ``graph_``)."""

    @abstractmethod
    def _predict(self, dataset: str) -> pd.Series:
        """Predicted normalised quality per model id on ``dataset``."""


def make_method(name: str, **params) -> RankingMethod:
    """Build a registered method by name (an unknown name lists the valid ones)."""
    return METHODS.get(name)(**params)
