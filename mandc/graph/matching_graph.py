"""The matching graph: models, profiled datasets, fine-tuning scores and dataset similarities.

The graph is four tables and a small JSON header (DESIGN.md, "Graph on disk"):

- ``models``: one row per model, id column ``model``, ``source`` and any feature columns;
- ``datasets``: one row per profiled dataset, id column ``dataset`` and any feature columns
  (scalars, or list-valued vectors such as embedding means);
- ``scores``: one row per (model, dataset, metric, recipe_hash) — the model–data edges;
- ``similarity`` (optional): given data–data edges (``dataset_a``, ``dataset_b``, ``measure``,
  ``value``, ``is_distance``).

On disk, scores are append-only shards (``scores/<uuid>.parquet``) so concurrent writers never
lose each other's rows; readers merge shards and drop exact duplicates.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ValidationError

SCHEMA_VERSION = 1

MODEL_ID = "model"
DATASET_ID = "dataset"
SCORE_COLUMNS = ["model", "dataset", "metric", "value", "higher_is_better", "count", "recipe",
                 "recipe_hash", "created_at", "author"]
SIMILARITY_COLUMNS = ["dataset_a", "dataset_b", "measure", "value", "is_distance"]
#: columns of ``models`` / ``datasets`` that are bookkeeping, not features for a predictor
RESERVED_MODEL_COLUMNS = {MODEL_ID, "source"}
RESERVED_DATASET_COLUMNS = {DATASET_ID, "fingerprint", "featurizer", "featurizer_version"}
#: ``datasets`` column prefixes of descriptor internals (covariance summaries that similarity
#: measures read); like the reserved columns, they are not features for a predictor
RESERVED_DATASET_PREFIXES = ("cov_",)


def empty_scores() -> pd.DataFrame:
    return pd.DataFrame({
        "model": pd.Series(dtype="string"), "dataset": pd.Series(dtype="string"),
        "metric": pd.Series(dtype="string"), "value": pd.Series(dtype="float64"),
        "higher_is_better": pd.Series(dtype="bool"), "count": pd.Series(dtype="int64"),
        "recipe": pd.Series(dtype="string"), "recipe_hash": pd.Series(dtype="string"),
        "created_at": pd.Series(dtype="string"), "author": pd.Series(dtype="string"),
    })


def empty_similarity() -> pd.DataFrame:
    return pd.DataFrame({
        "dataset_a": pd.Series(dtype="string"), "dataset_b": pd.Series(dtype="string"),
        "measure": pd.Series(dtype="string"), "value": pd.Series(dtype="float64"),
        "is_distance": pd.Series(dtype="bool"),
    })


@dataclass
class MatchingGraph:
    """Models, datasets and the measured edges between them. Tables are pandas DataFrames."""

    models: pd.DataFrame
    datasets: pd.DataFrame
    scores: pd.DataFrame = field(default_factory=empty_scores)
    similarity: pd.DataFrame = field(default_factory=empty_similarity)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.meta = {"schema_version": SCHEMA_VERSION, "featurizer": None, "metrics": {},
                     "primary_metric": None, **self.meta}
        self.scores = complete_scores(self.scores)
        self.similarity = _complete_similarity(self.similarity)
        for metric, group in self.scores.groupby("metric", sort=False):
            self.meta["metrics"].setdefault(
                str(metric), {"higher_is_better": bool(group["higher_is_better"].iloc[0])})
        if self.meta["primary_metric"] is None and self.meta["metrics"]:
            self.meta["primary_metric"] = next(iter(self.meta["metrics"]))
        self.validate()

    # ------------------------------------------------------------------ ids and shapes
    @property
    def model_ids(self) -> list[str]:
        return self.models[MODEL_ID].astype(str).tolist()  # fast: on the LODO hot path

    @property
    def dataset_ids(self) -> list[str]:
        return self.datasets[DATASET_ID].astype(str).tolist()

    @property
    def metrics(self) -> list[str]:
        return list(self.meta["metrics"])

    @property
    def primary_metric(self) -> str | None:
        return self.meta["primary_metric"]

    def higher_is_better(self, metric: str | None = None) -> bool:
        metric = self._metric(metric)
        return bool(self.meta["metrics"][metric]["higher_is_better"])

    def log_scale(self, metric: str | None = None) -> bool:
        """Whether the metric is compared by ratios (``"log_scale": true`` in its metadata).

        FID is such a metric: 100 → 50 is the same gain on any dataset as 400 → 200, and the
        regret M&C reports is relative. Learners then standardise log scores.
        """
        metric = self._metric(metric)
        return bool(self.meta["metrics"][metric].get("log_scale", False))

    @property
    def probe_metrics(self) -> list[str]:
        """Metrics declared ``"probe": true``: zero-shot measurements of a model on a dataset
        (e.g. :mod:`mandc.profile.probe`), taken without fine-tuning. A new dataset can have
        them before any fine-tune, so they are inputs of the recommender, not what it predicts,
        and the leave-one-dataset-out cut keeps them."""
        return [m for m, spec in self.meta["metrics"].items() if spec.get("probe", False)]

    @property
    def measured_scores(self) -> pd.DataFrame:
        """Score rows of measured (fine-tuned) quality: every metric but the probes."""
        return self.scores[~self.scores["metric"].isin(self.probe_metrics)]

    def probe_scores_of(self, dataset: str) -> pd.DataFrame:
        """The probe rows of one dataset (what a new dataset brings besides its descriptor)."""
        scores = self.scores
        return scores[(scores["dataset"] == dataset) & scores["metric"].isin(self.probe_metrics)]

    def _metric(self, metric: str | None) -> str:
        metric = metric or self.primary_metric
        if metric is None:
            raise ValidationError("the graph has no scores, so it has no metric")
        if metric not in self.meta["metrics"]:
            raise ValidationError(f"unknown metric {metric!r}; the graph has {self.metrics}")
        return metric

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check ids are unique and every edge points at a known node."""
        for name, table, key in (("models", self.models, MODEL_ID),
                                 ("datasets", self.datasets, DATASET_ID)):
            if key not in table.columns:
                raise ValidationError(f"the {name} table has no {key!r} column", file=name)
            ids = table[key].astype(str)
            duplicated = ids[ids.duplicated()].unique().tolist()
            if duplicated:
                raise ValidationError(f"duplicate ids {duplicated[:5]}", file=name, column=key)
        models, datasets = set(self.model_ids), set(self.dataset_ids)
        for column, known, name in (("model", models, "models"), ("dataset", datasets, "datasets")):
            unknown = sorted(set(self.scores[column].astype(str)) - known)
            if unknown:
                raise ValidationError(f"ids missing from the {name} table: {unknown[:5]}",
                                      file="scores", column=column)
        for column in ("dataset_a", "dataset_b"):
            unknown = sorted(set(self.similarity[column].astype(str)) - datasets)
            if unknown:
                raise ValidationError(f"ids missing from the datasets table: {unknown[:5]}",
                                      file="similarity", column=column)
        for metric, spec in self.meta["metrics"].items():
            directions = self.scores.loc[self.scores["metric"] == metric, "higher_is_better"]
            if directions.nunique() > 1 or (len(directions) and
                                            bool(directions.iloc[0]) != spec["higher_is_better"]):
                raise ValidationError(f"metric {metric!r} has conflicting directions",
                                      file="scores", column="higher_is_better")

    # ------------------------------------------------------------------ views for learners
    def score_matrix(self, metric: str | None = None) -> pd.DataFrame:
        """Models × datasets matrix of the metric (NaN where a pair was not profiled).

        Several rows for one pair (different recipes) are averaged, weighted by their counts.
        """
        metric = self._metric(metric)
        rows = self.scores[self.scores["metric"] == metric]
        weighted = rows.assign(w=rows["value"] * rows["count"])
        sums = weighted.groupby(["model", "dataset"], observed=True)[["w", "count"]].sum()
        mean = (sums["w"] / sums["count"]).unstack("dataset")
        return mean.reindex(index=self.model_ids, columns=self.dataset_ids).astype(float)

    def given_similarity(self) -> pd.DataFrame | None:
        """Datasets × datasets similarity from the ``similarity`` table, or None if it is empty.

        Each measure becomes a similarity in (0, 1]: a distance ``d`` turns into
        ``exp(-d / median d)``, which keeps the order and does not depend on the distance's units
        (Fréchet distances run in the hundreds); a similarity is taken as it is. Several measures
        are averaged. Missing pairs are NaN and the diagonal is 1.
        """
        if self.similarity.empty:
            return None
        ids = self.dataset_ids
        index = {d: i for i, d in enumerate(ids)}
        layers = []
        for _, rows in self.similarity.groupby("measure", sort=False):
            values = rows["value"].to_numpy(dtype=float)
            if rows["is_distance"].any():
                scale = np.median(values[values > 0]) if (values > 0).any() else 1.0
                values = np.exp(-values / scale)
            layer = np.full((len(ids), len(ids)), np.nan)
            a = rows["dataset_a"].astype(str).map(index).to_numpy()
            b = rows["dataset_b"].astype(str).map(index).to_numpy()
            layer[a, b] = values
            layer[b, a] = np.where(np.isnan(layer[b, a]), values, layer[b, a])
            layers.append(layer)
        with np.errstate(all="ignore"):
            stacked = np.stack(layers)
            counts = np.sum(~np.isnan(stacked), axis=0)
            matrix = np.where(counts > 0, np.nansum(stacked, axis=0) / np.maximum(counts, 1),
                              np.nan)
        np.fill_diagonal(matrix, 1.0)
        return pd.DataFrame(matrix, index=ids, columns=ids)

    def model_features(self) -> pd.DataFrame:
        """Model feature columns (everything but the id and bookkeeping), indexed by model id."""
        columns = [c for c in self.models.columns if c not in RESERVED_MODEL_COLUMNS]
        return self.models.set_index(MODEL_ID)[columns]

    def dataset_features(self) -> pd.DataFrame:
        """Dataset feature columns, indexed by dataset id; list-valued vectors are kept as lists."""
        columns = [c for c in self.datasets.columns if c not in RESERVED_DATASET_COLUMNS
                   and not str(c).startswith(RESERVED_DATASET_PREFIXES)]
        return self.datasets.set_index(DATASET_ID)[columns]

    # ------------------------------------------------------------------ editing
    def normalized_score_matrix(self, metric: str | None = None) -> pd.DataFrame:
        """``score_matrix`` z-scored within each dataset and signed so that higher is better.

        A ``log_scale`` metric is log-transformed first, so the z-scores compare ratios.
        Scores of different datasets live on different scales (an FID of 30 is good on one set and
        bad on another); learners compare models within a dataset, so each column is standardised.
        A column with one score or no spread becomes 0 where measured.
        """
        metric = self._metric(metric)
        matrix = self.score_matrix(metric)
        if self.log_scale(metric):
            if (matrix <= 0).any().any():
                raise ValidationError(f"metric {metric!r} is declared log_scale but has scores "
                                      f"≤ 0", file="scores", column="value")
            matrix = np.log(matrix)
        if not self.higher_is_better(metric):
            matrix = -matrix
        std = matrix.std(axis=0, ddof=0)
        centred = matrix - matrix.mean(axis=0)
        return (centred / std.where(std > 0, 1.0)).where(matrix.notna())

    def without_scores_of(self, dataset: str) -> MatchingGraph:
        """A copy with every measured model–data edge of ``dataset`` removed; its data–data
        edges and its probe edges (:attr:`probe_metrics`) stay.

        This is the leave-one-dataset-out cut: the target keeps what a new dataset would have,
        its features, similarities and zero-shot probes. Removing rows cannot break validity, so
        the copy skips re-validation (it is on the hot path of leave-one-dataset-out evaluation).
        """
        copy = object.__new__(MatchingGraph)
        copy.models, copy.datasets, copy.similarity = self.models, self.datasets, self.similarity
        keep = self.scores["dataset"] != dataset
        if self.probe_metrics:
            keep |= self.scores["metric"].isin(self.probe_metrics)
        copy.scores = self.scores[keep].reset_index(drop=True)
        copy.meta = dict(self.meta)
        return copy

    def add_scores(self, rows: pd.DataFrame) -> MatchingGraph:
        """A copy with the score rows appended (the rows' models and datasets must exist)."""
        scores = pd.concat([self.scores, complete_scores(rows)], ignore_index=True)
        return MatchingGraph(self.models, self.datasets, scores, self.similarity, dict(self.meta))

    def summary(self) -> dict:
        """Counts, coverage of the model × dataset matrix and metrics, for ``mandc graph show``
        (``dataset_features``: how many feature columns could compute similarities)."""
        pairs = self.scores.drop_duplicates(["model", "dataset"]).shape[0]
        total = len(self.models) * len(self.datasets)
        return {
            "models": len(self.models),
            "datasets": len(self.datasets),
            "scores": len(self.scores),
            "pairs": pairs,
            "coverage": pairs / total if total else 0.0,
            "metrics": {m: {**spec, "rows": int((self.scores["metric"] == m).sum())}
                        for m, spec in self.meta["metrics"].items()},
            "primary_metric": self.primary_metric,
            "similarity_rows": len(self.similarity),
            "featurizer": self.meta.get("featurizer"),
            "profiled_datasets": int(self.measured_scores["dataset"].nunique()),
            "measurements": int(self.scores["count"].sum()),
            "dataset_features": self.dataset_features().shape[1],
        }


