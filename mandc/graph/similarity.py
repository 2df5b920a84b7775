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
    blocks = []
    for column in table.columns:
        values = table[column]
        if values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            blocks.append(_expand_vectors(values, column))
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            blocks.append(values.to_numpy(dtype=float)[:, None])
        else:
            blocks.append(pd.get_dummies(values.astype("string"), dtype=float).to_numpy())
    if not blocks:
        raise ValidationError("the graph has neither a similarity table nor dataset features, so "
                              "datasets cannot be compared; add one of them", file="datasets")
    matrix = np.hstack(blocks)
    present = ~np.isnan(matrix)
    count = np.maximum(present.sum(axis=0), 1)
    mean = np.where(present, matrix, 0.0).sum(axis=0) / count
    std = np.sqrt(np.where(present, (matrix - mean) ** 2, 0.0).sum(axis=0) / count)
    keep = np.isfinite(std) & (std > 0)
    if not keep.any():
        raise ValidationError("no dataset feature varies across datasets, so datasets cannot be "
                              "compared; add a similarity table", file="datasets")
    standardised = (matrix[:, keep] - mean[keep]) / std[keep]
    return np.nan_to_num(standardised, nan=0.0)


def _expand_vectors(values: pd.Series, column: str) -> np.ndarray:
    lengths = {len(v) for v in values if isinstance(v, (list, tuple, np.ndarray))}
    if len(lengths) != 1:
        raise ValidationError(f"vectors of different lengths {sorted(lengths)}", file="datasets",
                              column=column)
    width = lengths.pop()
    rows = [np.asarray(v, dtype=float) if isinstance(v, (list, tuple, np.ndarray))
            else np.full(width, np.nan) for v in values]
    return np.vstack(rows)
