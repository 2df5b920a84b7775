"""CSV import: averaging, node tables, both similarity layouts, one clear error per bad input."""

import math

import pandas as pd
import pytest

from mandc.errors import ConfigError, ValidationError
from mandc.graph.defaults import example_dir
from mandc.graph.importer import import_csv, write_graph
from mandc.graph.store import load_graph


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


SCORES = """model,dataset,score
m1,d1,10
m1,d1,14
m2,d1,20
m1,d2,30
m2,d2,25
m2,d3,5
"""


def scores_file(tmp_path, text: str = SCORES):
    return write(tmp_path, "scores.csv", text)


def expect_error(match: str, *, file, row=None, column=None, call):
    with pytest.raises(ValidationError, match=match) as info:
        call()
    error = info.value
    assert error.file == str(file)
    assert error.row == row
    assert error.column == column
    assert str(file) in str(error)
    if row is not None:
        assert f"row {row}" in str(error)
    if column is not None:
        assert repr(column) in str(error)
    return error


# ---------------------------------------------------------------------------------- good input
def test_repeated_pairs_are_averaged_and_counted(tmp_path):
    graph = import_csv(scores_file(tmp_path))
    row = graph.scores.set_index(["model", "dataset"]).loc[("m1", "d1")]
    assert row["value"] == pytest.approx(12.0)
    assert row["count"] == 2
    assert graph.scores["count"].sum() == 6  # every measurement is accounted for
    assert len(graph.scores) == 5
    assert graph.metrics == ["score"] and graph.higher_is_better()


def test_a_column_the_scores_file_does_not_read_is_named_not_ignored_in_silence(tmp_path,
                                                                              caplog):
    # a misspelt metric column: FID 10 and KID 0.5 of one pair end up averaged as one "score"
    path = scores_file(tmp_path, "model,dataset,score,metirc\nm1,d1,10,fid\nm1,d1,0.5,kid\n")
    with caplog.at_level("WARNING", logger="mandc.graph.importer"):
        graph = import_csv(path)
    assert graph.scores["count"].tolist() == [2]
    assert [r.getMessage() for r in caplog.records] == [
        f"note: {path}: column(s) 'metirc' not read (a scores file has model, dataset, score and "
        "optionally metric); rows of one pair are averaged whatever they hold"]
    caplog.clear()
    with caplog.at_level("WARNING", logger="mandc.graph.importer"):
        import_csv(scores_file(tmp_path))  # the four columns it reads: nothing to say
    assert caplog.records == []


def test_spaces_around_ids_do_not_make_another_node(tmp_path):
    # 'm1 ' used to be a third model beside 'm1', each with half of its scores
    graph = import_csv(scores_file(tmp_path, "model ,dataset,score\nm1 ,d1,10\n m1,d1,14\n"
                                             "m2,d1 ,20\n"),
                       similarity=write(tmp_path, "sim.csv", ",d1 , d2\n d1,1,0.5\nd2 ,0.5,1\n"))
    assert graph.model_ids == ["m1", "m2"] and graph.dataset_ids == ["d1", "d2"]
    assert graph.scores.set_index("model").loc["m1", "count"] == 2
    assert graph.similarity[["dataset_a", "dataset_b"]].values.tolist() == [["d1", "d2"]]


def test_every_scored_id_gets_a_node_row_without_node_files(tmp_path):
    graph = import_csv(scores_file(tmp_path))
    assert graph.model_ids == ["m1", "m2"]
    assert graph.dataset_ids == ["d1", "d2", "d3"]
    assert list(graph.models["source"]) == ["import", "import"]
    summary = graph.summary()
    assert summary["pairs"] == 5 and summary["coverage"] == pytest.approx(5 / 6)


def test_lower_is_better_and_metric_names(tmp_path):
    graph = import_csv(scores_file(tmp_path), lower_is_better=True, metric="fid")
    assert graph.metrics == ["fid"] and not graph.higher_is_better("fid")
    assert graph.score_matrix().loc["m2", "d2"] == 25.0


def test_metric_column_with_per_metric_direction(tmp_path):
    path = write(tmp_path, "s.csv", "model,dataset,metric,score\n"
                 "a,x,fid,30\na,x,clip,0.3\nb,x,fid,20\nb,x,clip,0.25\n")
    graph = import_csv(path, lower_is_better=["fid"], metric="clip")
    assert graph.primary_metric == "clip"
    assert graph.higher_is_better("clip") and not graph.higher_is_better("fid")
    with pytest.raises(ConfigError, match="kid"):
        import_csv(path, lower_is_better=["kid"])


