"""MatchingGraph tables, validation, views for learners and the on-disk layout."""

import json

import numpy as np
import pandas as pd
import pytest

from mandc.errors import ConfigError, ValidationError
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import append_scores, load_graph, save_graph


def small_graph(**meta) -> MatchingGraph:
    return MatchingGraph(
        models=pd.DataFrame({"model": ["a", "b", "c"], "params": [1.0, 2.0, 3.0]}),
        datasets=pd.DataFrame({"dataset": ["x", "y", "z"], "size": [10, 20, 30]}),
        scores=pd.DataFrame({"model": ["a", "b", "c", "a", "a"],
                             "dataset": ["x", "x", "x", "y", "y"],
                             "value": [1.0, 2.0, 6.0, 3.0, 5.0],
                             "count": [1, 1, 1, 1, 3]}),
        similarity=pd.DataFrame({"dataset_a": ["x"], "dataset_b": ["z"], "value": [3.0],
                                 "is_distance": [True]}),
        meta=meta,
    )


def test_score_matrix_averages_rows_weighted_by_count():
    matrix = small_graph().score_matrix()
    assert matrix.loc["a", "y"] == pytest.approx((3.0 * 1 + 5.0 * 3) / 4)
    assert np.isnan(matrix.loc["b", "y"])
    assert list(matrix.index) == ["a", "b", "c"] and list(matrix.columns) == ["x", "y", "z"]


def test_normalised_matrix_is_zscored_per_dataset_and_signed():
    graph = small_graph()
    z = graph.normalized_score_matrix()
    assert z["x"].mean() == pytest.approx(0.0)
    assert z["x"].std(ddof=0) == pytest.approx(1.0)
    assert z.loc["a", "y"] == 0.0  # one measured score: no spread, centred to 0
    lower = MatchingGraph(graph.models, graph.datasets,
                          graph.scores.assign(higher_is_better=False))
    assert lower.normalized_score_matrix()["x"].idxmax() == "a"  # lowest raw value is best


def test_a_log_scale_metric_is_standardised_by_ratios():
    scores = pd.DataFrame({"model": ["a", "b", "c"] * 2, "dataset": ["x"] * 3 + ["y"] * 3,
                           "value": [10.0, 20.0, 40.0, 100.0, 200.0, 400.0],
                           "higher_is_better": False})
    plain = MatchingGraph(pd.DataFrame({"model": ["a", "b", "c"]}),
                          pd.DataFrame({"dataset": ["x", "y"]}), scores)
    ratio = MatchingGraph(plain.models, plain.datasets, scores,
                          meta={"metrics": {"score": {"higher_is_better": False,
                                                      "log_scale": True}}})
    assert ratio.log_scale() and not plain.log_scale()
    # FID 10 → 20 → 40 and 100 → 200 → 400 are the same ratios: the same standard scores, evenly
    # spaced; on the raw scale the middle model sits closer to the best than to the worst
    z = ratio.normalized_score_matrix()
    np.testing.assert_allclose(z["x"], z["y"])
    np.testing.assert_allclose(z["x"].to_numpy(), [np.sqrt(1.5), 0.0, -np.sqrt(1.5)])
    assert plain.normalized_score_matrix().loc["b", "x"] > 0
    negative = MatchingGraph(plain.models, plain.datasets, scores.assign(value=-1.0),
                             meta=ratio.meta)
    with pytest.raises(ValidationError, match="log_scale"):
        negative.normalized_score_matrix()


def test_given_similarity_turns_distances_into_similarities_symmetrically():
    sim = small_graph().given_similarity()
    assert sim.loc["x", "z"] == pytest.approx(np.exp(-1.0))  # the only distance is the median
    assert sim.loc["z", "x"] == pytest.approx(np.exp(-1.0))
    assert sim.loc["y", "y"] == 1.0 and np.isnan(sim.loc["x", "y"])


