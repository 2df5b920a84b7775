"""Leave-one-dataset-out evaluation: metric values on hand-made cases, ties, and no leakage."""

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mandc.errors import ConfigError, UnknownNameError, ValidationError
from mandc.graph import views
from mandc.graph.synth import synthetic_graph
from mandc.ranking.evaluate import (
    METRICS,
    EvaluationReport,
    leave_one_dataset_out,
    paired_comparison,
    ranking_metrics,
)
from mandc.ranking.methods import RankingMethod


# ----------------------------------------------------------------------------- one ranking
def test_perfect_ranking():
    result = ranking_metrics([3.0, 2.0, 1.0, 0.0], [40.0, 30.0, 20.0, 10.0])
    assert result == pytest.approx({"top1": 1, "top3": 1, "regret": 0, "regret_norm": 0,
                                    "pearson": 1, "spearman": 1, "ndcg3": 1})


def test_reversed_ranking():
    result = ranking_metrics([0.0, 1.0, 2.0, 3.0], [40.0, 30.0, 20.0, 10.0])
    assert result["top1"] == 0 and result["top3"] == 0
    assert result["spearman"] == pytest.approx(-1) and result["pearson"] == pytest.approx(-1)
    assert result["regret"] == pytest.approx((40 - 10) / 40)
    assert result["regret_norm"] == pytest.approx(1)
    # gains (min-max): 1, 2/3, 1/3, 0; shown order gives 0, 1/3, 2/3
    dcg = 0 + (1 / 3) / np.log2(3) + (2 / 3) / np.log2(4)
    ideal = 1 + (2 / 3) / np.log2(3) + (1 / 3) / np.log2(4)
    assert result["ndcg3"] == pytest.approx(dcg / ideal)


def test_lower_is_better_regret_is_relative_to_the_best():
    fid = [50.0, 40.0, 80.0]  # model 1 is best
    result = ranking_metrics([1.0, 0.5, 0.0], fid, higher_is_better=False)  # picks model 0
    assert result["top1"] == 0 and result["top3"] == 1
    assert result["regret"] == pytest.approx((50 - 40) / 40)
    perfect = ranking_metrics([-f for f in fid], fid, higher_is_better=False)
    assert perfect["top1"] == 1 and perfect["regret"] == 0 and perfect["spearman"] == 1


def test_log_scale_regret_is_the_log_ratio_and_tames_a_small_best():
    fid = [11.5, 62.0, 30.0]  # model 0 is best; the pick is model 1
    relative = ranking_metrics([0.0, 1.0, 0.5], fid, higher_is_better=False)
    logged = ranking_metrics([0.0, 1.0, 0.5], fid, higher_is_better=False, log_scale=True)
    assert relative["regret"] == pytest.approx((62 - 11.5) / 11.5)  # 4.4
    assert logged["regret"] == pytest.approx(math.log(62 / 11.5))  # 1.68
    accuracy = ranking_metrics([0.0, 1.0], [0.8, 0.4], log_scale=True)  # higher is better
    assert accuracy["regret"] == pytest.approx(math.log(0.8 / 0.4))
    tied = ranking_metrics([1.0, 1.0, 0.0], [10.0, 20.0, 40.0], higher_is_better=False,
                           log_scale=True)  # a random pick among the first two
    assert tied["regret"] == pytest.approx(math.log(2) / 2)
    # small losses: the log ratio and the relative regret agree to first order
    close = [ranking_metrics([0.0, 1.0], [40.0, 40.4], higher_is_better=False, log_scale=flag)
             for flag in (False, True)]
    assert close[1]["regret"] == pytest.approx(close[0]["regret"], rel=0.01)
    with pytest.raises(ValidationError, match="positive"):
        ranking_metrics([0.0, 1.0], [0.0, 2.0], log_scale=True)


