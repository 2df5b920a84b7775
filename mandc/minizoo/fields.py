"""Painters for full-frame families: patterns and textures, gradients and colour fields.

Same contract as :mod:`mandc.minizoo.objects`: ``(rng, size, **params) -> (image, caption)``.
Periods are in output pixels so that "thin" stripes stay resolvable at every size.
"""

from __future__ import annotations

import math

import numpy as np

from .draw import COLOURS, Canvas, shade, value_noise

# -- patterns ---------------------------------------------------------------------------------

STRIPE_PERIOD = {"thin": (4.0, 5.0), "wide": (9.0, 12.0)}  # output pixels per stripe pair


def _two(rng, colours, *, contrast: float = 110.0):
    """Two different colours that are far enough apart to tell apart at 32 px."""
    while True:
        first, second = rng.sample(colours, 2)
        if math.dist(COLOURS[first], COLOURS[second]) >= contrast:
            return first, second


def paint_stripes(rng, size, *, orientation, colours):
    """Two-colour stripes; orientation 'horizontal', 'vertical' or 'diagonal'."""
    first, second = _two(rng, colours)
    width = rng.choice(("thin", "wide"))
    period = rng.uniform(*STRIPE_PERIOD[width]) / size
    canvas = Canvas(size)
    y, x = canvas.grid()
    coord = {"horizontal": y, "vertical": x, "diagonal": (x + y) / math.sqrt(2)}[orientation]
    phase = rng.random()
    band = ((coord / period + phase) % 1.0) < 0.5
    canvas.blend(band.astype(np.float32), shade(second, rng), shade(first, rng))
    return canvas.finish(), f"{width} {orientation} {first} and {second} stripes"


def paint_checkers(rng, size, *, colours):
    first, second = _two(rng, colours)
    scale = rng.choice(("small", "large"))
    cells = rng.choice((6, 8)) if scale == "small" else rng.choice((3, 4))
    canvas = Canvas(size)
    y, x = canvas.grid()
    cell = ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(np.float32)
    canvas.blend(cell, shade(first, rng), shade(second, rng))
    return canvas.finish(), f"a {first} and {second} checkerboard with {scale} squares"


def paint_polka_dots(rng, size, *, colours):
    dot, ground = _two(rng, colours)
    scale = rng.choice(("small", "large"))
    per_row = rng.choice((5, 6)) if scale == "small" else rng.choice((3, 4))
    canvas = Canvas(size, shade(ground, rng))
    fill = shade(dot, rng)
    r = 0.28 / per_row
    off_x, off_y = rng.random() / per_row, rng.random() / per_row
    for i in range(-1, per_row + 1):
        for j in range(-1, per_row + 1):
            shift = 0.5 / per_row if i % 2 else 0.0
            canvas.circle((j + 0.5) / per_row + shift + off_x, (i + 0.5) / per_row + off_y, r, fill)
    return canvas.finish(), f"{scale} {dot} polka dots on a {ground} background"


def paint_noise(rng, size, *, colours):
    """Smooth value noise between a colour and a darker or lighter one."""
    first, second = _two(rng, colours)
    grain = rng.choice(("fine", "coarse"))
    cells = size // 3 if grain == "fine" else max(3, size // 8)
    canvas = Canvas(size)
    t = value_noise(rng, canvas.side, cells)
    t = np.clip((t - 0.5) * 1.6 + 0.5, 0, 1)
    canvas.blend(t, shade(first, rng), shade(second, rng))
    return canvas.finish(), f"a {grain} {first} and {second} noise texture"


def paint_waves(rng, size, *, colours):
    first, second = _two(rng, colours)
    count = rng.choice((3, 4, 5))
    canvas = Canvas(size)
    y, x = canvas.grid()
    amp, freq, phase = rng.uniform(0.03, 0.06), rng.choice((1.5, 2.0, 2.5)), rng.random() * 6.3
    wave = y + amp * np.sin(2 * math.pi * freq * x + phase)
    band = ((wave * count) % 1.0 < 0.5).astype(np.float32)
    canvas.blend(band, shade(second, rng), shade(first, rng))
    return canvas.finish(), f"wavy horizontal {first} and {second} bands"


