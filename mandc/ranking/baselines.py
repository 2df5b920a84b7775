"""Baselines M&C must beat, registered in :data:`mandc.ranking.methods.METHODS`.

- ``random``: no information. It predicts the same value for every model, and the evaluation
  scores a tie by its expectation over a uniformly random order, so ``random``'s figures are the
  exact expected figures of picking a model at random (no sampling noise).
- ``best_average``: the model with the best mean normalised score over the profiled datasets,
  whatever the target (the usual "just take the strongest model" answer).
- ``nearest_dataset``: a k-nearest-neighbour vote over profiled datasets — each model's normalised
  scores on the k profiled datasets most similar to the target, weighted by similarity (with k=1 on
  a dense graph: pick what won on the most similar dataset). This is the "similar task" baseline
  of the model-selection literature (TransferGraph, ICDE 2024; M&C, arXiv 2508.10993).

All of them learn from ``views.normalized_score_matrix`` (z-scored within each dataset) of the
graph they are fitted on, which in leave-one-dataset-out evaluation holds no score of the target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..graph.similarity import SimilaritySource, dataset_similarity
from ..graph.views import normalized_score_matrix
from .methods import METHODS, RankingMethod


@METHODS.register("random")
class RandomRanking(RankingMethod):
    """Every model ties: the evaluation turns that into the expectation of a random pick."""

    def _fit(self, graph) -> None:
        self.n_models_ = len(graph.model_ids)

    def _predict(self, dataset: str) -> pd.Series:
        return pd.Series(0.0, index=self.graph_.model_ids)


@METHODS.register("best_average")
class BestAverage(RankingMethod):
    """Mean normalised score of each model over the profiled datasets, the same for every target.

    A model with no score at all gets 0, the within-dataset mean.
    """

    def _fit(self, graph) -> None:
        normalized = normalized_score_matrix(graph, self.metric_).to_numpy()
        measured = ~np.isnan(normalized)
        totals = np.where(measured, normalized, 0.0).sum(axis=1)
        counts = measured.sum(axis=1)
        self.average_ = pd.Series(np.where(counts > 0, totals / np.maximum(counts, 1), 0.0),
                                  index=graph.model_ids, name="average")

    def _predict(self, dataset: str) -> pd.Series:
        return self.average_


@METHODS.register("nearest_dataset")
class NearestDataset(RankingMethod):
    """Similarity-weighted k-NN vote over the profiled datasets closest to the target.

    For each model the k most similar profiled datasets *on which that model was measured* vote,
    so a sparse score matrix still gives every model k votes when it can. Weights are the
    similarities clipped at 0 (plus a tiny floor so k dissimilar neighbours still vote equally).
    A model with no vote gets 0, the within-dataset mean. Similarity comes from
    :func:`mandc.graph.similarity.dataset_similarity` (the graph's table, else feature cosine).
    """

    def __init__(self, *, k: int = 5, similarity: SimilaritySource = "auto",
                 metric: str | None = None, seed: int = 0):
        super().__init__(metric=metric, seed=seed)
        self.k = k
        self.similarity = similarity

    def _fit(self, graph) -> None:
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"nearest_dataset: k must be a positive integer, got {self.k!r}")
        normalized = normalized_score_matrix(graph, self.metric_)
        matrix = normalized.to_numpy()
        profiled = ~np.isnan(matrix).all(axis=0)
        self.profiled_ = list(normalized.columns[profiled])
        self.scores_ = matrix[:, profiled]
        self.similarity_ = dataset_similarity(graph, source=self.similarity)
        self.neighbour_similarity_ = self.similarity_.to_numpy(dtype=float)[
            :, self.similarity_.columns.get_indexer(self.profiled_)]
        self.row_of_ = {d: i for i, d in enumerate(self.similarity_.index)}

    def _predict(self, dataset: str) -> pd.Series:
        similarity = self.neighbour_similarity_[self.row_of_[dataset]]
        candidate = np.isfinite(similarity) & (np.asarray(self.profiled_) != dataset)
        order = np.nonzero(candidate)[0]
        order = order[np.argsort(-similarity[order], kind="stable")]
        scores = self.scores_[:, order]
        weights = np.clip(similarity[order], 0.0, None) + 1e-9
        measured = ~np.isnan(scores)
        votes = measured & (np.cumsum(measured, axis=1) <= self.k)
        weighted = np.where(votes, scores, 0.0) @ weights
        total = votes.astype(float) @ weights
        prediction = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), 0.0)
        return pd.Series(prediction, index=self.graph_.model_ids)

    def neighbours(self, dataset: str, n: int | None = None) -> pd.Series:
        """The profiled datasets most similar to ``dataset``, best first (for explanations)."""
        similarity = self.similarity_.loc[dataset, self.profiled_].drop(dataset, errors="ignore")
        return similarity.dropna().sort_values(ascending=False, kind="stable").head(n or self.k)
