"""Painters for simple scenes: a sky, a horizon and a few objects on it.

Same contract as :mod:`mandc.minizoo.objects`: ``(rng, size, **params) -> (image, caption)``.
"""

from __future__ import annotations

import math

import numpy as np

from .draw import NUMBER_WORDS, Canvas, count_phrase, mix, plural, scatter, shade

SIDE_WORDS = {0: "on the left", 1: "in the middle", 2: "on the right"}


def _sky(canvas, rng, top: str, bottom: str, horizon: float):
    """A vertical sky gradient down to the horizon; the ground is painted over it afterwards."""
    y, _ = canvas.grid()
    t = np.clip(y / horizon, 0, 1)
    canvas.blend(t, shade(top, rng, 10), shade(bottom, rng, 10))


def _ground(canvas, rng, horizon: float, colour, hills: bool = False):
    if not hills:
        canvas.rect(0, horizon, 1, 1, colour)
        return
    phase, freq = rng.random() * 6.3, rng.uniform(1.0, 2.0)
    points = [
        (k / 24, horizon + 0.05 * math.sin(phase + 2 * math.pi * freq * k / 24)) for k in range(25)
    ]
    canvas.polygon([(0, 1), *points, (1, 1)], colour)


def _spread(rng, count: int) -> list[float]:
    """x positions of count objects spread across the width, with a little jitter."""
    return [(k + 0.5) / count + rng.uniform(-0.3, 0.3) / count for k in range(count)]


def paint_day(rng, size):
    horizon = rng.uniform(0.62, 0.74)
    canvas = Canvas(size)
    _sky(canvas, rng, "blue", "sky blue", horizon)
    columns = (0.2, 0.5, 0.8)
    col = rng.randrange(3)
    sun_x, sun_y = columns[col] + rng.uniform(-0.04, 0.04), rng.uniform(0.16, 0.24)
    canvas.circle(sun_x, sun_y, rng.uniform(0.09, 0.12), shade("yellow", rng, 8))
    clouds = rng.choice((0, 1, 2))
    free = [x for k, x in enumerate(columns) if k != col]  # never hide the sun behind a cloud
    for x in rng.sample(free, clouds):
        canvas.ellipse(x, rng.uniform(0.3, 0.42), 0.12, 0.05, shade("white", rng, 5))
    _ground(canvas, rng, horizon, shade("green", rng))
    where = ("top left", "top centre", "top right")[col]
    cloud_words = f", {NUMBER_WORDS[clouds]} {plural('cloud', clouds)}" if clouds else ""
    caption = f"sunny day: yellow sun {where}{cloud_words}, green grass"
    return canvas.finish(), caption


def paint_night(rng, size):
    horizon = rng.uniform(0.66, 0.76)
    canvas = Canvas(size)
    _sky(canvas, rng, "black", "navy blue", horizon)
    side = rng.choice(("left", "right"))
    mx, my = (0.25 if side == "left" else 0.75) + rng.uniform(-0.05, 0.05), rng.uniform(0.2, 0.3)
    sky_at_moon = canvas.image.getpixel((int(canvas.px(mx)), int(canvas.px(my))))
    count = rng.randint(3, 7)  # stars keep clear of the moon and of each other, so all count
    stars = scatter(rng, count, 0.05, 0.95, 0.1, top=horizon - 0.12, avoid=(mx, my, 0.2))
    for x, y in stars:
        canvas.circle(x, y, 0.022, shade("white", rng, 5))
    phase = rng.choice(("full", "crescent"))
    canvas.circle(mx, my, 0.12, shade("pale yellow", rng, 6))
    if phase == "crescent":
        canvas.circle(mx + 0.06, my - 0.03, 0.11, sky_at_moon)
    _ground(canvas, rng, horizon, shade("black", rng, 8), hills=True)
    caption = f"night: {phase} moon top {side}, {NUMBER_WORDS[count]} stars, dark hills"
    return canvas.finish(), caption


def paint_sunset(rng, size):
    horizon = rng.uniform(0.6, 0.72)
    top = rng.choice(("purple", "pink"))
    canvas = Canvas(size)
    _sky(canvas, rng, top, "orange", horizon)
    sun = rng.choice(("red", "yellow"))
    canvas.circle(
        0.5 + rng.uniform(-0.2, 0.2), horizon, rng.uniform(0.16, 0.22), shade(sun, rng, 8)
    )
    ground = rng.choice(("black", "navy blue"))
    _ground(canvas, rng, horizon, shade(ground, rng, 6))
    below = "dark water" if ground == "navy blue" else "dark ground"
    caption = f"sunset: {sun} sun on the horizon, {top} sky, {below}"
    return canvas.finish(), caption


def _tree(canvas, rng, x, base, height):
    canvas.rect(
        x - height * 0.08,
        base - height * 0.45,
        x + height * 0.08,
        base + 0.01,
        shade("brown", rng, 10),
    )
    canvas.circle(
        x, base - height * 0.62, height * 0.3, mix(shade("green", rng, 12), (0, 40, 0), 0.3)
    )


def _pine(canvas, rng, x, base, height):
    canvas.rect(
        x - height * 0.06,
        base - height * 0.2,
        x + height * 0.06,
        base + 0.01,
        shade("brown", rng, 10),
    )
    green = mix(shade("green", rng, 10), (0, 30, 10), 0.45)
    for k, w in enumerate((0.34, 0.27, 0.2)):
        top = base - height * (0.45 + 0.25 * k)
        low = base - height * (0.15 + 0.25 * k)
        canvas.polygon([(x, top), (x + height * w, low), (x - height * w, low)], green)