def paint_bricks(rng, size, *, brick_colours, mortar_colours):
    brick, mortar = rng.choice(brick_colours), rng.choice(mortar_colours)
    rows = rng.choice((4, 5, 6))
    canvas = Canvas(size, shade(mortar, rng, 8))
    h = 1 / rows
    gap = max(1.0 / size, h * 0.12)
    off = rng.random()
    for i in range(rows):
        shift = (off + (0.5 if i % 2 else 0.0)) * 2 * h
        for j in range(-2, rows // 2 + 2):
            x0 = j * 2 * h + shift - 2 * h
            canvas.rect(
                x0 + gap / 2,
                i * h + gap / 2,
                x0 + 2 * h - gap / 2,
                (i + 1) * h - gap / 2,
                shade(brick, rng, 20),
            )
    return canvas.finish(), f"a wall of {brick} bricks with {mortar} mortar"


# -- gradients and colour fields --------------------------------------------------------------

DIRECTIONS = {
    "horizontal": [("left", "right")],
    "vertical": [("top", "bottom")],
    "diagonal": [("top left", "bottom right"), ("bottom left", "top right")],
}


RAMPS = {  # start corner or side -> t in [0, 1] growing away from it
    "left": lambda y, x: x,
    "right": lambda y, x: 1 - x,
    "top": lambda y, x: y,
    "bottom": lambda y, x: 1 - y,
    "top left": lambda y, x: (x + y) / 2,
    "bottom right": lambda y, x: 1 - (x + y) / 2,
    "bottom left": lambda y, x: (x + 1 - y) / 2,
    "top right": lambda y, x: 1 - (x + 1 - y) / 2,
}


def paint_linear_gradient(rng, size, *, orientation, colours):
    """A linear blend between two colours; the caption says which colour is where."""
    first, second = _two(rng, colours)
    start, end = rng.choice(DIRECTIONS[orientation])
    if rng.random() < 0.5 and orientation != "diagonal":
        start, end = end, start
    canvas = Canvas(size)
    canvas.blend(RAMPS[start](*canvas.grid()), shade(first, rng), shade(second, rng))
    caption = f"{orientation} gradient from {first} {start} to {second} {end}"
    return canvas.finish(), caption


def paint_radial_gradient(rng, size, *, colours):
    inner, outer = _two(rng, colours)
    canvas = Canvas(size)
    y, x = canvas.grid()
    cx, cy = 0.5 + rng.uniform(-0.08, 0.08), 0.5 + rng.uniform(-0.08, 0.08)
    t = np.clip(np.hypot(x - cx, y - cy) / 0.62, 0, 1)
    canvas.blend(t, shade(inner, rng), shade(outer, rng))
    return canvas.finish(), f"radial gradient from {inner} centre to {outer} edges"


def paint_solid(rng, size, *, colours):
    """One flat colour; a faint grain (±2 levels) keeps every image distinct."""
    hue = rng.choice(colours)
    canvas = Canvas(size)
    gen = np.random.default_rng(rng.getrandbits(63))
    base = np.asarray(shade(hue, rng), dtype=np.float32)
    grain = gen.integers(-2, 3, (size, size, 1))
    canvas.set_pixels(base + grain)
    return canvas.finish(), f"a flat {hue} colour field"


def paint_halves(rng, size, *, colours):
    first, second = _two(rng, colours)
    split = rng.choice(("left", "top"))
    at = rng.uniform(0.42, 0.58)
    canvas = Canvas(size, shade(second, rng))
    if split == "left":
        canvas.rect(0, 0, at, 1, shade(first, rng))
        caption = f"two colour halves: {first} left, {second} right"
    else:
        canvas.rect(0, 0, 1, at, shade(first, rng))
        caption = f"two colour halves: {first} top, {second} bottom"
    return canvas.finish(), caption


def paint_quadrants(rng, size, *, colours):
    hues = rng.sample(colours, 4)
    cx, cy = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
    canvas = Canvas(size)
    boxes = [(0, 0, cx, cy), (cx, 0, 1, cy), (0, cy, cx, 1), (cx, cy, 1, 1)]
    for hue, box in zip(hues, boxes):
        canvas.rect(*box, shade(hue, rng))
    a, b, c, d = hues
    caption = f"four colour blocks: {a} and {b} over {c} and {d}"
    return canvas.finish(), caption
