"""Loading a local imagefolder: mandc's direct reader vs the ``datasets`` imagefolder builder.

Prints seconds to get a 256-example sample from a folder of N 256×256 PNGs with metadata.jsonl.
Usage: python bench/bench_data_load.py [N]   (default 1000)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mandc.data import load_target


def write_folder(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        pixels = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{i:05d}.png", compress_level=1)
        rows.append(json.dumps({"file_name": f"{i:05d}.png", "text": f"picture {i}"}))
    (root / "metadata.jsonl").write_text("\n".join(rows) + "\n")


def timed(label: str, work) -> None:
    start = time.perf_counter()
    count = work()
    print(f"{label:<48} {time.perf_counter() - start:6.2f} s  ({count} examples)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "set"
        root.mkdir()
        write_folder(root, n)
        print(f"folder of {n} PNGs of 256×256 with metadata.jsonl")
        timed("mandc load_target (direct, sample 256)", lambda: len(load_target(root)))

        import datasets

        cache = str(Path(tmp) / "hf_cache")

        def builder(streaming: bool) -> int:
            ds = datasets.load_dataset("imagefolder", data_dir=str(root), split="train",
                                       streaming=streaming, cache_dir=cache)
            if streaming:
                rows = ds.shuffle(seed=0, buffer_size=1024).take(256)
            else:
                rows = ds.select(sorted(np.random.default_rng(0).choice(len(ds), 256, False)))
            return sum(1 for row in rows if row["image"].convert("RGB"))

        timed("datasets imagefolder builder (sample 256)", lambda: builder(False))
        timed("datasets imagefolder builder, cached (sample 256)", lambda: builder(False))
        timed("datasets imagefolder streaming (buffer 1024)", lambda: builder(True))


if __name__ == "__main__":
    main()
