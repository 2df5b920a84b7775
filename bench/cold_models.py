"""Leave-one-model-out: how well a model the graph never profiled is placed.

For each model of the graph: hide every score of it (``without_model``), then, on every dataset
where it was measured, predict its normalised quality from the other models' measured scores
with it as a cold-start model, and place it among them. Reported over all (model, dataset) pairs:

- ``rank_err``: mean |predicted rank - true rank| of the hidden model (ranks 1..n among n models);
- ``exact``: share of pairs where it lands on its true rank; ``within1``: off by at most one;
- ``top1_hit``: when the hidden model is the true best on a dataset, the share where it is
  ranked first; ``false_top1``: when it is not the best, the share where it is ranked first;
- ``rmse``: error of its predicted normalised score (standard deviations of the dataset).

Methods: ``features`` (:class:`mandc.ranking.cold_models.ColdModelRanker`, every model feature
of the graph), ``features-catalog`` (only what the candidate catalogue knows of a Hub model:
family, pipeline class, parameter counts, resolution), ``family_mean`` (the mean of the models
of its architecture family, else of all), ``average_model`` (the mean of all other models), and
``random`` (the expected figures of a uniformly random rank).

    python bench/cold_models.py [--graph DIR] [--metric fid]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mandc.graph.defaults import shipped_graph_dir  # noqa: E402
from mandc.graph.store import load_graph  # noqa: E402
from mandc.graph.views import normalized_score_matrix  # noqa: E402
from mandc.ranking.cold_models import ColdModelRanker, without_model  # noqa: E402


def predictor(method: str, graph, cut, model: str):
    """A function of the others' normalised scores on a dataset → the hidden model's."""
    others = list(cut.model_ids)
    row = graph.models.set_index("model").loc[model].to_dict()
    if method in ("features", "features-catalog"):
        ranker = ColdModelRanker(features="all" if method == "features" else "catalog",
                                 metric=METRIC).fit(cut)
        frame = pd.DataFrame([{"model": model, **row}])
        return lambda values: float(ranker.predict(frame, pd.Series(values, index=others))
                                    ["predicted"].iloc[0])
    if method == "family_mean":
        family = graph.models.set_index("model")["family"]
        same = np.array([family[o] == family[model] for o in others], dtype=float)
        weights = same if same.any() else np.ones(len(others))
    else:
        weights = np.ones(len(others))

    def mean(values):
        w = np.where(np.isnan(values), 0.0, weights)
        return float(np.sum(w * np.nan_to_num(values)) / w.sum()) if w.sum() else 0.0

    return mean


def evaluate(graph, method: str) -> dict:
    full = normalized_score_matrix(graph, METRIC)
    oriented = graph.score_matrix(METRIC)
    oriented = np.log(oriented) if graph.log_scale(METRIC) else oriented
    oriented = oriented if graph.higher_is_better(METRIC) else -oriented
    errors, hits, best_cases, false_top, not_best, squared = [], 0, 0, 0, 0, []
    for model in graph.model_ids:
        cut = without_model(graph, model)
        others = normalized_score_matrix(cut, METRIC)
        predict = predictor(method, graph, cut, model) if method != "random" else None
        for dataset in full.columns[full.loc[model].notna()]:
            values = others[dataset].to_numpy(dtype=float)
            measured = ~np.isnan(values)
            column = full[dataset].dropna()
            true_rank = 1 + int((column.drop(model) > column[model]).sum())
            n = len(column)
            if method == "random":
                ranks = np.arange(1, n + 1)
                errors.append(float(np.mean(np.abs(ranks - true_rank))))
                hit = 1.0 / n
            else:
                predicted = predict(values)
                rank = 1 + int((values[measured] > predicted).sum())
                errors.append(abs(rank - true_rank))
                hit = float(rank == 1)
                # the hidden model's score on the others' normalised scale
                others_oriented = oriented.loc[cut.model_ids, dataset].dropna()
                spread = others_oriented.std(ddof=0) or 1.0
                truth = (oriented.loc[model, dataset] - others_oriented.mean()) / spread
                squared.append((predicted - truth) ** 2)
            if true_rank == 1:
                best_cases += 1
                hits += hit
            else:
                not_best += 1
                false_top += hit
    errors = np.asarray(errors, dtype=float)
    return {"method": method, "pairs": len(errors), "rank_err": float(errors.mean()),
            "exact": float((errors == 0).mean()) if method != "random" else None,
            "within1": float((errors <= 1).mean()) if method != "random" else None,
            "top1_hit": hits / best_cases if best_cases else None,
            "false_top1": false_top / not_best if not_best else None,
            "rmse": float(np.sqrt(np.mean(squared))) if squared else None,
            "best_cases": best_cases}


def main(argv=None) -> int:
    global METRIC
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", type=Path, default=shipped_graph_dir())
    parser.add_argument("--metric", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    graph = load_graph(args.graph)
    METRIC = graph._metric(args.metric)
    methods = ["features", "features-catalog", "family_mean", "average_model", "random"]
    results = [evaluate(graph, method) for method in methods]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"leave-one-model-out on {args.graph} ({len(graph.model_ids)} models, "
          f"{len(graph.dataset_ids)} datasets, metric {METRIC}); "
          f"{results[0]['best_cases']} (model, dataset) pairs where the hidden model is the best")
    print(f"{'method':<18}{'rank_err':>9}{'exact':>7}{'within1':>8}{'top1_hit':>9}"
          f"{'false_top1':>11}{'rmse':>7}")

    def cell(value, width):
        return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"

    for r in results:
        print(f"{r['method']:<18}{cell(r['rank_err'], 9)}{cell(r['exact'], 7)}"
              f"{cell(r['within1'], 8)}{cell(r['top1_hit'], 9)}{cell(r['false_top1'], 11)}"
              f"{cell(r['rmse'], 7)}")
    return 0


METRIC = "fid"

if __name__ == "__main__":
    sys.exit(main())
