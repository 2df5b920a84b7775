"""M&C's recommender: contract, errors, explanations, the kernel interpolation and its quality."""

import numpy as np
import pandas as pd
import pytest

from mandc.errors import ConfigError, NotFittedError, UnknownNameError
from mandc.graph.synth import synthetic_graph
from mandc.graph.views import without_scores_of
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.methods import METHODS, make_method
from mandc.ranking.recommend import (
    REGRESSORS,
    FeaturesOnly,
    Recommender,
    SimilarityKernelRegression,
)


@pytest.fixture(scope="module")
def graph():
    return synthetic_graph(30, 24, seed=2)


def test_registered_names():
    assert isinstance(make_method("mandc"), Recommender)
    assert isinstance(make_method("features_only"), FeaturesOnly)
    assert {"linear", "random_forest", "gradient_boosting"} <= set(REGRESSORS.names())
    assert "mandc" in METHODS and "features_only" in METHODS


def test_fitted_recommender_ranks_every_model(graph):
    target = graph.dataset_ids[0]
    method = Recommender().fit(without_scores_of(graph, target))
    table = method.rank(target)
    assert sorted(table["model"]) == sorted(graph.model_ids)
    assert table["rank"].tolist() == list(range(1, len(graph.model_ids) + 1))
    assert np.isfinite(table["predicted"]).all()
    assert table["predicted"].is_monotonic_decreasing
    assert [row["dataset"] for row in table.attrs["similar_datasets"]]


def test_ranking_before_fit_raises_a_clear_error():
    with pytest.raises(NotFittedError, match=r"not fitted; call fit\(graph\) first"):
        Recommender().rank("d00")
    with pytest.raises(NotFittedError, match="not fitted"):
        Recommender().explain("d00")


@pytest.mark.parametrize("setting, valid", [
    ({"regressor": "xgboost"}, "gradient_boosting, linear, random_forest"),
    ({"embedding": "node2vec"}, "gnn, metapath2vec, spectral"),
])
def test_unknown_names_list_the_valid_ones(graph, setting, valid):
    with pytest.raises(UnknownNameError, match=valid):
        Recommender(**setting).fit(graph)


def test_bad_settings_are_refused(graph):
    with pytest.raises(ConfigError, match="n_neighbors"):
        Recommender(n_neighbors=0).fit(graph)
    with pytest.raises(ConfigError, match="never uses the graph"):
        FeaturesOnly(use_graph=True)


def test_clone_from_params_as_the_evaluation_does(graph):
    method = Recommender(regressor="random_forest", dim=4, n_neighbors=3, seed=7)
    clone = type(method)(**method.get_params())
    assert clone.get_params() == method.get_params()
    assert type(FeaturesOnly())(**FeaturesOnly().get_params()).use_graph is False


def test_explain_names_the_nearest_profiled_datasets_never_the_target(graph):
    target = graph.dataset_ids[3]
    fold = without_scores_of(graph, target)
    method = Recommender(n_neighbors=4).fit(fold)
    explanation = method.explain(target)
    assert len(explanation) == 4 and target not in set(explanation["dataset"])
    np.testing.assert_allclose(explanation["weight"].sum(), 1.0)
    similarity = fold.given_similarity().loc[target].drop(target)
    expected = similarity.sort_values(ascending=False).index[:4]
    assert set(explanation["dataset"]) == set(expected)
    assert explanation["similarity"].is_monotonic_decreasing
    assert method.neighbours(target, 2).index.tolist() == explanation["dataset"][:2].tolist()


def test_a_profiled_target_is_predicted_without_its_own_scores(graph):
    target = graph.dataset_ids[5]
    method = Recommender().fit(graph)
    assert target not in set(method.explain(target)["dataset"])
    row = method.profiled_ids_.index(target)
    assert method.kernel_.leave_one_out_weights()[row, row] == 0