def test_node_features_keep_raw_types_and_missing_values(tmp_path):
    models = write(tmp_path, "models.csv", "model,params_m,family,licence\n"
                   "m1,860,sd1,openrail\nm2,,pixart,NA\nm3,611,dit,mit\n")
    graph = import_csv(scores_file(tmp_path), models=models)
    table = graph.models.set_index("model")
    assert table["params_m"].dtype.kind == "f"
    assert math.isnan(table.loc["m2", "params_m"]) and table.loc["m1", "params_m"] == 860
    assert str(table["family"].dtype) == "string" and table.loc["m2", "family"] == "pixart"
    assert pd.isna(table.loc["m2", "licence"])
    assert graph.model_ids == ["m1", "m2", "m3"]  # an unscored candidate keeps its row
    assert list(graph.models["source"]) == ["import"] * 3


def test_exact_duplicate_node_rows_are_one_node(tmp_path):
    datasets = write(tmp_path, "datasets.csv", "dataset,size\nd1,5\nd2,6\nd1,5\nd3,\n")
    graph = import_csv(scores_file(tmp_path), datasets=datasets)
    assert graph.dataset_ids == ["d1", "d2", "d3"]


def test_square_similarity_matrix(tmp_path):
    sim = write(tmp_path, "sim.csv", ",d1,d2,d3\nd1,1,0.8,0.1\nd2,0.8,1,\nd3,0.1,,1\n")
    graph = import_csv(scores_file(tmp_path), similarity=sim)
    matrix = graph.given_similarity()
    assert matrix.loc["d1", "d2"] == pytest.approx(0.8)
    assert matrix.loc["d3", "d1"] == pytest.approx(0.1)
    assert math.isnan(matrix.loc["d2", "d3"])  # an empty cell is "not measured", not 0
    assert len(graph.similarity) == 2  # each pair once, no self-pairs


def test_lower_triangle_is_enough(tmp_path):
    sim = write(tmp_path, "sim.csv", "dataset,d1,d2,d3\nd1,,,\nd2,0.5,,\nd3,0.2,0.4,\n")
    matrix = import_csv(scores_file(tmp_path), similarity=sim).given_similarity()
    assert matrix.loc["d1", "d2"] == 0.5 and matrix.loc["d2", "d3"] == 0.4


def test_long_similarity_with_distance_flag(tmp_path):
    sim = write(tmp_path, "sim.csv", "dataset_a,dataset_b,value\nd1,d2,3\nd2,d3,0\nd2,d1,3\n")
    graph = import_csv(scores_file(tmp_path), similarity=sim, similarity_is_distance=True)
    assert graph.similarity["is_distance"].all()
    assert len(graph.similarity) == 2  # (d2, d1) repeats (d1, d2) with the same value
    matrix = graph.given_similarity()
    assert matrix.loc["d1", "d2"] == pytest.approx(math.exp(-1.0))  # d / median d = 1
    assert matrix.loc["d3", "d2"] == pytest.approx(1.0)


def test_datasets_only_in_the_datasets_file_can_have_similarities(tmp_path):
    datasets = write(tmp_path, "datasets.csv", "dataset,domain\nd1,a\nd2,a\nd3,b\nnew,a\n")
    sim = write(tmp_path, "sim.csv", "dataset_a,dataset_b,value\nnew,d1,0.9\n")
    graph = import_csv(scores_file(tmp_path), datasets=datasets, similarity=sim)
    assert "new" in graph.dataset_ids and graph.given_similarity().loc["new", "d1"] == 0.9


def test_round_trip_import_save_load(tmp_path):
    folder = example_dir()
    graph = import_csv(folder / "scores.csv", models=folder / "models.csv",
                       datasets=folder / "datasets.csv", similarity=folder / "similarity.csv",
                       lower_is_better=True)
    out = write_graph(graph, tmp_path / "g")
    loaded = load_graph(out)
    assert loaded.summary() == graph.summary()
    pd.testing.assert_frame_equal(loaded.score_matrix(), graph.score_matrix())
    pd.testing.assert_frame_equal(loaded.models, graph.models)
    assert loaded.meta["imported_from"]["similarity"] == "similarity.csv"


