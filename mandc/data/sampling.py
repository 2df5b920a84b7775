"""Seeded sampling and the bookkeeping shared by every loader (unreadable files, empty captions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..errors import ConfigError, DatasetLoadError, ValidationError
from .images import MAX_SIDE, UnreadableImageError, decode_image, prepare_image
from .imageset import ImageCaptionSet


@dataclass(frozen=True)
class SampleOptions:
    """How to read a dataset; validated once at :func:`mandc.data.load_target`."""

    split: str
    image_column: str | None
    caption_column: str | None
    max_samples: int
    seed: int
    max_unreadable_share: float
    max_pixels: int

    def __post_init__(self) -> None:
        if not isinstance(self.max_samples, int) or self.max_samples < 1:
            raise ConfigError(f"max_samples must be a positive integer, got {self.max_samples!r}")
        if not 0.0 <= self.max_unreadable_share <= 1.0:
            raise ConfigError(
                f"max_unreadable_share must be within 0..1, got {self.max_unreadable_share!r}")
        if not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ConfigError(f"max_pixels must be a positive integer, got {self.max_pixels!r}")
        if not isinstance(self.split, str) or not self.split:
            raise ConfigError(f"split must be a non-empty name, got {self.split!r}")


def sample_indices(total: int, max_samples: int, seed: int) -> list[int]:
    """At most ``max_samples`` distinct indices of ``range(total)``, seeded, in ascending order.

    Ascending order keeps the sample in dataset order, so the fingerprint depends only on which
    examples were drawn.
    """
    if total <= max_samples:
        return list(range(total))
    chosen = np.random.default_rng(seed).choice(total, size=max_samples, replace=False)
    return sorted(int(i) for i in chosen)


@dataclass
class SampleCollector:
    """Gathers decoded examples, counts the unreadable ones and applies the final checks."""

    name: str
    source: str
    options: SampleOptions
    images: list[Image.Image] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, image_data: bytes | str | Image.Image, caption: str, file: str) -> None:
        """Decode one example; an unreadable image is counted, a bomb raises."""
        options = self.options
        try:
            if isinstance(image_data, Image.Image):
                image, size = prepare_image(image_data, file, max_pixels=options.max_pixels)
            else:
                image, size = decode_image(image_data, file, max_pixels=options.max_pixels)
        except UnreadableImageError as error:
            self.unreadable.append(str(error))
            return
        self.images.append(image)
        self.captions.append(caption)
        self.sizes.append(size)

    def skip(self, reason: str) -> None:
        """Count an example that could not even be fetched (missing file...)."""
        self.unreadable.append(reason)

    def finish(self, total: int | None, *, caption_where: str) -> ImageCaptionSet:
        """Refuse too many unreadable files or captions empty everywhere; build the set."""
        attempted = len(self.images) + len(self.unreadable)
        first = "; ".join(self.unreadable[:3])
        if attempted == 0:
            raise ValidationError("no images to sample", file=self.name)
        if not self.images:
            raise DatasetLoadError(
                f"{self.name}: none of the {attempted} sampled images could be read ({first})")
        share = len(self.unreadable) / attempted
        if share > self.options.max_unreadable_share:
            raise DatasetLoadError(
                f"{self.name}: {len(self.unreadable)} of {attempted} sampled images ({share:.0%}) "
                f"could not be read, more than the allowed {self.options.max_unreadable_share:.0%}"
                f" (max_unreadable_share); first: {first}")
        if not any(caption.strip() for caption in self.captions):
            raise ValidationError(
                f"every sampled caption is empty ({len(self.captions)} examples)",
                file=caption_where)
        if self.unreadable:
            self.notes.append(f"skipped {len(self.unreadable)} unreadable image(s); first: {first}")
        downscaled = sum(image.size != size for image, size in zip(self.images, self.sizes))
        if downscaled:
            self.notes.append(
                f"downscaled {downscaled} image(s) to at most {MAX_SIDE} px on the longer side; "
                "their sizes on disk are in original_sizes")
        return ImageCaptionSet(
            name=self.name, source=self.source, images=self.images, captions=self.captions,
            total=total, skipped=len(self.unreadable), original_sizes=self.sizes,
            notes=self.notes)
