"""Painters for the object families: shapes, grids (arrangements) and glyphs.

A painter takes ``(rng, size, **params)`` and returns ``(image, caption)``; the caption states
what was drawn (object, colour, count, size, position or layout, background).
"""

from __future__ import annotations

import random

from .draw import (
    NUMBER_WORDS,
    POSITION_WORDS,
    Canvas,
    count_phrase,
    plural,
    scatter,
    shade,
)

SIZE_RADIUS = {"small": 0.09, "medium": 0.14, "large": 0.22}
MARGIN = 0.04


def _place_single(rng: random.Random, r: float) -> tuple[float, float, str]:
    col, row = rng.randrange(3), rng.randrange(3)
    lo, hi = r + MARGIN, 1 - r - MARGIN
    cx = min(hi, max(lo, (0.2, 0.5, 0.8)[col] + rng.uniform(-0.05, 0.05)))
    cy = min(hi, max(lo, (0.2, 0.5, 0.8)[row] + rng.uniform(-0.05, 0.05)))
    return cx, cy, POSITION_WORDS[(col, row)]


def _place_many(rng: random.Random, count: int, r: float) -> tuple[list[tuple[float, float]], str]:
    layout = rng.choice(("in a row", "in a column", "scattered"))
    if layout != "scattered":
        along = [(k + 0.5) / count for k in range(count)]
        across = rng.uniform(0.3, 0.7)
        jitter = rng.uniform(-0.03, 0.03)
        pairs = [(a + jitter, across) for a in along]
        return (
            [(a, b) for a, b in pairs] if layout == "in a row" else [(b, a) for a, b in pairs]
        ), layout
    return scatter(rng, count, r + MARGIN, 1 - r - MARGIN, 2.2 * r), "scattered"


def paint_objects(rng, size, *, shapes, colours, background, counts=(1, 2, 3)):
    """One to three objects of one kind and colour on a plain background."""
    kind, colour, count = rng.choice(shapes), rng.choice(colours), rng.choice(counts)
    size_word = rng.choice(("small", "medium", "large") if count == 1 else ("small", "medium"))
    r = SIZE_RADIUS[size_word] * rng.uniform(0.92, 1.08)
    canvas = Canvas(size, shade(background, rng, 4))
    if count == 1:
        cx, cy, where = _place_single(rng, r)
        canvas.shape(kind, cx, cy, r, shade(colour, rng))
    else:
        centres, where = _place_many(rng, count, r)
        for cx, cy in centres:
            canvas.shape(kind, cx, cy, r, shade(colour, rng))
    noun = plural(kind, count)
    caption = f"{count_phrase(count)} {size_word} {colour} {noun} {where} on {background}"
    return canvas.finish(), caption


def paint_mixed_objects(rng, size, *, shapes, colours, background):
    """Two or three different objects in different colours, side by side in a row."""
    count = rng.choice((2, 3))
    kinds = rng.sample(shapes, count)
    hues = rng.sample(colours, count)
    canvas = Canvas(size, shade(background, rng, 4))
    r = SIZE_RADIUS["small"] * rng.uniform(1.0, 1.3)
    cy = rng.uniform(0.3, 0.7)
    for k, (kind, hue) in enumerate(zip(kinds, hues)):
        canvas.shape(kind, (k + 0.5) / count, cy, r, shade(hue, rng))
    parts = [f"a {hue} {kind}" for kind, hue in zip(kinds, hues)]
    listed = " and ".join(parts) if count == 2 else f"{parts[0]}, {parts[1]} and {parts[2]}"
    return canvas.finish(), f"{listed} in a row"


# -- grids and arrangements -----------------------------------------------------------------