def test_example_graph_is_the_documented_shape():
    folder = example_dir()
    graph = import_csv(folder / "scores.csv", models=folder / "models.csv",
                       datasets=folder / "datasets.csv", similarity=folder / "similarity.csv",
                       lower_is_better=True)
    summary = graph.summary()
    assert (summary["models"], summary["datasets"], summary["pairs"]) == (6, 9, 43)
    assert graph.score_matrix()["onepiece-blip"].isna().all()  # the cold-start dataset
    assert graph.scores["count"].sum() == 46 and graph.primary_metric == "fid"
    best = graph.score_matrix().dropna(axis=1, how="all").idxmin()  # lower FID is better
    assert best["wikiart-impressionism"] == "openjourney"
    assert best["celeba-hq-faces"] == "dreamlike-photoreal-2.0"
    assert best.value_counts().max() <= 4  # no single model wins everywhere


# ---------------------------------------------------------------------------------- bad input
def test_missing_column_names_the_header(tmp_path):
    path = write(tmp_path, "s.csv", "model,dataset,value\na,x,1\n")
    error = expect_error("missing column 'score'", file=path, row=1, column="score",
                         call=lambda: import_csv(path))
    assert "'value'" in str(error)  # the columns the file does have are listed


def test_semicolon_file_gets_a_hint(tmp_path):
    path = write(tmp_path, "s.csv", "model;dataset;score\na;x;1\n")
    expect_error("semicolon", file=path, row=1, column="model", call=lambda: import_csv(path))


@pytest.mark.parametrize("cell, match", [("abc", "not a number: 'abc'"), ("", "missing score"),
                                         ("NaN", "missing score"), ("inf", "not finite"),
                                         ("1,5", "decimal mark")])
def test_bad_score_names_row_and_column(tmp_path, cell, match):
    quoted = f'"{cell}"' if "," in cell else cell
    path = write(tmp_path, "s.csv", f"model,dataset,score\na,x,1\n\nb,x,{quoted}\n")
    # row 4: the header is row 1 and the blank line 3 still counts
    expect_error(match, file=path, row=4, column="score", call=lambda: import_csv(path))


def test_missing_id(tmp_path):
    path = write(tmp_path, "s.csv", "model,dataset,score\n,x,1\n")
    expect_error("missing id", file=path, row=2, column="model", call=lambda: import_csv(path))


def test_ragged_row(tmp_path):
    path = write(tmp_path, "s.csv", "model,dataset,score\na,x,1,extra\n")
    expect_error("4 fields where the header has 3", file=path, row=2,
                 call=lambda: import_csv(path))


