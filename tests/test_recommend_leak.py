"""A training row's features never carry its own label (sparse graphs are where it showed)."""

import numpy as np
import pytest

from mandc.graph.synth import synthetic_graph
from mandc.ranking.embed import GraphView, make_embedding
from mandc.ranking.recommend import _impute_low_rank, _imputed_without_own_column


@pytest.fixture(scope="module")
def sparse_graph():
    return synthetic_graph(n_models=40, n_datasets=12, density=0.25, main_effect=2.0, seed=4)


def test_spectral_fold_out_of_every_edge_of_a_model_leaves_nothing(sparse_graph):
    # a model's vector is the projection of its score row; folding out each of its edges in
    # turn must take all of it away (known answer: the zero vector)
    view = GraphView.from_graph(sparse_graph)
    embedding = make_embedding("spectral", dim=6).fit(view)
    scores = view.scores.to_numpy()[:, view.profiled]
    model = int(np.argmax((~np.isnan(scores)).sum(axis=1)))
    columns = np.flatnonzero(~np.isnan(scores[model]))
    vector = embedding.model_embeddings_.to_numpy()[model]
    shares = vector - embedding.model_vectors_without(
        np.full(len(columns), model), columns, scores[model, columns])
    assert len(columns) >= 3
    np.testing.assert_allclose(shares.sum(axis=0), vector, atol=1e-10)
    # and one edge folded out is the projection of the row without that score
    without = embedding.model_vectors_without(np.array([model]), columns[:1],
                                              scores[model, columns[:1]])[0]
    np.testing.assert_allclose(without, vector - shares[0], atol=1e-12)
    assert not np.allclose(without, vector)


def test_embeddings_without_a_fold_out_return_the_plain_vectors(sparse_graph):
    embedding = make_embedding("metapath2vec", dim=4, walk_length=6, epochs=1).fit(sparse_graph)
    plain = embedding.model_embeddings_.to_numpy()[[0, 1]]
    np.testing.assert_array_equal(
        embedding.model_vectors_without(np.array([0, 1]), np.array([0, 0]), np.ones(2)), plain)


def test_imputed_scores_of_a_dataset_ignore_its_own_scores():
    rng = np.random.default_rng(0)
    measured = rng.random((30, 8)) < 0.4
    scores = np.where(measured, rng.normal(size=(30, 8)), 0.0)
    weights = rng.random((8, 8))
    np.fill_diagonal(weights, 0.0)
    blocks = _imputed_without_own_column(scores, measured, 3, [weights])[0]
    # known answer: the impute refitted from scratch with each column hidden in turn
    for own in range(8):
        seen = measured.copy()
        seen[:, own] = False
        filled = _impute_low_rank(np.where(seen, scores, 0.0), seen, 3)
        np.testing.assert_allclose(blocks[:, own], filled @ weights[own], atol=1e-10)
    # changing a dataset's own scores leaves its column alone (and moves the others)
    changed = scores.copy()
    changed[measured[:, 2], 2] += 5.0
    moved = _imputed_without_own_column(changed, measured, 3, [weights])[0]
    np.testing.assert_allclose(moved[:, 2], blocks[:, 2], atol=1e-10)
    assert not np.allclose(np.delete(moved, 2, axis=1), np.delete(blocks, 2, axis=1))


def test_many_datasets_are_hidden_in_groups_and_still_never_see_their_own_scores():
    rng = np.random.default_rng(1)
    measured = rng.random((25, 9)) < 0.4
    scores = np.where(measured, rng.normal(size=(25, 9)), 0.0)
    weights = rng.random((9, 9))
    blocks = _imputed_without_own_column(scores, measured, 3, [weights], max_groups=3, seed=2)[0]
    order = np.random.default_rng(2).permutation(9)
    for group in np.array_split(order, 3):  # known answer: a refit with the whole group hidden
        seen = measured.copy()
        seen[:, group] = False
        filled = _impute_low_rank(np.where(seen, scores, 0.0), seen, 3)
        np.testing.assert_allclose(blocks[:, group], filled @ weights[group].T, atol=1e-10)
    changed = scores.copy()
    changed[measured[:, 4], 4] -= 3.0
    moved = _imputed_without_own_column(changed, measured, 3, [weights], max_groups=3, seed=2)[0]
    np.testing.assert_allclose(moved[:, 4], blocks[:, 4], atol=1e-10)


def test_dense_scores_need_no_imputation():
    scores = np.arange(12.0).reshape(4, 3)
    weights = np.eye(3)[::-1]
    np.testing.assert_array_equal(
        _imputed_without_own_column(scores, np.ones_like(scores, bool), 2, [weights])[0],
        scores @ weights.T)


def test_recommender_leaves_own_scores_out_only_on_sparse_graphs(sparse_graph):
    from mandc.ranking.recommend import OWN_SCORES_OUT_BELOW, Recommender

    assert OWN_SCORES_OUT_BELOW == 5  # measured datasets of the median model (this graph: 3)
    target = sparse_graph.dataset_ids[0]
    fold = sparse_graph.without_scores_of(target)
    sparse = Recommender(regressor="linear", seed=0).fit(fold)
    assert sparse.own_scores_out_
    dense_graph = synthetic_graph(n_models=12, n_datasets=10, seed=4)
    dense = Recommender(regressor="linear", seed=0).fit(dense_graph.without_scores_of(
        dense_graph.dataset_ids[0]))
    assert not dense.own_scores_out_
    # a dense graph of few datasets has a small median count too, but nothing is imputed there
    # and a fold-out cost more than it saved: left as it was
    few = synthetic_graph(n_models=12, n_datasets=5, seed=4)
    assert not Recommender(regressor="linear", seed=0).fit(
        few.without_scores_of(few.dataset_ids[0])).own_scores_out_
    # the sparse fit still ranks every candidate of the target
    assert sparse.predict(target).notna().all()


def test_a_profiled_dataset_is_predicted_from_the_features_of_its_training_rows(
        sparse_graph, monkeypatch):
    # with own scores left out of the training rows, ranking a profiled dataset in-sample must
    # read the same rows, or it ranks from features the regressor never saw
    from mandc.ranking.recommend import Recommender

    designs = []
    original = Recommender._design

    def recorded(self, *args):
        designs.append(original(self, *args))
        return designs[-1]

    monkeypatch.setattr(Recommender, "_design", recorded)
    fitted = Recommender(regressor="linear", max_rows=None, seed=0).fit(sparse_graph)
    assert fitted.own_scores_out_
    training = designs[0]
    models, columns = np.nonzero(fitted.measured_)
    for column in (0, 5):
        fitted.predict(fitted.profiled_ids_[column])
        np.testing.assert_allclose(designs[-1][models[columns == column]],
                                   training[columns == column], atol=1e-9)
