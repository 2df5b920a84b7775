"""Ranking models the graph never profiled (cold-start models), from their features and lineage.

On a target dataset, the profiled models' predicted (within-dataset normalised) qualities are a
small regression problem: quality as a function of model features. A ridge regression fitted on
the profiled models — standardised numeric features, parameter counts and resolution on a log
scale, one-hot categorical ones such as the architecture family or the pipeline class — predicts
the cold model from its own features; a feature the cold model lacks, or a category the graph has
never seen, counts as the profiled models' average. The ridge strength is chosen on the graph
itself by leave-one-model-out (each profiled model predicted from the others, on every dataset).
Lineage comes first: a fine-tune, adapter, merge or quantisation of a profiled model takes
:data:`LINEAGE_SHARE` of its prediction from its base model(s), the rest from the regression.

Its uncertainty is wider than a profiled model's by construction: the error of predicting a
profiled model on a new dataset (:attr:`ColdModelRanker.profiled_error_`) and the error of
predicting one model from the others, measured by the same leave-one-model-out
(:attr:`ColdModelRanker.transfer_error_`), added in quadrature. ``bench/cold_models.py``
measures how well a hidden model lands against the family mean and the average model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import NotFittedError
from ..graph.matching_graph import MatchingGraph
from ..graph.views import normalized_score_matrix

LINEAGE_SHARE = {"finetune": 0.8, "adapter": 0.9, "quantized": 0.95, "merge": 0.6}
"""Share of a cold model's prediction taken from its profiled base model(s), by relation. Set by
judgement, not measured: the shipped mini-zoo graph has no lineage to measure it on."""
ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1e6)
"""Ridge strengths tried (1e6: the average model, when features say nothing)."""
LOG_FEATURES = {"params", "denoiser_params", "text_encoder_params", "unet_params", "resolution"}
CATALOG_FEATURES = ("family", "pipeline_class", "denoiser_class", "params", "denoiser_params",
                    "text_encoder_params", "resolution")
"""What the candidate catalogue knows of any model (``mandc.hub.catalog``)."""
CLIP = 3.0
"""A cold model's standardised feature is clipped to ±CLIP: a regression fitted on the profiled
models' range must not extrapolate far outside it (a 1,000× larger model is not 1,000× better)."""
NOT_FEATURES = {"model", "id", "source", "kind", "note", "licence", "base_model",
                "base_model_relation", "downloads", "likes", "gated", "pretraining_mixture",
                "denoiser"}


def model_feature_frame(models: pd.DataFrame) -> pd.DataFrame:
    """Graph or catalogue model rows → features indexed by model id (``unet_params``, the mini
    zoo's name for it, read as ``denoiser_params``)."""
    table = models.rename(columns={"id": "model"}).set_index("model")
    if "denoiser_params" not in table and "unet_params" in table:
        table = table.rename(columns={"unet_params": "denoiser_params"})
    return table[[c for c in table.columns if c not in NOT_FEATURES]]


