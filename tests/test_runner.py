"""The profiling runner: one pair end to end on a micro model, graph rows, samples, resumable grid.

Inception is replaced by a cheap stand-in here (tests/test_metrics.py covers the real network),
so a pair costs a couple of seconds: 8 training images of 16 px, 2 LoRA steps, 2 sampling steps.
"""

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from stand_ins import PixelExtractor

from mandc.errors import ConfigError
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import add_nodes, load_graph, save_graph
from mandc.minizoo.export import write_imagefolder
from mandc.minizoo.models import ZooSpec, build_pipeline, save_pipeline
from mandc.profile import runner
from mandc.profile.metrics import FIDKIDScorer
from mandc.profile.recipe import Recipe
from mandc.settings import get_settings

MICRO = ZooSpec(
    "micro", {"shapes": 1.0}, block_out_channels=(8, 16), attention_head_dim=4,
    norm_num_groups=4, text_hidden_size=16, text_layers=1, text_heads=2, max_caption_tokens=64,
    resolution=16, seed=3,
)
RECIPE = Recipe(steps=2, rank=2, batch_size=4, resolution=16, num_inference_steps=2,
                train_samples=8, eval_samples=8)
ALL_METRICS = {"fid", "kid", "zero_shot_fid", "zero_shot_kid"}


@pytest.fixture(scope="module")
def micro_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "micro-model"
    save_pipeline(build_pipeline(MICRO), folder, spec=MICRO)
    return str(folder)


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    return [str(write_imagefolder(name, root, n_train=8, n_test=8, size=16))
            for name in ("shapes-red-circles", "patterns-stripes-vertical")]


def scorer():
    return FIDKIDScorer(extractor=PixelExtractor(), kid_subsets=3)


def shard_count(graph_dir):
    return len(list((graph_dir / "scores").glob("*.parquet")))


