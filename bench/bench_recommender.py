"""Benchmark: fit + leave-one-dataset-out evaluation per method, and ranking 10,000 candidates.

Targets (issue 2, "Speed"): on a synthetic graph of 1,000 models × 200 datasets with ≥ 50,000
scores, fit plus the full leave-one-dataset-out evaluation in ≤ 60 s with peak memory ≤ 2 GB on a
2-core machine; ranking 10,000 candidate models for one target with a fitted ``mandc``
recommender in ≤ 1 s.

Each measurement runs in a fresh subprocess so its peak resident memory (``ru_maxrss``, which
includes the interpreter and imported libraries) is its own. Wall seconds suffer when the machine
is shared; ``cpu s`` (process CPU time, all threads) is the steadier figure. Usage::

    python bench/bench_recommender.py                      # every registered method + ranking
    python bench/bench_recommender.py --methods nearest_dataset mandc --skip-rank
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

DEFAULT_METHODS = ["random", "best_average", "nearest_dataset", "features_only", "mandc"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def run_lodo(method: str, args) -> dict:
    from mandc.graph.synth import synthetic_graph
    from mandc.ranking.evaluate import leave_one_dataset_out
    from mandc.ranking.methods import make_method

    start = time.perf_counter()
    graph = synthetic_graph(args.models, args.datasets, density=args.density, seed=args.seed)
    built = time.perf_counter() - start
    cpu_start, start = time.process_time(), time.perf_counter()
    make_method(method, seed=args.seed).fit(graph)
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    report = leave_one_dataset_out(graph, [method], seed=args.seed)
    evaluated = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    figures = report.to_dict()["methods"][method]
    return {"method": method, "scores": len(graph.scores), "build_s": built, "fit_s": fitted,
            "lodo_s": evaluated, "fit_plus_lodo_s": fitted + evaluated, "cpu_s": cpu,
            "peak_rss_mb": peak_rss_mb(), **figures}


def run_rank(args) -> dict:
    from mandc.graph.synth import synthetic_graph
    from mandc.ranking.methods import make_method

    density = args.rank_scores / (args.rank_models * args.datasets)
    graph = synthetic_graph(args.rank_models, args.datasets, density=min(density, 1.0),
                            seed=args.seed)
    start = time.perf_counter()
    recommender = make_method("mandc", seed=args.seed).fit(graph)
    fitted = time.perf_counter() - start
    target = graph.dataset_ids[0]
    timings, cpu = [], []
    for _ in range(3):
        cpu_start, start = time.process_time(), time.perf_counter()
        ranking = recommender.rank(target)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    assert len(ranking) == args.rank_models
    return {"models": args.rank_models, "scores": len(graph.scores), "fit_s": fitted,
            "rank_s_best": min(timings), "rank_s_first": timings[0], "rank_cpu_s": min(cpu),
            "peak_rss_mb": peak_rss_mb()}


def in_subprocess(extra: list[str], args) -> dict | None:
    command = [sys.executable, __file__, "--models", str(args.models), "--datasets",
               str(args.datasets), "--density", str(args.density), "--seed", str(args.seed),
               "--rank-models", str(args.rank_models), "--rank-scores", str(args.rank_scores),
               *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  failed ({' '.join(extra)}):\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--density", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="*", default=DEFAULT_METHODS)
    parser.add_argument("--rank-models", type=int, default=10_000)
    parser.add_argument("--rank-scores", type=int, default=50_000)
    parser.add_argument("--skip-rank", action="store_true")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--rank", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:  # child: one measurement, one JSON line
        print(json.dumps(run_lodo(args.only, args)))
        return
    if args.rank:
        print(json.dumps(run_rank(args)))
        return

    from mandc.ranking.methods import METHODS

    print(f"synthetic graph {args.models} models x {args.datasets} datasets, density "
          f"{args.density}, seed {args.seed}")
    print(f"{'method':<16} {'scores':>7} {'fit s':>7} {'LODO s':>7} {'fit+LODO':>9} "
          f"{'cpu s':>7} {'peak MB':>8} {'top1':>6} {'top3':>6} {'regret':>7} {'spearman':>8} "
          f"{'ndcg3':>6}")
    for method in args.methods:
        if method not in METHODS:
            print(f"{method:<16} skipped: not registered (valid: {', '.join(METHODS.names())})")
            continue
        row = in_subprocess(["--only", method], args)
        if row:
            print(f"{method:<16} {row['scores']:>7} {row['fit_s']:>7.2f} {row['lodo_s']:>7.2f} "
                  f"{row['fit_plus_lodo_s']:>9.2f} {row['cpu_s']:>7.2f} {row['peak_rss_mb']:>8.0f} "
                  f"{_fmt(row['top1'])} {_fmt(row['top3'])} {_fmt(row['regret'], 7)} "
                  f"{_fmt(row['spearman'], 8)} {_fmt(row['ndcg3'])}")
    if args.skip_rank:
        return
    if "mandc" not in METHODS:
        print("ranking: skipped, the 'mandc' recommender is not registered")
        return
    row = in_subprocess(["--rank"], args)
    if row:
        print(f"ranking {row['models']} candidates ({row['scores']} scores): fit "
              f"{row['fit_s']:.2f} s, rank one target {row['rank_s_best']:.3f} s best of 3 "
              f"(first {row['rank_s_first']:.3f} s, cpu {row['rank_cpu_s']:.3f} s), "
              f"peak {row['peak_rss_mb']:.0f} MB")


def _fmt(value, width: int = 6) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


if __name__ == "__main__":
    main()
