"""Which pair to profile next: the knowledge-gradient criterion, suggest() on graphs with a known
answer, and `mandc suggest`."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from mandc.cli.main import main
from mandc.errors import ConfigError
from mandc.graph.defaults import example_graph
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import save_graph
from mandc.ranking.recommend import Recommender
from mandc.ranking.suggest import common_scale, knowledge_gradient, suggest

LEVELS = {"A": 10.0, "B": 10.0, "C": 6.0, "D": 3.0, "E": 1.0}
"""Scores (higher is better) of five models on every dataset: A and B tie at the top, C, D and E
trail by several noise sds."""
MISSING = {("B", "X"), ("D", "Y"), ("E", "Y")}
"""On X the tied rival B is unmeasured; on Y the winner A is measured and D, E (far below) are
not."""


def tied_graph() -> MatchingGraph:
    rng = np.random.default_rng(0)
    datasets = [f"d{i}" for i in range(10)] + ["X", "Y"]
    rows = [{"model": m, "dataset": d, "value": level + rng.normal(0, 0.3)}
            for d in datasets for m, level in LEVELS.items() if (m, d) not in MISSING]
    features = pd.DataFrame({"dataset": datasets, "f1": rng.normal(size=len(datasets)),
                             "f2": rng.normal(size=len(datasets))})
    models = pd.DataFrame({"model": list(LEVELS), "size": [1.0, 2.0, 3.0, 4.0, 5.0]})
    return MatchingGraph(models, features, pd.DataFrame(rows))


@pytest.fixture(scope="module")
def tied():
    graph = tied_graph()
    return graph, suggest(graph, method=Recommender(regressor="linear"))


# --------------------------------------------------------------------------- the criterion
def test_knowledge_gradient_of_a_tie_is_sd_times_the_normal_density_at_zero():
    assert knowledge_gradient(0.0, 1.0, 0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert knowledge_gradient(1.0, 2.0, 1.0) == pytest.approx(2 / math.sqrt(2 * math.pi))


def test_knowledge_gradient_grows_with_the_interval_and_falls_with_the_gap():
    gaps = knowledge_gradient(np.array([0.0, -0.5, -1.0, -3.0]), 0.5, 0.0)
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 1e-4
    widths = knowledge_gradient(-1.0, np.array([0.1, 0.5, 1.0, 2.0]), 0.0)
    assert np.all(np.diff(widths) > 0)
    # above or below the rival by the same gap: the same value (the pick may change either way)
    assert knowledge_gradient(0.7, 0.4, 0.0) == pytest.approx(knowledge_gradient(-0.7, 0.4, 0.0))
    assert knowledge_gradient(-0.2, 0.0, 0.0) == 0.0  # a sure prediction: nothing to learn


def test_knowledge_gradient_matches_its_definition_by_monte_carlo():
    draws = np.random.default_rng(1).normal(0.3, 0.8, 400_000)
    expected_gain = np.maximum(draws, 0.5).mean() - max(0.3, 0.5)
    assert knowledge_gradient(0.3, 0.8, 0.5) == pytest.approx(expected_gain, abs=3e-3)


def test_common_scale_puts_measured_scores_beside_predictions_over_all_models():
    raw = np.array([10.0, 10.0, 6.0, 3.0, 1.0])
    full = (raw - raw.mean()) / raw.std()
    # every model measured: the graph's own z-scores, untouched
    np.testing.assert_allclose(common_scale(full, np.zeros(5)), full, atol=1e-12)
    # B unmeasured, predicted at its all-model z: A's score lands on the same scale, a tie
    sparse = np.array([10.0, np.nan, 6.0, 3.0, 1.0])
    z_sparse = (sparse - np.nanmean(sparse)) / np.nanstd(sparse)
    column = common_scale(z_sparse, np.where(np.isnan(sparse), full[1], 0.0))
    np.testing.assert_allclose(column, full, atol=1e-12)
    assert column.mean() == pytest.approx(0.0) and column.std() == pytest.approx(1.0)
    # one measured model: its score is what makes the column's mean 0
    one = common_scale(np.array([0.0, np.nan, np.nan]), np.array([0.0, -0.4, -0.2]))
    np.testing.assert_allclose(one, [0.6, -0.4, -0.2], atol=1e-12)


# --------------------------------------------------------------------------- suggest()
def test_the_unmeasured_rival_of_a_tie_comes_first(tied):
    _, table = tied
    assert list(zip(table["model"], table["dataset"]))[0] == ("B", "X")
    first = table.iloc[0]
    assert first["rival"] == "A" and first["rival_measured"]
    assert first["p_best"] > 0.2
    assert "within its 80% interval" in first["reason"] and "on X" in first["reason"]


def test_pairs_far_below_a_measured_winner_rank_low(tied):
    _, table = tied
    assert set(zip(table["model"], table["dataset"])) == MISSING
    low = table[table["dataset"] == "Y"]
    assert (low["value"] < table.iloc[0]["value"] / 10).all()
    assert (low["p_best"] < 0.05).all() and low["rival"].isin(["A", "B"]).all()
    assert all("is unlikely to beat" in reason for reason in low["reason"])


def test_columns_order_and_bookkeeping(tied):
    graph, table = tied
    assert table["value"].is_monotonic_decreasing
    assert (table["low"] < table["predicted"]).all() and (table["predicted"] < table["high"]).all()
    assert table.attrs == {"measured_pairs": 5 * 12 - 3, "total_pairs": 60}
    only_y = suggest(graph, datasets=["Y"], budget=1, method=Recommender(regressor="linear"))
    assert len(only_y) == 1 and only_y.iloc[0]["dataset"] == "Y"
    assert only_y.attrs == {"measured_pairs": 3, "total_pairs": 5}


def test_a_dense_graph_has_nothing_to_suggest():
    graph = tied_graph()
    dense = graph.add_scores(pd.DataFrame([{"model": m, "dataset": d, "value": LEVELS[m]}
                                           for m, d in sorted(MISSING)]))
    table = suggest(dense)
    assert table.empty and table.attrs == {"measured_pairs": 60, "total_pairs": 60}


@pytest.mark.parametrize("settings, message", [
    ({"budget": 0}, "budget must be a positive integer"),
    ({"committee": 1}, "committee must be 0 or at least 2"),
    ({"level": 0.5}, "interval level must be one of"),
    ({"datasets": ["nope"]}, "datasets not in the graph: \\['nope'\\]"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        suggest(tied_graph(), **settings)


def test_one_model_has_no_rival():
    graph = tied_graph()
    alone = MatchingGraph(graph.models.head(1), graph.datasets,
                          graph.scores[graph.scores["model"] == "A"])
    with pytest.raises(ConfigError, match="the graph has 1 model"):
        suggest(alone)


# --------------------------------------------------------------------------- mandc suggest
def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory):
    """The toy graph (6 models × 9 datasets, 43 pairs measured) saved as a directory."""
    folder = tmp_path_factory.mktemp("toy") / "graph"
    save_graph(example_graph(), folder)
    return folder


def test_cli_lists_the_pairs_with_reasons(capsys, toy_dir):
    code, out, err = run(capsys, "suggest", "--graph", toy_dir, "--budget", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert "43 of the 54 (model, dataset) pairs measured" in lines[0]
    header = next(line for line in lines if line.startswith("rank"))
    assert header.split() == ["rank", "model", "dataset", "value", "p_best", "predicted",
                              "interval", "rival"]
    assert sum(line.strip()[:2] in {"1.", "2.", "3."} for line in lines) == 3
    assert " 4. " not in out and "value: expected gain" in out

    code, out, err = run(capsys, "suggest", "--graph", toy_dir, "--budget", "3", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["measured_pairs"], result["total_pairs"]) == (43, 54)
    assert result["message"] is None and [r["rank"] for r in result["suggestions"]] == [1, 2, 3]
    first = result["suggestions"][0]
    assert {"model", "dataset", "value", "p_best", "predicted", "low", "high", "rival",
            "reason"} <= set(first)
    values = [r["value"] for r in result["suggestions"]]
    assert values == sorted(values, reverse=True)
    measured = example_graph().score_matrix()
    assert all(np.isnan(measured.loc[r["model"], r["dataset"]]) for r in result["suggestions"])


def test_cli_on_a_dense_graph_says_nothing_is_left_to_profile(capsys):
    code, out, err = run(capsys, "suggest")  # the shipped mini-zoo graph: every pair measured
    assert code == 0, err
    assert "no pair is left to profile" in out and "mandc suggest --dataset" in out
    assert "792 of the 792" in out and "rank" not in out  # 11 models × 72 domains

    code, out, _ = run(capsys, "suggest", "--json", "--dataset", "shapes-red-circles")
    result = json.loads(out)
    assert result["suggestions"] == [] and result["dataset"] == "shapes-red-circles"
    assert "already measured on 'shapes-red-circles'" in result["message"]


@pytest.mark.parametrize("argv, message", [
    (["--budget", "0"], "--budget: must be at least 1, got 0"),
    (["--budget", "x"], "--budget: invalid positive_int value: 'x'"),
])
def test_cli_refuses_a_bad_budget(capsys, argv, message):
    code, _, err = run(capsys, "suggest", *argv)
    assert code == 2 and message in err


def test_cli_names_an_unknown_dataset(capsys):
    code, _, err = run(capsys, "suggest", "--dataset", "shapes-red-circle")
    assert code == 2 and err.startswith("error: dataset 'shapes-red-circle' is not in the graph")
    assert "did you mean 'shapes-red-circles'" in err


# --------------------------------------------------------------------------- the simulation
def load_curve_bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "suggest_curve.py"
    spec = importlib.util.spec_from_file_location("suggest_curve", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_simulation_starts_sparse_and_never_scores_a_target_with_its_own_scores():
    from mandc.graph.synth import synthetic_graph

    bench = load_curve_bench()
    dense = synthetic_graph(6, 8, seed=3)
    pairs = bench.measured_pairs(dense)
    start = bench.sparse_start(pairs, 0.3, seed=0)
    assert len(start) == round(0.3 * len(pairs))
    assert {d for _, d in start} == set(dense.dataset_ids)  # every dataset keeps a pair
    assert start == bench.sparse_start(pairs, 0.3, seed=0) != bench.sparse_start(pairs, 0.3, 1)
    sparse = bench.restrict(dense, start)
    assert set(bench.measured_pairs(sparse)) == start

    target = next(d for _, d in sorted(start))
    truth = dense.score_matrix()[[target]]
    settings = {"regressor": "linear", "metric": dense.primary_metric, "seed": 0}
    direction = {"higher_is_better": dense.higher_is_better(), "log_scale": False}
    figures = bench.lodo_regret(sparse, truth, settings, **direction)
    # the target's sparse scores changed beyond recognition: its figures cannot move
    scores = sparse.scores.copy()
    mine = scores["dataset"] == target
    scores.loc[mine, "value"] = -scores.loc[mine, "value"] * 7.0
    altered = MatchingGraph(sparse.models, sparse.datasets, scores, sparse.similarity,
                            dict(sparse.meta))
    assert bench.lodo_regret(altered, truth, settings, **direction) == figures
    # ...while its full ground truth does decide them: reversed, the regret changes
    flipped = bench.lodo_regret(sparse, -truth + 2 * truth.max().max(), settings, **direction)
    assert flipped != figures
