"""Merge profiled graphs of the same models, recipe and featurizer into one graph.

    python scripts/merge_graphs.py OUT_DIR [GRAPH_DIR ...]

Without graph directories it merges the three measured graphs that ship with the package:
``minizoo`` (32 domains in the zoo's pretraining), ``minizoo-heldout`` (32 domains in no model's
pretraining) and ``minizoo-extra`` (8 pretraining-only domains): 72 profiled domains, both
regimes in one graph, the shipped default graph ``mandc/graphs/minizoo-all``
(``python scripts/merge_graphs.py mandc/graphs/minizoo-all`` rebuilds it).
Node tables and scores are stacked (every model must be the same in every
graph, every dataset in one graph only), the metric declarations joined, and the data–data
edges recomputed between *every* pair of datasets from their descriptors with the graphs' own
featurizer and measures (:func:`mandc.graph.placement.with_descriptors`), so datasets of
different graphs are linked as a target placed in the graph would be. Run records and sample
grids stay with the source graphs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from mandc.errors import ValidationError
from mandc.features import DatasetDescriptor
from mandc.graph.defaults import DEFAULT_GRAPH, DEFAULT_GRAPH_PARTS, shipped_graph_dir
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.placement import with_descriptors
from mandc.graph.store import load_graph, save_graph

SHIPPED_PARTS = DEFAULT_GRAPH_PARTS
ORIGIN = f"""
## What it is

M&C's default graph (`mandc/graphs/{DEFAULT_GRAPH}`): every domain the mini-zoo was profiled on,
both regimes, merged from the shipped graphs {", ".join(f"`{name}`" for name in SHIPPED_PARTS)}
(same models, recipe and featurizer; data–data edges recomputed between every pair of
datasets). It holds tables only: the sample grids and run records stay in those graphs' folders.
Rebuild it with `python scripts/merge_graphs.py mandc/graphs/{DEFAULT_GRAPH}`.
"""


def merge_graphs(graphs: list[MatchingGraph]) -> MatchingGraph:
    """One graph holding every dataset and score of ``graphs`` (same models and featurizer)."""
    first = graphs[0]
    for other in graphs[1:]:
        if sorted(other.model_ids) != sorted(first.model_ids):
            raise ValidationError("graphs to merge must have the same models; they differ by "
                                  f"{sorted(set(other.model_ids) ^ set(first.model_ids))[:5]}")
        if other.meta.get("featurizer") != first.meta.get("featurizer"):
            raise ValidationError(f"graphs to merge must share a featurizer, not "
                                  f"{first.meta.get('featurizer')} and "
                                  f"{other.meta.get('featurizer')}")
    ids = [d for g in graphs for d in g.dataset_ids]
    repeated = sorted({d for d in ids if ids.count(d) > 1})
    if repeated:
        raise ValidationError(f"datasets in more than one graph: {repeated[:5]}")
    metrics: dict = {}
    for graph in graphs:
        for name, spec in graph.meta["metrics"].items():
            if name in metrics and metrics[name] != spec:
                raise ValidationError(f"metric {name!r} is declared differently: {metrics[name]} "
                                      f"and {spec}")
            metrics[name] = spec
    datasets = pd.concat([g.datasets for g in graphs], ignore_index=True)
    scores = pd.concat([g.scores for g in graphs], ignore_index=True)
    meta = {**first.meta, "metrics": metrics}
    stacked = MatchingGraph(first.models, datasets, scores, first.similarity.iloc[:0], meta)
    descriptors = [DatasetDescriptor.from_row(row) for row in datasets.to_dict(orient="records")]
    measures = first.meta.get("similarity_measures")
    return with_descriptors(stacked, descriptors, **({"measures": measures} if measures else {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("graphs", type=Path, nargs="*",
                        help=f"graph directories (default: the shipped {', '.join(SHIPPED_PARTS)})")
    args = parser.parse_args()
    sources = args.graphs or [shipped_graph_dir(name) for name in SHIPPED_PARTS]
    try:
        merged = merge_graphs([load_graph(source) for source in sources])
    except ValidationError as error:
        sys.exit(f"merge_graphs: {error}")
    save_graph(merged, args.out)
    if not args.graphs:
        with open(args.out / "README.md", "a", encoding="utf-8") as card:
            card.write(ORIGIN)
    print(f"{args.out}: {len(merged.model_ids)} models, {len(merged.dataset_ids)} datasets, "
          f"{len(merged.scores)} scores")


if __name__ == "__main__":
    main()
