"""M&C's recommender without a refit per target (``transductive=False``): a new dataset is
placed out of sample through transforms fitted on the profiled datasets only."""

import numpy as np
import pandas as pd
import pytest

import mandc.advise
from mandc.errors import ConfigError, ValidationError
from mandc.features import DatasetDescriptor
from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.placement import add_target
from mandc.graph.similarity import FittedSimilarity, dataset_similarity
from mandc.graph.store import load_graph
from mandc.graph.synth import synthetic_graph
from mandc.graph.views import without_scores_of
from mandc.ranking.embed import NodeFeatureEncoder, encode_node_features
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.recommend import Recommender


@pytest.fixture(scope="module")
def graph():
    return synthetic_graph(14, 18, seed=5, noise=0.1)


@pytest.fixture(scope="module")
def minizoo():
    return load_graph(shipped_graph_dir())


def _without_dataset(graph: MatchingGraph, dataset: str) -> MatchingGraph:
    """``graph`` as if ``dataset`` had never been in it (no row, no edge, no score)."""
    similarity = graph.similarity
    return MatchingGraph(graph.models, graph.datasets[graph.datasets["dataset"] != dataset],
                         graph.scores[graph.scores["dataset"] != dataset],
                         similarity[(similarity["dataset_a"] != dataset)
                                    & (similarity["dataset_b"] != dataset)], dict(graph.meta))


def test_leave_one_out_inductive_ranks_as_well_as_the_refit(graph):
    """The known answer of a synthetic graph (families of datasets share a best model): placed
    out of sample, each held-out dataset is ranked about as well as by the transductive refit,
    and far better than chance. A tolerance, not equality: the refit's unsupervised transforms
    (similarity scale, feature scaling and components, the spectral embedding's similarity
    block) also see the target, so its forest is grown on slightly different features."""
    report = leave_one_dataset_out(graph, {
        "refit": Recommender(seed=0), "inductive": Recommender(transductive=False, seed=0)},
        datasets=graph.dataset_ids[::2])  # 9 of the 18, for time
    summary = report.summary
    refit, inductive = summary.loc["refit"], summary.loc["inductive"]
    assert inductive["spearman"] > 0.6 and inductive["top3"] >= 0.8
    assert inductive["spearman"] >= refit["spearman"] - 0.05
    assert inductive["top1"] >= refit["top1"] - 0.12  # two datasets of 18 at most
    assert inductive["regret"] <= refit["regret"] + 0.05


def test_one_target_gets_nearly_the_refits_prediction(graph):
    target = graph.dataset_ids[4]
    cut = without_scores_of(graph, target)
    refit = Recommender().fit(cut).predict(target)
    placed = Recommender(transductive=False).fit(cut).predict(target)
    assert pd.Series(refit).corr(pd.Series(placed), method="spearman") > 0.9
    assert refit.idxmax() == placed.idxmax()


def test_no_score_or_row_of_the_target_reaches_the_fit(graph):
    """The fit never sees the target at all: fitted without it in the graph and then given a
    graph that holds it, it predicts exactly what a fit on that graph predicts."""
    target = graph.dataset_ids[2]
    cut = without_scores_of(graph, target)
    fitted = Recommender(transductive=False).fit(cut)
    assert target not in fitted.profiled_ids_ and target not in fitted.dataset_index_
    assert fitted.n_training_rows_ == int(graph.score_matrix().drop(columns=target)
                                          .notna().to_numpy().sum())
    never_seen = Recommender(transductive=False).fit(_without_dataset(graph, target))
    np.testing.assert_array_equal(never_seen.with_targets(cut).predict(target),
                                  fitted.predict(target))


def test_a_graph_with_the_targets_scores_is_refused(graph):
    target = graph.dataset_ids[2]
    fitted = Recommender(transductive=False).fit(without_scores_of(graph, target))
    with pytest.raises(ValidationError, match="scores are not those"):
        fitted.with_targets(graph)  # the target's own scores would be read as training data


def test_with_targets_needs_an_inductive_fit(graph):
    with pytest.raises(ConfigError, match="transductive=False"):
        Recommender().fit(graph).with_targets(graph)
    with pytest.raises(ConfigError, match="transductive must be"):
        Recommender(transductive="no").fit(graph)


def test_fitted_similarity_is_the_graphs_on_its_datasets(graph, minizoo):
    for source_graph, source in ((minizoo, "auto"), (minizoo, "features"), (graph, "auto")):
        fitted = FittedSimilarity(source).fit(source_graph)
        table = dataset_similarity(source_graph, source=source)
        ids = source_graph.dataset_ids
        for dataset in ids[:4]:
            np.testing.assert_allclose(fitted.row(source_graph, dataset, ids),
                                       table.loc[dataset, ids].to_numpy(), atol=1e-12)


def test_a_new_target_keeps_the_fitted_distance_scale(minizoo):
    """A Fréchet distance becomes exp(-d / median d) with the median of the fitted datasets'
    pairs: adding a target moves no fitted similarity and uses the same scale."""
    heldout = load_graph(shipped_graph_dir("minizoo-heldout"))
    row = heldout.datasets.iloc[0].to_dict()
    placed, target = add_target(minizoo, DatasetDescriptor.from_row(row))
    fitted = FittedSimilarity().fit(minizoo)
    ids = minizoo.dataset_ids
    similarity = fitted.row(placed, target, ids)
    edges = placed.similarity[(placed.similarity["dataset_b"] == target)
                              & (placed.similarity["dataset_a"] == ids[0])]
    expected = np.mean([np.exp(-value / fitted.scales_[measure]) for measure, value
                        in zip(edges["measure"], edges["value"])])
    assert similarity[0] == pytest.approx(expected)
    assert np.isfinite(similarity).all() and (similarity > 0).all() and (similarity < 1).all()


def test_node_feature_encoder_transforms_new_rows_as_fitted_ones(minizoo):
    table = minizoo.dataset_features()
    encoder = NodeFeatureEncoder().fit(table.iloc[1:])
    fitted = encode_node_features(table.iloc[1:])
    pd.testing.assert_frame_equal(encoder.transform(table.iloc[1:]), fitted)
    new = encoder.transform(table.iloc[:1])
    assert list(new.columns) == list(fitted.columns) and np.isfinite(new.to_numpy()).all()


def test_advise_ranks_new_targets_with_one_fit_kept_for_the_graph(minizoo, monkeypatch):
    fits = []
    make_method = mandc.advise.make_method
    monkeypatch.setattr(mandc.advise, "make_method",
                        lambda name, **kw: fits.append(kw) or make_method(name, **kw))
    heldout = load_graph(shipped_graph_dir("minizoo-heldout"))
    fitted, answers = {}, []
    for k in range(2):
        placed, target = add_target(minizoo, DatasetDescriptor.from_row(
            heldout.datasets.iloc[k].to_dict()))
        answers.append(mandc.advise.advise(placed, target, top=None, hold_out=True,
                                           fitted=fitted, base=minizoo))
        expected = Recommender(transductive=False, use_probe=False).fit(placed).rank(target)
        assert [row["model"] for row in answers[-1]["ranking"]] == expected["model"].tolist()
    assert len(fits) == 1 and fits[0]["transductive"] is False
    assert answers[0]["target"] != answers[1]["target"]
    assert answers[0]["neighbours"] and answers[0]["held_out"]
