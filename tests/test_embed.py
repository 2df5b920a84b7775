"""Graph embeddings: community separation, determinism, seeding, cold start, node features."""

import numpy as np
import pandas as pd
import pytest

from mandc.errors import UnknownNameError
from mandc.graph.synth import synthetic_problem
from mandc.graph.views import without_scores_of
from mandc.ranking.embed import (
    EMBEDDINGS,
    GraphView,
    encode_node_features,
    make_embedding,
    neighbour_weights,
)


@pytest.fixture(scope="module")
def communities():
    return synthetic_problem(30, 24, seed=3, n_communities=2)


@pytest.fixture(scope="module")
def problem():
    return synthetic_problem(30, 24, seed=5)


def test_registry_names_and_unknown_name():
    assert {"spectral", "metapath2vec", "gnn"} <= set(EMBEDDINGS.names())
    with pytest.raises(UnknownNameError, match="valid names: .*gnn.*metapath2vec.*spectral"):
        make_embedding("node2vec")


def test_spectral_keeps_disconnected_communities_apart(communities):
    embedding = make_embedding("spectral", dim=8).fit(communities.graph)
    models = embedding.model_embeddings_.to_numpy()
    datasets = embedding.dataset_embeddings_.to_numpy()
    # no path joins the communities, so a model and a dataset of different ones are orthogonal
    cross = communities.model_community[:, None] != communities.dataset_community[None, :]
    products = models @ datasets.T
    assert np.abs(products[cross]).max() < 1e-9
    assert np.abs(products[~cross]).max() > 0.1
    # and the dataset embeddings are linearly separable by community
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=100.0).fit(datasets, communities.dataset_community)
    assert classifier.score(datasets, communities.dataset_community) == 1.0


def test_metapath2vec_separates_communities(communities):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    embedding = make_embedding("metapath2vec", dim=8, seed=0).fit(communities.graph)
    for table, labels in ((embedding.model_embeddings_, communities.model_community),
                          (embedding.dataset_embeddings_, communities.dataset_community)):
        accuracy = cross_val_score(LogisticRegression(), table.to_numpy(), labels, cv=3).mean()
        assert accuracy >= 0.9


def test_spectral_is_deterministic_with_a_sign_convention(problem):
    first = make_embedding("spectral", dim=6, seed=0).fit(problem.graph)
    second = make_embedding("spectral", dim=6, seed=99).fit(problem.graph)
    pd.testing.assert_frame_equal(first.dataset_embeddings_, second.dataset_embeddings_)
    pd.testing.assert_frame_equal(first.model_embeddings_, second.model_embeddings_)
    datasets = first.dataset_embeddings_.to_numpy()
    largest = datasets[np.abs(datasets).argmax(axis=0), np.arange(datasets.shape[1])]
    assert (largest > 0).all()


def test_spectral_factors_reproduce_the_normalised_scores(problem):
    # the synthetic scores are low rank (4 factors + a bias): 8 dimensions nearly reproduce them
    graph = problem.graph
    embedding = make_embedding("spectral", dim=8, similarity_weight=0.0).fit(graph)
    approximation = embedding.model_embeddings_.to_numpy() @ \
        embedding.dataset_embeddings_.to_numpy().T
    truth = graph.normalized_score_matrix().to_numpy()
    assert np.corrcoef(approximation.ravel(), truth.ravel())[0, 1] > 0.97


@pytest.mark.parametrize("name", ["metapath2vec", "gnn"])
def test_learned_embeddings_are_reproducible_per_seed(problem, name):
    params = {"epochs": 5} if name == "metapath2vec" else {"epochs": 20}
    first = make_embedding(name, dim=4, seed=1, **params).fit(problem.graph)
    again = make_embedding(name, dim=4, seed=1, **params).fit(problem.graph)
    other = make_embedding(name, dim=4, seed=2, **params).fit(problem.graph)
    pd.testing.assert_frame_equal(first.dataset_embeddings_, again.dataset_embeddings_)
    pd.testing.assert_frame_equal(first.model_embeddings_, again.model_embeddings_)
    assert not np.allclose(first.model_embeddings_, other.model_embeddings_)


@pytest.mark.parametrize("name", ["spectral", "metapath2vec", "gnn"])
def test_cold_start_dataset_lands_near_its_most_similar_profiled_datasets(problem, name):
    graph = problem.graph
    target = graph.dataset_ids[0]
    cold = without_scores_of(graph, target)
    embedding = make_embedding(name, dim=8, seed=0).fit(cold)
    vectors = embedding.dataset_embeddings_
    assert vectors.index.tolist() == graph.dataset_ids
    assert np.isfinite(vectors.to_numpy()).all()
    similarity = cold.given_similarity().loc[target].drop(target)
    nearest = similarity.sort_values(ascending=False).index[:3]
    distance = np.linalg.norm(vectors.drop(target) - vectors.loc[target], axis=1)
    distance = pd.Series(distance, index=vectors.index.drop(target))
    # the three most similar datasets are, on average, much closer than the typical one
    assert distance[nearest].mean() < 0.6 * distance.median()


def test_cold_start_spectral_embedding_is_the_weighted_mean_of_neighbours(problem):
    graph = problem.graph
    target = graph.dataset_ids[2]
    cold = without_scores_of(graph, target)
    embedding = make_embedding("spectral", dim=4, n_neighbors=3).fit(cold)
    view = GraphView.from_graph(cold)
    others = [d for d in graph.dataset_ids if d != target]
    weights = neighbour_weights(view.similarity.loc[[target], others].to_numpy(), 3,
                                exclude_self=False)[0]
    expected = weights @ embedding.dataset_embeddings_.loc[others].to_numpy()
    np.testing.assert_allclose(embedding.dataset_embeddings_.loc[target], expected)


def test_neighbour_weights_pick_the_most_similar_and_never_self():
    similarity = np.array([[1.0, 0.9, 0.1, 0.5],
                           [0.9, 1.0, 0.2, np.nan],
                           [0.1, 0.2, 1.0, 0.3],
                           [0.5, np.nan, 0.3, 1.0]])
    weights = neighbour_weights(similarity, 2, exclude_self=True)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (np.diag(weights) == 0).all()
    assert set(np.flatnonzero(weights[0])) == {1, 3}
    assert weights[0, 1] > weights[0, 3]  # more similar, more weight
    assert weights[1, 3] == 0  # unknown similarity is never chosen


def test_node_features_expand_vectors_encode_categories_and_impute():
    table = pd.DataFrame({
        "family": ["unet", "dit", None, "unet"],
        "params": [1.0, np.nan, 3.0, 4.0],
        "vector": [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]],
    }, index=pd.Index(["a", "b", "c", "d"], name="model"))
    encoded = encode_node_features(table)
    assert not encoded.isna().any().any()
    assert any("vector[1]" in c for c in encoded.columns)
    one_hot = [c for c in encoded.columns if "family" in c]
    assert len(one_hot) == 2  # the missing family is imputed to the most frequent one
    np.testing.assert_allclose(encoded[[c for c in encoded if "params" in c][0]].mean(), 0.0,
                               atol=1e-12)