def _scene_with(rng, size, *, sky, ground, draw_object, counts):
    """A sky, a flat ground and ``count`` objects standing on the horizon."""
    horizon = rng.uniform(0.62, 0.72)
    canvas = Canvas(size)
    _sky(canvas, rng, *sky, horizon)
    _ground(canvas, rng, horizon, shade(ground, rng, 10))
    count = rng.choice(counts)
    height = {1: 0.5, 2: 0.42, 3: 0.36, 4: 0.3}[count] * rng.uniform(0.9, 1.1)
    for x in _spread(rng, count):
        draw_object(canvas, rng, x, horizon + 0.06, height)
    return canvas, count


def _sky_colours(dusk: bool) -> tuple[str, str]:
    """Top and horizon colours of the sky: a blue day, or an orange evening if ``dusk``."""
    return ("purple", "orange") if dusk else ("blue", "sky blue")


TREE_KINDS = {"round": ("round green", _tree), "pine": ("pine", _pine)}
"""Caption words and drawer of each kind of tree."""


def paint_trees(rng, size, *, kind="round", dusk=False):
    """``kind`` trees (see ``TREE_KINDS``) on grass under a blue sky (an orange one if ``dusk``)."""
    words, drawer = TREE_KINDS[kind]
    canvas, n = _scene_with(
        rng, size, sky=_sky_colours(dusk), ground="green", draw_object=drawer,
        counts=(1, 2, 3, 4),
    )
    sky = "an orange evening sky" if dusk else "a blue sky"
    caption = f"{count_phrase(n)} {words} {plural('tree', n)} on grass under {sky}"
    return canvas.finish(), caption


def paint_winter(rng, size):
    canvas, n = _scene_with(
        rng,
        size,
        sky=("grey", "light grey"),
        ground="white",
        draw_object=_pine,
        counts=(1, 2, 3, 4),
    )
    return (
        canvas.finish(),
        f"{count_phrase(n)} pine {plural('tree', n)} on white snow under a grey sky",
    )


def paint_houses(rng, size, *, dusk=False):
    """One to three houses on grass, under a blue sky (or an orange evening sky if ``dusk``)."""
    wall, roof = rng.choice(("white", "yellow", "pink")), rng.choice(("red", "brown"))

    def house(canvas, rng, x, base, height):
        w = height * 0.42
        canvas.rect(x - w, base - height * 0.6, x + w, base, shade(wall, rng, 8))
        canvas.polygon(
            [
                (x - w * 1.2, base - height * 0.58),
                (x, base - height * 1.05),
                (x + w * 1.2, base - height * 0.58),
            ],
            shade(roof, rng, 8),
        )
        canvas.rect(x - w * 0.25, base - height * 0.3, x + w * 0.25, base, shade("brown", rng, 8))

    canvas, n = _scene_with(rng, size, sky=_sky_colours(dusk), ground="green", draw_object=house,
                            counts=(1, 2, 3))
    houses = f"{count_phrase(n)} {wall} {plural('house', n)} with {roof} {plural('roof', n)}"
    return canvas.finish(), f"{houses} on green grass" + (" at dusk" if dusk else "")


def paint_mountains(rng, size):
    horizon = rng.uniform(0.7, 0.8)
    canvas = Canvas(size)
    _sky(canvas, rng, "blue", "sky blue", horizon)
    n = rng.choice((1, 2, 3))
    rock = rng.choice(("grey", "purple"))
    for x in _spread(rng, n):
        half, peak = rng.uniform(0.28, 0.4) * (1.4 if n == 1 else 1.0), rng.uniform(0.18, 0.32)
        fill = mix(shade(rock, rng, 10), (90, 90, 100), 0.4)
        canvas.polygon([(x - half, horizon), (x, peak), (x + half, horizon)], fill)
        cap = 0.3  # the top 30 % of the slope is snow
        height = horizon - peak
        canvas.polygon(
            [
                (x - half * cap, peak + height * cap),
                (x, peak),
                (x + half * cap, peak + height * cap),
            ],
            shade("white", rng, 5),
        )
    _ground(canvas, rng, horizon, shade("green", rng, 10))
    peaks = "a snowy peak" if n == 1 else "snowy peaks"
    caption = f"{count_phrase(n)} {rock} {plural('mountain', n)} with {peaks} under a blue sky"
    return canvas.finish(), caption


def paint_sea(rng, size):
    horizon = rng.uniform(0.45, 0.55)
    canvas = Canvas(size)
    _sky(canvas, rng, "sky blue", "white", horizon)
    _ground(canvas, rng, horizon, shade("blue", rng, 10))
    for k in range(4):
        y = horizon + (k + 0.6) * (1 - horizon) / 4.5
        canvas.rect(
            rng.uniform(0.0, 0.6), y, rng.uniform(0.7, 1.0), y + 0.015, shade("sky blue", rng, 8)
        )
    col = rng.randrange(3)
    x = (0.25, 0.5, 0.75)[col] + rng.uniform(-0.04, 0.04)
    sail = rng.choice(("white", "red"))
    waterline = horizon + rng.uniform(0.12, 0.2)
    canvas.polygon(
        [
            (x - 0.2, waterline - 0.07),
            (x + 0.2, waterline - 0.07),
            (x + 0.13, waterline),
            (x - 0.13, waterline),
        ],
        shade("brown", rng, 8),
    )
    canvas.polygon(
        [(x - 0.01, waterline - 0.09), (x - 0.01, waterline - 0.42), (x - 0.18, waterline - 0.09)],
        shade(sail, rng, 6),
    )
    canvas.polygon(
        [(x + 0.01, waterline - 0.09), (x + 0.01, waterline - 0.36), (x + 0.15, waterline - 0.09)],
        shade(sail, rng, 6),
    )
    return canvas.finish(), f"a sailing boat with {sail} sails {SIDE_WORDS[col]} of a blue sea"