class ColdModelRanker:
    """Predicts cold models from the profiled ones (see the module docstring).

    Settings: ``features`` (``"all"``: every model feature of the graph; ``"catalog"``: only
    what the catalogue knows, :data:`CATALOG_FEATURES`), ``alpha`` (ridge strength; None: chosen
    by leave-one-model-out on the graph), ``metric``."""

    def __init__(self, *, features: str = "all", alpha: float | None = None,
                 metric: str | None = None):
        self.features = features
        self.alpha = alpha
        self.metric = metric

    def fit(self, graph: MatchingGraph) -> ColdModelRanker:
        self.metric_ = graph._metric(self.metric)
        self.scores_ = normalized_score_matrix(graph, self.metric_)
        table = model_feature_frame(graph.models).reindex(self.scores_.index)
        if self.features == "catalog":
            table = table[[c for c in CATALOG_FEATURES if c in table.columns]]
        self.columns_ = []  # (feature, category or None, mean, scale)
        for column in table.columns:
            values = pd.to_numeric(table[column], errors="coerce")
            if values.notna().all():
                values = _transform(column, values)
                if values.std(ddof=0) > 0:
                    self.columns_.append((column, None, float(values.mean()),
                                          float(values.std(ddof=0))))
            elif table[column].nunique() < len(table):
                for category in sorted(table[column].dropna().astype(str).unique()):
                    share = float((table[column].astype(str) == category).mean())
                    spread = math.sqrt(share * (1 - share))
                    if spread > 0:
                        self.columns_.append((column, category, share, spread))
        self.profiled_ids_ = list(self.scores_.index)
        self.design_ = np.array([self._encode(row) for row in
                                 table.to_dict("records")]).reshape(len(table), -1)
        self.alpha_, self.transfer_error_ = self._choose_alpha()
        self.profiled_error_ = _profiled_error(graph, self.metric_)
        return self

    def _encode(self, row: Mapping) -> np.ndarray:
        """Standardised features of one model; unknown ones at 0, the profiled average."""
        if not _known(row.get("denoiser_params")) and _known(row.get("unet_params")):
            row = {**row, "denoiser_params": row["unet_params"]}
        encoded = []
        for column, category, mean, scale in self.columns_:
            value = row.get(column)
            if category is None:
                number = _number(value)
                encoded.append(0.0 if number is None else float(np.clip(
                    (float(_transform(column, pd.Series([number])).iloc[0]) - mean) / scale,
                    -CLIP, CLIP)))
            elif not _known(value) or str(value) not in {c for f, c, _, _ in self.columns_
                                                         if f == column}:
                encoded.append(0.0)
            else:
                encoded.append(((str(value) == category) - mean) / scale)
        return np.asarray(encoded, dtype=float)

    def _ridge(self, design: np.ndarray, targets: np.ndarray, alpha: float) -> tuple:
        """Centred ridge coefficients for each column of ``targets`` (NaN: the column mean)."""
        mean = _column_mean(targets)
        centred = np.where(np.isnan(targets), 0.0, targets - mean)
        gram = design.T @ design + alpha * np.eye(design.shape[1])
        return mean, np.linalg.solve(gram, design.T @ centred)

    def _choose_alpha(self) -> tuple[float, float]:
        """The ridge strength with the least squared error when each profiled model is predicted
        from the others on every dataset, and the root of that error."""
        scores = self.scores_.to_numpy(dtype=float)
        grid = [self.alpha] if self.alpha is not None else list(ALPHAS)
        if self.design_.shape[1] == 0:
            grid = [math.inf]
        errors = []
        for alpha in grid:
            residuals = []
            for i in range(len(scores)):
                others = np.arange(len(scores)) != i
                predicted = self._predict_rows(self.design_[others], scores[others],
                                               self.design_[i][None, :], alpha)[0]
                residuals.append(predicted - scores[i])
            residuals = np.concatenate(residuals)
            errors.append(float(np.mean(residuals[~np.isnan(residuals)] ** 2)))
        best = int(np.argmin(errors))
        return grid[best], math.sqrt(errors[best])

    def _predict_rows(self, design, targets, rows, alpha) -> np.ndarray:
        if math.isinf(alpha) or design.shape[1] == 0:
            return np.repeat(_column_mean(targets)[None, :], len(rows), 0)
        mean, coef = self._ridge(design, targets, alpha)
        return mean + rows @ coef

    def closest(self, candidate: Mapping, n: int = 3) -> list[dict]:
        """The profiled models nearest in feature space (an explanation, not the prediction)."""
        self._require_fitted()
        gaps = np.sqrt(((self.design_ - self._encode(candidate)) ** 2).mean(axis=1)) \
            if self.design_.shape[1] else np.zeros(len(self.profiled_ids_))
        order = np.argsort(gaps, kind="stable")[:n]
        return [{"model": self.profiled_ids_[i], "distance": round(float(gaps[i]), 3)}
                for i in order]

    def predict(self, candidates: pd.DataFrame, profiled: pd.Series) -> pd.DataFrame:
        """Predicted quality of each candidate row (catalogue schema, ``id`` or ``model``) from
        the profiled models' predictions on the target (``profiled``: model → predicted):
        columns ``model``, ``predicted``, ``uncertainty``, ``closest``, ``lineage``."""
        self._require_fitted()
        values = profiled.reindex(self.profiled_ids_).to_numpy(dtype=float)[:, None]
        rows = []
        for record in candidates.rename(columns={"id": "model"}).to_dict("records"):
            predicted = float(self._predict_rows(self.design_, values,
                                                 self._encode(record)[None, :],
                                                 self.alpha_)[0, 0])
            bases = [b for b in str(record.get("base_model") or "").split(";")
                     if b in self.profiled_ids_]
            if bases:
                share = LINEAGE_SHARE.get(str(record.get("base_model_relation") or "finetune"),
                                          LINEAGE_SHARE["finetune"])
                from_bases = float(np.nanmean(profiled.reindex(bases).to_numpy(dtype=float)))
                predicted = share * from_bases + (1 - share) * predicted
            rows.append({"model": str(record["model"]), "predicted": predicted,
                         "uncertainty": self.uncertainty(), "closest": self.closest(record),
                         "lineage": bases})
        return pd.DataFrame(rows, columns=["model", "predicted", "uncertainty", "closest",
                                           "lineage"])

    def uncertainty(self) -> float:
        """One standard deviation of a cold prediction: the profiled models' own error and the
        transfer error in quadrature, so never below a profiled model's."""
        self._require_fitted()
        return float(math.sqrt(self.profiled_error_ ** 2 + self.transfer_error_ ** 2))

    def _require_fitted(self) -> None:
        if not hasattr(self, "alpha_"):
            raise NotFittedError("ColdModelRanker is not fitted; call fit(graph) first")


def _column_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each column over its measured entries (0, the dataset mean, when none)."""
    measured = ~np.isnan(values)
    counts = measured.sum(axis=0)
    return np.where(counts > 0, np.where(measured, values, 0.0).sum(axis=0) /
                    np.maximum(counts, 1), 0.0)


def _transform(column: str, values: pd.Series) -> pd.Series:
    return np.log10(values.clip(lower=1)) if column in LOG_FEATURES else values


def _profiled_error(graph: MatchingGraph, metric: str) -> float:
    """Root mean squared error of a profiled model's normalised score on a dataset predicted
    from the most similar other datasets (the ``nearest_dataset`` vote): what even a profiled
    model's prediction for a new dataset is off by."""
    from .baselines import NearestDataset

    method = NearestDataset(metric=metric).fit(graph)
    scores = normalized_score_matrix(graph, metric)
    residuals = []
    for dataset in scores.columns[scores.notna().any()]:
        residuals.append((method.predict(dataset) - scores[dataset]).to_numpy(dtype=float))
    residuals = np.concatenate(residuals) if residuals else np.array([np.nan])
    value = float(np.sqrt(np.nanmean(residuals ** 2)))
    return value if math.isfinite(value) else 1.0


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and \
        value is not pd.NA and str(value) != ""


def without_model(graph: MatchingGraph, model: str) -> MatchingGraph:
    """``graph`` with one model and every score of it removed (leave-one-model-out)."""
    return MatchingGraph(models=graph.models[graph.models["model"] != model].reset_index(
                             drop=True),
                         datasets=graph.datasets,
                         scores=graph.scores[graph.scores["model"] != model].reset_index(
                             drop=True),
                         similarity=graph.similarity, meta=dict(graph.meta))
