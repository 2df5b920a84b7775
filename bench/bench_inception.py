"""Inception (FID network) throughput at 299 px, and FID/KID planning figures on mini-zoo domains.

    python bench/bench_inception.py [--samples 64] [--size 32] [--batch 32]

Prints images/s of feature extraction, then FID and KID between two independent samples of one
domain (train vs test split) and between two domains, at ``--samples`` images per set.
Timings are wall-clock on whatever else the machine is doing: report them with the load average.
"""

from __future__ import annotations

import argparse
import os
import time

from mandc.minizoo.domains import sample
from mandc.profile.metrics import InceptionFeatureExtractor, _load_network, fid, kid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--same", default="shapes-red-circles")
    parser.add_argument("--other", default="patterns-stripes-horizontal")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    started = time.perf_counter()
    _load_network("cpu")
    print(f"network load: {time.perf_counter() - started:.2f} s")

    extractor = InceptionFeatureExtractor(batch_size=args.batch)
    sets = {
        "same-train": sample(args.same, args.samples, split="train", size=args.size)[0],
        "same-test": sample(args.same, args.samples, split="test", size=args.size)[0],
        "other-test": sample(args.other, args.samples, split="test", size=args.size)[0],
    }
    feats, seconds = {}, 0.0
    for name, images in sets.items():
        started = time.perf_counter()
        feats[name] = extractor.transform(images)
        seconds += time.perf_counter() - started
    total = sum(len(images) for images in sets.values())
    print(f"inception @299, batch {args.batch}: {total / seconds:.2f} img/s "
          f"({total} images of {args.size} px in {seconds:.1f} s)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    started = time.perf_counter()
    same_fid = fid(feats["same-train"], feats["same-test"])
    other_fid = fid(feats["same-train"], feats["other-test"])
    same_kid = kid(feats["same-train"], feats["same-test"])
    other_kid = kid(feats["same-train"], feats["other-test"])
    print(f"metrics time: {time.perf_counter() - started:.2f} s (2 FID + 2 KID)")
    print(f"{args.same} train vs test:  FID {same_fid:7.1f}  KID {same_kid:.4f}")
    print(f"{args.same} vs {args.other}: FID {other_fid:7.1f}  KID {other_kid:.4f}")


if __name__ == "__main__":
    main()
