"""Drawing primitives for the procedural domains.

Everything is drawn at ``SUPERSAMPLE`` times the output size and box-downsampled at the end, so
edges are antialiased and shapes stay legible at 32 px. Coordinates are fractions of the canvas
(0..1), which keeps every painter independent of the output resolution.
"""

from __future__ import annotations

import functools
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 20),
    "yellow": (245, 210, 25),
    "green": (35, 155, 55),
    "teal": (20, 140, 140),
    "blue": (35, 75, 215),
    "purple": (125, 45, 175),
    "pink": (240, 115, 170),
    "brown": (125, 75, 35),
    "black": (15, 15, 15),
    "white": (250, 250, 250),
    "grey": (128, 128, 128),
    "light grey": (210, 210, 210),
    "navy blue": (18, 28, 85),
    "pale yellow": (250, 240, 190),
    "sky blue": (120, 185, 240),
}

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# 3 x 3 coarse positions: (column, row) -> words used in captions
POSITION_WORDS = {
    (0, 0): "at the top left",
    (1, 0): "at the top",
    (2, 0): "at the top right",
    (0, 1): "on the left",
    (1, 1): "in the centre",
    (2, 1): "on the right",
    (0, 2): "at the bottom left",
    (1, 2): "at the bottom",
    (2, 2): "at the bottom right",
}


def jitter(rgb: tuple[int, int, int], rng: random.Random, amount: int = 14) -> tuple[int, int, int]:
    """A nearby shade, so no two images share exact colours while the colour word stays true."""
    span = 2 * amount + 1  # rng.random() is several times cheaper than rng.randint
    return tuple(min(255, max(0, c + int(rng.random() * span) - amount)) for c in rgb)


def shade(name: str, rng: random.Random, amount: int = 14) -> tuple[int, int, int]:
    return jitter(COLOURS[name], rng, amount)


def mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def plural(noun: str, count: int) -> str:
    if count == 1:
        return noun
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def count_phrase(count: int) -> str:
    return "a" if count == 1 else NUMBER_WORDS[count]


def scatter(rng: random.Random, count: int, lo: float, hi: float, spacing: float, *,
            top: float | None = None, avoid: tuple[float, float, float] | None = None):
    """count points in [lo, hi] x [lo, top or hi], pairwise further apart than ``spacing``.

    Rejection sampling that starts over after a run of misses, so it cannot get stuck in a
    packing with no room left; ``avoid`` = (x, y, radius) keeps points clear of one disc.
    """
    bottom = hi if top is None else top
    points: list[tuple[float, float]] = []
    misses = 0
    while len(points) < count:
        x, y = rng.uniform(lo, hi), rng.uniform(lo, bottom)
        clear = avoid is None or (x - avoid[0]) ** 2 + (y - avoid[1]) ** 2 > avoid[2] ** 2
        if clear and all((x - a) ** 2 + (y - b) ** 2 > spacing**2 for a, b in points):
            points.append((x, y))
            misses = 0
        else:
            misses += 1
            if misses > 200:
                points, misses = [], 0
    return points


