"""A dataset with similarities but no scores — the cold-start target — from import to ranking.

The toy example's ``onepiece-blip`` is such a dataset: named in ``similarity.csv`` (and in
``datasets.csv``), never in ``scores.csv``. Its nearest datasets are the three illustration sets,
on all of which ``pixart-alpha-xl-2-512`` has the lowest FID.
"""

import numpy as np
import pytest

from mandc.advise import advise
from mandc.graph.defaults import example_dir
from mandc.graph.importer import import_csv
from mandc.ranking.evaluate import leave_one_dataset_out
from mandc.ranking.methods import make_method
from mandc.ranking.recommend import Recommender

NEW = "onepiece-blip"
ILLUSTRATIONS = ["naruto-blip", "pokemon-blip", "simpsons-frames"]


@pytest.fixture(scope="module", params=["similarity only", "with datasets.csv"])
def graph(request):
    folder = example_dir()
    datasets = folder / "datasets.csv" if request.param == "with datasets.csv" else None
    return import_csv(folder / "scores.csv", models=folder / "models.csv", datasets=datasets,
                      similarity=folder / "similarity.csv", lower_is_better=True)


def test_the_new_dataset_is_a_node_without_scores(graph):
    assert NEW in graph.dataset_ids
    assert graph.score_matrix()[NEW].isna().all()
    assert graph.summary()["pairs"] == 43  # no pair was invented for it


def test_the_recommender_ranks_every_model_for_it(graph):
    ranking = Recommender(embedding="spectral").fit(graph).rank(NEW)
    assert list(ranking["rank"]) == [1, 2, 3, 4, 5, 6]
    assert sorted(ranking["model"]) == sorted(graph.model_ids)
    assert np.isfinite(ranking["predicted"]).all() and ranking["predicted"].nunique() == 6


@pytest.mark.parametrize("method", ["nearest_dataset", "mandc"])
def test_the_illustration_specialist_leads(graph, method):
    """pixart wins all three of the new dataset's nearest datasets, so both graph methods put it
    first or second; the measured winners make that the known answer."""
    winners = graph.score_matrix()[ILLUSTRATIONS].idxmin()
    assert set(winners) == {"pixart-alpha-xl-2-512"}
    ranking = make_method(method).fit(graph).rank(NEW)
    assert "pixart-alpha-xl-2-512" in set(ranking["model"].head(2))
    if method == "nearest_dataset":
        assert ranking["model"].iloc[0] == "pixart-alpha-xl-2-512"


def test_evaluation_skips_datasets_without_scores(graph):
    report = leave_one_dataset_out(graph, ["best_average"])
    assert report.datasets == 8 and NEW not in set(report.per_dataset["dataset"])


def test_advise_gives_the_reasons(graph):
    answer = advise(graph, NEW, top=3)
    assert answer["target"] == NEW and answer["candidates"] == 6
    assert [row["rank"] for row in answer["ranking"]] == [1, 2, 3]
    assert all(row.get("measured") is None for row in answer["ranking"])
    assert [n["dataset"] for n in answer["neighbours"]] == ["naruto-blip", "pokemon-blip",
                                                            "simpsons-frames"]
