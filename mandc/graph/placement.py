"""Put described datasets into a matching graph: the data–data edges of M&C.

A graph whose datasets were described by a featurizer (``graph.json`` records which) can take a
new target given as a folder, zip or Hub id: the target is described with the *same* featurizer
(features of different featurizers never mix), added as a dataset node with its descriptor row,
and linked to every described dataset of the graph by the graph's similarity measure. It has no
model–data edges — the cold-start case the recommender is built for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ..errors import ValidationError
from .matching_graph import DATASET_ID, MatchingGraph
from .views import cached_view

DEFAULT_MEASURES = ("image_frechet", "caption_frechet")


def with_descriptors(graph: MatchingGraph, descriptors: Sequence, *,
                     measures: Sequence[str] = DEFAULT_MEASURES) -> MatchingGraph:
    """A copy of ``graph`` whose dataset rows are the descriptors' rows, with their similarities.

    Every dataset of the graph must be described, all by one featurizer; the similarity table
    is replaced by the measures between every pair (the first measure is the one learners use).
    """
    from ..features import similarity_table

    by_id = {d.dataset: d for d in descriptors}
    missing = sorted(set(graph.dataset_ids) - set(by_id))
    if missing:
        raise ValidationError(f"no descriptor for datasets {missing[:5]}", file="datasets")
    keys = {d.featurizer_key for d in descriptors}
    if len(keys) > 1:
        raise ValidationError(f"datasets described by several featurizers: {sorted(keys)}")
    ordered = [by_id[d] for d in graph.dataset_ids]
    datasets = pd.DataFrame([d.to_row() for d in ordered])
    similarity = similarity_table(ordered, list(measures))
    meta = {**graph.meta, "featurizer": ordered[0].featurizer_key,
            "similarity_measures": list(measures)}
    return MatchingGraph(graph.models, datasets, graph.scores, similarity, meta)


def add_target(graph: MatchingGraph, descriptor) -> tuple[MatchingGraph, str]:
    """The graph extended by a described target dataset, and the target's id.

    The target's data–data edges to every profiled dataset are computed with the graph's own
    measures. A target whose fingerprint matches a dataset already in the graph *is* that
    dataset: its id is returned and the graph is unchanged.
    """
    from ..features import similarity

    featurizer = graph.meta.get("featurizer")
    if not featurizer:
        raise ValidationError(
            "this graph's datasets were not described by a featurizer (their features were "
            "imported as they are), so a new dataset cannot be placed in it; describe them "
            "with `mandc graph describe GRAPH --datasets-root ROOT`, use a graph built from "
            "described datasets, such as the mini-zoo graph, or name a dataset of the graph")
    if descriptor.featurizer_key != featurizer:
        raise ValidationError(f"the target was described with {descriptor.featurizer_key} but the "
                              f"graph with {featurizer}; describe it with the graph's featurizer")
    rows = graph.datasets.set_index(DATASET_ID, drop=False)
    if "fingerprint" in rows.columns:
        same = rows.index[rows["fingerprint"] == descriptor.fingerprint]
        if len(same):
            return graph, str(same[0])
    target = _free_id(descriptor.dataset, set(graph.dataset_ids))
    descriptor.dataset = target
    measures = graph.meta.get("similarity_measures") or list(DEFAULT_MEASURES)
    edges = []
    for other in _descriptors(graph):
        for measure in measures:
            edges.append(_edge(other.dataset, target, measure, similarity(other, descriptor,
                                                                            measure)))
    from ..features import MEASURES

    new_edges = pd.DataFrame(edges)
    new_edges["is_distance"] = [MEASURES.get(m).is_distance for m in new_edges["measure"]]
    datasets = pd.concat([graph.datasets, pd.DataFrame([descriptor.to_row()])], ignore_index=True)
    similarity_rows = pd.concat([graph.similarity, new_edges], ignore_index=True)
    return MatchingGraph(graph.models, datasets, graph.scores, similarity_rows,
                         dict(graph.meta)), target


def _descriptors(graph: MatchingGraph) -> list:
    """The graph's dataset descriptors, rebuilt from their rows once per graph: a server places
    many targets in one graph, and each descriptor keeps the factorisations its similarity
    measures prepare (see :meth:`mandc.features.GaussianSummary.frechet_side`)."""
    from ..features import DatasetDescriptor

    return cached_view(graph, ("dataset_descriptors",),
                       lambda: [DatasetDescriptor.from_row(row)
                                for row in graph.datasets.to_dict(orient="records")],
                       depends_on=("datasets",))


def _edge(a: str, b: str, measure: str, value: float) -> Mapping:
    return {"dataset_a": a, "dataset_b": b, "measure": measure, "value": value}


def _free_id(name: str, taken: set[str]) -> str:
    """``name``, or ``name (new)`` / ``name (new 2)``… when a different dataset already has it."""
    if name not in taken:
        return name
    candidate, n = f"{name} (new)", 2
    while candidate in taken:
        candidate, n = f"{name} (new {n})", n + 1
    return candidate