def test_kernel_leave_one_out_weights_equal_a_refit_without_the_dataset():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(7, 3))
    kernel = np.exp(-np.sum((points[:, None] - points[None]) ** 2, axis=2))
    values = rng.normal(size=(5, 7))
    fitted = SimilarityKernelRegression().fit(kernel, values, np.ones_like(values, bool))
    loo = fitted.leave_one_out_weights()
    for held_out in range(7):
        others = np.delete(np.arange(7), held_out)
        alone = SimilarityKernelRegression()
        alone.eigenvalues_, alone.basis_ = np.linalg.eigh(kernel[np.ix_(others, others)])
        alone.lam_ = fitted.lam_
        direct = alone.target_weights(kernel[held_out, others])[0]
        np.testing.assert_allclose(np.delete(loo[held_out], held_out), direct, atol=1e-8)


def test_features_only_uses_no_graph(graph):
    method = FeaturesOnly().fit(graph)
    assert not hasattr(method, "embedding_")
    assert method.rank(graph.dataset_ids[0]).shape[0] == len(graph.model_ids)


@pytest.mark.parametrize("regressor", ["random_forest", "gradient_boosting"])
def test_other_regressors_fit_and_rank(graph, regressor):
    target = graph.dataset_ids[1]
    method = Recommender(regressor=regressor, seed=1).fit(without_scores_of(graph, target))
    prediction = method.predict(target)
    assert prediction.index.tolist() == graph.model_ids and np.isfinite(prediction).all()


def test_models_and_datasets_without_features_still_work():
    bare = synthetic_graph(12, 10, seed=4)
    bare.models = bare.models[["model", "source"]]
    prediction = Recommender().fit(bare).predict(bare.dataset_ids[0])
    assert np.isfinite(prediction).all()


def test_mandc_beats_best_average_and_random_by_a_clear_margin():
    report = leave_one_dataset_out(synthetic_graph(30, 24, seed=0),
                                   ["random", "best_average", "mandc"])
    table = report.summary
    mandc, average, random = (table.loc[n] for n in ("mandc", "best_average", "random"))
    assert mandc["top1"] >= average["top1"] + 0.3
    assert mandc["top1"] >= random["top1"] + 0.4
    assert mandc["regret"] <= 0.5 * average["regret"]
    assert mandc["spearman"] > 0.8


def _small_hand_like(seed):
    """6 models × 8 datasets of FID (log scale), one strong model main effect and weak
    similarities: the shape of a matrix a newcomer writes by hand."""
    graph = synthetic_graph(6, 8, seed=seed, main_effect=1.5, noise=0.5, similarity_noise=1.0,
                            feature_noise=2.0, higher_is_better=False, metric="fid")
    graph.meta["metrics"]["fid"]["log_scale"] = True
    return graph


def test_with_little_evidence_mandc_is_never_worse_than_best_average():
    for seed in (0, 1):
        report = leave_one_dataset_out(_small_hand_like(seed), {
            "best_average": make_method("best_average"), "mandc": Recommender(),
            "unshrunk": Recommender(shrink=False)})
        table = report.summary
        assert table.loc["mandc", "regret"] <= table.loc["best_average", "regret"] + 1e-9
        assert table.loc["mandc", "spearman"] >= table.loc["best_average", "spearman"] - 0.05
    # without the shrinkage the regressor's noise loses to the safe choice on this shape
    assert table.loc["unshrunk", "regret"] > table.loc["best_average", "regret"]


def test_shrinkage_weight_is_fitted_out_of_fold_and_bounded():
    thin = Recommender().fit(_small_hand_like(1))
    assert 0.0 <= thin.shrinkage_ < 0.5  # thin evidence: mostly the safe choice
    rich = Recommender().fit(synthetic_graph(10, 32, seed=1))
    assert rich.shrinkage_ > 0.9  # strong evidence: the regressor's own ranking
    assert Recommender(shrink=False).fit(_small_hand_like(1)).shrinkage_ == 1.0
    with pytest.raises(ConfigError, match="shrink"):
        Recommender(shrink="yes").fit(_small_hand_like(1))
    # the shrunk prediction is the average plus w times the regressor's departure from it
    target = thin.graph_.dataset_ids[0]
    unshrunk = Recommender(shrink=False).fit(thin.graph_).predict(target)
    expected = thin.model_average_ + thin.shrinkage_ * (unshrunk.to_numpy() - thin.model_average_)
    np.testing.assert_allclose(thin.predict(target).to_numpy(), expected)