def paint_grid(rng, size, *, shapes, colours, background, dims=(2, 3, 4), alternate=False):
    """An n x n grid of identical objects, or of two alternating colours."""
    n, kind = rng.choice(dims), rng.choice(shapes)
    first, second = rng.sample(colours, 2)
    canvas = Canvas(size, shade(background, rng, 4))
    r = 0.36 / n
    for i in range(n):
        for j in range(n):
            hue = second if alternate and (i + j) % 2 else first
            canvas.shape(kind, (j + 0.5) / n, (i + 0.5) / n, r, shade(hue, rng, 10))
    dim = f"{NUMBER_WORDS[n]} by {NUMBER_WORDS[n]}"
    if alternate:
        caption = f"a {dim} grid of {kind}s alternating {first} and {second}"
    else:
        caption = f"a {dim} grid of {first} {kind}s on {background}"
    return canvas.finish(), caption


def paint_mixed_grid(rng, size, *, shapes, colours, background, dims=(2, 3)):
    """An n x n grid of random shapes, all in one colour."""
    n, hue = rng.choice(dims), rng.choice(colours)
    canvas = Canvas(size, shade(background, rng, 4))
    for i in range(n):
        for j in range(n):
            canvas.shape(
                rng.choice(shapes), (j + 0.5) / n, (i + 0.5) / n, 0.36 / n, shade(hue, rng, 10)
            )
    dim = f"{NUMBER_WORDS[n]} by {NUMBER_WORDS[n]}"
    return canvas.finish(), f"a {dim} grid of mixed {hue} shapes on {background}"


def paint_line(rng, size, *, shapes, colours, background, vertical=False, counts=(2, 3, 4, 5)):
    """A row (or column) of 2-5 identical objects spanning the image."""
    n, kind, hue = rng.choice(counts), rng.choice(shapes), rng.choice(colours)
    canvas = Canvas(size, shade(background, rng, 4))
    r = min(0.4 / n, 0.14)
    across = rng.uniform(0.3, 0.7)
    for k in range(n):
        along = (k + 0.5) / n
        cx, cy = (across, along) if vertical else (along, across)
        canvas.shape(kind, cx, cy, r, shade(hue, rng, 10))
    line = "column" if vertical else "row"
    caption = f"a {line} of {NUMBER_WORDS[n]} {hue} {kind}s on {background}"
    return canvas.finish(), caption


PIPS = {
    1: [(1, 1)],
    2: [(0, 0), (2, 2)],
    3: [(0, 0), (1, 1), (2, 2)],
    4: [(0, 0), (2, 0), (0, 2), (2, 2)],
    5: [(0, 0), (2, 0), (1, 1), (0, 2), (2, 2)],
    6: [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1), (2, 2)],
}


def paint_die(rng, size, *, backgrounds):
    """A white die face showing one to six black pips on a coloured table."""
    value, table = rng.randint(1, 6), rng.choice(backgrounds)
    canvas = Canvas(size, shade(table, rng, 10))
    half = rng.uniform(0.33, 0.4)
    cx, cy = 0.5 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.05, 0.05)
    canvas.draw.rounded_rectangle(
        [canvas.px(cx - half), canvas.px(cy - half), canvas.px(cx + half), canvas.px(cy + half)],
        radius=canvas.px(half * 0.25),
        fill=shade("white", rng, 6),
    )
    step = half * 0.55
    for col, row in PIPS[value]:
        canvas.circle(
            cx + (col - 1) * step, cy + (row - 1) * step, half * 0.16, shade("black", rng, 6)
        )
    pips = f"{NUMBER_WORDS[value]} black {plural('pip', value)}"
    caption = f"a white die showing {pips} on {table}"
    return canvas.finish(), caption


def paint_counting(rng, size, *, colours, background, counts=range(1, 10)):
    """N scattered small dots of one colour, to count."""
    n, hue = rng.choice(list(counts)), rng.choice(colours)
    canvas = Canvas(size, shade(background, rng, 4))
    for cx, cy in scatter(rng, n, 0.1, 0.9, 0.2):
        canvas.circle(cx, cy, 0.06, shade(hue, rng, 10))
    noun = plural("dot", n)
    return canvas.finish(), f"{count_phrase(n)} {hue} {noun} scattered on {background}"


