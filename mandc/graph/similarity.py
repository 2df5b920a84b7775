"""Dataset-to-dataset similarity: the one place every method gets its data–data edges from.

A graph either carries a ``similarity`` table (data–data edges measured when the datasets were
described, or imported) or only dataset features. :func:`dataset_similarity` uses the table when
there is one and otherwise falls back to the cosine similarity of standardised dataset features,
so the baselines and M&C's recommender agree on what "the most similar profiled dataset" is.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError, ValidationError
from .matching_graph import MatchingGraph
from .views import cached_view

SimilaritySource = Literal["auto", "given", "features"]


def dataset_similarity(graph: MatchingGraph, *, source: SimilaritySource = "auto") -> pd.DataFrame:
    """Datasets × datasets similarity (diagonal 1, NaN where a given table lacks a pair).

    ``source``: ``"given"`` reads the similarity table (see
    :meth:`MatchingGraph.given_similarity`), ``"features"`` computes the cosine of standardised
    dataset features, ``"auto"`` (default) takes the table when the graph has one. Memoised on the
    graph (it never depends on scores, so leave-one-dataset-out folds share it).
    """
    if source not in ("auto", "given", "features"):
        raise ConfigError(f"unknown similarity source {source!r}; "
                          "use 'auto', 'given' or 'features'")
    if source == "auto":
        source = "features" if graph.similarity.empty else "given"
    if source == "given":
        if graph.similarity.empty:
            raise ValidationError("the graph has no similarity table", file="similarity")
        return cached_view(graph, ("dataset_similarity", "given"), graph.given_similarity,
                           depends_on=("datasets", "similarity"))
    return cached_view(graph, ("dataset_similarity", "features"),
                       lambda: feature_cosine_similarity(graph), depends_on=("datasets",))


def feature_cosine_similarity(graph: MatchingGraph) -> pd.DataFrame:
    """Cosine similarity of the datasets' standardised feature vectors."""
    features = dataset_feature_matrix(graph)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.where(norms > 0, norms, 1.0)
    matrix = unit @ unit.T
    np.fill_diagonal(matrix, 1.0)
    ids = graph.dataset_ids
    return pd.DataFrame(matrix, index=ids, columns=ids)


def dataset_feature_matrix(graph: MatchingGraph) -> np.ndarray:
    """Datasets × features array, each column standardised across datasets.

    Numeric columns are used as they are, list-valued columns (embedding means) are spread into
    one column per element, other columns are one-hot encoded. Missing values become the column
    mean (0 after standardisation); columns without spread carry no information and are dropped.
    """
    table = graph.dataset_features()
    return FeatureStandardiser().fit(table).transform(table)


class FeatureStandardiser:
    """The standardisation of :func:`dataset_feature_matrix`, fitted on some datasets and applied
    to others: a dataset added later (an uploaded target) is placed in the fitted datasets'
    feature space without moving it."""

    def fit(self, table: pd.DataFrame) -> FeatureStandardiser:
        self.layout_ = []  # (column, "vector" width | "number" | sorted categories)
        for column in table.columns:
            values = table[column]
            if values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
                self.layout_.append((column, _vector_width(values, column)))
            elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
                self.layout_.append((column, "number"))
            else:
                self.layout_.append((column, sorted(values.astype("string").dropna().unique())))
        if not self.layout_:
            raise ValidationError("the graph has neither a similarity table nor dataset "
                                  "features, so datasets cannot be compared; add one of them",
                                  file="datasets")
        matrix = self._raw(table)
        present = ~np.isnan(matrix)
        count = np.maximum(present.sum(axis=0), 1)
        self.mean_ = np.where(present, matrix, 0.0).sum(axis=0) / count
        std = np.sqrt(np.where(present, (matrix - self.mean_) ** 2, 0.0).sum(axis=0) / count)
        self.keep_ = np.isfinite(std) & (std > 0)
        if not self.keep_.any():
            raise ValidationError("no dataset feature varies across datasets, so datasets cannot "
                                  "be compared; add a similarity table", file="datasets")
        self.std_ = std
        return self

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        matrix = self._raw(table)[:, self.keep_]
        standardised = (matrix - self.mean_[self.keep_]) / self.std_[self.keep_]
        return np.nan_to_num(standardised, nan=0.0)

    def _raw(self, table: pd.DataFrame) -> np.ndarray:
        blocks = []
        for column, kind in self.layout_:
            if column not in table.columns:
                raise ValidationError(f"dataset feature {column!r} is missing", file="datasets")
            values = table[column]
            if isinstance(kind, int):
                blocks.append(_expand_vectors(values, column, kind))
            elif kind == "number":
                blocks.append(values.to_numpy(dtype=float)[:, None])
            else:  # one-hot over the fitted categories; an unseen one is all zeros
                codes = pd.Categorical(values.astype("string"), categories=kind).codes
                blocks.append((codes[:, None] == np.arange(len(kind))[None, :]).astype(float))
        return np.hstack(blocks)


