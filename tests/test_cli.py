"""The ``mandc`` command end to end through ``main([...])``: output, JSON shapes, exit codes."""

import json

import pytest

from mandc import __version__
from mandc.cli import main
from mandc.defaults import example_dir, example_graph, resolve_graph

BASELINES = ["random", "best_average", "nearest_dataset"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def import_example(capsys, out, *extra) -> tuple[int, str, str]:
    folder = example_dir()
    return run(capsys, "graph", "import", "--scores", folder / "scores.csv",
               "--models", folder / "models.csv", "--datasets", folder / "datasets.csv",
               "--similarity", folder / "similarity.csv", "--lower-is-better", "--out", out,
               *extra)


@pytest.fixture
def toy_default(_private_home):
    """The illustrative toy graph saved as $MANDC_HOME/graph: the default, with known numbers."""
    example_graph().save(_private_home / "graph")


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"mandc {__version__}"


def test_help_shows_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "mandc graph import --scores" in out and "recommend" in out and "describe" in out


def test_graph_import_then_show(capsys, tmp_path):
    code, out, err = import_example(capsys, tmp_path / "g")
    assert code == 0, err
    assert f"imported into {tmp_path / 'g'}" in out
    assert (tmp_path / "g" / "graph.json").is_file()

    code, out, _ = run(capsys, "graph", "show", tmp_path / "g")
    assert code == 0
    assert "models      6" in out and "datasets    9 (8 with scores)" in out
    assert "43 rows over 43 model–dataset pairs (46 measurements)" in out
    assert "79.6% of the 6 × 9 matrix" in out
    assert "fid (lower is better, 43 rows, primary)" in out
    assert "36 data–data edges given" in out

    code, out, _ = run(capsys, "graph", "show", tmp_path / "g", "--json")
    summary = json.loads(out)
    assert (summary["models"], summary["datasets"], summary["pairs"]) == (6, 9, 43)
    assert summary["profiled_datasets"] == 8 and summary["coverage"] == pytest.approx(43 / 54)
    assert summary["metrics"] == {"fid": {"higher_is_better": False, "rows": 43}}
    assert summary["graph"] == str(tmp_path / "g") and summary["featurizer"] is None


def test_lower_is_better_for_named_metrics(capsys, tmp_path):
    scores = tmp_path / "s.csv"
    scores.write_text("model,dataset,metric,score\na,x,fid,3\nb,x,fid,4\na,x,clip,.3\n")
    code, out, err = run(capsys, "graph", "import", "--scores", scores, "--lower-is-better",
                         "fid", "--metric", "clip", "--out", tmp_path / "g", "--json")
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    assert not metrics["fid"]["higher_is_better"] and metrics["clip"]["higher_is_better"]
    assert json.loads(out)["primary_metric"] == "clip"


def test_show_without_a_directory_uses_the_shipped_graph_then_mandc_home(capsys, _private_home):
    code, out, _ = run(capsys, "graph", "show")
    assert code == 0 and "shipped mini-zoo graph" in out
    assert "datasets    32 (32 with scores)" in out and "featurizer  effnet-minilm" in out
    assert "probe_mse_0.1 (lower is better, 352 rows, zero-shot probe)" in out

    import_example(capsys, _private_home / "graph")
    code, out, _ = run(capsys, "graph", "show", "--json")
    assert json.loads(out)["graph"] == str(_private_home / "graph")
    assert resolve_graph(None).summary()["pairs"] == 43


def test_synth_then_evaluate_json_shape(capsys, tmp_path):
    code, out, err = run(capsys, "graph", "synth", "--models", 8, "--datasets", 6, "--seed", 3,
                         "--density", 0.8, "--lower-is-better", "--metric", "fid", "--out",
                         tmp_path / "s", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["models"], summary["datasets"]) == (8, 6)
    assert summary["metrics"]["fid"]["higher_is_better"] is False
    assert 0.6 < summary["coverage"] < 1.0

    result_path = tmp_path / "result.json"
    code, out, err = run(capsys, "evaluate", "--graph", tmp_path / "s", "--methods",
                         ",".join(BASELINES), "--seed", 1, "--json", result_path)
    assert code == 0, err
    assert "leave-one-dataset-out on 6 datasets, 8 models" in out
    assert "leave-one-dataset-out" in err  # the progress bar goes to stderr
    result = json.loads(result_path.read_text())
    assert set(result) == {"methods", "datasets", "models"}
    assert (result["datasets"], result["models"]) == (6, 8)
    assert list(result["methods"]) == BASELINES
    for figures in result["methods"].values():
        assert set(figures) == {"top1", "top3", "regret", "pearson", "spearman", "ndcg3"}
    assert result["methods"]["random"]["top1"] == pytest.approx(1 / 8, abs=0.1)


def test_evaluate_json_to_stdout_on_the_default_graph(capsys, toy_default):
    code, out, _ = run(capsys, "evaluate", "--methods", "best_average", "--json", "-",
                       "--no-progress")
    result = json.loads(out)
    assert code == 0 and (result["datasets"], result["models"]) == (8, 6)
    assert result["methods"]["best_average"]["top1"] == pytest.approx(1 / 8)  # SDXL wins once


def test_recommend_json_with_a_baseline(capsys, toy_default):
    code, out, err = run(capsys, "recommend", "--dataset", "oxford-pets", "--method",
                         "nearest_dataset", "--top", 3, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["target"] == "oxford-pets" and result["candidates"] == 6
    assert [row["rank"] for row in result["ranking"]] == [1, 2, 3]
    predicted = [row["predicted"] for row in result["ranking"]]
    assert predicted == sorted(predicted, reverse=True)
    assert result["neighbours"][0] == {"dataset": "cub-birds", "similarity": 0.72}
    assert result["metric"] == "fid" and result["higher_is_better"] is False


def test_recommend_text_shows_measured_and_drivers(capsys, toy_default):
    code, out, _ = run(capsys, "recommend", "--dataset", "celeba-hq-faces", "--method",
                       "nearest_dataset", "--hold-out")
    assert code == 0
    assert "its own scores held out" in out and "measured" in out
    assert "most similar profiled datasets (similarity): oxford-pets (0.58)," in out


def test_recommend_with_mandc_on_the_example_graph(capsys, toy_default):
    pytest.importorskip("mandc.recommend")
    code, out, err = run(capsys, "recommend", "--dataset", "wikiart-impressionism", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == "mandc" and len(result["ranking"]) == 6
    assert {row["model"] for row in result["ranking"]} == set(resolve_graph(None).model_ids)
    near = result["neighbours"]
    assert len(near) == 3 and near[0]["weight"] >= near[1]["weight"] >= near[2]["weight"] > 0
    assert near[0]["dataset"] != "wikiart-impressionism"  # a target never explains itself


@pytest.mark.parametrize("argv, match", [
    (["recommend", "--dataset", "nope"], "dataset 'nope' is not in the graph"),
    (["recommend", "--dataset", "cub-birds", "--method", "oracle"], "unknown method 'oracle'"),
    (["evaluate", "--methods", "random", "--metric", "kid"], "unknown metric 'kid'"),
    (["graph", "show", "/nonexistent/graph"], "not a matching graph directory"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, argv, match, toy_default):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and match in err
    assert err.count("\n") == 1


def test_import_error_names_file_row_and_column(capsys, tmp_path):
    scores = tmp_path / "s.csv"
    scores.write_text("model,dataset,score\na,x,1\nb,x,n/a\n")
    code, _, err = run(capsys, "graph", "import", "--scores", scores, "--out", tmp_path / "g")
    assert code == 2
    assert err == f"error: {scores}, row 3, column 'score': missing score ('n/a'); leave " \
                  "unmeasured pairs out instead\n"
    assert not (tmp_path / "g").exists()


def test_usage_error_exit_code(capsys):
    code, _, err = run(capsys, "graph", "synth", "--density", "2", "--out", "x")
    assert code == 2 and "must be in (0, 1]" in err


def test_unwritable_output_is_a_one_line_error(capsys, tmp_path):
    code, _, err = run(capsys, "evaluate", "--methods", "random", "--no-progress", "--json",
                       tmp_path / "missing-dir" / "result.json")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def tiny_featurizer():
    """A cheap featurizer (mean colour; caption length and vowels) registered once, so that
    ``mandc describe`` is tested end to end without loading the real encoders."""
    features = pytest.importorskip("mandc.features")
    import numpy as np

    name = "test-tiny"
    if name not in features.FEATURIZERS:
        @features.FEATURIZERS.register(name)
        class Tiny(features.Featurizer):
            revision = "test"
            image_dim, caption_dim = 3, 2

            def _load(self):
                pass

            def _encode_images(self, images):
                return np.stack([np.asarray(i, dtype=float).mean(axis=(0, 1)) for i in images])

            def _encode_captions(self, captions):
                return np.array([[len(c), sum(ch in "aeiou" for ch in c)] for c in captions])

        Tiny.name = name
    return name


def caption_folder(root, n: int = 5):
    from PIL import Image

    root.mkdir()
    for i in range(n):
        Image.new("RGB", (16, 12), (50 * i, 100, 20)).save(root / f"img{i}.png")
        (root / f"img{i}.txt").write_text(f"a green square number {i}")
    return root


def test_describe_json_and_text(capsys, tmp_path):
    name = tiny_featurizer()
    folder = caption_folder(tmp_path / "squares")
    code, out, err = run(capsys, "describe", folder, "--featurizer", name, "--samples", 3,
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["dataset"], result["sampled"], result["total"]) == ("squares", 3, 5)
    assert result["featurizer"] == name and result["n_samples"] == 3
    assert len(result["image_mean"]) == 3 and len(result["caption_mean"]) == 2
    assert result["image_mean_width"] == 16

    code, out, _ = run(capsys, "describe", folder, "--featurizer", name, "--samples", 3)
    assert code == 0 and "fingerprint" in out and "cov_" not in out
    assert out.splitlines()[0].split() == ["source", str(folder)]


def test_describe_errors_are_one_line(capsys, tmp_path):
    name = tiny_featurizer()
    code, _, err = run(capsys, "describe", tmp_path / "nothing-here", "--featurizer", name)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = run(capsys, "describe", caption_folder(tmp_path / "s"), "--featurizer", "nope")
    assert code == 2 and "unknown featurizer 'nope'" in err and name in err


def test_the_example_and_shipped_graphs_are_fresh_copies_each_time():
    first = example_graph()
    first.scores.loc[:, "value"] = 0.0
    assert example_graph().score_matrix().loc["openjourney", "wikiart-impressionism"] == 33.8
    shipped = resolve_graph(None)
    before = shipped.score_matrix().loc["shapes-v", "shapes-red-circles"]
    shipped.scores.loc[:, "value"] = 0.0
    assert resolve_graph(None).score_matrix().loc["shapes-v", "shapes-red-circles"] == before > 0
