"""The fine-tune cost column (from run records), the band plot and the card-section export, on
hand-made inputs with known answers."""

import json
import re

import pandas as pd
import pytest

from mandc.graph.defaults import (
    DEFAULT_GRAPH_PARTS,
    default_shipped_dir,
    graph_file_folders,
    shipped_graph_dir,
)
from mandc.ui import present
from mandc.ui.cost import NOT_RECORDED, FinetuneCosts, short_device
from mandc.ui.graph_files import GraphFiles, pair_of

GPU, CPU = "NVIDIA A100 (alone)", "CPU, 2 threads"


def run(model, seconds, device=GPU, recipe="r1"):
    return {"model": model, "recipe_hash": recipe, "timings_s": {"finetune": seconds},
            "recipe": {"steps": 60, "batch_size": 16}, **({"device": device} if device else {})}


MODELS = pd.DataFrame({"model": ["a", "b", "c", "d", "e"],
                       "params": [1e6, 4e6, 2e6, 3e6, 5e7]})


def test_measured_costs_are_medians_on_one_machine_and_others_fitted_by_size():
    runs = [run("a", 8), run("a", 10), run("a", 13), run("b", 40), run("c", 20), run("c", 20),
            run("c", 99, device=CPU), run("b", 500, recipe="r2"),  # another recipe: ignored
            {"model": "a", "timings_s": {}}]  # no fine-tune time: ignored
    costs = FinetuneCosts.from_runs(runs, MODELS)
    assert costs.measured["a"].seconds == 10 and costs.measured["a"].runs == 3
    assert costs.measured["c"].device == GPU and costs.measured["c"].runs == 2  # most runs
    assert costs.measured["b"].seconds == 40
    # seconds = 1e-5 * params exactly: the power law's exponent is 1
    assert costs.exponent == pytest.approx(1.0) and costs.fitted_on == 3
    assert costs.sizes == (1e6, 4e6)
    estimate = costs.of("d", 3e6)
    assert estimate.seconds == pytest.approx(30.0) and not estimate.measured
    assert costs.of("e", 5e7) is None  # more than 10× beyond the largest measured model
    assert costs.of("f", None) is None
    assert costs.recipe_text() == "60 steps, batch 16"


def test_too_few_measured_models_give_no_estimate_and_no_runs_no_costs():
    costs = FinetuneCosts.from_runs([run("a", 10), run("b", 40)], MODELS)
    assert costs.exponent is None and costs.of("d", 3e6) is None
    assert costs.of("a", 1e6).seconds == 10
    assert not FinetuneCosts.from_runs([], MODELS).measured


def test_cost_cells_name_the_machine_and_mark_estimates():
    costs = FinetuneCosts.from_runs([run("a", 10), run("b", 40), run("c", 20),
                                     run("x", 7.25, device=None)], MODELS)
    assert present._cost_cell(costs.of("a", 1e6)) == "10 (A100)"
    assert present._cost_cell(costs.of("d", 3e6)) == "≈30 (A100, est.)"
    assert present._cost_cell(costs.of("x", None)) == "7.2"  # the records name no machine
    assert present._cost_cell(None) == "–"
    assert short_device("CPU, 1 thread (2 pairs at once)") == "CPU"
    assert short_device(NOT_RECORDED) == ""
    legend = present.cost_legend(costs)
    assert "A100 = NVIDIA A100 (alone)" in legend and "params^1.00" in legend
    assert "(no brackets: the records do not name the machine)" in legend


def test_the_shipped_graphs_costs_come_from_its_run_records():
    files = GraphFiles(shipped_graph_dir())
    records = files.runs()
    assert len(records) == 352
    costs = FinetuneCosts.from_runs(records, pd.read_parquet(shipped_graph_dir() /
                                                             "models.parquet"))
    expected = sorted(r["timings_s"]["finetune"] for r in records if r["model"] == "shapes-v")
    assert costs.measured["shapes-v"].seconds == pytest.approx(
        (expected[15] + expected[16]) / 2)
    assert costs.measured["patterns-s"].device.startswith("CPU")
    assert files.sample_grid("shapes-v", "scenes-day").name == \
        "shapes-v__scenes-day__0e24d5802cb9.webp"
    assert files.sample_grid("shapes-v", "no-such-dataset") is None


def test_the_default_graphs_grids_and_runs_come_from_the_graphs_it_was_merged_from(tmp_path):
    """The shipped default graph keeps tables only; its grids and records are its parts'."""
    assert not (default_shipped_dir() / "samples").exists()
    assert graph_file_folders(default_shipped_dir()) == [
        default_shipped_dir(), *(shipped_graph_dir(name) for name in DEFAULT_GRAPH_PARTS)]
    assert graph_file_folders(tmp_path) == [tmp_path]  # any other graph: its own folder only
    files = GraphFiles(default_shipped_dir())
    assert len(files.runs()) == 352 + 352 + 88  # minizoo, minizoo-heldout, minizoo-extra
    costs = FinetuneCosts.from_runs(files.runs(), pd.read_parquet(default_shipped_dir() /
                                                                    "models.parquet"))
    # the held-out parts' 40 runs a model name no machine: the 32 that do are the ones shown
    assert costs.measured["glyphs-deep"].runs == 32
    assert costs.measured["glyphs-deep"].device.startswith("CPU")
    for dataset, part in [("scenes-day", "minizoo"), ("glyphs-arrows-white", "minizoo-heldout"),
                          ("glyphs-letters-colour", "minizoo-extra")]:
        grid = files.sample_grid("shapes-v", dataset)
        assert grid == shipped_graph_dir(part) / "samples" / \
            f"shapes-v__{dataset}__0e24d5802cb9.webp" and grid.is_file()
    assert files.sample_grid("shapes-v", "no-such-dataset") is None


