"""Models the graph never profiled: ranked from their features and lineage, with a wider
uncertainty, marked "not profiled" in the CLI text and JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mandc.cli.main import main
from mandc.errors import NotFittedError
from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph
from mandc.ranking.cold_models import LINEAGE_SHARE, ColdModelRanker, without_model

MODELS = ["m1", "m2", "m3", "m4", "m5"]
SIZE = [1.0, 2.0, 3.0, 4.0, 5.0]


def linear_graph(datasets: int = 4) -> MatchingGraph:
    """Quality grows exactly linearly with ``size`` on every dataset (slope differs by
    dataset), so a ridge with no shrinkage recovers a hidden model exactly."""
    rows = []
    for j in range(datasets):
        for model, size in zip(MODELS, SIZE):
            rows.append({"model": model, "dataset": f"d{j}", "metric": "score",
                         "value": (j + 1) * size + 10.0 * j, "higher_is_better": True})
    return MatchingGraph(
        models=pd.DataFrame({"model": MODELS, "size": SIZE,
                             "family": ["a", "a", "b", "b", "b"]}),
        datasets=pd.DataFrame({"dataset": [f"d{j}" for j in range(datasets)],
                               "x": np.arange(datasets, dtype=float)}),
        scores=pd.DataFrame(rows))


def test_a_hidden_model_is_recovered_from_its_features():
    graph = linear_graph()
    cut = without_model(graph, "m3")
    assert "m3" not in cut.model_ids and "m3" not in set(cut.scores["model"])
    ranker = ColdModelRanker(alpha=1e-9).fit(cut)
    truth = graph.normalized_score_matrix()
    others = cut.normalized_score_matrix()
    for dataset in truth.columns:
        # on the others' scale: m3 sits exactly between m2 and m4
        predicted = ranker.predict(pd.DataFrame([{"id": "m3", "size": 3.0, "family": "b"}]),
                                   others[dataset])["predicted"].iloc[0]
        expected = (others.loc["m2", dataset] + others.loc["m4", dataset]) / 2
        assert predicted == pytest.approx(expected, abs=1e-6)
        assert truth[dataset].rank(ascending=False)["m3"] == 3


def test_lineage_borrows_from_the_base_model_and_uncertainty_is_wider():
    graph = linear_graph()
    ranker = ColdModelRanker().fit(graph)
    profiled = pd.Series([0.9, -0.4, 0.1, 1.2, -0.8], index=MODELS)
    plain = {"id": "c", "size": 2.5, "family": "a"}
    base = ranker.predict(pd.DataFrame([plain]), profiled)["predicted"].iloc[0]
    cases = [({"base_model": "m4", "base_model_relation": "finetune"},
              LINEAGE_SHARE["finetune"] * 1.2),
             ({"base_model": "m4", "base_model_relation": "adapter"},
              LINEAGE_SHARE["adapter"] * 1.2),
             ({"base_model": "m1;m5", "base_model_relation": "merge"},
              LINEAGE_SHARE["merge"] * (0.9 - 0.8) / 2)]
    for extra, borrowed in cases:
        share = LINEAGE_SHARE[extra["base_model_relation"]]
        row = ranker.predict(pd.DataFrame([{**plain, **extra}]), profiled).iloc[0]
        assert row["predicted"] == pytest.approx(borrowed + (1 - share) * base)
        assert row["lineage"] == extra["base_model"].split(";")
    # a base model the graph does not know is no lineage
    unknown = ranker.predict(pd.DataFrame([{**plain, "base_model": "elsewhere/x"}]), profiled)
    assert unknown["predicted"].iloc[0] == pytest.approx(base) and unknown["lineage"][0] == []
    # nothing known about a model: the average of the profiled ones
    blank = ranker.predict(pd.DataFrame([{"id": "?"}]), profiled)["predicted"].iloc[0]
    assert blank == pytest.approx(profiled.mean())
    assert ranker.uncertainty() > ranker.profiled_error_ > 0
    with pytest.raises(NotFittedError):
        ColdModelRanker().uncertainty()


def test_on_the_shipped_graph_features_beat_the_average_model():
    """What bench/cold_models.py measures in full: the chosen ridge predicts a held-out model
    better than the average model does (leave-one-model-out error)."""
    graph = load_graph(shipped_graph_dir())
    chosen = ColdModelRanker().fit(graph)
    average = ColdModelRanker(alpha=1e6).fit(graph)
    assert chosen.alpha_ < 1e6
    assert chosen.transfer_error_ < 0.9 * average.transfer_error_


def _folder_model(tmp_path):
    """A pipeline folder the graph has never seen (the mini zoo's format, another model)."""
    import shutil

    from mandc.minizoo.models import ASSETS_DIR

    folder = tmp_path / "my-model"
    shutil.copytree(ASSETS_DIR / "glyphs-deep", folder)
    return folder


def test_recommend_with_candidates_from_a_file(tmp_path, capsys):
    folder = _folder_model(tmp_path)
    listing = tmp_path / "candidates.txt"
    listing.write_text(f"shapes-s\n# mine:\n{folder}\nscenes-v\n")
    args = ["recommend", "--dataset", "shapes-blue-squares", "--hold-out", "--method",
            "nearest_dataset", "--candidates", str(listing)]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {row["model"]: row for row in result["ranking"]}
    assert set(rows) == {"shapes-s", "scenes-v", str(folder)}
    assert result["not_profiled"] == 1 and result["candidates_source"] == str(listing)
    mine = rows[str(folder)]
    assert (mine["profiled"], mine["note"]) == (False, "not profiled")
    assert mine["uncertainty"] > rows["shapes-s"]["uncertainty"]
    assert rows["shapes-s"]["profiled"] is True and "note" not in rows["shapes-s"]
    assert [r["rank"] for r in result["ranking"]] == [1, 2, 3]
    assert [r["predicted"] for r in result["ranking"]] == sorted(
        (r["predicted"] for r in result["ranking"]), reverse=True)
    assert main(args) == 0
    text = capsys.readouterr().out
    line = next(line for line in text.splitlines() if str(folder) in line)
    assert line.rstrip().endswith("not profiled")


def test_bad_candidates_are_one_clear_line(tmp_path, capsys):
    listing = tmp_path / "candidates.txt"
    listing.write_text("shapes-s\nno-such-model\n")
    base = ["recommend", "--dataset", "shapes-blue-squares", "--method", "nearest_dataset"]
    assert main([*base, "--candidates", str(listing)]) == 2
    error = capsys.readouterr().err
    assert f"{listing}, row 2:" in error and "'no-such-model' is neither" in error
    assert main([*base, "--candidates", str(tmp_path / "missing.txt")]) == 2
    assert "expected graph, catalog or a file" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"models": [{"name": "x"}]}')
    assert main([*base, "--candidates", str(tmp_path / "bad.json")]) == 2
    assert "bad.json: expected a list of models with an 'id'" in capsys.readouterr().err


