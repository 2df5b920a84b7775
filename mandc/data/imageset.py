"""The sampled image–caption set every loader returns, and its content fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from PIL import Image

from .report import LoadReport

FINGERPRINT_VERSION = "1"
"""Bumped when what the fingerprint covers changes, so old feature caches stop matching."""


@dataclass
class ImageCaptionSet:
    """A seeded sample of a target dataset: RGB images and their captions.

    Local sets and non-streamed Hub sets keep dataset order; a streamed Hub sample keeps the
    (seeded) order of the shuffled stream.

    ``total`` is the number of examples before sampling when the source says so (``None`` for a
    Hub stream of unknown length); ``skipped`` counts sampled files that could not be decoded.
    ``report`` says what happened to every file the loader saw (read, or left out and why);
    ``notes`` puts it, and anything else worth knowing, in sentences.
    Images larger than the loader's side limit are downscaled to bound memory; their size on
    disk is kept in ``original_sizes`` (``(width, height)`` per image) for resolution statistics.
    """

    name: str
    source: str
    images: list[Image.Image]
    captions: list[str]
    total: int | None
    skipped: int
    original_sizes: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: LoadReport | None = None

    def __post_init__(self) -> None:
        if len(self.images) != len(self.captions):
            raise ValueError(
                f"{len(self.images)} images but {len(self.captions)} captions in {self.name!r}"
            )
        if not self.original_sizes:
            self.original_sizes = [image.size for image in self.images]
        if len(self.original_sizes) != len(self.images):
            raise ValueError(f"{len(self.original_sizes)} original sizes for "
                             f"{len(self.images)} images in {self.name!r}")

    def __len__(self) -> int:
        return len(self.images)

    def fingerprint(self) -> str:
        """SHA-256 of the sampled pixels and captions, in order; the key of the feature cache.

        Each image contributes its mode, size and raw bytes, each caption its UTF-8 bytes, all
        length-prefixed so that no two different samples hash the same byte stream. Computed on
        each call (not cached), so it always reflects the current content.
        """
        digest = hashlib.sha256(f"mandc-imageset-v{FINGERPRINT_VERSION}".encode())
        for image, caption in zip(self.images, self.captions):
            header = f"{image.mode}:{image.size[0]}x{image.size[1]}".encode()
            for part in (header, image.tobytes(), caption.encode("utf-8")):
                digest.update(len(part).to_bytes(8, "little"))
                digest.update(part)
        return digest.hexdigest()
