"""The baselines on graphs where the right answer is known, and the shared dataset similarity."""

import numpy as np
import pandas as pd
import pytest

from mandc.errors import ConfigError, ValidationError
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.similarity import dataset_feature_matrix, dataset_similarity
from mandc.graph.synth import synthetic_graph
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.methods import METHODS, make_method


def _two_cluster_graph(*, with_similarity=True, vector_features=False) -> MatchingGraph:
    """Datasets a1..a3 favour model 'ma', b1..b3 favour 'mb'; 'mc' is second everywhere."""
    datasets = ["a1", "a2", "a3", "b1", "b2", "b3"]
    rows = []
    for d in datasets:
        winner, loser = ("ma", "mb") if d.startswith("a") else ("mb", "ma")
        offset = 10.0 * (1 + datasets.index(d))  # every dataset on its own scale
        rows += [(winner, d, offset + 3), ("mc", d, offset + 2), (loser, d, offset)]
    scores = pd.DataFrame(rows, columns=["model", "dataset", "value"])
    side = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    jitter = np.array([0.1, -0.1, 0.05, 0.1, -0.05, 0.0])
    if vector_features:
        table = pd.DataFrame({"dataset": datasets,
                              "embedding": [[s, s + j, 1.0] for s, j in zip(side, jitter)]})
    else:
        table = pd.DataFrame({"dataset": datasets, "x": side + jitter, "y": 0.5 * side - jitter,
                              "style": ["photo"] * 3 + ["sketch"] * 3})
    similarity = pd.DataFrame(columns=["dataset_a", "dataset_b", "value"])
    if with_similarity:
        pairs = [(a, b) for i, a in enumerate(datasets) for b in datasets[i + 1:]]
        similarity = pd.DataFrame({"dataset_a": [a for a, _ in pairs],
                                   "dataset_b": [b for _, b in pairs],
                                   "value": [0.9 if a[0] == b[0] else 0.1 for a, b in pairs]})
    models = pd.DataFrame({"model": ["ma", "mb", "mc"]})
    return MatchingGraph(models, table, scores, similarity)


def test_baselines_are_registered():
    assert {"random", "best_average", "nearest_dataset"} <= set(METHODS.names())


def test_random_ties_every_model():
    graph = _two_cluster_graph()
    prediction = make_method("random").fit(graph).predict("a1")
    assert prediction.nunique() == 1 and list(prediction.index) == ["ma", "mb", "mc"]


def test_best_average_is_the_mean_normalised_score_and_ignores_the_target():
    graph = _two_cluster_graph()
    method = make_method("best_average").fit(graph.without_scores_of("a1"))
    # per dataset the z-scores are (winner, mc, loser) = (1.069, 0.267, -1.336)
    z = (np.array([3.0, 2.0, 0.0]) - 5 / 3) / np.std([3.0, 2.0, 0.0])
    expected = {"ma": (2 * z[0] + 3 * z[2]) / 5, "mb": (2 * z[2] + 3 * z[0]) / 5, "mc": z[1]}
    prediction = method.predict("a1")
    assert prediction.to_dict() == pytest.approx(expected)
    assert method.predict("b2").equals(prediction)
    assert prediction.idxmax() == "mc"  # the consistent runner-up wins on average


def test_best_average_finds_a_model_that_wins_everywhere():
    graph = synthetic_graph(20, 10, density=0.7, seed=2)
    scores = graph.scores.copy()
    scores.loc[scores["model"] == "m07", "value"] += 50.0  # m07 now wins wherever it was run
    boosted = MatchingGraph(graph.models, graph.datasets, scores, graph.similarity)
    report = leave_one_dataset_out(boosted, ["best_average", "random"])
    rows = report.per_dataset[report.per_dataset["method"] == "best_average"]
    measured_on = rows["dataset"].isin(set(scores.loc[scores["model"] == "m07", "dataset"]))
    assert 0 < measured_on.sum() < len(rows)
    assert (rows.loc[measured_on, "pick"] == "m07").all()
    assert (rows.loc[measured_on, "top1"] == 1).all()
    assert report.summary.loc["best_average", "top1"] > 0.5 > report.summary.loc["random", "top1"]


