"""Failing graph shapes, synthetic: is ``mandc`` ever worse than ``best_average``?

    python bench/shapes.py [--seeds 0 1 2] [--methods ...] [--paired] [--coverage] [--json]

Leave-one-dataset-out on synthetic graphs (:func:`mandc.graph.synth.synthetic_graph`) of the shapes
on which the recommender lost to "take the strongest model": a strong per-model main effect;
many models and few datasets, sparse (as public transfer matrices are); a small hand-written
6 × 8 FID-like matrix (log scale, lower is better); and the plain interaction-dominated shape
for reference. Mean and median regret and top-1 per shape and method, averaged over seeds;
``--paired`` adds, per shape, ``mandc`` against each baseline target by target over all seeds
(wins / ties / losses on regret, sign test, mean gain with a paired bootstrap 95% interval);
``--coverage`` adds the leave-one-dataset-out coverage of ``mandc``'s nominal 80% and 95%
intervals per shape (the share of a target's measured normalised scores inside them, and their
mean width, averaged over targets of all seeds; a second pass of ``mandc`` fits).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from mandc.graph.synth import synthetic_graph
from mandc.ranking.embed import GraphView
from mandc.ranking.evaluate import interval_coverage, leave_one_dataset_out, paired_comparison
from mandc.ranking.methods import METHODS, RankingMethod, make_method
from mandc.ranking.recommend import Recommender, make_regressor

SHAPES = {
    "main_effect": dict(n_models=30, n_datasets=20, main_effect=3.0, noise=0.3,
                        similarity_noise=1.0, feature_noise=2.0),
    "many_models_sparse": dict(n_models=80, n_datasets=13, density=0.2, main_effect=2.0,
                               noise=0.3, similarity_noise=1.0, feature_noise=2.0),
    "small_6x8": dict(n_models=6, n_datasets=8, main_effect=1.5, noise=0.5,
                      similarity_noise=1.0, feature_noise=2.0, higher_is_better=False,
                      metric="fid"),
    "interaction": dict(n_models=30, n_datasets=20, noise=0.3),
}
DEFAULT_METHODS = ("random", "best_average", "nearest_dataset", "features_only", "mandc")


class AverageAndFeatures(RankingMethod):
    """A main-effect baseline: a regressor on each model's features, its mean normalised score and
    the number of datasets behind that mean; the same ranking for every target. Issue #20 found
    a plain gradient-boosting version the strongest method on a public 180 × 13 transfer matrix;
    this one is a random forest (on these shapes gradient boosting did worse). A training row
    (m, d) sees m's mean over its *other* datasets, as a target's prediction sees the mean over
    datasets that are not the target."""

    def __init__(self, *, regressor: str = "random_forest", metric: str | None = None,
                 seed: int = 0):
        super().__init__(metric=metric, seed=seed)
        self.regressor = regressor

    def _fit(self, graph) -> None:
        view = GraphView.from_graph(graph, self.metric_)
        scores = view.scores.to_numpy()
        measured = ~np.isnan(scores)
        filled = np.where(measured, scores, 0.0)
        counts, totals = measured.sum(axis=1), filled.sum(axis=1)
        features = view.model_features.to_numpy(dtype=float)
        models, columns = np.nonzero(measured)
        others = counts[models] - 1
        mean_of_others = np.divide(totals[models] - filled[models, columns], others,
                                   out=np.zeros(len(models)), where=others > 0)
        self.model_ = make_regressor(self.regressor, self.seed).fit(
            np.column_stack([features[models], mean_of_others, others]), filled[models, columns])
        mean = np.divide(totals, counts, out=np.zeros(len(counts)), where=counts > 0)
        self.predicted_ = pd.Series(self.model_.predict(np.column_stack([features, mean, counts])),
                                    index=view.model_ids)

    def _predict(self, dataset: str) -> pd.Series:
        return self.predicted_


BENCH_METHODS = {"average_and_features": AverageAndFeatures}
"""Methods of this benchmark only (``--methods average_and_features``), beside the registered."""


def _methods(names, seed: int) -> dict[str, RankingMethod]:
    return {name: BENCH_METHODS[name](seed=seed) if name in BENCH_METHODS
            else make_method(name, seed=seed) for name in names}


def shape_graph(shape: str, seed: int):
    """The synthetic graph of ``shape`` (a key of :data:`SHAPES`) for ``seed``."""
    options = dict(SHAPES[shape])
    graph = synthetic_graph(seed=seed, **options)
    if options.get("metric") == "fid":
        graph.meta["metrics"]["fid"]["log_scale"] = True
    return graph


def evaluate_shapes(methods, seeds, shapes=tuple(SHAPES),
                    per_target: list | None = None) -> pd.DataFrame:
    """One row per (shape, method): top-1, top-3, mean and median regret and Spearman, averaged
    over seeds. ``per_target``, when given, receives each target's rows (``shape`` and a
    ``dataset`` named ``seed/dataset``)."""
    rows = []
    for shape in shapes:
        for seed in seeds:
            report = leave_one_dataset_out(shape_graph(shape, seed), _methods(methods, seed),
                                           seed=seed)
            if per_target is not None:
                per_target.append(report.per_dataset.assign(
                    shape=shape, dataset=f"{seed}/" + report.per_dataset["dataset"].astype(str)))
            for method, row in report.summary.iterrows():
                rows.append({"shape": shape, "method": method, "seed": seed,
                             "top1": row["top1"], "top3": row["top3"], "regret": row["regret"],
                             "regret_median": row["regret_median"],
                             "spearman": row["spearman"]})
    table = pd.DataFrame(rows)
    return table.groupby(["shape", "method"], sort=False)[
        ["top1", "top3", "regret", "regret_median", "spearman"]].mean()


def coverage_by_shape(seeds, shapes=tuple(SHAPES)) -> pd.DataFrame:
    """One row per (shape, level): mean ``coverage`` and ``width`` of ``mandc``'s intervals over
    every target of every seed, leave-one-dataset-out."""
    rows = []
    for shape in shapes:
        for seed in seeds:
            rows.append(interval_coverage(shape_graph(shape, seed),
                                          lambda seed=seed: Recommender(seed=seed))
                        .assign(shape=shape))
    return pd.concat(rows).groupby(["shape", "level"], sort=False)[["coverage", "width"]].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                        choices=[*METHODS.names(), *BENCH_METHODS])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--paired", action="store_true", help="also mandc against each "
                        "baseline, target by target over all seeds")
    parser.add_argument("--coverage", action="store_true", help="also the coverage of mandc's "
                        "80%% and 95%% intervals per shape")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    per_target = [] if args.paired else None
    table = evaluate_shapes(args.methods, args.seeds, args.shapes, per_target)
    paired = {}
    if args.paired and "mandc" in args.methods and len(args.methods) > 1:
        targets = pd.concat(per_target, ignore_index=True)
        paired = {shape: paired_comparison(rows, "mandc")
                  for shape, rows in targets.groupby("shape", sort=False)}
    coverage = coverage_by_shape(args.seeds, args.shapes) if args.coverage else None
    if args.json:
        print(json.dumps({f"{s}/{m}": row for (s, m), row in
                          table.round(4).to_dict(orient="index").items()}
                         | {f"{s}/mandc_vs": frame.round(4).to_dict(orient="index")
                            for s, frame in paired.items()}
                         | ({f"{s}/coverage_{level:g}": row for (s, level), row in
                             coverage.round(4).to_dict(orient="index").items()}
                            if coverage is not None else {}), indent=1))
        return
    print(f"leave-one-dataset-out on synthetic shapes, seeds {args.seeds}")
    print(table.round(3).to_string())
    for shape, frame in paired.items():
        print(f"\n{shape}: mandc against each baseline on regret, target by target")
        print(frame.round(3).to_string())
    if coverage is not None:
        print("\nmandc's intervals, leave-one-dataset-out: share of measured normalised scores "
              "inside, mean width")
        print(coverage.round(3).to_string())


if __name__ == "__main__":
    main()
