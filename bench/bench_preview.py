"""Seconds a Space preview takes: the top k mini-zoo models for a bundled example, fine-tuned and
asked for captions by :func:`mandc.ui.preview.preview_finetunes`, per stage and in total.

Usage: python bench/bench_preview.py [--k 3] [--source flowers|DOMAIN] [--threads N]
       [--before] [--no-cap] [--grids FOLDER]

``--source``: a bundled example set (``flowers``: its 20 images) or a mini-zoo domain (64 of its
images, what the app previews for a profiled dataset). The models are the top k the app ranks
for the flowers example. Stages are timed by wrapping the functions the preview calls, so the
figures hold for any version of the preview code. ``--grids`` saves, per model, the real images
beside its generations before and after the fine-tune, to check they are not noise. A shared CPU
is noisy: the load average is printed next to the figures. ``--before`` runs the preview as it
was before it was made to fit 90 s (:data:`BEFORE_RECIPE` on torch's default threads).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

BEFORE_RECIPE = dict(steps=20, train_samples=64, eval_samples=4)
"""The preview's recipe until 2026-11-30: the profiling recipe's batch, learning rate and
sampling steps, a third of its steps."""
STAGES = (("mandc.minizoo.models", "load_pipeline", "pipeline load"),
          ("mandc.profile.finetune", "finetune_lora", "LoRA fine-tune"),
          ("mandc.profile.finetune", "generate", "generation"))


def _timed(spent: dict, stage: str, function):
    def wrapper(*args, **kwargs):
        clock = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage].append(time.perf_counter() - clock)
    return wrapper


def _sample(source: str):
    """(images, captions) of a bundled example set or 64 images of a mini-zoo domain."""
    from mandc.ui.rank import EXAMPLES

    if source in EXAMPLES:
        from mandc.data import load_target
        from mandc.ui.rank import example_source

        loaded = load_target([example_source(source)])
        return list(loaded.images), list(loaded.captions)
    from mandc.minizoo.domains import sample

    return sample(source, 64)


def _grid(rows: list[list], path: Path) -> None:
    from PIL import Image

    size = 32 * 3
    grid = Image.new("RGB", (size * max(len(r) for r in rows), size * len(rows)), "white")
    for y, row in enumerate(rows):
        for x, image in enumerate(row):
            grid.paste(image.convert("RGB").resize((size, size), Image.NEAREST),
                       (x * size, y * size))
    grid.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=3, help="models previewed (the app's top k)")
    parser.add_argument("--source", default="flowers",
                        help="bundled example set or mini-zoo domain (default flowers)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of the preview (default: as the app)")
    parser.add_argument("--before", action="store_true",
                        help="the old preview: BEFORE_RECIPE on torch's default threads")
    parser.add_argument("--no-cap", action="store_true",
                        help="run every model, past the preview's time cap")
    parser.add_argument("--grids", type=Path, default=None,
                        help="folder for real | before | after image grids per model")
    args = parser.parse_args()
    started = time.perf_counter()
    import torch

    from mandc.ui.service import _small_algebra_single_threaded

    _small_algebra_single_threaded()  # as the serving process runs
    imported = time.perf_counter() - started

    import importlib

    from mandc.advise import advise
    from mandc.graph.defaults import example_dir, resolve_graph
    from mandc.profile.recipe import Recipe
    from mandc.ui import preview

    if args.before:
        preview.PREVIEW_THREADS = torch.get_num_threads()
        preview.PREVIEW_RECIPE = Recipe(**BEFORE_RECIPE)
    if args.threads:
        preview.PREVIEW_THREADS = args.threads
    ranking = advise(resolve_graph(), str(example_dir("flowers")), top=args.k)["ranking"]
    models = [row["model"] for row in ranking]
    images, captions = _sample(args.source)
    recipe = preview.PREVIEW_RECIPE
    print(f"preview of {models} on {args.source} ({len(images)} images); recipe {recipe}")
    print(f"preview torch threads {preview.PREVIEW_THREADS} (process default "
          f"{torch.get_num_threads()}), {os.cpu_count()} cpus, "
          f"load average before {os.getloadavg()}")

    spent: dict[str, list[float]] = defaultdict(list)
    originals = []
    for module_name, name, stage in STAGES:
        module = importlib.import_module(module_name)
        originals.append((module, name, getattr(module, name)))
        setattr(module, name, _timed(spent, stage, getattr(module, name)))
    try:
        clock = time.perf_counter()
        results = preview.preview_finetunes(
            models, images, captions, recipe=recipe,
            time_cap_s=float("inf") if args.no_cap else preview.TIME_CAP_S)
        total = time.perf_counter() - clock
    finally:
        for module, name, function in originals:
            setattr(module, name, function)

    print(f"{'stage':16s} " + " ".join(f"{m[:13]:>13s}" for m in models) + "      sum")
    for _, _, stage in STAGES:
        values = spent[stage]
        print(f"{stage:16s} " + " ".join(f"{v:13.2f}" for v in values) + f" {sum(values):8.2f}")
    per_model = [r.get("seconds", float("nan")) for r in results]
    print(f"{'model (app)':16s} " + " ".join(f"{v:13.2f}" for v in per_model))
    skipped = [r["model"] for r in results if "skipped" in r]
    print(f"imports + thread setup {imported:.2f} s (once per process, not in the total)")
    print(f"TOTAL preview k={args.k}: {total:.1f} s  (skipped: {skipped or 'none'}; "
          f"load average after {os.getloadavg()})")

    if args.grids:
        from mandc.minizoo.models import load_pipeline
        from mandc.profile.finetune import generate

        args.grids.mkdir(parents=True, exist_ok=True)
        shown = captions[:recipe.eval_samples]
        for result in results:
            if "images" not in result:
                continue
            torch.set_num_threads(preview.PREVIEW_THREADS)
            before = generate(load_pipeline(result["model"]), shown,
                              **recipe.generate_kwargs())
            path = args.grids / f"{result['model']}-{args.source}.png"
            _grid([images[:len(shown)], before, result["images"]], path)
            print(f"grid (real / before / after): {path}")


if __name__ == "__main__":
    main()
