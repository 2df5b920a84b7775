"""Seeded sampling and the bookkeeping shared by every loader (what was read, what was left out)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .images import MAX_SIDE, ImageTooLargeError, UnreadableImageError, decode_image, prepare_image
from .imageset import ImageCaptionSet
from .options import LoadOptions
from .report import NOT_SAMPLED, READ, LoadReport


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
    """Gathers decoded examples, records every outcome in a :class:`LoadReport` and applies the
    final checks."""

    name: str
    source: str
    options: LoadOptions
    images: list[Image.Image] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: LoadReport = field(default_factory=LoadReport)

    def add(self, image_data: bytes | str | Image.Image, caption: str, file: str) -> None:
        """Decode one sampled example; an unreadable or too large image is reported."""
        options = self.options
        try:
            if isinstance(image_data, Image.Image):
                image, size = prepare_image(image_data, file, max_pixels=options.max_pixels)
            else:
                image, size = decode_image(image_data, file, max_pixels=options.max_pixels)
        except ImageTooLargeError as error:
            self.report.mark(file, "too_large", _detail(error, file))
            return
        except UnreadableImageError as error:
            self.report.mark(file, "unreadable", _detail(error, file))
            return
        self.report.mark(file, READ)
        self.images.append(image)
        self.captions.append(caption)
        self.sizes.append(size)

    def leave_out(self, file: str, reason: str, detail: str | None = None) -> None:
        """Record an example that is not read, with its reason (a key of ``REASONS``)."""
        self.report.mark(file, reason, detail)

    def not_sampled(self, file: str) -> None:
        self.report.mark(file, NOT_SAMPLED)

    def finish(self, total: int | None, *, where: str) -> ImageCaptionSet:
        """Refuse per :meth:`LoadReport.check`; build the set with its report and notes."""
        self.report.check(where, max_unreadable_share=self.options.max_unreadable_share)
        downscaled = sum(image.size != size for image, size in zip(self.images, self.sizes))
        if downscaled:
            self.notes.append(
                f"downscaled {downscaled} image(s) to at most {MAX_SIDE} px on the longer side; "
                "their sizes on disk are in original_sizes")
        skipped = sum(self.report.counts()[r] for r in ("unreadable", "too_large"))
        return ImageCaptionSet(
            name=self.name, source=self.source, images=self.images, captions=self.captions,
            total=total, skipped=skipped, original_sizes=self.sizes,
            notes=[*self.report.lines(), *self.notes], report=self.report)


def _detail(error: Exception, file: str) -> str:
    """The error's words without the file name the report already shows."""
    return str(error).removeprefix(f"{file}: ")
