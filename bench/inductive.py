"""Transductive refit against the inductive path of M&C's recommender, on the shipped graphs.

``transductive=True`` (the default) refits for every target: the target, without scores, is in
the graph the fit sees, so it enters the similarity scale, the feature scaling and principal
components and the spectral embedding. ``transductive=False`` fits on the profiled datasets
only and places a target out of sample (fitted transforms, fitted regressor): one fit serves
every new target, which is what lets the Space answer an upload without a refit.

Both are scored the same way, with the same figures as ``bench/quality.py``:

- leave-one-dataset-out on the profiled graph (each fold's fit never sees the held-out domain's
  scores; the inductive fit does not see the domain at all, only its prediction does);
- held-out domains placed in the graph through their descriptors (``--held-out``),

each with the graph's zero-shot probes used where the target has them (as ``mandc`` does by
default) and without them (``use_probe=False``: an upload that was not probed).

    PYTHONPATH=.:bench python bench/inductive.py [--graph DIR] [--settings lodo held-out]
                                                 [--probes with without] [--metric fid]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.store import load_graph
from mandc.ranking.recommend import Recommender

FIGURES = ("top1", "top1_noise", "top3", "regret", "regret_median", "spearman")


PROBES = {"with": ("", "auto"), "without": (" no probes", False)}


def variants(metric: str, seed: int, probes: list[str]) -> dict[str, Recommender]:
    return {f"{name}{PROBES[which][0]}": Recommender(transductive=transductive,
                                                    use_probe=PROBES[which][1], metric=metric,
                                                    seed=seed)
            for which in probes
            for name, transductive in (("transductive", True), ("inductive", False))}


def differing_picks(per_domain: pd.DataFrame) -> pd.DataFrame:
    """Domains where the two paths' top picks differ, with each one's regret."""
    table = per_domain.pivot_table(index="dataset", columns="method", values="regret")
    pairs = [(m, m.replace("transductive", "inductive")) for m in table.columns
             if m.startswith("transductive")]
    rows = [{"dataset": d, "probes": "no" if "no probes" in a else "yes",
             "regret transductive": table.loc[d, a], "regret inductive": table.loc[d, b]}
            for a, b in pairs for d in table.index
            if not np.isclose(table.loc[d, a], table.loc[d, b])]
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", help="profiled graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--settings", nargs="+", default=["lodo"], choices=["lodo", "held-out"],
                        help="leave-one-dataset-out, and/or the shipped held-out domains "
                        "placed by their descriptors")
    parser.add_argument("--probes", nargs="+", default=list(PROBES), choices=list(PROBES),
                        help="with the probes where the target has them, and/or without")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from quality import held_out, seed_spread

    from mandc.ranking.evaluate import leave_one_dataset_out

    def lodo():
        report = leave_one_dataset_out(graph, methods, metric=args.metric, seed=args.seed,
                                       tie_tolerance=tolerance)
        return report.summary, report.per_dataset

    graph = load_graph(args.graph or shipped_graph_dir())
    tolerance = seed_spread(graph, load_graph(shipped_graph_dir("minizoo-seed1")), args.metric)
    methods = variants(args.metric, args.seed, args.probes)
    settings = {"leave-one-dataset-out": lodo} if "lodo" in args.settings else {}
    if "held-out" in args.settings:
        truth = load_graph(shipped_graph_dir("minizoo-heldout"))
        settings["held-out domains"] = lambda: held_out(graph, truth, methods, args.metric,
                                                        args.seed, tolerance)
    pd.set_option("display.width", 120)
    for name, run in settings.items():
        started = time.perf_counter()
        summary, per_domain = run()
        print(f"\n{name} ({len(graph.dataset_ids)} domains in the graph, "
              f"{time.perf_counter() - started:.0f} s)")
        print(summary[[f for f in FIGURES if f in summary]].round(3).to_string())
        differing = differing_picks(per_domain)
        print("domains where the regrets differ:" if len(differing) else "the same regrets")
        if len(differing):
            print(differing.round(3).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
