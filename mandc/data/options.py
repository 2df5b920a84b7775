"""The loader's options, defined once: every command and API that loads a target takes these."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import ConfigError

DEFAULT_MAX_SAMPLES = 256
"""Examples described per dataset unless told otherwise: enough for stable means and covariance
summaries, small enough that the cost does not grow with the dataset."""

DEFAULT_MAX_UNREADABLE_SHARE = 0.1
"""The skip budget: share of sampled images that may fail to decode (or be too large)."""

DEFAULT_MAX_PIXELS = 100_000_000
"""Pixels one image may decode to (after JPEG's reduced decoding), bounding memory and
decompression bombs. A 102-megapixel JPEG decodes at 1/8 scale and passes; a 102-megapixel PNG
cannot be decoded reduced and is reported as too large. Pillow itself refuses files above about
179 MP whatever this limit says; those are reported as too large too."""


@dataclass(frozen=True)
class LoadOptions:
    """How to read a target dataset (:func:`mandc.data.load_target`).

    ``split``: split folder or Hub split; ``image_column``/``caption_column``: column names in a
    metadata file or Hub dataset (found by name when ``None``); ``max_samples`` examples are drawn
    with ``seed``; ``max_pixels``: pixels one image may decode to; ``max_unreadable_share``: share
    of sampled images that may be unreadable or too large before the dataset is refused;
    ``streaming``: stream a Hub dataset rather than download it.
    """

    split: str = "train"
    image_column: str | None = None
    caption_column: str | None = None
    max_samples: int = DEFAULT_MAX_SAMPLES
    seed: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_unreadable_share: float = DEFAULT_MAX_UNREADABLE_SHARE
    streaming: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.max_samples, int) or self.max_samples < 1:
            raise ConfigError(f"max_samples must be a positive integer, got {self.max_samples!r}")
        if not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        if not 0.0 <= self.max_unreadable_share <= 1.0:
            raise ConfigError(
                f"max_unreadable_share must be within 0..1, got {self.max_unreadable_share!r}")
        if not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ConfigError(f"max_pixels must be a positive integer, got {self.max_pixels!r}")
        if not isinstance(self.split, str) or not self.split:
            raise ConfigError(f"split must be a non-empty name, got {self.split!r}")
        for name in ("image_column", "caption_column"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{name} must be a column name, got {value!r}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
