"""How close a target is to its nearest profiled domain, and whether that sibling's winner wins.

    python bench/neighbours.py [--graph DIR] [--metric fid] [--threshold 0.69] [--json]

For the profiled domains of the shipped mini-zoo graph (each against the other profiled ones, as
in leave-one-dataset-out), the held-out domains and the pretraining-only domains (each placed in
the graph through its descriptor, as ``bench/quality.py`` places them), it reports

- the median similarity of a target to its nearest profiled domain and the median gap to the
  second nearest (the graph's own similarity, :func:`mandc.graph.similarity.dataset_similarity`);
- how often the nearest profiled domain's best model is the target's own best model, for the
  targets whose nearest neighbour is at ``--threshold`` or more and for the others.

It backs the README's "Why held out is harder than leave-one-out" (1-3 min on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from mandc.features import DatasetDescriptor
from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.placement import add_target
from mandc.graph.similarity import dataset_similarity
from mandc.graph.store import load_graph


def best_models(matrix: pd.DataFrame, lower_is_better: bool) -> pd.Series:
    """The best model of each dataset (column) with at least one score."""
    measured = matrix.dropna(axis=1, how="all")
    return measured.idxmin() if lower_is_better else measured.idxmax()


def neighbour_rows(similarity: pd.Series, profiled: list[str], own_best: str,
                   best: pd.Series) -> dict:
    """Nearest and second-nearest profiled domain of one target, and whether the winners agree."""
    near = similarity.reindex(profiled).dropna().sort_values(ascending=False, kind="stable")
    return {"nearest": near.index[0], "similarity": float(near.iloc[0]),
            "gap": float(near.iloc[0] - near.iloc[1]),
            "same_best": bool(best[near.index[0]] == own_best)}


def profiled_targets(graph, metric: str) -> pd.DataFrame:
    lower = not graph.higher_is_better(metric)
    best = best_models(graph.score_matrix(metric), lower)
    similarity = dataset_similarity(graph)
    rows = []
    for target in best.index:
        others = [d for d in best.index if d != target]
        rows.append({"dataset": target, **neighbour_rows(similarity.loc[target], others,
                                                         best[target], best)})
    return pd.DataFrame(rows)


def outside_targets(graph, truth, metric: str) -> pd.DataFrame:
    lower = not graph.higher_is_better(metric)
    best = best_models(graph.score_matrix(metric), lower)
    own = best_models(truth.score_matrix(metric), lower)
    descriptors = truth.datasets.set_index("dataset", drop=False)
    rows = []
    for domain in own.index:
        extended, target = add_target(graph, DatasetDescriptor.from_row(
            descriptors.loc[domain].to_dict()))
        similarity = dataset_similarity(extended).loc[target]
        rows.append({"dataset": domain, **neighbour_rows(similarity, list(best.index),
                                                         own[domain], best)})
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame, threshold: float) -> dict:
    close = rows["similarity"] >= threshold
    return {"targets": len(rows), "median_similarity": float(np.median(rows["similarity"])),
            "median_gap": float(np.median(rows["gap"])),
            "close": int(close.sum()), "close_same_best": int(rows.loc[close, "same_best"].sum()),
            "far": int((~close).sum()), "far_same_best": int(rows.loc[~close, "same_best"].sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="profiled graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--threshold", type=float, default=0.69,
                        help="similarity that counts as a close sibling (default 0.69)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    graph = load_graph(args.graph or shipped_graph_dir())
    settings = {"lodo": profiled_targets(graph, args.metric)}
    for setting, name in (("held_out", "minizoo-heldout"), ("extra", "minizoo-extra")):
        settings[setting] = outside_targets(graph, load_graph(shipped_graph_dir(name)),
                                            args.metric)
    table = pd.DataFrame({k: summary(v, args.threshold) for k, v in settings.items()}).T
    if args.json:
        print(json.dumps(table.to_dict(orient="index"), indent=1))
        return
    print(f"nearest profiled domain by the graph's similarity; metric {args.metric}; close = "
          f"similarity >= {args.threshold}; *_same_best = the nearest's best model is the "
          "target's best")
    counts = [c for c in table.columns if not c.startswith("median")]
    print(table.astype({c: int for c in counts}).to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
