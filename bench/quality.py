"""Recommendation quality on the shipped mini-zoo graph: leave-one-dataset-out and held-out domains.

    python bench/quality.py [--graph DIR] [--heldout DIR] [--extra DIR] [--metric fid]
                            [--methods ...] [--merged DIR] [--coverage] [--per-domain] [--json]

Three settings (four with ``--merged``), every method, the same figures: top-1, noise-aware
top-1 (``top1_noise``: a pick within the seed-to-seed spread of the best counts, the spread
measured on the shipped second-seed graph), top-3, mean and median regret (for FID the log ratio
``log(pick / best)``), Spearman:

- **leave-one-dataset-out** on the profiled graph: each profiled domain in turn loses all its
  fine-tuned scores (its zero-shot probes stay), the method is fitted on the rest and ranks the
  models for it;
- **held-out domains**: domains that no model was pretrained on and that are not in the graph.
  Each is placed in the graph through its descriptor (data–data edges) and its zero-shot probes,
  as a user's dataset would be, the method is fitted on the whole graph and ranks the models;
  the ranking is compared with the domain's own profiling results, which the methods never see;
- **both regimes in one graph** (``--merged DIR``, built by ``scripts/merge_graphs.py``):
  leave-one-dataset-out over the 72 domains of the three shipped graphs merged, with the
  figures of each regime (the 40 domains in the zoo's pretraining, the 32 held-out ones);
- **interval coverage** (``--coverage``): leave-one-dataset-out, the share of measured
  normalised scores inside ``mandc``'s nominal 80% and 95% intervals, on the profiled graph
  (and the merged one);
- **pretraining-only domains**: the same test on the zoo's extra domains, which are not in the
  graph either but are in the pretraining mixtures of the models whose families they belong to,
  as every profiled domain is. Set beside the held-out figures, it separates "the graph has never
  seen this dataset" from "no model has ever seen anything like it".

Defaults read the graphs that ship with the package (see ``mandc.graph.defaults``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from mandc.features import DatasetDescriptor
from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.placement import add_target
from mandc.graph.store import load_graph
from mandc.ranking.evaluate import (
    interval_coverage,
    leave_one_dataset_out,
    paired_comparison,
    ranking_metrics,
)
from mandc.ranking.methods import make_method
from mandc.ranking.recommend import Recommender

FIGURES = ("top1", "top1_noise", "top3", "regret", "regret_median", "spearman")
DEFAULT_METHODS = ("random", "best_average", "nearest_dataset", "features_only", "mandc")


def seed_spread(graph, second_seed, metric: str) -> float:
    """Root mean square over the pairs profiled twice of the difference between the two seeds'
    scores (log ratio for a log-scale metric, else relative): the spread of the difference of
    two equally good models, so differences below it are ties."""
    first = graph.score_matrix(metric)
    second = second_seed.score_matrix(metric)
    first = first.reindex(index=second.index, columns=second.columns)
    if graph.log_scale(metric):
        difference = np.log(second) - np.log(first)
    else:
        difference = (second - first) / first.abs()
    return float(np.sqrt((difference.stack().dropna() ** 2).mean()))


def lodo(graph, methods, metric: str, seed: int,
         tolerance: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and per-domain figures of each method, leave-one-dataset-out."""
    report = leave_one_dataset_out(graph, list(methods), metric=metric, seed=seed,
                                   tie_tolerance=tolerance)
    return report.summary[[f for f in FIGURES if f in report.summary]], report.per_dataset


def by_regime(per_domain: pd.DataFrame, regimes: dict[str, str]) -> pd.DataFrame:
    """Figures per (regime, method) from per-domain rows; ``regimes`` maps domain → regime."""
    rows = per_domain.assign(regime=per_domain["dataset"].map(regimes))
    grouped = rows.groupby(["regime", "method"], sort=False)
    table = grouped[[f for f in FIGURES if f in rows and f != "regret_median"]].mean()
    table["regret_median"] = grouped["regret"].median()
    table["domains"] = grouped["dataset"].nunique()
    return table


