"""Does finding neighbours by zero-shot probe profile help? ``mandc`` with and without it.

    python scripts/merge_graphs.py /tmp/merged72      # the 72-domain graph, both regimes
    python bench/probe_neighbours.py /tmp/merged72 [--out per_domain.csv]

Leave-one-dataset-out on GRAPH for ``mandc`` with ``probe_neighbours`` on and off (and the
``nearest_dataset`` baseline), with the figures of each regime: domains of the shipped
``minizoo-heldout`` graph (in no model's pretraining) against the rest (in the zoo's pretraining).
"""

from __future__ import annotations

import argparse

import pandas as pd
from quality import FIGURES, by_regime, seed_spread  # bench/ is on the path when this runs

from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.store import load_graph
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.methods import make_method
from mandc.ranking.recommend import Recommender


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graph")
    parser.add_argument("--out", help="also write the per-domain rows to this CSV")
    args = parser.parse_args()
    graph = load_graph(args.graph)
    tolerance = seed_spread(load_graph(shipped_graph_dir()),
                            load_graph(shipped_graph_dir("minizoo-seed1")), "fid")
    methods = {"nearest_dataset": make_method("nearest_dataset", metric="fid"),
               "mandc_without_probe_neighbours": Recommender(metric="fid",
                                                             probe_neighbours=False),
               "mandc": Recommender(metric="fid")}  # the default: probe neighbours on
    report = leave_one_dataset_out(graph, methods, metric="fid", tie_tolerance=tolerance)
    held_out = set(load_graph(shipped_graph_dir("minizoo-heldout"),
                              with_scores=False).dataset_ids)
    regimes = {d: "held_out" if d in held_out else "in_pretraining" for d in graph.dataset_ids}
    if args.out:
        report.per_dataset.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(report.summary[[f for f in FIGURES if f in report.summary]].round(3))
        print(by_regime(report.per_dataset, regimes).round(3))


if __name__ == "__main__":
    main()