def test_file_stems_give_back_hub_ids():
    assert pair_of("org--model__owner--set__0123456789ab") == ("org/model", "owner/set")
    assert pair_of("model__set") is None


def _result(rows, level=0.8):
    return {"metric": "fid", "higher_is_better": False, "interval_level": level,
            "ranking": rows}


def test_the_plot_draws_each_band_around_its_dot():
    rows = [{"rank": 1, "model": "good", "predicted": 1.0, "low": 0.5, "high": 1.5},
            {"rank": 2, "model": "new/model", "predicted": -0.5, "low": -1.5, "high": 0.5,
             "profiled": False}]
    svg = present.plot_html(_result(rows))
    bands = re.findall(r'class="band" x1="([\d.]+)%" y1="[\d.]+" x2="([\d.]+)%"', svg)
    dots = re.findall(r'<circle cx="([\d.]+)%"', svg)
    assert len(bands) == len(dots) == 2
    for (low, high), dot in zip(bands, dots):
        low, high, dot = float(low), float(high), float(dot)
        assert low < dot < high and dot - low == pytest.approx(high - dot, abs=0.2)
    assert float(bands[1][1]) - float(bands[1][0]) == pytest.approx(
        2 * (float(bands[0][1]) - float(bands[0][0])), abs=0.2)  # twice as wide
    assert "○ not profiled (wider band)" in svg and "<title>new/model: -0.50 [-1.50, 0.50]" in svg
    # a method without intervals: dots only, and the column keeps its plain name
    plain = [{"rank": 1, "model": "good", "predicted": 1.0}]
    assert 'class="band"' not in present.plot_html(_result(plain, level=None))
    assert present.interval_name(_result(plain, level=None)) is None
    assert present._ticks(-1.3, 2.4) == [-1, 0, 1, 2]


def test_long_names_on_the_plot_keep_their_distinguishing_ends():
    rows = [{"rank": k + 1, "model": f"stabilityai/stable-diffusion-xl-base-{v}",
             "predicted": 1.0 - k} for k, v in enumerate(["1.0", "0.9"])]
    svg = present.plot_html(_result(rows, level=None))
    labels = re.findall(r'<text x="0" y="[\d.]+" fill="currentColor">([^<]+)</text>', svg)
    assert labels == ["stabilityai/stable…usion-xl-base-1.0",
                      "stabilityai/stable…usion-xl-base-0.9"]
    assert all(len(label) == present.PLOT_LABEL_CHARS for label in labels)
    assert present._shortened("short/name") == "short/name"


def test_the_card_section_is_the_cards_renderer_between_its_markers(tmp_path):
    from types import SimpleNamespace

    from mandc.hub.cards import SECTION_END, SECTION_START
    from mandc.ui import export

    rows = [{"rank": 1, "model": "a", "predicted": 1.2345, "measured": 20.0},
            {"rank": 2, "model": "b", "predicted": -0.5, "measured": 30.0}]
    result = {**_result(rows), "target": "cats", "candidates": 2, "method": "mandc",
              "neighbours": [{"dataset": "dogs", "similarity": 0.8}]}
    graph = SimpleNamespace(models=MODELS, datasets=pd.DataFrame({"dataset": ["dogs"]}),
                            scores=pd.DataFrame({"v": [1, 2]}))
    served = SimpleNamespace(graph=graph, label="g", source={"repo": "org/g",
                                                             "revision": "f" * 40})
    section = export.card_section(result, served)
    assert section.startswith(SECTION_START + "\n## Why this base model")
    assert section.rstrip().endswith(SECTION_END)
    assert "`a` ranks **#1**" in section and "| 1 | **a** | +1.23 | 20 |" in section
    assert "[`org/g`](https://huggingface.co/datasets/org/g) at revision `ffffffffffff`" in \
        section and "Written by the M&C Space" in section
    data, card = export.write_exports({"target": "my cats/../x", "ranking": rows}, section)
    assert data.endswith("/mandc-my-cats-..-x.json")
    assert card.endswith("/why-base-model-my-cats-..-x.md")
    assert json.loads(open(data).read())["ranking"] == rows
    assert open(card).read() == section


def test_the_legend_names_the_columns_a_phone_leaves_out():
    rows = [{"rank": 1, "model": "good", "predicted": 1.0, "low": 0.5, "high": 1.5}]
    wide = pd.DataFrame(columns=["rank", "model", "predicted (80% interval)", "params (M)",
                                 "resolution (px)"])
    text = present.legend(_result(rows), wide)
    assert "leaves out **params (M)** and **resolution (px)**; turn it sideways" in text
    assert "\n\nOn a phone" in text  # a paragraph of its own, not part of the last list item
    assert "On a phone" not in present.legend(_result(rows), wide[["rank", "model"]])
    assert present._listed(["a", "b", "c"]) == "**a**, **b** and **c**"