def complete_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """Fill the optional score columns with their defaults and fix dtypes."""
    rows = rows.copy()
    missing = {"model", "dataset", "value"} - set(rows.columns)
    if missing:
        raise ValidationError(f"missing columns {sorted(missing)}", file="scores")
    defaults = {"metric": "score", "higher_is_better": True, "count": 1, "recipe": "{}",
                "recipe_hash": "", "created_at": "", "author": ""}
    for column, default in defaults.items():
        if column not in rows.columns:
            rows[column] = default
    rows = rows[SCORE_COLUMNS]
    return rows.astype({"model": "string", "dataset": "string", "metric": "string",
                        "value": "float64", "higher_is_better": "bool", "count": "int64",
                        "recipe": "string", "recipe_hash": "string", "created_at": "string",
                        "author": "string"}).reset_index(drop=True)


def _complete_similarity(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    if "measure" not in rows.columns:
        rows["measure"] = "given"
    if "is_distance" not in rows.columns:
        rows["is_distance"] = False
    missing = set(SIMILARITY_COLUMNS) - set(rows.columns)
    if missing:
        raise ValidationError(f"missing columns {sorted(missing)}", file="similarity")
    return rows[SIMILARITY_COLUMNS].astype({
        "dataset_a": "string", "dataset_b": "string", "measure": "string", "value": "float64",
        "is_distance": "bool"}).reset_index(drop=True)


def new_shard_name() -> str:
    return f"{uuid.uuid4().hex}.parquet"


def read_meta(path: Path) -> dict:
    return json.loads(path.read_text())
