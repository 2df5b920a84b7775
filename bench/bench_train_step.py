"""Seconds per pretraining step for each zoo spec at its own batch size, and the projected zoo cost.

Usage: python bench/bench_train_step.py [--models a b] [--steps 5] [--threads N]
Timings on a shared CPU are noisy: print the load average next to them and compare ratios.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from mandc.minizoo.models import get_spec, zoo_specs
from mandc.minizoo.pretrain import PretrainData, Trainer


def synthetic_data(resolution: int, n: int = 256) -> PretrainData:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, resolution, resolution, generator=generator) * 2 - 1
    captions = [f"a caption number {i} with some words" for i in range(n)]
    return PretrainData(images, captions, torch.full((n,), 1.0 / n, dtype=torch.float64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    specs = [get_spec(n) for n in args.models] if args.models else zoo_specs()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()}")
    total = 0.0
    for spec in specs:
        trainer = Trainer(spec, synthetic_data(spec.resolution), total_steps=spec.steps, seed=0)
        for _ in range(2):
            trainer.step()
        started = time.perf_counter()
        for _ in range(args.steps):
            trainer.step()
        per_step = (time.perf_counter() - started) / args.steps
        cost = per_step * spec.steps
        total += cost
        print(f"{spec.name:16s} bs {spec.batch_size:3d}  {per_step:6.3f} s/step  x {spec.steps:5d} "
              f"steps = {cost / 60:6.1f} min", flush=True)
    print(f"projected zoo pretraining: {total / 3600:.2f} h  (load average {os.getloadavg()})")


if __name__ == "__main__":
    main()