def test_noise_aware_top1_counts_a_pick_within_the_seed_spread_as_a_hit():
    fid = [40.0, 41.0, 60.0]  # the pick (model 1) is 2.5% worse than the best
    exact = ranking_metrics([0.0, 1.0, 0.5], fid, higher_is_better=False, log_scale=True)
    assert "top1_noise" not in exact and exact["top1"] == 0
    noisy = ranking_metrics([0.0, 1.0, 0.5], fid, higher_is_better=False, log_scale=True,
                            tie_tolerance=0.05)
    assert noisy["top1_noise"] == 1 and noisy["top1"] == 0
    strict = ranking_metrics([0.0, 1.0, 0.5], fid, higher_is_better=False, log_scale=True,
                             tie_tolerance=0.01)
    assert strict["top1_noise"] == 0
    tied = ranking_metrics([1.0, 1.0, 1.0], fid, higher_is_better=False, log_scale=True,
                           tie_tolerance=0.05)  # a random pick: two of three are within it
    assert tied["top1_noise"] == pytest.approx(2 / 3)
    graph = synthetic_graph(8, 6, seed=2)
    report = leave_one_dataset_out(graph, ["random", "best_average"], tie_tolerance=0.02)
    assert (report.summary["top1_noise"] >= report.summary["top1"] - 1e-12).all()
    assert "top1_noise" in report.per_dataset


def test_evaluation_uses_the_log_ratio_for_a_log_scale_metric():
    graph = synthetic_graph(8, 6, higher_is_better=False, seed=2)
    graph.meta["metrics"]["score"]["log_scale"] = True
    report = leave_one_dataset_out(graph, ["random"])
    measured = views.score_matrix(graph)
    expected = [np.mean(np.log(measured[d].dropna() / measured[d].min()))
                for d in measured.columns]
    assert report.per_dataset["regret"].to_numpy() == pytest.approx(expected)
    assert report.summary.loc["random", "regret_median"] == pytest.approx(np.median(expected))


def test_all_tied_scores_the_expectation_of_a_random_pick():
    measured = [40.0, 30.0, 20.0, 10.0]
    result = ranking_metrics([0.0] * 4, measured)
    assert result["top1"] == pytest.approx(1 / 4)
    assert result["top3"] == pytest.approx(3 / 4)
    assert result["regret"] == pytest.approx(np.mean([0, 10, 20, 30]) / 40)
    assert result["spearman"] == 0 and result["pearson"] == 0


def _brute_force(predicted, measured):
    """Average the metrics over every strict order consistent with ``predicted``."""
    n = len(predicted)
    runs = []
    for order in itertools.permutations(range(n)):
        if any(predicted[order[i]] < predicted[order[i + 1]] for i in range(n - 1)):
            continue
        strict = np.empty(n)
        strict[list(order)] = np.arange(n, 0, -1)
        result = ranking_metrics(strict, measured)
        result["spearman"] = stats.spearmanr(strict, measured).statistic
        runs.append(result)
    return {key: np.mean([r[key] for r in runs]) for key in runs[0]}


@pytest.mark.parametrize("seed", range(6))
def test_partial_ties_equal_the_average_over_tie_breaks(seed):
    rng = np.random.default_rng(seed)
    predicted = rng.integers(0, 3, 6).astype(float)
    measured = rng.integers(1, 5, 6).astype(float)  # ties among the true scores too
    if np.ptp(measured) == 0:
        measured[0] += 1
    expected = _brute_force(predicted, measured)
    result = ranking_metrics(predicted, measured)
    for key in ("top1", "top3", "regret", "regret_norm", "ndcg3", "spearman"):
        assert result[key] == pytest.approx(expected[key]), key


def test_hit_probability_inside_a_tie_straddling_position_three():
    # one clear winner, then three tied models holding the true best: 2 of 3 get a top-3 slot
    result = ranking_metrics([2.0, 1.0, 1.0, 1.0], [10.0, 5.0, 5.0, 20.0])
    assert result["top1"] == 0 and result["top3"] == pytest.approx(2 / 3)


def test_nan_predictions_rank_last():
    result = ranking_metrics([np.nan, 1.0, 0.5], [30.0, 20.0, 10.0])
    assert result["top1"] == 0 and result["top3"] == 1
    assert result["spearman"] == pytest.approx(stats.spearmanr([0, 2, 1], [30, 20, 10]).statistic)


def test_undefined_cases():
    flat = ranking_metrics([1.0, 2.0], [5.0, 5.0])
    assert flat["top1"] == 1 and flat["regret"] == 0
    assert math.isnan(flat["pearson"]) and math.isnan(flat["spearman"])
    assert math.isnan(flat["ndcg3"])
    assert math.isnan(ranking_metrics([1.0, 2.0], [0.0, -1.0])["regret"])  # best == 0
    with pytest.raises(ValidationError):
        ranking_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValidationError):
        ranking_metrics([1.0, 2.0], [1.0, np.nan])