# ---------------------------------------------------------------- one pair
@pytest.mark.slow
def test_profile_pair_writes_four_scores_samples_and_a_run_record(micro_model, domains, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("MANDC_AUTHOR", "tester")
    get_settings.cache_clear()
    graph_dir = tmp_path / "graph"
    shared = scorer()
    record = runner.profile_pair(micro_model, domains[0], RECIPE, graph_dir=graph_dir,
                                 scorer=shared)

    graph = load_graph(graph_dir)
    assert graph.model_ids == ["micro"] and graph.dataset_ids == ["shapes-red-circles"]
    assert graph.primary_metric == "fid"
    probes = graph.scores[graph.scores["metric"].isin(graph.probe_metrics)]
    assert set(probes["metric"]) == {"probe_mse_0.9", "probe_mse_0.6", "probe_mse_0.3",
                                     "probe_mse_0.1"} and (probes["value"] > 0).all()
    assert json.loads(probes["recipe"].iloc[0])["kind"] == "denoising_probe"
    assert record["probe"] == dict(zip(probes["metric"], probes["value"]))
    rows = graph.scores.drop(probes.index)
    assert set(rows["metric"]) == ALL_METRICS and len(rows) == 4
    assert (rows["recipe_hash"] == RECIPE.hash()).all()
    assert Recipe.from_json(rows["recipe"].iloc[0]) == RECIPE
    assert not rows["higher_is_better"].any() and (rows["author"] == "tester").all()
    assert np.isfinite(rows["value"]).all()
    assert pd.Timestamp(rows["created_at"].iloc[0]).tzinfo is not None
    by_metric = dict(zip(rows["metric"], rows["value"]))
    assert by_metric["fid"] == pytest.approx(record["scores"]["fid"])

    # 8 real + 8 zero-shot + 8 fine-tuned images went through the feature extractor
    assert shared.extractor.images_seen == 24
    assert record["wall_time_s"] > 0 and record["timings_s"]["finetune"] > 0
    assert record["device"] == f"CPU, {record['torch_threads']} thread" + \
        ("s" if record["torch_threads"] != 1 else "")  # the timings' machine
    assert record["heldout"] == "test" and record["eval_images"] == 8
    saved = json.loads((graph_dir / "runs" / f"micro__shapes-red-circles__"
                        f"{RECIPE.hash()[:12]}.json").read_text())
    assert saved["pair_seed"] == runner.pair_seed(RECIPE, "micro", "shapes-red-circles")
    for kind in ("finetuned", "zero_shot"):
        with Image.open(graph_dir / record["samples"][kind]) as grid:
            assert grid.size == (64, 64)  # 4 × 4 images of 16 px
    assert record["samples"]["finetuned"] == f"samples/{saved['model']}__shapes-red-circles__" \
                                             f"{RECIPE.hash()[:12]}.png"
    assert (graph_dir / record["shard"]).is_file()

    # the held-out set loads with the same fingerprint again, so its features come from the cache
    _, test, _ = runner._load_splits(domains[0], RECIPE.train_samples, RECIPE.eval_samples)
    shared.real_features(test)
    assert shared.extractor.images_seen == 24


def test_pair_seeds_are_stable_and_differ_between_pairs():
    seed = runner.pair_seed(RECIPE, "m", "d")
    assert seed == runner.pair_seed(RECIPE, "m", "d") and 0 <= seed < 2 ** 31
    assert len({seed, runner.pair_seed(RECIPE, "m", "e"), runner.pair_seed(RECIPE, "n", "d"),
                runner.pair_seed(RECIPE.with_seed(1), "m", "d")}) == 4


# ---------------------------------------------------------------- the grid
def test_grid_profiles_every_seed_as_its_own_recipe(tmp_path, monkeypatch):
    seen = []

    def fake_profile_pair(model, dataset, recipe, **kwargs):
        seen.append((model, recipe, kwargs["zero_shot"]))
        return {"model": model, "dataset": dataset, "recipe_hash": recipe.hash()}

    monkeypatch.setattr(runner, "profile_pair", fake_profile_pair)
    result = runner.run_grid(["m1", "m2"], ["d"], RECIPE, graph_dir=tmp_path / "g",
                             seeds=(0, 1), progress=False, scorer=object())
    assert len(result.finished) == 4
    # zero-shot scores come with the first seed only
    assert [(m, r.seed, z) for m, r, z in seen] == [("m1", 0, True), ("m2", 0, True),
                                                    ("m1", 1, False), ("m2", 1, False)]
    assert len({r.hash() for _, r, _ in seen}) == 2


@pytest.mark.slow
def test_an_interrupted_grid_completes_the_rest_and_then_does_no_work(micro_model, domains,
                                                                      tmp_path, monkeypatch):
    graph_dir = tmp_path / "graph"
    options = dict(graph_dir=graph_dir, progress=False, zero_shot=False, scorer=scorer())
    real_profile_pair = runner.profile_pair
    calls = []

    def interrupted_after_one(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_profile_pair(*args, **kwargs)

    monkeypatch.setattr(runner, "profile_pair", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        runner.run_grid([micro_model], domains, RECIPE, **options)
    assert set(load_graph(graph_dir).scores["dataset"]) == {"shapes-red-circles"}

    monkeypatch.setattr(runner, "profile_pair", real_profile_pair)
    rest = runner.run_grid([micro_model], domains, RECIPE, **options)
    assert [r["dataset"] for r in rest.finished] == ["patterns-stripes-vertical"]
    assert rest.skipped == [("micro", "shapes-red-circles", 0)]
    graph = load_graph(graph_dir)
    assert graph.score_matrix("fid").notna().all().all()  # 1 model × 2 datasets, all measured
    assert set(graph.scores["metric"]) == {"fid", "kid"}

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished pair was profiled again")

    monkeypatch.setattr(runner, "profile_pair", must_not_run)
    again = runner.run_grid([micro_model], domains, RECIPE, **options)
    assert again.finished == [] and not again.failed and len(again.skipped) == 2
    assert shard_count(graph_dir) == 2


def test_a_failing_pair_is_reported_and_the_grid_goes_on(tmp_path, monkeypatch):
    def fake_profile_pair(model, dataset, recipe, **kwargs):
        if dataset == "broken":
            raise ValueError("cannot read broken\nsecond line")
        return {"model": model, "dataset": dataset, "recipe_hash": recipe.hash()}

    monkeypatch.setattr(runner, "profile_pair", fake_profile_pair)
    result = runner.run_grid(["m"], ["broken", "fine"], RECIPE, graph_dir=tmp_path / "g",
                             progress=True, scorer=object())
    assert [r["dataset"] for r in result.finished] == ["fine"]
    assert result.failed == [("m", "broken", 0, "ValueError: cannot read broken")]
    assert "1 pairs profiled, 0 already done, 1 failed" in result.summary()
    assert "m × broken" in result.summary()


def test_grid_refuses_bad_workers_and_empty_inputs(tmp_path):
    with pytest.raises(ConfigError, match="workers"):
        runner.run_grid(["m"], ["d"], RECIPE, graph_dir=tmp_path, workers=0)
    with pytest.raises(ConfigError, match="at least one"):
        runner.run_grid([], ["d"], RECIPE, graph_dir=tmp_path)


def test_a_grid_past_its_time_limit_starts_nothing_and_lists_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "profile_pair", lambda *a, **k: pytest.fail("a pair started"))
    result = runner.run_grid(["m1", "m2"], ["d"], RECIPE, graph_dir=tmp_path / "g",
                             progress=False, scorer=object(), time_limit_s=-1)
    assert result.finished == [] and result.not_started == [("m1", "d", 0), ("m2", "d", 0)]
    assert "2 pairs left for a rerun" in result.summary()


@pytest.mark.slow
def test_parallel_workers_write_the_same_scores_as_one_process(micro_model, domains, tmp_path,
                                                               monkeypatch):
    """Two spawned workers (real Inception FID) give the very scores a sequential grid gives."""
    # two threads a pair: not what a share of the cores gives two workers on a 2-core machine,
    # nor what torch picks on a 1-core one, so a layout-dependent thread count shows here
    monkeypatch.setenv("MANDC_THREADS", "2")
    get_settings.cache_clear()
    recipe = Recipe(steps=2, rank=2, batch_size=4, resolution=16, num_inference_steps=2,
                    train_samples=8, eval_samples=4)
    options = dict(progress=False, zero_shot=False)
    parallel = runner.run_grid([micro_model], domains, recipe, graph_dir=tmp_path / "par",
                               workers=2, **options)
    sequential = runner.run_grid([micro_model], domains, recipe, graph_dir=tmp_path / "seq",
                                 **options)
    assert not parallel.failed and len(parallel.finished) == 2 == len(sequential.finished)

    def scores(graph_dir):
        table = load_graph(graph_dir).scores
        return table.set_index(["dataset", "metric"])["value"].sort_index()

    # exactly: each pair runs on MANDC_THREADS threads in a worker as in this process, so the
    # same float operations run in the same order (with a worker's share of the cores instead,
    # KID differed by 1e-4 on a 2-core machine)
    pd.testing.assert_series_equal(scores(tmp_path / "par"), scores(tmp_path / "seq"),
                                   check_exact=True)
    assert shard_count(tmp_path / "par") == 2


def test_a_pair_runs_on_the_set_thread_count_and_gives_the_caller_its_own_back(tmp_path,
                                                                              monkeypatch):
    import torch

    seen = []
    monkeypatch.setattr(runner, "_measure_pair",
                        lambda *args, **kwargs: seen.append((torch.get_num_threads(),
                                                             kwargs["threads"])) or {})
    monkeypatch.setenv("MANDC_THREADS", "3")
    get_settings.cache_clear()
    callers = torch.get_num_threads()
    runner.profile_pair("m", "d", RECIPE, graph_dir=tmp_path)
    assert seen == [(3, 3)] and torch.get_num_threads() == callers
    monkeypatch.delenv("MANDC_THREADS")
    get_settings.cache_clear()
    runner.profile_pair("m", "d", RECIPE, graph_dir=tmp_path)
    assert seen[-1] == (1, 1)  # the default: one thread a pair, whatever the machine


def test_workers_times_threads_beyond_the_cpus_are_reported(monkeypatch, caplog):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv("MANDC_THREADS", "2")
    get_settings.cache_clear()
    runner._warn_if_oversubscribed(1)
    assert caplog.text == ""
    runner._warn_if_oversubscribed(2)
    assert "2 workers × 2 threads (MANDC_THREADS) exceed the 2 CPUs available" in caplog.text


# ---------------------------------------------------------------- graph bookkeeping
def test_finished_keys_need_every_metric(tmp_path):
    graph_dir = tmp_path / "graph"
    runner.ensure_graph(graph_dir, [{"model": "m", "source": "hub"}],
                        [{"dataset": "d", "fingerprint": "x", "size": 1}])
    rows = runner._score_rows("m", "d", RECIPE, {"fid": 10.0, "kid": 0.1})
    from mandc.graph.store import append_scores

    append_scores(graph_dir, rows)
    key = ("m", "d", RECIPE.hash())
    assert key in runner.finished_keys(graph_dir, zero_shot=False)
    assert key not in runner.finished_keys(graph_dir, zero_shot=True)
    assert runner.finished_keys(tmp_path / "nowhere") == set()


def test_ensure_graph_adds_missing_nodes_and_keeps_score_shards(tmp_path, caplog):
    graph_dir = tmp_path / "graph"
    graph = MatchingGraph(
        models=pd.DataFrame({"model": ["a"], "source": ["hub"], "params": [10]}),
        datasets=pd.DataFrame({"dataset": ["d1"], "fingerprint": ["f1"], "size": [8.0]}),
        scores=pd.DataFrame({"model": ["a"], "dataset": ["d1"], "metric": ["fid"],
                             "value": [3.0], "higher_is_better": [False]}))
    save_graph(graph, graph_dir)
    shards = sorted((graph_dir / "scores").glob("*.parquet"))
    updated = runner.ensure_graph(graph_dir, [{"model": "a", "source": "ignored"},
                                              {"model": "b", "source": "local"}],
                                  [{"dataset": "d1", "fingerprint": "f1", "size": 8},
                                   {"dataset": "d2", "fingerprint": "f2", "size": 8}])
    assert updated.model_ids == ["a", "b"] and updated.dataset_ids == ["d1", "d2"]
    reloaded = load_graph(graph_dir)
    assert reloaded.models.set_index("model").loc["a", "source"] == "hub"  # stored row wins
    # ... and the disagreement is reported, naming the node and the column
    assert "'a' is already a node with other features (source: 'hub' stored, 'ignored' given)" \
        in caplog.text
    assert "'b'" not in caplog.text
    assert "'d1'" not in caplog.text  # 8 given, 8.0 stored (parquet floats): the same feature
    assert sorted((graph_dir / "scores").glob("*.parquet")) == shards
    assert len(reloaded.scores) == 1
    assert add_nodes(graph_dir).model_ids == ["a", "b"]  # nothing new: nothing rewritten


def test_ensure_graph_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a matching graph"):
        runner.ensure_graph(tmp_path, [{"model": "m"}], [{"dataset": "d"}])


def test_model_rows_and_ids(micro_model):
    assert runner.model_id(micro_model) == "micro"  # read from the folder's zoo_spec.json
    assert runner.model_id("stabilityai/sd-turbo") == "stabilityai/sd-turbo"
    zoo_row = runner.model_row("shapes-s")
    assert zoo_row["model"] == "shapes-s" and zoo_row["source"] == "minizoo"
    assert zoo_row["params"] > 0 and "id" not in zoo_row
    assert runner.model_row("owner/model") == {"model": "owner/model", "source": "hub"}
    assert runner.model_row(micro_model)["source"] == "local"


def test_held_out_images_come_from_train_when_there_is_no_test_split(domains, tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(f"{domains[0]}/train", flat)  # images and metadata.jsonl, no split folders
    train, test, heldout = runner._load_splits(str(flat), 5, 3)
    assert heldout == "train-holdout" and (len(train), len(test)) == (5, 3)
    assert {im.tobytes() for im in train.images}.isdisjoint(im.tobytes() for im in test.images)
    with_split = runner._load_splits(domains[0], 4, 8)
    assert with_split[2] == "test" and (len(with_split[0]), len(with_split[1])) == (4, 8)


def test_sample_grid_tiles_four_by_four():
    images = [Image.new("RGB", (8, 8), (10 * i, 0, 0)) for i in range(20)]
    grid = runner.sample_grid(images)
    assert grid.size == (32, 32)
    assert grid.getpixel((8 * 3, 8 * 3)) == (150, 0, 0)  # the 16th image, bottom right
    partial = runner.sample_grid(images[:2])
    assert partial.getpixel((8 * 2, 0)) == (255, 255, 255)


def test_recipe_from_command_line_options():
    recipe = runner.recipe_from_options(steps=7, lr=0.01)
    assert (recipe.steps, recipe.lr, recipe.rank) == (7, 0.01, Recipe().rank)
    light = runner.recipe_from_options(eval_samples=32, sample_steps=10)
    assert (light.eval_samples, light.num_inference_steps) == (32, 10)
    assert light.hash() != Recipe().hash()  # a lighter recipe is a different recipe
    with pytest.raises(ConfigError):
        runner.recipe_from_options(steps=0)
    with pytest.raises(ConfigError, match="num_inference_steps"):
        runner.recipe_from_options(sample_steps=0)


# ---------------------------------------------------------------- real zoo model, real Inception
FAR_MODEL, TARGET_DOMAIN = "gradients-tiny", "shapes-red-circles"


@pytest.mark.slow
def test_fine_tuning_a_zoo_model_lowers_its_fid_on_the_target(tmp_path):
    """The issue's sanity check: more fine-tuning steps (here 0 → 60) lower FID on the domain.

    Runs only once the zoo is pretrained (its weights ship under mandc/minizoo/assets/).
    """
    from mandc.minizoo.models import ASSETS_DIR

    if not (ASSETS_DIR / FAR_MODEL / "model_index.json").is_file():
        pytest.skip(f"zoo model {FAR_MODEL} is not pretrained yet")
    domain = write_imagefolder(TARGET_DOMAIN, tmp_path / "data", n_train=64, n_test=16)
    recipe = Recipe(steps=60, batch_size=16, num_inference_steps=10, train_samples=64,
                    eval_samples=16)
    record = runner.profile_pair(FAR_MODEL, domain, recipe, graph_dir=tmp_path / "graph")
    scores = record["scores"]
    assert scores["fid"] < scores["zero_shot_fid"]
    assert scores["kid"] < scores["zero_shot_kid"]
    assert load_graph(tmp_path / "graph").models.set_index("model").loc[FAR_MODEL,
                                                                         "source"] == "minizoo"