class FittedSimilarity:
    """:func:`dataset_similarity` fitted on a graph's datasets and extended to datasets added
    later: a distance measure keeps the scale (``median d``) of the fitted datasets' pairs, and
    feature cosines keep their standardisation, so a new target's similarities are computed
    without changing any fitted one (the inductive path of :class:`mandc.ranking.Recommender`).
    On the fitted datasets it gives exactly :func:`dataset_similarity`."""

    def __init__(self, source: SimilaritySource = "auto"):
        self.source = source

    def fit(self, graph: MatchingGraph) -> FittedSimilarity:
        source = self.source
        if source not in ("auto", "given", "features"):
            raise ConfigError(f"unknown similarity source {source!r}; "
                              "use 'auto', 'given' or 'features'")
        if source == "auto":
            source = "features" if graph.similarity.empty else "given"
        self.source_ = source
        if source == "given":
            if graph.similarity.empty:
                raise ValidationError("the graph has no similarity table", file="similarity")
            self.scales_ = {str(measure): _distance_scale(rows)
                            for measure, rows in graph.similarity.groupby("measure", sort=False)}
        else:
            self.standardiser_ = FeatureStandardiser().fit(graph.dataset_features())
        return self

    def row(self, graph: MatchingGraph, dataset: str, references: list[str]) -> np.ndarray:
        """Similarity of ``dataset`` to each of ``references`` in ``graph`` (NaN where unknown,
        1 for the dataset itself)."""
        if self.source_ == "features":
            table = graph.dataset_features()
            unit = self.standardiser_.transform(table.loc[[dataset] + list(references)])
            norms = np.linalg.norm(unit, axis=1, keepdims=True)
            unit = unit / np.where(norms > 0, norms, 1.0)
            values = unit[1:] @ unit[0]
        else:
            values = self._given_row(graph, dataset, references)
        values[np.asarray(references) == dataset] = 1.0
        return values

    def _given_row(self, graph: MatchingGraph, dataset: str, references: list[str]) -> np.ndarray:
        position = {d: i for i, d in enumerate(references)}
        table = graph.similarity
        a, b = table["dataset_a"].astype(str), table["dataset_b"].astype(str)
        mine = (a == dataset) | (b == dataset)
        rows = table[mine]
        other = np.where(a[mine] == dataset, b[mine], a[mine])
        forward = (a[mine] == dataset).to_numpy()
        layers = []
        for measure, scale in self.scales_.items():
            of = (rows["measure"].astype(str) == measure).to_numpy()
            values = rows["value"].to_numpy(dtype=float)[of]
            if scale is not None:
                values = np.exp(-values / scale)
            layer = np.full(len(references), np.nan)
            # as given_similarity: the (dataset, other) orientation first, then the other one
            for first in (True, False):
                for value, name in zip(values[forward[of] == first],
                                       other[of][forward[of] == first]):
                    j = position.get(name)
                    if j is not None and np.isnan(layer[j]):
                        layer[j] = value
            layers.append(layer)
        with np.errstate(all="ignore"):
            stacked = np.stack(layers)
            counts = np.sum(~np.isnan(stacked), axis=0)
            return np.where(counts > 0, np.nansum(stacked, axis=0) / np.maximum(counts, 1),
                            np.nan)


def _distance_scale(rows: pd.DataFrame) -> float | None:
    """The ``median d`` that turns a distance measure into ``exp(-d / median d)`` (None for a
    similarity measure), as :meth:`MatchingGraph.given_similarity` computes it."""
    if not rows["is_distance"].any():
        return None
    values = rows["value"].to_numpy(dtype=float)
    return float(np.median(values[values > 0])) if (values > 0).any() else 1.0


def _vector_width(values: pd.Series, column: str) -> int:
    lengths = {len(v) for v in values if isinstance(v, (list, tuple, np.ndarray))}
    if len(lengths) != 1:
        raise ValidationError(f"vectors of different lengths {sorted(lengths)}", file="datasets",
                              column=column)
    return lengths.pop()


def _expand_vectors(values: pd.Series, column: str, width: int) -> np.ndarray:
    rows = []
    for value in values:
        if isinstance(value, (list, tuple, np.ndarray)):
            if len(value) != width:
                raise ValidationError(f"vector of length {len(value)} where {width} is expected",
                                      file="datasets", column=column)
            rows.append(np.asarray(value, dtype=float))
        else:
            rows.append(np.full(width, np.nan))
    return np.vstack(rows) if rows else np.empty((0, width))
