"""Benchmark: load the default featurizer, then describe 100 images of 256×256 with captions.

Prints the encoder load time (imports included, in this fresh process), the describe time with
the encoders loaded (no feature cache), its split between images and captions, and the peak
resident memory (``ru_maxrss``). Issue 3 asks for ≤ 10 s, ≤ 5 s and ≤ 1.5 GB on a 2-core CPU.

    python bench/bench_describe.py                      # chosen settings
    python bench/bench_describe.py --resolution 224 --batch-size 8 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time

import numpy as np
from PIL import Image, ImageDraw


def make_set(n: int, side: int, seed: int = 0):
    """Varied procedural images (shapes over noisy gradients) and captions of 6–15 words."""
    from mandc.data import ImageCaptionSet

    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]
    rgb = {"red": (220, 30, 40), "green": (40, 180, 60), "blue": (40, 70, 210),
           "yellow": (240, 220, 40), "purple": (130, 50, 170), "orange": (250, 140, 30),
           "white": (245, 245, 245), "black": (15, 15, 15)}
    images, captions = [], []
    for _ in range(n):
        base = noise.integers(0, 256, size=3)
        ramp = np.linspace(0, 1, side)[:, None, None]
        pixels = base * (0.5 + 0.5 * ramp) + noise.normal(0, 12, size=(side, side, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        colour = rng.choice(colours)
        count = rng.randint(1, 4)
        for _ in range(count):
            r = rng.randint(side // 16, side // 5)
            x, y = rng.randint(r, side - r), rng.randint(r, side - r)
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((x - r, y - r, x + r, y + r), fill=rgb[colour])
        images.append(image)
        captions.append(f"{count} {colour} shapes on a textured background, "
                        + " ".join(rng.choice(["bright", "soft", "noisy", "calm", "vivid",
                                               "photo", "drawing", "close-up"])
                                   for _ in range(rng.randint(0, 8))))
    return ImageCaptionSet("bench-describe", "bench", images, captions, n, 0)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--resolution", type=int, default=None, help="encoder input side")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--repeat", type=int, default=2, help="describe runs (best is reported)")
    args = parser.parse_args()

    start, start_cpu = time.perf_counter(), time.process_time()
    import torch

    from mandc.features import describe, get_featurizer

    if args.threads:
        torch.set_num_threads(args.threads)
    options = {k: v for k, v in (("resolution", args.resolution),
                                 ("batch_size", args.batch_size)) if v is not None}
    featurizer = get_featurizer("effnet-minilm", **options).load()
    load_s, load_cpu = time.perf_counter() - start, time.process_time() - start_cpu

    dataset = make_set(args.images, args.side)
    runs, image_runs, caption_runs = [], [], []
    cpu_runs = []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        describe(dataset, featurizer, cache=False)
        runs.append(time.perf_counter() - t0)
        cpu_runs.append(time.process_time() - c0)
        t0 = time.perf_counter()
        featurizer.encode_images(dataset.images)
        image_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        featurizer.encode_captions(dataset.captions)
        caption_runs.append(time.perf_counter() - t0)

    print(f"featurizer          {featurizer.key}  batch {featurizer.batch_size}  "
          f"torch threads {torch.get_num_threads()}  cpus {os.cpu_count()}")
    print(f"load encoders       {load_s:6.2f} s   (imports included; budget 10 s; "
          f"CPU {load_cpu:.2f} s)")
    print(f"describe {args.images} × {args.side}px {min(runs):6.2f} s   "
          f"(best of {args.repeat}: {', '.join(f'{r:.2f}' for r in runs)}; budget 5 s)")
    print(f"  its CPU time      {min(cpu_runs):6.2f} s   (all threads; ≈ wall × threads when "
          "the cores are free)")
    print(f"  images only       {min(image_runs):6.2f} s   "
          f"({args.images / min(image_runs):.0f} img/s)")
    print(f"  captions only     {min(caption_runs):6.2f} s   "
          f"({args.images / min(caption_runs):.0f} captions/s)")
    print(f"peak memory (RSS)   {peak_rss_mb():6.0f} MB  (budget 1536 MB)")
    print(f"load average        {', '.join(f'{x:.1f}' for x in os.getloadavg())}  "
          "(other work on the machine slows every figure)")


if __name__ == "__main__":
    main()
