"""Neighbours by zero-shot probe profile: the similarity's algebra, and a two-regime graph on
which descriptors pair every dataset with the wrong regime and only the probe profiles tell
the regimes apart."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mandc.errors import ConfigError
from mandc.graph.matching_graph import MatchingGraph, complete_scores
from mandc.graph.synth import synthetic_problem
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.probe_profile import probe_profile_similarity
from mandc.ranking.recommend import FeaturesOnly, Recommender

TOPICS, REGIMES, COPIES, MODELS = 3, 2, 3, 6


def _regime_graph(*, probes: bool = True, seed: int = 0) -> MatchingGraph:
    """Datasets of 3 topics × 2 regimes (3 of each). The best model depends on (topic, regime);
    descriptors know only the topic, so a dataset's most similar datasets are its topic's, half
    of them of the other regime; the log probe losses follow a profile of (topic, regime) that
    says nothing about which model is best."""
    rng = np.random.default_rng(seed)
    scaffold = synthetic_problem(MODELS, TOPICS * REGIMES * COPIES, seed=seed).graph
    models = [f"m{i}" for i in range(MODELS)]
    groups = list(itertools.product(range(TOPICS), range(REGIMES)))
    best = {group: i for i, group in enumerate(groups)}  # a different winner per group
    profile = {group: rng.normal(size=MODELS) for group in groups}
    rows, probe_rows, group_of = [], [], {}
    for j, dataset in enumerate(scaffold.dataset_ids):
        group = groups[j // COPIES]
        group_of[dataset] = group
        for i, model in enumerate(models):
            quality = (2.0 if i == best[group] else 0.0) + rng.normal(scale=0.3)
            rows.append({"model": model, "dataset": dataset, "value": quality})
            probe_rows.append({"model": model, "dataset": dataset, "metric": "probe_mse_0.5",
                               "higher_is_better": False,
                               "value": float(np.exp(profile[group][i]
                                                     + rng.normal(scale=0.1)))})
    similarity = [{"dataset_a": a, "dataset_b": b,
                   "value": (0.9 if group_of[a][0] == group_of[b][0] else 0.1)
                   + rng.normal(scale=0.02)}
                  for a, b in itertools.combinations(scaffold.dataset_ids, 2)]
    metrics = {"score": {"higher_is_better": True}}
    scores = complete_scores(pd.DataFrame(rows))
    if probes:
        metrics["probe_mse_0.5"] = {"higher_is_better": False, "log_scale": True, "probe": True}
        scores = pd.concat([scores, complete_scores(pd.DataFrame(probe_rows))])
    return MatchingGraph(scaffold.models, scaffold.datasets, scores, pd.DataFrame(similarity),
                         {**scaffold.meta, "metrics": metrics, "primary_metric": "score"})


def test_probe_profile_similarity_is_the_correlation_of_log_losses():
    graph = _regime_graph()
    ids = graph.dataset_ids
    table = probe_profile_similarity(graph, ["probe_mse_0.5"], graph.model_ids, ids)
    logs = np.log(graph.score_matrix("probe_mse_0.5").reindex(columns=ids).to_numpy())
    assert table.to_numpy() == pytest.approx(np.corrcoef(logs.T))
    assert list(table.index) == list(table.columns) == ids
    # copies of one (topic, regime) share a profile: near 1 among themselves
    assert table.loc[ids[0], ids[1]] > 0.8 and table.loc[ids[0], ids[2]] > 0.8


def test_a_constant_profile_has_no_similarity():
    graph = _regime_graph()
    flat = graph.scores.copy()
    probe = flat["metric"] == "probe_mse_0.5"
    flat.loc[probe & (flat["dataset"] == graph.dataset_ids[4]), "value"] = 0.25
    graph = MatchingGraph(graph.models, graph.datasets, flat, graph.similarity, graph.meta)
    table = probe_profile_similarity(graph, ["probe_mse_0.5"], graph.model_ids,
                                     graph.dataset_ids)
    flat_id = graph.dataset_ids[4]
    assert table.loc[flat_id].isna().all() and table[flat_id].isna().all()
    assert np.isfinite(table.iloc[0, 1])


def test_probe_neighbours_find_the_regime_the_descriptors_miss():
    graph = _regime_graph()
    # two neighbours: a dataset's two copies by probe profile, two of its topic by descriptor
    methods = {"with": Recommender(regressor="linear", n_neighbors=COPIES - 1,
                                   probe_neighbours=True),
               "without": Recommender(regressor="linear", n_neighbors=COPIES - 1,
                                      probe_neighbours=False)}
    summary = leave_one_dataset_out(graph, methods).summary
    # descriptors point half the neighbours at the other regime's winner; the probe profile
    # points at the dataset's own (topic, regime): measured top-1 0.94 with, 0.00 without
    assert summary.loc["with", "top1"] > 0.8
    assert summary.loc["with", "top1"] > summary.loc["without", "top1"] + 0.5
    fitted = Recommender(regressor="linear", probe_neighbours=True).fit(graph)
    assert len(fitted.vote_similarities_) == 2


def test_probe_neighbours_need_probes_on_every_pair():
    plain = Recommender(regressor="linear", probe_neighbours=True).fit(
        _regime_graph(probes=False))
    assert len(plain.vote_similarities_) == 1 and plain.probe_metrics_ == []
    with pytest.raises(ConfigError, match="probe_neighbours must be"):
        Recommender(probe_neighbours="yes").fit(_regime_graph())
    with pytest.raises(ConfigError, match="features_only never uses the graph"):
        FeaturesOnly(probe_neighbours=True)