def test_a_target_s_own_scores_never_reach_the_shrinkage_or_the_prediction():
    graph = _small_hand_like(0)
    target = graph.dataset_ids[3]
    changed = graph.scores.copy()
    on_target = changed["dataset"] == target
    changed.loc[on_target, "value"] = changed.loc[on_target, "value"].to_numpy()[::-1] * 3.0
    other = type(graph)(graph.models, graph.datasets, changed, graph.similarity, graph.meta)
    fits = [Recommender().fit(without_scores_of(g, target)) for g in (graph, other)]
    assert fits[0].shrinkage_ == fits[1].shrinkage_
    pd.testing.assert_series_equal(fits[0].predict(target), fits[1].predict(target))


def test_rank_shows_calibrated_intervals():
    from mandc.ranking.evaluate import interval_coverage

    graph = synthetic_graph(10, 16, seed=4, noise=0.3)
    method = Recommender().fit(graph)
    narrow, wide = method.rank("d03", level=0.8), method.rank("d03", level=0.95)
    assert (narrow["low"] < narrow["predicted"]).all()
    assert (narrow["predicted"] < narrow["high"]).all()
    assert (wide["high"] - wide["low"]).min() > (narrow["high"] - narrow["low"]).max()
    with pytest.raises(ConfigError, match="level"):
        method.rank("d03", level=0.5)
    from mandc.advise import ranking_rows

    first = ranking_rows(narrow, None)[0]  # the JSON of recommend/advise carries the interval
    assert first["low"] == pytest.approx(narrow["low"].iloc[0])
    assert first["high"] == pytest.approx(narrow["high"].iloc[0])
    coverage = interval_coverage(graph, Recommender, datasets=graph.dataset_ids[:8])
    mean = coverage.groupby("level")["coverage"].mean()
    assert 0.6 <= mean[0.8] <= 0.97 and mean[0.95] >= 0.85 and mean[0.95] >= mean[0.8]
    thin = Recommender().fit(without_scores_of(synthetic_graph(4, 2, seed=0), "d0"))
    assert thin.rank("d0")[["low", "high"]].isna().all().all()  # one profiled dataset: no interval


def test_small_graphs_like_the_minizoo_work_well():
    # ten models and 32 datasets: every model is measured everywhere, few training rows
    report = leave_one_dataset_out(synthetic_graph(10, 32, seed=1),
                                   ["best_average", "nearest_dataset", "mandc"])
    table = report.summary
    assert table.loc["mandc", "top1"] >= table.loc["best_average", "top1"] + 0.3
    assert table.loc["mandc", "spearman"] >= table.loc["nearest_dataset", "spearman"] - 0.02


def test_rank_table_is_json_friendly(graph):
    table = Recommender().fit(graph).rank(graph.dataset_ids[0])
    assert isinstance(table, pd.DataFrame)
    neighbours = table.attrs["similar_datasets"]
    assert {"dataset", "similarity", "weight"} <= set(neighbours[0])


def test_wide_dataset_descriptors_are_compacted():
    # real graphs describe datasets by long image/caption embedding vectors
    wide = synthetic_graph(12, 20, seed=6)
    rng = np.random.default_rng(0)
    datasets = wide.datasets.copy()
    datasets["descriptor"] = [list(rng.normal(size=100)) for _ in range(len(datasets))]
    wide.datasets = datasets
    method = Recommender().fit(wide)
    assert method.dataset_matrix_.shape[1] == 16
    assert np.isfinite(method.predict(wide.dataset_ids[0])).all()


def test_auto_regressor_is_a_forest_on_small_graphs_and_a_ridge_on_big_ones():
    small = make_method("mandc").fit(synthetic_graph(10, 32, seed=0))
    big = make_method("mandc", max_rows=None).fit(synthetic_graph(60, 40, seed=0))
    assert small.regressor_ == "random_forest" and small.n_training_rows_ == 320
    assert big.regressor_ == "linear" and big.n_training_rows_ == 2400
    assert make_method("mandc", regressor="linear").fit(
        synthetic_graph(10, 32, seed=0)).regressor_ == "linear"
