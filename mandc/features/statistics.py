"""Cheap, encoder-free statistics of a sample: caption length and vocabulary, image size and colour.

Colourfulness is Hasler & Süsstrunk's metric ("Measuring colourfulness in natural images",
SPIE 2003): with ``rg = R - G`` and ``yb = (R + G) / 2 - B``,
``C = sqrt(std(rg)² + std(yb)²) + 0.3 * sqrt(mean(rg)² + mean(yb)²)`` (0 for gray images,
roughly 0–110 on 8-bit values, above ~60 reads as "highly colourful").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from PIL import Image

WORD = re.compile(r"\w+", re.UNICODE)
COLOUR_SIDE = 64
"""Images are shrunk to at most this side before measuring colour: the metric is global."""


def caption_statistics(captions: Sequence[str]) -> dict[str, float]:
    """Mean length in words, vocabulary size and type/token ratio (case-folded ``\\w+`` words).

    The type/token ratio depends on the sample size; compare it between samples of equal size.
    """
    words = [WORD.findall(caption.casefold()) for caption in captions]
    tokens = sum(len(w) for w in words)
    vocabulary = len({word for caption in words for word in caption})
    return {
        "caption_mean_words": float(np.mean([len(w) for w in words])) if words else 0.0,
        "caption_vocabulary": float(vocabulary),
        "caption_type_token_ratio": vocabulary / tokens if tokens else 0.0,
    }


def colourfulness(image: Image.Image) -> float:
    """Hasler–Süsstrunk colourfulness of one image (on a copy at most ``COLOUR_SIDE`` wide)."""
    small = image.convert("RGB")
    if max(small.size) > COLOUR_SIDE:
        scale = COLOUR_SIDE / max(small.size)
        small = small.resize((max(1, round(small.width * scale)),
                              max(1, round(small.height * scale))), Image.BILINEAR,
                             reducing_gap=3.0)
    rgb = np.asarray(small, dtype=np.float64)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = np.hypot(rg.std(), yb.std())
    offset = np.hypot(rg.mean(), yb.mean())
    return float(spread + 0.3 * offset)


def image_statistics(images: Sequence[Image.Image],
                     sizes: Sequence[tuple[int, int]] | None = None) -> dict[str, float]:
    """Mean width, height, aspect ratio (width / height) and colourfulness.

    ``sizes``: the images' sizes as stored (a loader may have downscaled huge images); defaults
    to the images' own sizes.
    """
    sizes = list(sizes) if sizes else [image.size for image in images]
    widths = np.array([w for w, _ in sizes], dtype=float)
    heights = np.array([h for _, h in sizes], dtype=float)
    return {
        "image_mean_width": float(widths.mean()),
        "image_mean_height": float(heights.mean()),
        "image_mean_aspect": float((widths / heights).mean()),
        "image_colourfulness": float(np.mean([colourfulness(image) for image in images])),
    }
