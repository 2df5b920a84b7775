"""Dataset-to-dataset measures on descriptors: the data–data edges of the matching graph.

Each measure compares one modality (images or captions) of two descriptors:

- ``*_cosine``: cosine similarity of the embedding means (higher = more alike);
- ``*_frechet``: Fréchet distance between the embedding Gaussians, each covariance shrunk by its
  Ledoit–Wolf intensity (lower = more alike; the FID's formula on our summaries).

Descriptors made by different featurizers are never compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ..registry import Registry
from .descriptor import DatasetDescriptor
from .gaussian import frechet_distance


@dataclass(frozen=True)
class Measure:
    name: str
    compute: Callable[[DatasetDescriptor, DatasetDescriptor], float]
    is_distance: bool
    description: str


MEASURES: Registry[Measure] = Registry("similarity measure")
DEFAULT_MEASURE = "image_frechet"


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norms) if norms > 0 else 0.0


def _register(modality: str) -> None:
    cosine = Measure(f"{modality}_cosine",
                     lambda a, b: _cosine(a.summary(modality).mean, b.summary(modality).mean),
                     False, f"cosine similarity of the {modality} embedding means")
    frechet = Measure(f"{modality}_frechet",
                      lambda a, b: frechet_distance(a.summary(modality), b.summary(modality)),
                      True, f"shrunk Fréchet distance between the {modality} embedding Gaussians")
    for measure in (cosine, frechet):
        MEASURES.register(measure.name)(measure)


for _modality in ("image", "caption"):
    _register(_modality)


def _check_comparable(a: DatasetDescriptor, b: DatasetDescriptor) -> None:
    if a.featurizer_key != b.featurizer_key:
        raise ValidationError(f"{a.dataset!r} was described with {a.featurizer_key} and "
                              f"{b.dataset!r} with {b.featurizer_key}; describe both with the "
                              "same featurizer")


def similarity(a: DatasetDescriptor, b: DatasetDescriptor, measure: str = DEFAULT_MEASURE
               ) -> float:
    """The value of one registered measure between two descriptors (see ``MEASURES``)."""
    spec = MEASURES.get(measure)
    _check_comparable(a, b)
    return float(spec.compute(a, b))


def similarity_table(descriptors: Sequence[DatasetDescriptor],
                     measure: str | Sequence[str] = DEFAULT_MEASURE) -> pd.DataFrame:
    """Long-form data–data edges for the graph's ``similarity`` table.

    One row per unordered pair of distinct datasets and measure: ``dataset_a``, ``dataset_b``,
    ``measure``, ``value``, ``is_distance``. ``measure``: a name, a list of names or ``"all"``.
    """
    names = MEASURES.names() if measure == "all" else (
        [measure] if isinstance(measure, str) else list(measure))
    specs = [MEASURES.get(name) for name in names]
    ids = [d.dataset for d in descriptors]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValidationError(f"datasets described twice: {duplicated[:5]}")
    for other in descriptors[1:]:
        _check_comparable(descriptors[0], other)
    rows = []
    for spec in specs:
        for i, a in enumerate(descriptors):
            for b in descriptors[i + 1:]:
                rows.append((a.dataset, b.dataset, spec.name, float(spec.compute(a, b)),
                             spec.is_distance))
    table = pd.DataFrame(rows, columns=["dataset_a", "dataset_b", "measure", "value",
                                        "is_distance"])
    return table.astype({"dataset_a": "string", "dataset_b": "string", "measure": "string",
                         "value": "float64", "is_distance": "bool"})
