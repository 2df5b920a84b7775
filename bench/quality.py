"""Recommendation quality on the shipped mini-zoo graph: leave-one-dataset-out and held-out domains.

    python bench/quality.py [--graph DIR] [--heldout DIR] [--metric fid] [--methods ...] [--json]

Two settings, every method, the same four figures (top-1, top-3, mean regret, Spearman):

- **leave-one-dataset-out** on the profiled graph: each profiled domain in turn loses all its
  fine-tuned scores (its zero-shot probes stay), the method is fitted on the rest and ranks the
  models for it;
- **held-out domains**: domains that no model was pretrained on and that are not in the graph.
  Each is placed in the graph through its descriptor (data–data edges) and its zero-shot probes,
  as a user's dataset would be, the method is fitted on the whole graph and ranks the models;
  the ranking is compared with the domain's own profiling results, which the methods never see.

Defaults read the graphs that ship with the package (see ``mandc.defaults``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from mandc.defaults import shipped_graph_dir
from mandc.evaluate import leave_one_dataset_out, paired_comparison, ranking_metrics
from mandc.features import DatasetDescriptor
from mandc.methods import load_builtin_methods, make_method
from mandc.placement import add_target
from mandc.store import load_graph

FIGURES = ("top1", "top3", "regret", "spearman")
DEFAULT_METHODS = ("random", "best_average", "nearest_dataset", "features_only", "mandc")


def lodo(graph, methods, metric: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and per-domain figures of each method, leave-one-dataset-out."""
    report = leave_one_dataset_out(graph, list(methods), metric=metric, seed=seed)
    return report.summary[list(FIGURES)], report.per_dataset


def held_out(graph, heldout, methods, metric: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-domain and mean figures of each method on the held-out domains."""
    measured = heldout.score_matrix(metric)
    lower_is_better = not heldout.higher_is_better(metric)
    descriptors = heldout.datasets.set_index("dataset", drop=False)
    rows = []
    for domain in measured.columns:
        column = measured[domain].dropna()
        if len(column) < 2:
            continue
        extended, target = add_target(graph, DatasetDescriptor.from_row(
            descriptors.loc[domain].to_dict()))
        probes = heldout.probe_scores_of(domain)
        if len(probes):  # the target's zero-shot probes, as a user would measure them
            extended = extended.add_scores(probes.assign(dataset=target))
        for name in methods:
            method = make_method(name, metric=metric, seed=seed).fit(extended)
            predicted = method.predict(target).reindex(column.index)
            figures = ranking_metrics(predicted.to_numpy(), column.to_numpy(),
                                      higher_is_better=not lower_is_better)
            pick = predicted.fillna(-np.inf).idxmax()
            rows.append({"method": name, "dataset": domain, **figures, "pick": pick,
                         "best": column.idxmin() if lower_is_better else column.idxmax()})
    per_domain = pd.DataFrame(rows)
    summary = per_domain.groupby("method", sort=False)[list(FIGURES)].mean()
    return summary.reindex(list(methods)), per_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="profiled graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--heldout", help="held-out ground truth (default: the shipped one)")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-domain", action="store_true", help="also print each held-out "
                        "domain's pick and true best")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    load_builtin_methods()
    graph = load_graph(args.graph or shipped_graph_dir())
    heldout = load_graph(args.heldout or shipped_graph_dir("minizoo-heldout"))
    started = time.perf_counter()
    lodo_table, lodo_per_domain = lodo(graph, args.methods, args.metric, args.seed)
    held_table, per_domain = held_out(graph, heldout, args.methods, args.metric, args.seed)
    seconds = time.perf_counter() - started
    compare = "mandc" in args.methods and len(args.methods) > 1
    paired = {"lodo": paired_comparison(lodo_per_domain, "mandc", seed=args.seed),
              "held_out": paired_comparison(per_domain, "mandc", seed=args.seed)} if compare else {}
    if args.json:
        print(json.dumps({"metric": args.metric, "seconds": round(seconds, 1),
                          "lodo": lodo_table.round(4).to_dict(orient="index"),
                          "held_out": held_table.round(4).to_dict(orient="index"),
                          "held_out_domains": int(per_domain["dataset"].nunique()),
                          "mandc_vs": {setting: table.round(4).to_dict(orient="index")
                                       for setting, table in paired.items()}},
                         indent=1))
        return
    n_models, n_profiled = len(graph.model_ids), len(graph.dataset_ids)
    print(f"metric {args.metric}; {n_models} models; {n_profiled} profiled domains; "
          f"{per_domain['dataset'].nunique()} held-out domains; {seconds:.1f} s")
    print(f"\nleave-one-dataset-out over the {n_profiled} profiled domains")
    print(lodo_table.round(3).to_string())
    print("\nheld-out domains (placed by their descriptors and probes; their scores never seen)")
    print(held_table.round(3).to_string())
    for setting, table in paired.items():
        print(f"\nmandc against each method, domain by domain ({setting}, regret): gain = mean "
              "regret of the other minus mandc's, with its bootstrap 95% interval; p_sign = "
              "sign test of wins against losses")
        print(table.round(3).to_string())
    if args.per_domain:
        print()
        print(per_domain[["method", "dataset", "pick", "best", "regret"]].round(3).to_string())


if __name__ == "__main__":
    main()
