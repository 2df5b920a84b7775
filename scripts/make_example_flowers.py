"""Draw the example dataset that ships with M&C: 20 small flower images with captions.

    python scripts/make_example_flowers.py [--out mandc/examples/flowers] [--count 20] [--seed 0]

``mandc recommend --example`` ranks the models of the default graph for this folder, so the
Quickstart shows the product's job — a new image–caption dataset in, ranked models out — without
a download. Flowers on a pale background are in none of the mini zoo's 72 domains (shapes,
patterns, glyphs, gradients, scenes, grids), so the example is a cold-start target the graph has
never seen. The images are drawn with Pillow from a seeded generator and written as PNG files
with an ``imagefolder`` ``metadata.jsonl`` (``file_name``, ``text``); rerunning with the same
arguments gives the same files.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 64
PETALS = {"red": (214, 40, 40), "pink": (240, 128, 170), "yellow": (250, 210, 40),
          "purple": (140, 70, 190), "white": (245, 245, 240), "orange": (245, 140, 30)}
CENTRES = {"yellow": (250, 200, 30), "brown": (110, 70, 30)}
GROUNDS = {"pale blue": (205, 225, 245), "cream": (245, 238, 215), "pale green": (215, 238, 205)}
STEM = (60, 140, 60)
NUMBERS = {5: "five", 6: "six", 7: "seven", 8: "eight"}


def draw_flower(rng: random.Random) -> tuple[Image.Image, str]:
    """One flower: a stem with a leaf, a ring of oval petals and a round centre; its caption."""
    petal_name, ground_name = rng.choice(list(PETALS)), rng.choice(list(GROUNDS))
    centre_name = "brown" if petal_name == "yellow" else rng.choice(list(CENTRES))
    petals = rng.choice(list(NUMBERS))
    image = Image.new("RGB", (SIZE, SIZE), GROUNDS[ground_name])
    pen = ImageDraw.Draw(image)
    cx, cy = SIZE / 2 + rng.uniform(-6, 6), SIZE * 0.4 + rng.uniform(-4, 4)
    pen.line([(cx, cy), (cx + rng.uniform(-4, 4), SIZE)], fill=STEM, width=3)
    leaf_y = cy + (SIZE - cy) * 0.55
    pen.ellipse([cx, leaf_y - 3, cx + 12, leaf_y + 3], fill=STEM)
    radius, reach = rng.uniform(5.5, 7.5), rng.uniform(10, 14)
    turn = rng.uniform(0, 2 * math.pi)
    for k in range(petals):
        angle = turn + 2 * math.pi * k / petals
        px, py = cx + reach * 0.6 * math.cos(angle), cy + reach * 0.6 * math.sin(angle)
        pen.ellipse([px - radius, py - radius, px + radius, py + radius], fill=PETALS[petal_name],
                    outline=tuple(int(c * 0.8) for c in PETALS[petal_name]))
    core = reach * 0.35
    pen.ellipse([cx - core, cy - core, cx + core, cy + core], fill=CENTRES[centre_name])
    caption = (f"a {petal_name} flower with {NUMBERS[petals]} petals and a {centre_name} centre "
               f"on a {ground_name} background")
    return image, caption


def write_dataset(out: Path, count: int, seed: int) -> None:
    """``count`` PNG images and their ``metadata.jsonl`` in ``out`` (replacing older images)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("flower-*.png"):
        old.unlink()
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        image, caption = draw_flower(rng)
        name = f"flower-{index:02d}.png"
        image.save(out / name, optimize=True)
        lines.append(json.dumps({"file_name": name, "text": caption}))
    (out / "metadata.jsonl").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "mandc"
                                             / "examples" / "flowers"))
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_dataset(Path(args.out), args.count, args.seed)
    print(f"wrote {args.count} images and metadata.jsonl to {args.out}")


if __name__ == "__main__":
    main()