# -- glyphs -----------------------------------------------------------------------------------

DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q: too close to 1, 0 at 32 px


def paint_glyph(rng, size, *, alphabet, kind, colours, background):
    """One digit or letter in Pillow's bundled font, with size and coarse position."""
    char, hue = rng.choice(alphabet), rng.choice(colours)
    size_word = rng.choice(("small", "large"))
    height = 0.34 if size_word == "small" else 0.62
    canvas = Canvas(size, shade(background, rng, 4))
    if size_word == "large":
        cx, cy, where = (
            0.5 + rng.uniform(-0.04, 0.04),
            0.5 + rng.uniform(-0.04, 0.04),
            "in the centre",
        )
    else:
        cx, cy, where = _place_single(rng, 0.2)
    canvas.text(cx, cy, height, char, shade(hue, rng, 10))
    caption = f"a {size_word} {hue} {kind} {char} {where} on {background}"
    return canvas.finish(), caption


def paint_number(rng, size, *, colours, background):
    """A two-digit number filling the middle of the image."""
    value, hue = rng.randint(10, 99), rng.choice(colours)
    canvas = Canvas(size, shade(background, rng, 4))
    canvas.text(
        0.5 + rng.uniform(-0.03, 0.03),
        0.5 + rng.uniform(-0.06, 0.06),
        0.45,
        str(value),
        shade(hue, rng, 10),
    )
    return canvas.finish(), f"the number {value} in {hue} on {background}"


# segments a..g of a seven-segment display, as (x0, y0, x1, y1) in a unit cell 0..1 x 0..2
SEGMENTS = {
    "a": (0.1, 0.0, 0.9, 0.16),
    "b": (0.84, 0.08, 1.0, 0.95),
    "c": (0.84, 1.05, 1.0, 1.92),
    "d": (0.1, 1.84, 0.9, 2.0),
    "e": (0.0, 1.05, 0.16, 1.92),
    "f": (0.0, 0.08, 0.16, 0.95),
    "g": (0.1, 0.92, 0.9, 1.08),
}
SEGMENT_DIGITS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abged",
    "3": "abgcd",
    "4": "fgbc",
    "5": "afgcd",
    "6": "afgedc",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcfgd",
}


def paint_segment_digit(rng, size, *, colours, background):
    """A digit in the style of a seven-segment display, drawn as bars."""
    digit, hue = rng.choice(DIGITS), rng.choice(colours)
    canvas = Canvas(size, shade(background, rng, 6))
    unit = rng.uniform(0.3, 0.36)
    x0 = 0.5 - unit / 2 + rng.uniform(-0.08, 0.08)
    y0 = 0.5 - unit + rng.uniform(-0.04, 0.04)
    fill = shade(hue, rng, 10)
    for seg in SEGMENT_DIGITS[digit]:
        a, b, c, d = SEGMENTS[seg]
        canvas.rect(x0 + a * unit, y0 + b * unit, x0 + c * unit, y0 + d * unit, fill)
    return (
        canvas.finish(),
        f"the digit {digit} in {hue} seven-segment style on {background}",
    )


def paint_arrow(rng, size, *, colours, background):
    """An arrow pointing in one of four directions."""
    direction, hue = rng.choice(("left", "right", "up", "down")), rng.choice(colours)
    size_word = rng.choice(("small", "large"))
    r = 0.2 if size_word == "small" else 0.36
    canvas = Canvas(size, shade(background, rng, 4))
    canvas.arrow(
        0.5 + rng.uniform(-0.06, 0.06),
        0.5 + rng.uniform(-0.06, 0.06),
        r,
        direction,
        shade(hue, rng, 10),
    )
    return (
        canvas.finish(),
        f"a {size_word} {hue} arrow pointing {direction} on {background}",
    )