def test_a_fine_tune_of_a_graph_model_from_catalogue_json(tmp_path, capsys):
    """A catalogue row (``mandc catalog --json``) with every feature of glyphs-deep and
    glyphs-deep as its base: its closest profiled model is glyphs-deep, and it borrows
    LINEAGE_SHARE of glyphs-deep's prediction."""
    graph = load_graph(shipped_graph_dir())
    row = graph.models.set_index("model").loc["glyphs-deep"].to_dict()
    tuned = {"id": "alice/glyphs-deep-ft", **row, "base_model": "glyphs-deep",
             "base_model_relation": "finetune"}
    listing = tmp_path / "candidates.json"
    listing.write_text(json.dumps({"models": [tuned, {"id": "glyphs-deep"}]}, default=str))
    assert main(["recommend", "--dataset", "glyphs-digits-black", "--hold-out", "--method",
                 "nearest_dataset", "--candidates", str(listing), "--json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)["ranking"]}
    tuned_row, base_row = rows["alice/glyphs-deep-ft"], rows["glyphs-deep"]
    assert tuned_row["lineage"] == ["glyphs-deep"] and tuned_row["profiled"] is False
    assert tuned_row["closest_profiled"][0] == {"model": "glyphs-deep", "distance": 0.0}
    # its features are glyphs-deep's, so the ridge alone would predict near glyphs-deep too;
    # with the lineage the gap is at most (1 - share) of the ridge's own error
    assert abs(tuned_row["predicted"] - base_row["predicted"]) < 0.5
