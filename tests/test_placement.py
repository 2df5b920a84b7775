"""Placing a new target (a folder) in a graph of described datasets, with the real encoders."""

import json

import pandas as pd
import pytest

from mandc.cli.main import main
from mandc.data import load_target
from mandc.errors import ValidationError
from mandc.features import describe, get_featurizer
from mandc.graph.defaults import resolve_target
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.placement import add_target, with_descriptors
from mandc.graph.store import save_graph
from mandc.minizoo.export import write_imagefolder
from mandc.ranking.recommend import Recommender

pytestmark = pytest.mark.slow

SHAPES = ["shapes-red-circles", "shapes-blue-squares", "shapes-green-triangles"]
PATTERNS = ["patterns-checkers", "patterns-stripes-horizontal", "patterns-polka-dots"]
TARGET = "shapes-blue-circles"  # a held-out domain (in the 72-domain default graph too)
SAMPLES = 16


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    return {name: write_imagefolder(name, root, n_train=SAMPLES, n_test=4)
            for name in SHAPES + PATTERNS + [TARGET]}


@pytest.fixture(scope="module")
def described_graph(folders):
    """Two models: one fine-tunes well on shapes, one on patterns (FID, lower is better)."""
    featurizer = get_featurizer()
    datasets = SHAPES + PATTERNS
    rows = []
    for dataset in datasets:
        good = "shape-model" if dataset in SHAPES else "pattern-model"
        for model in ("shape-model", "pattern-model"):
            rows.append({"model": model, "dataset": dataset, "metric": "fid",
                         "value": 20.0 if model == good else 60.0, "higher_is_better": False})
    graph = MatchingGraph(pd.DataFrame({"model": ["shape-model", "pattern-model"]}),
                          pd.DataFrame({"dataset": datasets}), pd.DataFrame(rows))
    descriptors = [describe(load_target(folders[d], max_samples=SAMPLES), featurizer)
                   for d in datasets]
    return with_descriptors(graph, descriptors)


def test_described_graph_records_featurizer_and_all_pairwise_edges(described_graph):
    assert described_graph.meta["featurizer"] == get_featurizer().key
    assert len(described_graph.similarity) == 2 * 15  # two measures × 6 choose 2


def test_folder_target_is_placed_next_to_its_family_and_ranked(described_graph, folders):
    graph, target = resolve_target(described_graph, str(folders[TARGET]), samples=SAMPLES)
    assert target == TARGET and target in graph.dataset_ids
    assert graph.score_matrix()[target].isna().all()  # cold start: no model–data edges
    similarity = graph.given_similarity()[target].drop(target)
    assert similarity.idxmax() in SHAPES
    assert similarity[SHAPES].mean() > similarity[PATTERNS].mean()
    ranking = Recommender().fit(graph).rank(target)
    assert ranking["model"].iloc[0] == "shape-model"


def test_a_profiled_folder_is_recognised_by_its_fingerprint(described_graph, folders):
    graph, target = resolve_target(described_graph, str(folders[SHAPES[0]]), samples=SAMPLES)
    assert target == SHAPES[0] and graph is described_graph


def test_imported_graph_without_descriptors_explains_why_it_cannot_place(folders):
    graph = MatchingGraph(pd.DataFrame({"model": ["m"]}), pd.DataFrame({"dataset": ["d"]}))
    with pytest.raises(ValidationError, match="not described by a featurizer"):
        resolve_target(graph, str(folders[TARGET]))
    with pytest.raises(ValidationError, match="not in the graph and is not a folder"):
        resolve_target(graph, "no-such-thing")


def test_mismatched_featurizer_is_refused(described_graph, folders):
    descriptor = describe(load_target(folders[TARGET], max_samples=SAMPLES))
    descriptor.featurizer_version = "other"
    with pytest.raises(ValidationError, match="describe it with the graph's featurizer"):
        add_target(described_graph, descriptor)


def test_cli_recommends_for_a_folder(described_graph, folders, tmp_path, capsys):
    save_graph(described_graph, tmp_path / "graph")
    code = main(["recommend", "--graph", str(tmp_path / "graph"), "--dataset",
                 str(folders[TARGET]), "--samples", str(SAMPLES), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["target"] == TARGET
    assert result["ranking"][0]["model"] == "shape-model"
    assert result["neighbours"][0]["dataset"] in SHAPES


def test_cli_graph_describe_stores_descriptors_and_edges(described_graph, folders, tmp_path):
    bare = MatchingGraph(described_graph.models, described_graph.datasets[["dataset"]],
                         described_graph.scores)
    save_graph(bare, tmp_path / "g")
    root = folders[TARGET].parent
    assert main(["graph", "describe", str(tmp_path / "g"), "--datasets-root", str(root),
                 "--samples", str(SAMPLES)]) == 0
    from mandc.graph.store import load_graph

    loaded = load_graph(tmp_path / "g")
    assert loaded.meta["featurizer"] == described_graph.meta["featurizer"]
    assert list(loaded.datasets["fingerprint"]) == list(described_graph.datasets["fingerprint"])
    assert len(loaded.similarity) == len(described_graph.similarity)


def test_cli_probes_a_new_folder_with_every_zoo_model(folders, capsys):
    """On the shipped mini-zoo graph (which holds probes), ``--probe`` lets ``mandc`` use them
    for a folder it has never seen; without it the target has none and ``mandc`` ranks without."""
    results = {}
    for flags in ([], ["--probe"]):
        code = main(["recommend", "--dataset", str(folders[TARGET]), "--samples", str(SAMPLES),
                     "--top", "11", "--json", *flags])
        assert code == 0
        results[bool(flags)] = json.loads(capsys.readouterr().out)
    assert results[False]["probe_metrics"] == []
    assert results[True]["probe_metrics"] == ["probe_mse_0.1", "probe_mse_0.3", "probe_mse_0.6",
                                              "probe_mse_0.9"]
    for result in results.values():
        # the 72-domain default graph holds this domain too: the folder joins as a new dataset
        assert result["target"] == f"{TARGET} (new)" and len(result["ranking"]) == 11
    from mandc.cli.report import ranking_text

    assert "zero-shot denoising probe of the target counted too" in ranking_text(results[True])
    assert "probe" not in ranking_text(results[False])