@pytest.mark.parametrize("text", ["", "\n\n", "model,dataset,score\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, "s.csv", text)
    expect_error("empty file", file=path, call=lambda: import_csv(path))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    expect_error("no such file", file=path, call=lambda: import_csv(path))


def test_duplicate_ids_with_conflicting_features(tmp_path):
    models = write(tmp_path, "models.csv", "model,params,family\nm1,1,a\nm2,2,b\nm1,1,c\n")
    error = expect_error("also on row 2", file=models, row=4, column="family",
                         call=lambda: import_csv(scores_file(tmp_path), models=models))
    assert "'a'" in str(error) and "'c'" in str(error)


def test_scored_id_missing_from_the_node_file_is_a_typo(tmp_path):
    models = write(tmp_path, "models.csv", "model,params\nm1,1\nm-2,2\n")
    scores = scores_file(tmp_path)
    expect_error("'m2' is not in", file=scores, row=4, column="model",
                 call=lambda: import_csv(scores, models=models))


def test_mostly_numeric_feature_with_a_word_is_refused(tmp_path):
    datasets = write(tmp_path, "d.csv", "dataset,size\nd1,10\nd2,1O\nd3,30\n")
    expect_error("not a number: '1O'", file=datasets, row=3, column="size",
                 call=lambda: import_csv(scores_file(tmp_path), datasets=datasets))


def test_a_dataset_only_in_the_similarity_file_is_a_cold_start_node(tmp_path):
    sim = write(tmp_path, "sim.csv", "dataset_a,dataset_b,value\nd1,d2,0.5\nd1,new,0.8\n"
                "new,d3,0.1\n")
    graph = import_csv(scores_file(tmp_path), similarity=sim)
    assert graph.dataset_ids == ["d1", "d2", "d3", "new"]
    assert graph.score_matrix()["new"].isna().all()  # no model–data edge
    assert graph.given_similarity().loc["new", "d1"] == 0.8
    assert graph.summary()["pairs"] == 5


def test_cold_start_nodes_from_a_square_matrix(tmp_path):
    sim = write(tmp_path, "sim.csv", ",d1,d2,d9\nd1,1,0.5,0.1\nd2,0.5,1,0.7\nd9,0.1,0.7,1\n")
    graph = import_csv(scores_file(tmp_path), similarity=sim)
    assert "d9" in graph.dataset_ids and graph.given_similarity().loc["d9", "d2"] == 0.7


def test_with_a_datasets_file_a_similarity_id_must_have_a_row_there(tmp_path):
    datasets = write(tmp_path, "d.csv", "dataset,domain\nd1,a\nd2,a\nd3,b\n")
    sim = write(tmp_path, "sim.csv", "dataset_a,dataset_b,value\nd1,d2,0.5\nd1,d9,0.2\n")
    expect_error("'d9' is not in the datasets file; add a row", file=sim, row=3,
                 column="dataset_b",
                 call=lambda: import_csv(scores_file(tmp_path), datasets=datasets,
                                         similarity=sim))


def test_non_square_matrix(tmp_path):
    sim = write(tmp_path, "sim.csv", ",d1,d2,d3\nd1,1,0.5,0.1\nd2,0.5,1,0.1\n")
    expect_error("not square: 3 dataset columns but 2 rows", file=sim,
                 call=lambda: import_csv(scores_file(tmp_path), similarity=sim))


def test_asymmetric_matrix(tmp_path):
    sim = write(tmp_path, "sim.csv", ",d1,d2,d3\nd1,1,0.5,0.1\nd2,0.7,1,0.1\nd3,0.1,0.1,1\n")
    expect_error("not symmetric", file=sim, row=3, column="d1",
                 call=lambda: import_csv(scores_file(tmp_path), similarity=sim))


def test_conflicting_long_pairs_and_negative_distances(tmp_path):
    sim = write(tmp_path, "sim.csv", "dataset_a,dataset_b,value\nd1,d2,0.5\nd2,d1,0.6\n")
    expect_error("also on row 2", file=sim, row=3, column="value",
                 call=lambda: import_csv(scores_file(tmp_path), similarity=sim))
    dist = write(tmp_path, "dist.csv", "dataset_a,dataset_b,value\nd1,d2,-1\n")
    expect_error("cannot be negative", file=dist, row=2, column="value",
                 call=lambda: import_csv(scores_file(tmp_path), similarity=dist,
                                         similarity_is_distance=True))


# ---------------------------------------------------------------------------------- writing
def test_nothing_is_written_when_the_import_fails(tmp_path):
    from mandc.cli.main import main

    bad = write(tmp_path, "s.csv", "model,dataset,score\na,x,1\nb,x,oops\n")
    out = tmp_path / "graph"
    assert main(["graph", "import", "--scores", str(bad), "--out", str(out)]) == 2
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]  # no staging leftovers either


def test_a_failed_write_leaves_no_half_graph(tmp_path, monkeypatch):
    graph = import_csv(scores_file(tmp_path))

    def broken_save(graph, directory):
        (directory / "models.parquet").parent.mkdir(parents=True)
        (directory / "models.parquet").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr("mandc.graph.importer.save_graph", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_graph(graph, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    graph = import_csv(scores_file(tmp_path))
    out = write_graph(graph, tmp_path / "g")
    with pytest.raises(ConfigError, match="already exists"):
        write_graph(graph, out)
    smaller = import_csv(write(tmp_path, "s2.csv", "model,dataset,score\na,x,1\nb,x,2\n"))
    write_graph(smaller, out, overwrite=True)
    assert load_graph(out).model_ids == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g", "s2.csv", "scores.csv"]


def test_overwrite_never_deletes_a_folder_that_is_not_a_graph(tmp_path):
    graph = import_csv(scores_file(tmp_path))
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work")
    (mine / "sub" / "notes.txt").write_text("more")
    with pytest.raises(ConfigError, match="holds no matching graph"):
        write_graph(graph, mine, overwrite=True)
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert (mine / "sub" / "notes.txt").read_text() == "more"


def test_square_matrix_without_a_corner_cell_gets_a_hint(tmp_path):
    sim = write(tmp_path, "sim.csv", "d1,d2\nd1,1,0.5\nd2,0.5,1\n")
    expect_error("corner cell", file=sim, row=2,
                 call=lambda: import_csv(scores_file(tmp_path), similarity=sim))