# ----------------------------------------------------------------------------- the protocol
class SpyMethod(RankingMethod):
    """Records what every fit could see, and predicts the truth it was (wrongly) given."""

    seen: list = []

    def _fit(self, graph):
        self.fitted_on_ = graph

    def _predict(self, dataset):
        graph = self.fitted_on_
        SpyMethod.seen.append({
            "target": dataset,
            "normalized": views.normalized_score_matrix(graph, self.metric_)[dataset].copy(),
            "raw": graph.score_matrix(self.metric_)[dataset].copy(),
            "rows": int((graph.scores["dataset"] == dataset).sum()),
            "similarity_rows": int(((graph.similarity["dataset_a"] == dataset)
                                    | (graph.similarity["dataset_b"] == dataset)).sum()),
        })
        return views.normalized_score_matrix(graph, self.metric_)[dataset].fillna(0.0)


def test_folds_never_see_the_target_scores():
    graph = synthetic_graph(10, 6, density=0.8)
    SpyMethod.seen.clear()
    report = leave_one_dataset_out(graph, {"spy": SpyMethod()})
    assert [s["target"] for s in SpyMethod.seen] == graph.dataset_ids
    for seen in SpyMethod.seen:
        assert seen["normalized"].isna().all() and seen["raw"].isna().all()
        assert seen["rows"] == 0
        assert seen["similarity_rows"] == 5  # its data–data edges stay
    # with no information the spy's constant guess is scored as a random pick
    assert report.summary.loc["spy", "spearman"] == 0


def test_report_shape_and_json():
    graph = synthetic_graph(12, 7, density=0.7, seed=1)
    report = leave_one_dataset_out(graph, ["random", "best_average", "nearest_dataset"])
    assert isinstance(report, EvaluationReport)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert set(data) == {"methods", "datasets", "models"}
    assert list(data["methods"]) == ["random", "best_average", "nearest_dataset"]
    for figures in data["methods"].values():
        assert set(figures) == set(METRICS)
    assert data["datasets"] == 7 and data["models"] == 12
    table = report.to_table()
    assert list(table.columns) == [*METRICS, "regret_median"]
    assert list(table.index) == list(data["methods"])
    medians = report.per_dataset.groupby("method")["regret"].median()
    assert table["regret_median"].to_dict() == pytest.approx(medians.to_dict())
    assert len(report.per_dataset) == 3 * 7
    assert {"pick", "best", "regret_norm", "n_tied"} <= set(report.per_dataset.columns)
    assert "nearest_dataset" in str(report)


def test_random_top1_is_one_over_the_number_of_models():
    graph = synthetic_graph(8, 5)
    report = leave_one_dataset_out(graph, ["random"])
    assert report.to_dict()["methods"]["random"]["top1"] == pytest.approx(1 / 8)
    assert report.to_dict()["methods"]["random"]["top3"] == pytest.approx(3 / 8)


def test_only_measured_models_count_and_thin_targets_are_skipped():
    graph = synthetic_graph(6, 4)
    keep = ~((graph.scores["dataset"] == "d0") & (graph.scores["model"] != "m0")) \
        & ~((graph.scores["dataset"] == "d1") & ~graph.scores["model"].isin(["m0", "m1", "m2"]))
    thin = type(graph)(graph.models, graph.datasets, graph.scores[keep], graph.similarity)
    report = leave_one_dataset_out(thin, ["random"])
    assert report.datasets == 3 and "d0" not in set(report.per_dataset["dataset"])
    row = report.per_dataset.set_index("dataset").loc["d1"]
    assert row["n_models"] == 3 and row["top1"] == pytest.approx(1 / 3)
    with pytest.raises(ValidationError, match="fewer than two"):
        leave_one_dataset_out(thin, ["random"], datasets=["d0"])


def test_bad_requests_get_clear_errors():
    graph = synthetic_graph(6, 4)
    with pytest.raises(UnknownNameError, match="best_average"):
        leave_one_dataset_out(graph, ["no_such_method"])
    with pytest.raises(ValidationError, match="unknown target"):
        leave_one_dataset_out(graph, ["random"], datasets=["nope"])
    with pytest.raises(ValidationError, match="unknown metric"):
        leave_one_dataset_out(graph, ["random"], metric="fid")
    with pytest.raises(ConfigError):
        leave_one_dataset_out(graph, [])
    with pytest.raises(ConfigError, match="twice"):
        leave_one_dataset_out(graph, ["random", "random"])
    with pytest.raises(ConfigError, match="metric"):
        leave_one_dataset_out(graph, {"spy": SpyMethod(metric="other")})