def held_out(graph, heldout, methods, metric: str, seed: int,
             tolerance: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and per-domain figures of each method on domains outside the graph (``heldout``
    holds their descriptors, probes and measured scores). ``methods``: registered names, or
    name → unfitted method (a fresh copy is fitted for each domain)."""
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
            if isinstance(methods, dict):
                method = type(methods[name])(**{**methods[name].get_params(), "metric": metric})
            else:
                method = make_method(name, metric=metric, seed=seed)
            method.fit(extended)
            predicted = method.predict(target).reindex(column.index)
            figures = ranking_metrics(predicted.to_numpy(), column.to_numpy(),
                                      higher_is_better=not lower_is_better,
                                      log_scale=heldout.log_scale(metric),
                                      tie_tolerance=tolerance)
            pick = predicted.fillna(-np.inf).idxmax()
            rows.append({"method": name, "dataset": domain, **figures, "pick": pick,
                         "best": column.idxmin() if lower_is_better else column.idxmax()})
    per_domain = pd.DataFrame(rows)
    grouped = per_domain.groupby("method", sort=False)
    summary = grouped[[f for f in FIGURES if f in per_domain and f != "regret_median"]].mean()
    summary["regret_median"] = grouped["regret"].median()
    summary = summary[[f for f in FIGURES if f in summary]]
    return summary.reindex(list(methods)), per_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="profiled graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--heldout", help="held-out ground truth (default: the shipped one)")
    parser.add_argument("--extra", help="pretraining-only domains' ground truth (default: the "
                        "shipped one)")
    parser.add_argument("--merged", help="also leave-one-dataset-out on this merged graph "
                        "(scripts/merge_graphs.py), with per-regime figures")
    parser.add_argument("--coverage", action="store_true", help="also the leave-one-dataset-out "
                        "coverage of mandc's prediction intervals")
    parser.add_argument("--seed1", help="second-seed graph for the noise tolerance (default: the "
                        "shipped one)")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-domain", action="store_true", help="also print each held-out "
                        "domain's pick and true best")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    graph = load_graph(args.graph or shipped_graph_dir())
    outside = {"held_out": load_graph(args.heldout or shipped_graph_dir("minizoo-heldout")),
               "extra": load_graph(args.extra or shipped_graph_dir("minizoo-extra"))}
    tolerance = seed_spread(graph, load_graph(args.seed1 or shipped_graph_dir("minizoo-seed1")),
                            args.metric)
    started = time.perf_counter()
    tables, per_domain = {}, {}
    tables["lodo"], per_domain["lodo"] = lodo(graph, args.methods, args.metric, args.seed,
                                              tolerance)
    for setting, truth in outside.items():
        tables[setting], per_domain[setting] = held_out(graph, truth, args.methods, args.metric,
                                                        args.seed, tolerance)
    regimes = None
    if args.merged:
        tables["merged"], per_domain["merged"] = lodo(load_graph(args.merged), args.methods,
                                                      args.metric, args.seed, tolerance)
        regimes = {d: "in_pretraining" for d in graph.dataset_ids}
        regimes.update({d: "in_pretraining" for d in outside["extra"].dataset_ids})
        regimes.update({d: "held_out" for d in outside["held_out"].dataset_ids})
        regimes = by_regime(per_domain["merged"], regimes)
    coverage = {}
    if args.coverage:
        graphs = {"lodo": graph, **({"merged": load_graph(args.merged)} if args.merged else {})}
        for setting, which in graphs.items():
            rows = interval_coverage(which, lambda: Recommender(metric=args.metric,
                                                                seed=args.seed),
                                     metric=args.metric)
            coverage[setting] = rows.groupby("level")[["coverage", "width"]].mean()
    seconds = time.perf_counter() - started
    compare = "mandc" in args.methods and len(args.methods) > 1
    paired = {setting: paired_comparison(rows, "mandc", seed=args.seed)
              for setting, rows in per_domain.items()} if compare else {}
    counts = {setting: int(rows["dataset"].nunique()) for setting, rows in per_domain.items()}
    if args.json:
        print(json.dumps({"metric": args.metric, "seconds": round(seconds, 1),
                          "tie_tolerance": round(tolerance, 4),
                          "interval_coverage": {setting: table.round(4).to_dict(orient="index")
                                                for setting, table in coverage.items()},
                          **({"merged_by_regime": {f"{r}/{m}": row for (r, m), row in
                                                   regimes.round(4).to_dict(orient="index")
                                                   .items()}} if regimes is not None else {}),
                          **{setting: table.round(4).to_dict(orient="index")
                             for setting, table in tables.items()},
                          "held_out_domains": counts["held_out"],
                          "extra_domains": counts["extra"],
                          "mandc_vs": {setting: table.round(4).to_dict(orient="index")
                                       for setting, table in paired.items()}},
                         indent=1))
        return
    print(f"metric {args.metric}; {len(graph.model_ids)} models; {counts['lodo']} profiled "
          f"domains; {counts['held_out']} held-out domains; {counts['extra']} pretraining-only "
          f"domains; {seconds:.1f} s; noise tolerance (seed-to-seed spread) {tolerance:.3f}")
    headings = {
        "lodo": f"leave-one-dataset-out over the {counts['lodo']} profiled domains",
        "held_out": "held-out domains (in no model's pretraining; placed by their descriptors "
                    "and probes; their scores never seen)",
        "extra": "pretraining-only domains (in the zoo's pretraining, not in the graph; placed "
                 "the same way)",
        "merged": "leave-one-dataset-out over the merged graph (both regimes)"}
    for setting, table in tables.items():
        print(f"\n{headings[setting]}")
        print(table.round(3).to_string())
    for setting, table in coverage.items():
        print(f"\nmandc's prediction intervals ({setting}): leave-one-dataset-out coverage of "
              "the measured normalised scores, and mean width")
        print(table.round(3).to_string())
    if regimes is not None:
        print("\nmerged graph, by regime")
        print(regimes.round(3).to_string())
    for setting, table in paired.items():
        print(f"\nmandc against each method, domain by domain ({setting}, regret): gain = mean "
              "regret of the other minus mandc's, with its bootstrap 95% interval; p_sign = "
              "sign test of wins against losses")
        print(table.round(3).to_string())
    if args.per_domain:
        for setting in outside:
            print(f"\n{setting}")
            print(per_domain[setting][["method", "dataset", "pick", "best",
                                       "regret"]].round(3).to_string())


if __name__ == "__main__":
    main()