def test_distances_scale_by_their_median_and_measures_average():
    graph = MatchingGraph(
        pd.DataFrame({"model": ["a"]}), pd.DataFrame({"dataset": ["x", "y", "z"]}),
        similarity=pd.DataFrame({
            "dataset_a": ["x", "x", "y", "x"], "dataset_b": ["y", "z", "z", "y"],
            "measure": ["fid", "fid", "fid", "cos"], "value": [100.0, 200.0, 400.0, 0.5],
            "is_distance": [True, True, True, False]}))
    sim = graph.given_similarity()
    assert sim.loc["x", "z"] == pytest.approx(np.exp(-1.0))  # 200 is the median distance
    assert sim.loc["x", "y"] == pytest.approx((np.exp(-0.5) + 0.5) / 2)
    assert sim.loc["y", "z"] > 0 and sim.loc["y", "z"] < sim.loc["x", "z"]


def test_unknown_ids_and_duplicates_are_refused_with_the_table_named():
    graph = small_graph()
    with pytest.raises(ValidationError, match="scores.*column 'model'.*'q'"):
        MatchingGraph(graph.models, graph.datasets,
                      pd.DataFrame({"model": ["q"], "dataset": ["x"], "value": [1.0]}))
    with pytest.raises(ValidationError, match="models.*duplicate ids.*'a'"):
        MatchingGraph(pd.DataFrame({"model": ["a", "a"]}), graph.datasets)
    with pytest.raises(ValidationError, match="similarity.*'nope'"):
        MatchingGraph(graph.models, graph.datasets, similarity=pd.DataFrame(
            {"dataset_a": ["x"], "dataset_b": ["nope"], "value": [1.0]}))


def test_without_scores_of_keeps_features_and_similarity_but_drops_edges():
    graph = small_graph()
    cut = graph.without_scores_of("x")
    assert "x" not in set(cut.scores["dataset"])
    assert cut.dataset_ids == graph.dataset_ids
    assert len(cut.similarity) == 1
    assert len(graph.scores) == 5  # the original is untouched


def test_save_load_round_trip_and_dataset_card(tmp_path):
    graph = small_graph()
    save_graph(graph, tmp_path / "g")
    loaded = load_graph(tmp_path / "g")
    assert loaded.summary() == graph.summary()
    pd.testing.assert_frame_equal(loaded.score_matrix(), graph.score_matrix())
    card = (tmp_path / "g" / "README.md").read_text()
    assert "config_name: scores" in card and "config_name: similarity" in card
    assert json.loads((tmp_path / "g" / "graph.json").read_text())["schema_version"] == 1


def test_saving_into_a_folder_that_is_not_a_graph_is_refused_and_leaves_it_alone(tmp_path):
    (tmp_path / "project" / "scores").mkdir(parents=True)
    (tmp_path / "project" / "README.md").write_text("my project")
    (tmp_path / "project" / "scores" / "run.parquet").write_bytes(b"mine")
    with pytest.raises(ConfigError, match="holds no matching graph"):
        save_graph(small_graph(), tmp_path / "project")
    assert (tmp_path / "project" / "README.md").read_text() == "my project"
    assert (tmp_path / "project" / "scores" / "run.parquet").read_bytes() == b"mine"
    save_graph(small_graph(), tmp_path / "g")
    save_graph(small_graph(), tmp_path / "g")  # a graph's folder is saved again
    assert load_graph(tmp_path / "g").summary() == small_graph().summary()


def test_appended_shards_merge_and_exact_duplicates_drop(tmp_path):
    save_graph(small_graph(), tmp_path / "g")
    extra = pd.DataFrame({"model": ["b"], "dataset": ["y"], "value": [4.0]})
    append_scores(tmp_path / "g", extra)
    append_scores(tmp_path / "g", extra)  # the same row pushed twice
    assert len(list((tmp_path / "g" / "scores").glob("*.parquet"))) == 3
    loaded = load_graph(tmp_path / "g")
    assert len(loaded.scores) == 6
    assert loaded.score_matrix().loc["b", "y"] == 4.0


def test_append_refuses_rows_for_unknown_models(tmp_path):
    save_graph(small_graph(), tmp_path / "g")
    with pytest.raises(ValidationError, match="'zz'"):
        append_scores(tmp_path / "g", pd.DataFrame({"model": ["zz"], "dataset": ["x"],
                                                    "value": [1.0]}))
    assert len(list((tmp_path / "g" / "scores").glob("*.parquet"))) == 1


def test_loading_a_directory_that_is_not_a_graph_says_so(tmp_path):
    with pytest.raises(ValidationError, match="no graph.json"):
        load_graph(tmp_path)
