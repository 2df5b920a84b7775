"""A dataset's palette: the colour histogram of all its pixels, and a distance between palettes.

The encoders behind the descriptors (EfficientNet, MiniLM) see content better than colour: two
scenes of pines, one under snow and one on grass, are near neighbours to them, while the models
that fine-tune best on each differ. The palette is an encoder-free view of colour to set beside
them. Each channel is cut into ``bins`` equal ranges, so a palette has ``bins**3`` cells; the
Hellinger distance between two palettes runs from 0 (same colours in the same shares) to 1 (no
colour in common).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image

from ..errors import ValidationError

DEFAULT_BINS = 4
"""Four ranges per channel, 64 colour cells: coarse enough that resampling and antialiasing do
not move pixels between cells, fine enough to tell grey from white and grass from sky."""


def colour_histogram(images: Iterable[Image.Image], bins: int = DEFAULT_BINS) -> np.ndarray:
    """The share of all pixels of ``images`` in each of ``bins**3`` RGB cells (sums to 1)."""
    if not isinstance(bins, int) or not 1 <= bins <= 256 or 256 % bins:
        raise ValidationError(f"bins must divide 256 (1, 2, 4, ..., 256), got {bins!r}")
    width = 256 // bins
    counts = np.zeros(bins ** 3, dtype=np.int64)
    for image in images:
        cells = np.asarray(image.convert("RGB"), dtype=np.int64) // width
        index = (cells[..., 0] * bins + cells[..., 1]) * bins + cells[..., 2]
        counts += np.bincount(index.ravel(), minlength=bins ** 3)
    total = counts.sum()
    if total == 0:
        raise ValidationError("no pixels to build a colour histogram from")
    return counts / total


def hellinger_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger distance between two histograms of equal length, each summing to 1."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValidationError(f"histograms of different shapes {p.shape} and {q.shape}")
    overlap = float(np.sum(np.sqrt(p * q)))
    return float(np.sqrt(max(0.0, 1.0 - overlap)))