class Canvas:
    """An RGB image at SUPERSAMPLE x the output size, with fraction-based drawing helpers."""

    def __init__(self, size: int, background=(255, 255, 255)):
        self.size = size
        self.side = size * SUPERSAMPLE
        self.image = Image.new("RGB", (self.side, self.side), tuple(background))
        self.draw = ImageDraw.Draw(self.image)

    def px(self, value: float) -> float:
        return value * self.side

    def set_pixels(self, array: np.ndarray) -> None:
        """Replace the canvas with an array of 0..255 RGB values, at canvas or output size."""
        image = Image.fromarray(np.clip(array + 0.5, 0, 255).astype(np.uint8), "RGB")
        if image.size != (self.side, self.side):
            image = image.resize((self.side, self.side), Image.Resampling.NEAREST)
        self.image = image
        self.draw = ImageDraw.Draw(self.image)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates as fractions, (y, x) each of shape (side, side); read-only."""
        return _grid(self.side)

    def blend(self, t: np.ndarray, a, b) -> None:
        """Fill the canvas with colour a + (b - a) * t, t given at canvas resolution.

        Blending is linear in t, so t is box-averaged to the output size first and the result
        upscaled: after ``finish`` it equals supersampled drawing, at a sixteenth of the cost.
        """
        k = SUPERSAMPLE
        small = t.reshape(self.size, k, self.size, k).mean(axis=(1, 3))
        self.set_pixels(colour_map(small, a, b))

    def finish(self) -> Image.Image:
        return self.image.reduce(SUPERSAMPLE)

    # -- shapes: (cx, cy) centre and r half-extent, all fractions of the canvas ----------------
    def ellipse(self, cx, cy, rx, ry, fill, outline=None, width=0):
        box = [self.px(cx - rx), self.px(cy - ry), self.px(cx + rx), self.px(cy + ry)]
        self.draw.ellipse(box, fill=fill, outline=outline, width=int(self.px(width)))

    def circle(self, cx, cy, r, fill):
        self.ellipse(cx, cy, r, r, fill)

    def ring(self, cx, cy, r, fill):
        self.ellipse(cx, cy, r, r, None, outline=fill, width=max(r * 0.35, 0.03))

    def rect(self, x0, y0, x1, y1, fill):
        left, top = self.px(x0), self.px(y0)  # PIL's box is inclusive: stop one pixel short
        right, bottom = max(left, self.px(x1) - 1), max(top, self.px(y1) - 1)
        self.draw.rectangle([left, top, right, bottom], fill=fill)

    def square(self, cx, cy, r, fill):
        self.rect(cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85, fill)

    def polygon(self, points, fill):
        self.draw.polygon([(self.px(x), self.px(y)) for x, y in points], fill=fill)

    def regular(self, cx, cy, r, sides, fill, rotation=0.0, inner=None):
        """Regular polygon, or a star when ``inner`` (ratio of the inner radius) is given."""
        steps = sides * 2 if inner else sides
        points = []
        for k in range(steps):
            radius = r * (inner if inner and k % 2 else 1.0)
            angle = rotation - math.pi / 2 + 2 * math.pi * k / steps
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        self.polygon(points, fill)

    def triangle(self, cx, cy, r, fill):
        self.regular(cx, cy + r * 0.15, r * 1.1, 3, fill)

    def diamond(self, cx, cy, r, fill):
        self.polygon([(cx, cy - r), (cx + r * 0.7, cy), (cx, cy + r), (cx - r * 0.7, cy)], fill)

    def star(self, cx, cy, r, fill):
        self.regular(cx, cy + r * 0.05, r * 1.1, 5, fill, inner=0.45)

    def shape(self, kind: str, cx, cy, r, fill):
        getattr(self, kind)(cx, cy, r, fill)

    def arrow(self, cx, cy, r, direction: str, fill):
        """An arrow of half-length r pointing 'right', 'left', 'up' or 'down'."""
        body = [(-1, -0.22), (0.1, -0.22), (0.1, -0.6), (1, 0), (0.1, 0.6), (0.1, 0.22), (-1, 0.22)]
        turn = {"right": 0.0, "down": math.pi / 2, "left": math.pi, "up": -math.pi / 2}[direction]
        c, s = math.cos(turn), math.sin(turn)
        self.polygon([(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in body], fill)

    def text(self, cx, cy, height, string: str, fill):
        """A string centred at (cx, cy), about ``height`` tall, in Pillow's bundled font."""
        font = _font(int(self.px(height) * 1.35))
        stroke = max(1, int(self.px(height) * 0.05))
        self.draw.text(
            (self.px(cx), self.px(cy)),
            string,
            fill=fill,
            font=font,
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=fill,
        )


@functools.lru_cache(maxsize=8)
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(side, dtype=np.float32) + 0.5) / side
    y, x = np.meshgrid(axis, axis, indexing="ij")
    y.flags.writeable = x.flags.writeable = False
    return y, x


@functools.lru_cache(maxsize=64)
def _font(pixels: int) -> ImageFont.ImageFont:
    # Pillow ships its own font (no download): FreeType when available, else a bitmap font
    return ImageFont.load_default(size=max(pixels, 8))


def value_noise(rng: random.Random, side: int, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a cells x cells random grid upsampled bicubically to side x side."""
    gen = np.random.default_rng(rng.getrandbits(63))
    coarse = (gen.random((cells, cells)) * 255).astype(np.uint8)
    smooth = Image.fromarray(coarse, "L").resize((side, side), Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float32) / 255.0


def colour_map(t: np.ndarray, a, b) -> np.ndarray:
    """Blend two RGB colours by t (any shape) into an array of shape t.shape + (3,)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    return a + (b - a) * t[..., None]
