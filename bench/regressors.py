"""Which regressor should ``mandc`` fit? Leave-one-dataset-out on the shipped mini-zoo graph.

    python bench/regressors.py [--graph DIR] [--metric fid] [--regressors a b ...]
                               [--seeds 0 1 2 3] [--forest-trees N] [--no-log-scale]
                               [--held-out] [--json]

Fits the ``mandc`` recommender with each named regressor (``random_forest``, ``gradient_boosting``,
``linear``; ``auto`` is the default and picks one by the number of training rows) and prints the
leave-one-dataset-out figures of each, so the ``regressor="auto"`` docstring and the README can
quote what was measured. ``--seeds`` repeats each regressor with several seeds (the forest's
spread over seeds is what ``FOREST_TREES`` is about, ``--forest-trees`` changes it);
``--no-log-scale`` learns from raw instead of log FID; ``--held-out`` adds the held-out and the
pretraining-only domains, placed in the graph as ``bench/quality.py`` places them.
"""

from __future__ import annotations

import argparse
import json
import time

from quality import held_out  # bench/ is on the path when this script runs

from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.store import load_graph
from mandc.ranking import recommend
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.recommend import Recommender

FIGURES = ("top1", "top3", "regret", "spearman")


def variants(regressors: list[str], seeds: list[int]) -> dict[str, Recommender]:
    """One unfitted recommender per (regressor, seed), named ``regressor`` or
    ``regressor@seed``."""
    named = {}
    for regressor in regressors:
        for seed in seeds:
            name = regressor if len(seeds) == 1 else f"{regressor}@{seed}"
            named[name] = Recommender(regressor=regressor, seed=seed)
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="profiled graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--regressors", nargs="+",
                        default=["random_forest", "gradient_boosting", "linear"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--held-out", action="store_true",
                        help="also the held-out and pretraining-only domains")
    parser.add_argument("--forest-trees", type=int, default=None,
                        help=f"trees of the random forest (default {recommend.FOREST_TREES})")
    parser.add_argument("--no-log-scale", action="store_true",
                        help="learn from raw FID instead of log FID (the metric's log_scale off)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    graph = load_graph(args.graph or shipped_graph_dir())
    if args.forest_trees:
        recommend.FOREST_TREES = args.forest_trees  # read when each forest is built
    if args.no_log_scale:
        graph.meta["metrics"][args.metric]["log_scale"] = False
    methods = variants(args.regressors, args.seeds)
    started = time.perf_counter()
    report = leave_one_dataset_out(graph, methods, metric=args.metric)
    tables = {"lodo": report.summary[list(FIGURES)]}
    if args.held_out:
        for setting, name in (("held_out", "minizoo-heldout"), ("extra", "minizoo-extra")):
            summary, _ = held_out(graph, load_graph(shipped_graph_dir(name)), methods,
                                  args.metric, 0)
            tables[setting] = summary[list(FIGURES)]
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"metric": args.metric, "seconds": round(seconds, 1),
                          **{k: t.round(4).to_dict(orient="index") for k, t in tables.items()}},
                         indent=1))
        return
    print(f"mandc by regressor; metric {args.metric} (log scale: "
          f"{graph.log_scale(args.metric)}); forest of {recommend.FOREST_TREES} trees; "
          f"{len(graph.model_ids)} models; {report.datasets} profiled domains; {seconds:.1f} s")
    for setting, table in tables.items():
        print(f"\n{setting}")
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
