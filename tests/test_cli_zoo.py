"""The mini-zoo commands of the CLI (domains listing and writing)."""

import json

from mandc.cli.main import main
from mandc.graph.store import save_graph
from mandc.minizoo.domains import HELD_OUT_DOMAINS, PROFILED_DOMAINS, list_domains


def test_domains_json_lists_every_domain_with_its_role(capsys):
    assert main(["minizoo", "domains", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(list_domains())
    roles = {row["name"]: row["role"] for row in rows}
    assert {n for n, r in roles.items() if r == "profiled"} == set(PROFILED_DOMAINS)
    assert {n for n, r in roles.items() if r == "held_out"} == set(HELD_OUT_DOMAINS)


def test_domains_write_one_family_as_imagefolders(tmp_path, capsys):
    assert main(["minizoo", "domains", "--family", "gradients", "--write", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    expected = sorted(d.name for d in list_domains("gradients")
                      if d.name in PROFILED_DOMAINS or d.name in HELD_OUT_DOMAINS)
    assert written == expected
    lines = (tmp_path / written[0] / "train" / "metadata.jsonl").read_text().splitlines()
    assert len(lines) == 256 and "text" in json.loads(lines[0])


def test_unknown_family_is_one_line_error(capsys):
    assert main(["minizoo", "domains", "--family", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nope" in err


def test_profile_grid_refuses_empty_lists_and_bad_seeds_naming_the_flag(capsys):
    assert main(["profile-grid", "--models", ",", "--datasets", "x"]) == 2
    assert capsys.readouterr().err == "error: --models names nothing; give a comma-separated " \
                                      "list\n"
    assert main(["profile-grid", "--models", "a", "--datasets", "x", "--seeds", "1,b"]) == 2
    assert "argument --seeds: expected comma-separated integers, got '1,b'" in \
           capsys.readouterr().err


def test_probe_names_the_datasets_root_it_searched(capsys, tmp_path):
    from mandc.graph.defaults import example_graph

    save_graph(example_graph(), tmp_path / "graph")
    argv = ["probe", "--graph", str(tmp_path / "graph"), "--datasets-root",
            str(tmp_path / "domains")]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"error: --datasets-root {tmp_path / 'domains'}: no such " \
                                      "folder\n"
    (tmp_path / "domains").mkdir()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no folder for datasets [") and err.count("\n") == 1
    assert err.rstrip().endswith(f"under --datasets-root {tmp_path / 'domains'}")


def test_profile_grid_reads_every_dataset_with_the_loader_flags(tmp_path, monkeypatch, capsys):
    from mandc.data import LoadOptions
    from mandc.profile import metrics, runner

    seen = []

    def fake_profile_pair(model, dataset, recipe, **kwargs):
        seen.append((model, dataset, kwargs["load_options"]))
        return {"model": model, "dataset": dataset, "recipe_hash": recipe.hash()}

    monkeypatch.setattr(runner, "profile_pair", fake_profile_pair)
    monkeypatch.setattr(metrics, "FIDKIDScorer", object)  # no Inception network for a fake pair
    assert main(["profile-grid", "--models", "m1,m2", "--datasets", "d", "--graph",
                 str(tmp_path / "g"), "--no-progress", "--caption-column", "tags",
                 "--image-column", "path", "--max-pixels", "1000",
                 "--max-unreadable-share", "0.3"]) == 0
    wanted = LoadOptions(caption_column="tags", image_column="path", max_pixels=1000,
                         max_unreadable_share=0.3)
    assert seen == [("m1", "d", wanted), ("m2", "d", wanted)]