def test_explicit_targets_are_the_only_ones_evaluated():
    graph = synthetic_graph(6, 5)
    report = leave_one_dataset_out(graph, ["best_average"], datasets=["d3", "d1"])
    assert report.datasets == 2 and list(report.per_dataset["dataset"]) == ["d3", "d1"]


# ----------------------------------------------------------------------------- cached views
def test_cut_views_equal_a_fresh_cut():
    graph = synthetic_graph(9, 6, density=0.6, seed=3)
    views.score_matrix(graph)
    views.normalized_score_matrix(graph)
    fast = views.without_scores_of(graph, "d2")
    fresh = graph.without_scores_of("d2")
    pd.testing.assert_frame_equal(views.score_matrix(fast), fresh.score_matrix())
    pd.testing.assert_frame_equal(views.normalized_score_matrix(fast),
                                  fresh.normalized_score_matrix())
    # the parent is untouched
    assert views.score_matrix(graph)["d2"].notna().any()


def test_views_follow_table_replacement_and_are_shared_by_folds():
    from mandc.graph.similarity import dataset_similarity

    graph = synthetic_graph(6, 4)
    first = views.score_matrix(graph)
    assert views.score_matrix(graph) is first
    fold_a, fold_b = views.without_scores_of(graph, "d0"), views.without_scores_of(graph, "d1")
    assert dataset_similarity(fold_a) is dataset_similarity(fold_b) is dataset_similarity(graph)
    graph.scores = graph.scores[graph.scores["model"] != "m0"].reset_index(drop=True)
    assert views.score_matrix(graph).loc["m0"].isna().all()


def test_lower_is_better_graph_and_progress(capsys):
    graph = synthetic_graph(40, 30, higher_is_better=False, metric="fid", seed=4)
    report = leave_one_dataset_out(graph, ["best_average", "nearest_dataset"], progress=True)
    assert "leave-one-dataset-out" in capsys.readouterr().err
    summary = report.summary
    assert report.metric == "fid"
    assert summary.loc["nearest_dataset", "top1"] > summary.loc["best_average", "top1"]
    assert (report.per_dataset["regret"] >= 0).all()
    truth = graph.score_matrix("fid")
    for _, row in report.per_dataset.iterrows():  # "best" is the lowest FID
        assert truth.loc[row["best"], row["dataset"]] == truth[row["dataset"]].min()


def _per_dataset(regrets: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"method": method, "dataset": f"d{i}", "regret": value}
                         for method, values in regrets.items() for i, value in enumerate(values)])


def test_paired_comparison_counts_and_sign_test():
    # ref beats a on 7 targets, ties on 2, loses on 1: sign test of 7 against 1
    ref = [0.0] * 10
    other = [0.1, 0.2, 0.1, 0.3, 0.1, 0.1, 0.2, 0.0, 0.0, -0.1]
    table = paired_comparison(_per_dataset({"ref": ref, "a": other}), "ref", resamples=2000)
    row = table.loc["a"]
    assert (row["targets"], row["wins"], row["ties"], row["losses"]) == (10, 7, 2, 1)
    assert row["p_sign"] == pytest.approx(stats.binomtest(7, 8).pvalue)
    assert row["p_sign"] == pytest.approx(18 / 256)  # 2 * (C(8,0) + C(8,1)) / 2^8
    assert row["gain"] == pytest.approx(np.mean(other))
    assert row["gain_low"] < row["gain"] < row["gain_high"]
    assert row["gain_low"] > 0  # a clear, consistent advantage excludes 0


def test_paired_comparison_of_identical_methods_is_all_ties():
    values = [0.3, 0.0, 0.1]
    row = paired_comparison(_per_dataset({"ref": values, "b": values}), "ref").loc["b"]
    assert (row["wins"], row["ties"], row["losses"], row["p_sign"]) == (0, 3, 0, 1.0)
    assert row["gain"] == row["gain_low"] == row["gain_high"] == 0.0


def test_paired_comparison_bad_requests():
    table = _per_dataset({"ref": [0.0], "b": [0.1]})
    with pytest.raises(ConfigError, match="reference method 'mandc'"):
        paired_comparison(table, "mandc")
    with pytest.raises(ValidationError, match="regret"):
        paired_comparison(table.drop(columns="regret"), "ref")
