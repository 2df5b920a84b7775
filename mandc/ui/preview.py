"""Preview fine-tunes: the top models briefly LoRA-fine-tuned on the visitor's images, then asked
for a few of the visitor's captions, shown beside the real images.

It is the profiling code (:func:`mandc.profile.finetune.finetune_lora` and ``generate``, the same
:class:`~mandc.profile.recipe.Recipe`) with a lighter recipe and a time cap, so what a visitor
sees is a short version of what the graph's scores measured. On a Space with ZeroGPU the work
runs under ``spaces.GPU`` with a duration computed from the request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext

from ..profile.recipe import Recipe

PREVIEW_RECIPE = Recipe(steps=10, batch_size=8, lr=5e-3, num_inference_steps=10,
                        train_samples=64, eval_samples=4)
"""The profiling recipe cut to fit a visitor's wait: 10 steps of 8 images (1/12 of its
image-steps) at 5x its learning rate, on a quarter of its images; four captions shown, sampled
in 10 steps. The higher rate makes up for the fewer steps: on the flowers example and on
shapes-green-stars, the generations after this recipe were as close or closer to the real
images (nearest real image, 8x8 colour) than after 20 steps of 16 at the profiling rate, for
every model tried, and 10 sampling steps looked as 20 did. ``bench/bench_preview.py`` (the top
3 for flowers, on 2 cores shared with other work, load average 4-6): the former recipe (20
steps of 16 at 1e-3, 20 sampling steps) took 191 s on torch's 2 threads without finishing the
third model, 87 s on one thread; this one takes 29 s on one thread."""
PREVIEW_THREADS = 1
"""Torch threads of a CPU preview. The zoo's models are small (1-2 M weights at 32 px), and on
cores shared with other work two OpenMP threads spin-wait for each other: on this busy 2-core
machine five fine-tune steps took 45 s on two threads and 5 s on one, and the whole k = 3
preview 120 s against 29 s. One thread also leaves the other core to the ranking queue, as
the probes' single slot does."""
MAX_PREVIEW_MODELS = 3
TIME_CAP_S = 90.0
"""A preview stops starting new models after this many seconds (the one running finishes)."""
PREVIEW_SLOTS = threading.BoundedSemaphore(1)
"""Previews fine-tune models: one at a time on this server, apart from the ranking queue."""
SECONDS_PER_MODEL_GPU = 20


def preview_finetunes(models: list[str], images: list, captions: list[str], *,
                      recipe: Recipe = PREVIEW_RECIPE, time_cap_s: float = TIME_CAP_S,
                      report: Callable[[float, str], None] = lambda share, text: None
                      ) -> list[dict]:
    """For each model: ``{"model", "images", "seconds"}`` (generations for the first
    ``recipe.eval_samples`` captions after a LoRA fine-tune on the first
    ``recipe.train_samples`` images), or ``{"model", "skipped"}`` past the time cap."""
    from ..settings import get_settings
    from ..threads import torch_threads

    on_cpu = get_settings().device.startswith("cpu")
    with PREVIEW_SLOTS, torch_threads(PREVIEW_THREADS) if on_cpu else nullcontext():
        return _run_on_gpu(list(models), list(images), list(captions), recipe, time_cap_s,
                           report)


def _preview(models, images, captions, recipe, time_cap_s, report) -> list[dict]:
    from ..minizoo.models import load_pipeline
    from ..profile.finetune import finetune_lora, generate
    from ..settings import get_settings

    train_images, train_captions = images[:recipe.train_samples], captions[:recipe.train_samples]
    shown = captions[:recipe.eval_samples]
    started, results = time.perf_counter(), []
    for k, model in enumerate(models):
        if time.perf_counter() - started > time_cap_s:
            results.append({"model": model, "skipped": f"time cap of {time_cap_s:.0f} s"})
            continue
        report(k / len(models), f"fine-tuning model {k + 1} of {len(models)} ({model})")
        clock = time.perf_counter()
        pipeline = load_pipeline(model, device=get_settings().device)
        tuned = finetune_lora(pipeline, train_images, train_captions, inplace=True,
                              **recipe.finetune_kwargs())
        generated = generate(tuned, shown, **recipe.generate_kwargs())
        results.append({"model": model, "images": generated,
                        "seconds": round(time.perf_counter() - clock, 1)})
    return results


def _gpu_duration(models, *args, **kwargs) -> int:
    """ZeroGPU's time slot for a request: a fixed start plus a share per model."""
    return 15 + SECONDS_PER_MODEL_GPU * len(models)


def _on_gpu(function):
    """``function`` under ``spaces.GPU`` on a ZeroGPU Space, unchanged elsewhere."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(duration=_gpu_duration)(function)


_run_on_gpu = _on_gpu(_preview)
