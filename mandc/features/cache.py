"""On-disk cache of a sample's embeddings and statistics, keyed by content and featurizer.

Describing a dataset is dominated by the encoders; the cache makes describing the same sample
(same fingerprint) with the same featurizer (same name and version) a file read. Entries are
``.npz`` files under ``MANDC_CACHE/features/<featurizer>/<fingerprint>.npz``, written to a
temporary name and renamed so that a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..settings import get_settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class CachedFeatures:
    image_embeddings: np.ndarray
    caption_embeddings: np.ndarray
    statistics: dict[str, float]


def cache_path(fingerprint: str, featurizer_key: str) -> Path:
    folder = get_settings().cache_dir / "features" / _UNSAFE.sub("_", featurizer_key)
    return folder / f"{_UNSAFE.sub('_', fingerprint)}.npz"


def read_cached(fingerprint: str, featurizer_key: str, n_samples: int) -> CachedFeatures | None:
    """The cached entry, or None when absent, unreadable or not of ``n_samples`` rows."""
    path = cache_path(fingerprint, featurizer_key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            entry = CachedFeatures(data["image_embeddings"], data["caption_embeddings"],
                                   json.loads(str(data["statistics"])))
    except (OSError, ValueError, KeyError):
        return None  # a damaged entry is recomputed and overwritten
    if len(entry.image_embeddings) != n_samples or len(entry.caption_embeddings) != n_samples:
        return None
    return entry


def write_cached(fingerprint: str, featurizer_key: str, entry: CachedFeatures) -> Path:
    path = cache_path(fingerprint, featurizer_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, image_embeddings=entry.image_embeddings,
                     caption_embeddings=entry.caption_embeddings,
                     statistics=np.array(json.dumps(entry.statistics)))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