@pytest.mark.parametrize("options", [{}, {"with_similarity": False},
                                     {"with_similarity": False, "vector_features": True}])
def test_nearest_dataset_picks_what_won_on_the_nearest_datasets(options):
    graph = _two_cluster_graph(**options)
    for target, winner in (("a2", "ma"), ("b1", "mb")):
        method = make_method("nearest_dataset", k=2).fit(graph.without_scores_of(target))
        assert method.predict(target).idxmax() == winner
        assert set(method.neighbours(target).index) == {d for d in graph.dataset_ids
                                                  if d[0] == target[0] and d != target}
    report = leave_one_dataset_out(graph, ["nearest_dataset", "best_average"])
    assert report.summary.loc["nearest_dataset", "top1"] == 1
    assert report.summary.loc["best_average", "top1"] == 0


def test_nearest_dataset_votes_only_where_a_model_was_measured():
    graph = _two_cluster_graph()
    # 'ma' is missing on a2 and a3, so its votes come from a1 only (still the winner there)
    keep = ~((graph.scores["model"] == "ma") & graph.scores["dataset"].isin(["a2", "a3"]))
    sparse = MatchingGraph(graph.models, graph.datasets, graph.scores[keep], graph.similarity)
    method = make_method("nearest_dataset", k=1).fit(sparse.without_scores_of("a2"))
    prediction = method.predict("a2")
    assert prediction.idxmax() == "ma"
    assert prediction["ma"] == pytest.approx(sparse.normalized_score_matrix().loc["ma", "a1"])


def test_nearest_dataset_settings_and_missing_similarity():
    graph = _two_cluster_graph()
    with pytest.raises(ConfigError, match="k must be"):
        make_method("nearest_dataset", k=0).fit(graph)
    bare = MatchingGraph(graph.models, graph.datasets[["dataset"]], graph.scores)
    with pytest.raises(ValidationError, match="neither a similarity table nor dataset features"):
        make_method("nearest_dataset").fit(bare)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_a_graph_where_the_best_model_varies_nearest_dataset_wins_clearly(seed):
    graph = synthetic_graph(40, 30, density=0.6, seed=seed)
    assert graph.score_matrix().idxmax().nunique() >= 3
    summary = leave_one_dataset_out(graph, ["random", "best_average", "nearest_dataset"]).summary
    nearest = summary.loc["nearest_dataset"]
    for other in ("random", "best_average"):
        assert nearest["top1"] >= summary.loc[other, "top1"] + 0.2
        assert nearest["regret"] <= 0.5 * summary.loc[other, "regret"]
        assert nearest["spearman"] >= summary.loc[other, "spearman"] + 0.2


# ----------------------------------------------------------------------------- similarity
def test_given_similarity_is_used_when_the_graph_has_one():
    graph = _two_cluster_graph()
    similarity = dataset_similarity(graph)
    assert similarity.loc["a1", "a2"] == pytest.approx(0.9)
    assert similarity.loc["a1", "b3"] == pytest.approx(0.1)
    assert dataset_similarity(graph) is similarity  # memoised


def test_feature_similarity_is_the_cosine_of_standardised_features():
    graph = _two_cluster_graph(with_similarity=False)
    features = dataset_feature_matrix(graph)
    assert features.shape == (6, 4)  # x, y and the two one-hot style columns
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(features.std(axis=0), 1)
    similarity = dataset_similarity(graph).to_numpy()
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    np.testing.assert_allclose(similarity, unit @ unit.T)
    assert similarity[0, 1] > 0.5 > similarity[0, 4]
    with pytest.raises(ValidationError, match="no similarity table"):
        dataset_similarity(graph, source="given")
    with pytest.raises(ConfigError):
        dataset_similarity(graph, source="magic")


def test_vector_features_are_spread_and_constant_columns_dropped():
    graph = _two_cluster_graph(with_similarity=False, vector_features=True)
    assert dataset_feature_matrix(graph).shape == (6, 2)  # the constant third element is dropped
    broken = graph.datasets.copy()
    broken.at[0, "embedding"] = [1.0, 2.0]
    with pytest.raises(ValidationError, match="different lengths"):
        dataset_feature_matrix(MatchingGraph(graph.models, broken, graph.scores))
