"""How well each data–data similarity finds datasets on which the models rank alike.

    python bench/similarity_quality.py [--graph DIR] [--heldout DIR] [--k 5]
                                       [--datasets-root DIR] [--json]

Both recommenders borrow the scores of a target's most similar profiled datasets, so a similarity
is only as good as the score profiles of the neighbours it picks. For every similarity (each of
the graph's measures alone, their mean as the graph uses it, the cosine of dataset features and,
with ``--datasets-root``, the colour palette alone and added to the mean) and every target, this
takes the ``k`` most similar profiled datasets and reports

- ``profile_r``: the mean Pearson correlation between the target's within-dataset normalised
  scores over the models and each neighbour's (1 = the neighbours rank the models exactly as the
  target does);
- ``same_family``: the share of neighbours from the target's family (the id up to its first
  ``-``, as the mini-zoo names its domains).

Targets are the profiled datasets (neighbours among the other profiled ones, as in
leave-one-dataset-out) and the held-out ones (neighbours among the profiled ones). The
``oracle`` row picks the neighbours by the very correlation it reports: the ceiling. These
figures move far less from one change to the next than top-1 over a few dozen domains does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mandc.data import load_target
from mandc.features import (
    DatasetDescriptor,
    colour_histogram,
    hellinger_distance,
    similarity_table,
)
from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.similarity import dataset_similarity
from mandc.graph.store import load_graph

PALETTE = "image_palette"


def joined_graph(graph, heldout):
    """The profiled graph with the held-out datasets' descriptors and all data–data edges."""
    rows = pd.concat([graph.datasets, heldout.datasets], ignore_index=True)
    rows = rows.drop_duplicates("dataset").reset_index(drop=True)
    descriptors = [DatasetDescriptor.from_row(row) for row in rows.to_dict(orient="records")]
    measures = graph.meta.get("similarity_measures") or sorted(graph.similarity["measure"].unique())
    edges = similarity_table(descriptors, measures)
    return dataclasses.replace(graph, datasets=rows, similarity=edges), list(measures)


def palette_edges(ids: list[str], root: Path) -> pd.DataFrame:
    """Hellinger distances between the colour histograms of ``root/<id>`` (its train split)."""
    palettes = {}
    for dataset in ids:
        sample = load_target(root / dataset, max_samples=256, seed=0)
        palettes[dataset] = colour_histogram(sample.images)
    rows = [(a, b, PALETTE, hellinger_distance(palettes[a], palettes[b]), True)
            for i, a in enumerate(ids) for b in ids[i + 1:]]
    return pd.DataFrame(rows, columns=["dataset_a", "dataset_b", "measure", "value",
                                       "is_distance"])


def similarity_of(graph, measures: list[str]) -> pd.DataFrame:
    """The graph's similarity (distances as ``exp(-d / median d)``, averaged) over ``measures``."""
    edges = graph.similarity[graph.similarity["measure"].isin(measures)]
    return dataclasses.replace(graph, similarity=edges.reset_index(drop=True)).given_similarity()


def neighbour_figures(similarity: pd.DataFrame, correlation: pd.DataFrame, targets: list[str],
                      profiled: list[str], k: int) -> dict:
    agree, family = [], []
    for target in targets:
        candidates = similarity.loc[target, profiled].drop(target, errors="ignore")
        nearest = candidates.sort_values(ascending=False, kind="stable").index[:k]
        agree.append(correlation.loc[target, nearest].mean())
        family.append(np.mean([n.split("-")[0] == target.split("-")[0] for n in nearest]))
    return {"profile_r": float(np.mean(agree)), "same_family": float(np.mean(family))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="profiled graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--heldout", help="held-out ground truth (default: the shipped one)")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--k", type=int, default=5, help="neighbours per target (default 5)")
    parser.add_argument("--datasets-root", type=Path, help="folder of the domains' image folders "
                        "(as `mandc minizoo domains --write` makes it): adds the palette")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    graph = load_graph(args.graph or shipped_graph_dir())
    heldout = load_graph(args.heldout or shipped_graph_dir("minizoo-heldout"))
    joined, measures = joined_graph(graph, heldout)
    profiled, held = graph.dataset_ids, heldout.dataset_ids
    scores = pd.concat([graph.normalized_score_matrix(args.metric),
                        heldout.normalized_score_matrix(args.metric)], axis=1)
    correlation = scores.corr()

    candidates = {measure: similarity_of(joined, [measure]) for measure in measures}
    candidates["mean (" + " + ".join(measures) + ")"] = similarity_of(joined, measures)
    candidates["feature cosine"] = dataset_similarity(joined, source="features")
    if args.datasets_root:
        joined = dataclasses.replace(joined, similarity=pd.concat(
            [joined.similarity, palette_edges(joined.dataset_ids, args.datasets_root)],
            ignore_index=True))
        candidates[PALETTE] = similarity_of(joined, [PALETTE])
        candidates[f"mean + {PALETTE}"] = similarity_of(joined, [*measures, PALETTE])
    candidates["oracle"] = correlation

    rows = []
    for name, matrix in candidates.items():
        row = {"similarity": name}
        for setting, targets in (("lodo", profiled), ("heldout", held)):
            figures = neighbour_figures(matrix, correlation, targets, profiled, args.k)
            row.update({f"{setting}_{key}": value for key, value in figures.items()})
        rows.append(row)
    table = pd.DataFrame(rows).set_index("similarity")
    if args.json:
        print(json.dumps({"k": args.k, "figures": table.round(4).to_dict(orient="index")},
                         indent=2))
    else:
        print(f"{args.k} nearest profiled datasets; {len(profiled)} profiled, {len(held)} held-out")
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
