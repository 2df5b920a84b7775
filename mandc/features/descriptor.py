"""Dataset descriptors: what the matching graph knows about a dataset's images and captions.

A descriptor holds, for the images and for the captions, a Gaussian summary of the embeddings
(mean, top eigenpairs, residual variance, shrinkage), plus encoder-free statistics, the sample
size, the featurizer and the sample's fingerprint. It becomes one row of the graph's
``datasets`` table; the covariance internals go in ``cov_*`` columns that similarity measures
read and learners skip (they are not features).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ValidationError
from .base import Featurizer, resolve_featurizer
from .cache import CachedFeatures, read_cached, write_cached
from .gaussian import GaussianSummary
from .statistics import caption_statistics, image_statistics

DEFAULT_RANK = 16
"""Eigenpairs kept per covariance: 16 × 1280 floats per image row keeps a graph row ~100 kB."""
COVARIANCE_PREFIX = "cov_"
MODALITIES = ("image", "caption")
STATISTICS = ("caption_mean_words", "caption_vocabulary", "caption_type_token_ratio",
              "image_mean_width", "image_mean_height", "image_mean_aspect", "image_colourfulness")


@dataclass
class DatasetDescriptor:
    """A described dataset (see the module docstring). ``statistics`` keys: ``STATISTICS``."""

    dataset: str
    fingerprint: str
    featurizer: str
    featurizer_version: str
    n_samples: int
    image: GaussianSummary
    caption: GaussianSummary
    statistics: dict[str, float] = field(default_factory=dict)

    @property
    def featurizer_key(self) -> str:
        return f"{self.featurizer}@{self.featurizer_version}"

    def summary(self, modality: str) -> GaussianSummary:
        if modality not in MODALITIES:
            raise ValidationError(f"unknown modality {modality!r}; use one of {MODALITIES}")
        return self.image if modality == "image" else self.caption

    def to_row(self) -> dict:
        """One ``datasets`` table row: id, bookkeeping, scalar features, list-valued vectors."""
        row = {"dataset": self.dataset, "fingerprint": self.fingerprint,
               "featurizer": self.featurizer, "featurizer_version": self.featurizer_version,
               "n_samples": int(self.n_samples)}
        row.update({key: float(self.statistics[key]) for key in STATISTICS
                    if key in self.statistics})
        for modality in MODALITIES:
            summary = self.summary(modality)
            row[f"{modality}_total_variance"] = summary.total_variance
            row[f"{modality}_mean"] = summary.mean.astype(float).tolist()
        for modality in MODALITIES:
            summary = self.summary(modality)
            prefix = f"{COVARIANCE_PREFIX}{modality}_"
            row[prefix + "eigvals"] = summary.eigvals.astype(float).tolist()
            row[prefix + "eigvecs"] = summary.eigvecs.astype(float).ravel().tolist()
            row[prefix + "residual"] = float(summary.residual)
            row[prefix + "shrinkage"] = float(summary.shrinkage)
        return row

    def to_dict(self, *, covariance: bool = False) -> dict:
        """JSON-ready dict (``mandc describe --json``); eigenvectors only with ``covariance``."""
        row = self.to_row()
        if not covariance:
            for modality in MODALITIES:
                del row[f"{COVARIANCE_PREFIX}{modality}_eigvecs"]
        return row

    @classmethod
    def from_row(cls, row: Mapping) -> DatasetDescriptor:
        """Rebuild a descriptor from :meth:`to_row` output or a ``datasets`` table row."""
        row = dict(row)
        needed = ["dataset", "fingerprint", "featurizer", "featurizer_version", "n_samples"]
        for modality in MODALITIES:
            needed += [f"{modality}_mean"] + [
                f"{COVARIANCE_PREFIX}{modality}_{part}"
                for part in ("eigvals", "eigvecs", "residual", "shrinkage")]
        missing = [key for key in needed if key not in row or _is_missing(row[key])]
        if missing:
            raise ValidationError(f"not a full dataset descriptor; missing {missing}",
                                  file="datasets", row=None, column=missing[0])
        summaries = {}
        for modality in MODALITIES:
            prefix = f"{COVARIANCE_PREFIX}{modality}_"
            mean = np.asarray(row[f"{modality}_mean"], dtype=np.float32)
            eigvals = np.asarray(row[prefix + "eigvals"], dtype=np.float32)
            flat = np.asarray(row[prefix + "eigvecs"], dtype=np.float32)
            if flat.size != eigvals.size * mean.size:
                raise ValidationError(f"{flat.size} eigenvector numbers for {eigvals.size} "
                                      f"eigenvalues of dimension {mean.size}", file="datasets",
                                      column=prefix + "eigvecs")
            summaries[modality] = GaussianSummary(
                mean=mean, eigvals=eigvals, eigvecs=flat.reshape(eigvals.size, mean.size),
                residual=float(row[prefix + "residual"]),
                shrinkage=float(row[prefix + "shrinkage"]))
        statistics = {key: float(row[key]) for key in STATISTICS
                      if key in row and not _is_missing(row[key])}
        return cls(dataset=str(row["dataset"]), fingerprint=str(row["fingerprint"]),
                   featurizer=str(row["featurizer"]),
                   featurizer_version=str(row["featurizer_version"]),
                   n_samples=int(row["n_samples"]), image=summaries["image"],
                   caption=summaries["caption"], statistics=statistics)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def describe(dataset, featurizer: Featurizer | str | None = None, *, cache: bool = True,
             rank: int = DEFAULT_RANK) -> DatasetDescriptor:
    """Describe an :class:`~mandc.data.ImageCaptionSet` with a featurizer (default: settings').

    Embeddings and statistics are cached on disk by the sample's fingerprint and the
    featurizer's name and version, so describing the same sample again skips the encoders.
    """
    images, captions = list(dataset.images), list(dataset.captions)
    name = str(getattr(dataset, "name", "") or "")
    if not name:
        raise ValidationError("the dataset has no name; the graph needs one as its id")
    if len(images) != len(captions):
        raise ValidationError(f"{len(images)} images but {len(captions)} captions", file=name)
    if len(images) < 2:
        raise ValidationError(f"need at least 2 image–caption pairs to describe a dataset, got "
                              f"{len(images)}", file=name)
    featurizer = resolve_featurizer(featurizer)
    fingerprint = dataset.fingerprint()
    entry = read_cached(fingerprint, featurizer.key, len(images)) if cache else None
    if entry is None:
        sizes = getattr(dataset, "original_sizes", None)
        statistics = {**caption_statistics(captions), **image_statistics(images, sizes)}
        entry = CachedFeatures(*featurizer.encode(images, captions), statistics)
        if cache:
            write_cached(fingerprint, featurizer.key, entry)
    return DatasetDescriptor(
        dataset=name, fingerprint=fingerprint, featurizer=featurizer.name,
        featurizer_version=featurizer.version, n_samples=len(images),
        image=GaussianSummary.fit(entry.image_embeddings, rank),
        caption=GaussianSummary.fit(entry.caption_embeddings, rank),
        statistics=dict(entry.statistics))
