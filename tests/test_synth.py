"""The synthetic graph generator: deterministic, shaped as asked, with the structure we rely on."""

import numpy as np
import pandas as pd
import pytest

from mandc.errors import ConfigError
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph, save_graph
from mandc.graph.synth import SIMILARITY_MEASURE, synthetic_graph, synthetic_problem


def test_same_seed_same_graph_other_seed_other_graph():
    first, again = synthetic_graph(12, 9, seed=3), synthetic_graph(12, 9, seed=3)
    other = synthetic_graph(12, 9, seed=4)
    for table in ("models", "datasets", "scores", "similarity"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(again, table))
    assert not np.allclose(first.scores["value"], other.scores["value"])


def test_shapes_ids_and_features():
    graph = synthetic_graph(15, 8, n_factors=3)
    assert isinstance(graph, MatchingGraph)
    assert len(graph.model_ids) == 15 and len(graph.dataset_ids) == 8
    assert len(graph.scores) == 15 * 8  # density 1: every pair is scored
    assert {"family", "view_0", "view_1", "view_2"} <= set(graph.model_features().columns)
    assert {"view_0", "view_1", "view_2"} <= set(graph.dataset_features().columns)
    assert graph.primary_metric == "score" and graph.higher_is_better()


def test_density_drops_edges_but_keeps_two_per_dataset():
    graph = synthetic_graph(100, 40, density=0.1, seed=1)
    assert 0.07 < len(graph.scores) / (100 * 40) < 0.14
    assert graph.score_matrix().notna().sum(axis=0).min() >= 2


def test_similarity_is_the_cosine_of_the_dataset_factors():
    problem = synthetic_problem(10, 7, seed=2)
    table = problem.graph.similarity
    assert len(table) == 7 * 6 // 2 and set(table["measure"]) == {SIMILARITY_MEASURE}
    unit = problem.dataset_factors / np.linalg.norm(problem.dataset_factors, axis=1, keepdims=True)
    given = problem.graph.given_similarity().to_numpy()
    np.testing.assert_allclose(given, unit @ unit.T, atol=1e-5)


def test_families_make_the_best_model_vary_by_dataset():
    problem = synthetic_problem(60, 40, seed=0, n_families=4, noise=0.0)
    winners = problem.graph.score_matrix().idxmax()
    assert winners.nunique() >= 3
    # datasets of one family are closer to each other than to other families
    similarity = problem.graph.given_similarity().to_numpy()
    same = problem.dataset_family[:, None] == problem.dataset_family[None, :]
    off_diagonal = ~np.eye(40, dtype=bool)
    assert similarity[same & off_diagonal].mean() > similarity[~same].mean() + 0.5


def test_main_effect_makes_a_few_models_win_almost_everywhere():
    plain = synthetic_problem(30, 20, seed=5)
    strong = synthetic_problem(30, 20, seed=5, main_effect=3.0)
    pd.testing.assert_frame_equal(synthetic_graph(30, 20, seed=5, main_effect=0.0).scores,
                                  plain.graph.scores)  # no main effect: the same graph as before
    lifted = strong.model_bias - plain.model_bias
    assert (lifted >= 0).all() and 0.2 < (lifted > 0).mean() < 0.8
    assert strong.graph.meta["synthetic"]["main_effect"] == 3.0
    most_lifted = {plain.graph.model_ids[i] for i in np.argsort(-lifted)[:3]}
    strong_winners = strong.graph.score_matrix().idxmax()
    plain_winners = plain.graph.score_matrix().idxmax()
    assert strong_winners.isin(most_lifted).mean() >= 0.9
    assert plain_winners.value_counts().iloc[:2].sum() / 20 < 0.9 <= \
        strong_winners.value_counts().iloc[:2].sum() / 20


def test_similarity_noise_blurs_the_similarity_but_not_the_scores():
    plain, blurred = synthetic_graph(20, 15, seed=3), synthetic_graph(20, 15, seed=3,
                                                                      similarity_noise=1.0)
    pd.testing.assert_frame_equal(plain.scores, blurred.scores)
    a, b = plain.similarity["value"], blurred.similarity["value"]
    assert 0.1 < np.corrcoef(a, b)[0, 1] < 0.95


def test_noise_free_scores_are_the_expected_scores():
    problem = synthetic_problem(8, 6, noise=0.0)
    pd.testing.assert_frame_equal(problem.graph.score_matrix(), problem.expected_scores,
                                  check_names=False)


def test_lower_is_better_metric():
    problem = synthetic_problem(20, 10, higher_is_better=False, metric="fid", noise=0.0)
    graph = problem.graph
    assert graph.primary_metric == "fid" and not graph.higher_is_better("fid")
    assert (graph.scores["value"] > 0).all()
    latent = problem.model_factors @ problem.dataset_factors.T + problem.model_bias[:, None]
    best_by_latent = np.asarray(graph.model_ids)[latent.argmax(axis=0)]
    assert list(graph.score_matrix("fid").idxmin()) == list(best_by_latent)


def test_two_communities_share_no_edge():
    problem = synthetic_problem(20, 12, n_communities=2, seed=5)
    graph = problem.graph
    model_side = dict(zip(graph.model_ids, problem.model_community))
    dataset_side = dict(zip(graph.dataset_ids, problem.dataset_community))
    assert set(problem.model_community) == {0, 1} and set(problem.dataset_community) == {0, 1}
    crossing = [model_side[m] != dataset_side[d]
                for m, d in zip(graph.scores["model"], graph.scores["dataset"])]
    assert not any(crossing) and len(crossing) == 10 * 6 * 2
    crossing = [dataset_side[a] != dataset_side[b]
                for a, b in zip(graph.similarity["dataset_a"], graph.similarity["dataset_b"])]
    assert not any(crossing) and len(crossing) == 2 * (6 * 5 // 2)


def test_saves_and_loads(tmp_path):
    graph = synthetic_graph(6, 5, density=0.5)
    loaded = load_graph(save_graph(graph, tmp_path / "g"))
    pd.testing.assert_frame_equal(loaded.score_matrix(), graph.score_matrix())
    assert loaded.meta["synthetic"]["seed"] == 0


@pytest.mark.parametrize("options", [
    {"density": 0.0}, {"density": 1.5}, {"n_communities": 0}, {"n_factors": 0},
    {"noise": -1.0}, {"n_communities": 4}, {"main_effect": -0.5}, {"similarity_noise": -1.0},
])
def test_bad_options_are_refused(options):
    with pytest.raises(ConfigError):
        synthetic_graph(6, 6, **options)
