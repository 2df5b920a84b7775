"""``mandc push`` sends the pairs' run records and sample grids beside the tables, so a Space
serving the repo shows them: one commit, nothing overwritten, no local path or token leaked.
Over the stand-in's socket, as in ``tests/test_hub.py``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from test_hub import TOKEN, Hub, graph_with, mandc, run_env, serve_stand_in

from mandc.errors import ValidationError
from mandc.graph.store import save_graph
from mandc.hub import pair_files
from mandc.hub.pair_files import RemoteFile, git_blob_id, plan_files, scrub_record

HASH = "0e24d5802cb9"


@pytest.fixture
def hub(tmp_path) -> Hub:
    yield from serve_stand_in(tmp_path / "hub-root")


def record(model: str, dataset: str, **extra) -> dict:
    return {"model": model, "dataset": dataset, "dataset_source": f"/tmp/domains/{dataset}",
            "model_source": model, "recipe_hash": HASH + "f" * 52, "device": "CPU, 2 threads",
            "timings_s": {"finetune": 12.5, "total": 30.0},
            "samples": {"finetuned": f"samples/{model}__{dataset}__{HASH}.png"}, **extra}


def profiled_folder(folder, models=("m1", "m2"), datasets=("d1", "d2")) -> dict:
    """A graph directory as ``mandc profile`` leaves it: tables, run records and grids."""
    save_graph(graph_with(list(models), list(datasets)), folder)
    (folder / "runs").mkdir()
    (folder / "samples").mkdir()
    grids = {}
    rng = np.random.default_rng(1)
    for model in models:
        for dataset in datasets:
            stem = f"{model}__{dataset}__{HASH}"
            (folder / "runs" / f"{stem}.json").write_text(
                json.dumps(record(model, dataset), indent=1, sort_keys=True) + "\n")
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / "samples" / f"{stem}.png")
            grids[(model, dataset)] = pixels
    # the base model's grid is sent too; a pair the graph lacks is not
    Image.fromarray(grids[("m1", "d1")][::-1]).save(
        folder / "samples" / f"m1__d1__{HASH}-zero-shot.png")
    (folder / "runs" / f"m9__d1__{HASH}.json").write_text(json.dumps(record("m9", "d1")))
    return grids


# ------------------------------------------------------------------------------ in-process
def test_local_paths_are_replaced_wherever_they_stand_and_ids_and_urls_are_kept():
    cleaned, changed = scrub_record({
        "dataset_source": "/tmp/domains/glyphs-arrows", "model_source": "alice/sd-tiny",
        "notes": ["read ~/data/cats/ then file:///srv/x/y.png", "N/A", "1/2 done"],
        "url": "https://huggingface.co/datasets/alice/cats", "nested": {"adapter": "/a/b/c/"},
        "samples": {"finetuned": "samples/m__d__h.png"}, "steps": 60})
    assert cleaned["dataset_source"] == "<local>/glyphs-arrows"
    assert cleaned["notes"][0] == "read <local>/cats then <local>/y.png"
    assert cleaned["nested"]["adapter"] == "<local>/c"
    for kept in ("model_source", "url", "samples", "steps"):
        assert cleaned[kept] == {"model_source": "alice/sd-tiny",
                                 "url": "https://huggingface.co/datasets/alice/cats",
                                 "samples": {"finetuned": "samples/m__d__h.png"},
                                 "steps": 60}[kept]
    assert cleaned["notes"][1:] == ["N/A", "1/2 done"]
    assert sorted(changed) == ["dataset_source", "nested.adapter", "notes[0]"]


def test_windows_paths_are_replaced_too_and_drive_letters_in_words_are_kept():
    cleaned, changed = scrub_record({
        "dataset_source": "C:\\Users\\ann\\data\\cats", "adapter": "D:/runs/lora/",
        "notes": "copied from \\\\nas\\share\\flowers to E:\\", "model": "org/v:2",
        "url": "https://huggingface.co/a/b", "ratio": "a:b 3:4"})
    assert cleaned["dataset_source"] == "<local>/cats"
    assert cleaned["adapter"] == "<local>/lora"
    assert cleaned["notes"] == "copied from <local>/flowers to <local>"
    assert {key: cleaned[key] for key in ("model", "url", "ratio")} == {
        "model": "org/v:2", "url": "https://huggingface.co/a/b", "ratio": "a:b 3:4"}
    assert sorted(changed) == ["adapter", "dataset_source", "notes"]


def test_the_plan_skips_same_bytes_keeps_the_repos_other_bytes_and_checks_each_file(
        tmp_path, monkeypatch):
    folder = tmp_path / "g"
    profiled_folder(folder)
    pairs = {(m, d) for m in ("m1", "m2") for d in ("d1", "d2")}
    plan = plan_files(folder, pairs, {})
    assert plan.added == {"runs": 4, "samples": 5} and plan.conflicts == []
    assert f"runs/m9__d1__{HASH}.json" not in plan.files  # not a pair of the pushed graph
    assert len(plan.scrubbed) == 4
    for path in plan.scrubbed:
        text = plan.files[path].decode()
        assert "/tmp/" not in text and json.loads(text)["dataset_source"].startswith("<local>/")

    same = f"runs/m1__d1__{HASH}.json"
    grid = f"samples/m1__d1__{HASH}.png"
    import hashlib

    remote = {same: RemoteFile(git_blob_id(plan.files[same])),
              grid: RemoteFile("pointer", hashlib.sha256(plan.files[grid]).hexdigest()),
              f"runs/m2__d2__{HASH}.json": RemoteFile(git_blob_id(b"{}"))}
    again = plan_files(folder, pairs, remote)
    assert again.present == {"runs": 1, "samples": 1}
    assert same not in again.files and grid not in again.files
    assert f"runs/m2__d2__{HASH}.json" not in again.files  # never overwritten
    assert len(again.conflicts) == 1
    assert again.conflicts[0].startswith(f"runs/m2__d2__{HASH}.json: the repo holds a different")

    (folder / "samples" / f"m2__d1__{HASH}.png").write_bytes(b"not an image at all")
    monkeypatch.setattr(pair_files, "MAX_RUN_BYTES", 100)
    bad = plan_files(folder, pairs, {})
    assert bad.added == {"runs": 0, "samples": 4}
    assert any(line.startswith(f"samples/m2__d1__{HASH}.png: not a PNG image")
               for line in bad.conflicts)
    assert sum("over the limit of 100 for runs/" in line for line in bad.conflicts) == 4

    elsewhere = tmp_path / "grids"  # `mandc profile --samples-dir`: the grids live apart
    (folder / "samples").rename(elsewhere)
    assert plan_files(folder, pairs, {}).added["samples"] == 0
    assert plan_files(folder, pairs, {}, samples_dir=elsewhere).added["samples"] == 4

    monkeypatch.setattr(pair_files, "MAX_FILES", 3)
    with pytest.raises(ValidationError, match="over the limit of 3 files"):
        plan_files(folder, pairs, {}, samples_dir=elsewhere)


def test_a_record_holding_a_token_refuses_the_push_without_repeating_it(tmp_path):
    folder = tmp_path / "g"
    profiled_folder(folder)
    path = folder / "runs" / f"m2__d1__{HASH}.json"
    path.write_text(json.dumps(record("m2", "d1", model_source=f"https://x:{TOKEN}@host/m")))
    with pytest.raises(ValidationError) as refused:
        plan_files(folder, {("m2", "d1")}, {})
    message = str(refused.value)
    assert message.startswith(f"runs/m2__d1__{HASH}.json, column 'model_source': holds what")
    assert TOKEN not in message


# ------------------------------------------------------------------------------ over the socket
READ_BACK = """
import json, sys
import numpy as np
from PIL import Image
from huggingface_hub import HfApi
from mandc.hub.repo_id import GraphRepo
from mandc.ui.graph_files import GraphFiles

commit = HfApi().repo_info("alice/graph", repo_type="dataset").sha
files = GraphFiles(None, GraphRepo("alice/graph"), commit)
grids = {}
for model in ("m1", "m2"):
    for dataset in ("d1", "d2"):
        with Image.open(files.sample_grid(model, dataset)) as grid:
            grids[f"{model} {dataset}"] = np.asarray(grid.convert("RGB")).tolist()
print(json.dumps({"grids": grids, "runs": files.runs()}))
"""


def test_push_sends_the_grids_and_records_once_and_the_app_reads_them_back(hub, tmp_path):
    folder = tmp_path / "g"
    grids = profiled_folder(folder)
    env = run_env(hub, tmp_path)
    dry = json.loads(mandc(env, "push", str(folder), "--repo", "alice/graph", "--create",
                           "--dry-run", "--json").stdout)
    assert dry["sent_files"] == {"runs": 4, "samples": 5} and hub.head("alice/graph") is None

    done = mandc(env, "push", str(folder), "--repo", "alice/graph", "--create")
    assert "4 run records, 5 sample grids in 1 commit" in done.stdout, done.stdout
    assert "local paths replaced by <local>/NAME in 4 run records" in done.stdout
    assert "/tmp/" not in done.stdout + done.stderr
    tree = hub.tree("alice/graph")
    assert sum(p.startswith("runs/") for p in tree) == 4
    assert sum(p.startswith("samples/") for p in tree) == 5
    assert "graph.json" in tree and f"runs/m9__d1__{HASH}.json" not in tree

    done = subprocess.run([sys.executable, "-c", READ_BACK], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout.splitlines()[-1])
    for (model, dataset), pixels in grids.items():  # the fine-tuned grid, pixel for pixel
        assert np.array_equal(np.asarray(read["grids"][f"{model} {dataset}"]), pixels)
    assert len(read["runs"]) == 4
    assert {r["dataset_source"] for r in read["runs"]} == {"<local>/d1", "<local>/d2"}
    assert all("/tmp/" not in json.dumps(r) for r in read["runs"])
    assert {r["timings_s"]["finetune"] for r in read["runs"]} == {12.5}

    head = hub.head("alice/graph")
    again = mandc(env, "push", str(folder), "--repo", "alice/graph")
    assert "nothing to push" in again.stdout and hub.head("alice/graph") == head
    assert "4 run records, 5 sample grids" in again.stdout  # already there

    # the same pair profiled again: the repo's record stays, a warning names the file
    rerun = folder / "runs" / f"m1__d2__{HASH}.json"
    rerun.write_text(json.dumps(record("m1", "d2", finished_at="later")))
    kept = mandc(env, "push", str(folder), "--repo", "alice/graph")
    assert "nothing to push" in kept.stdout and hub.head("alice/graph") == head
    assert f"warning: runs/m1__d2__{HASH}.json: the repo holds a different file" in kept.stderr

    # a token in a record refuses the whole push; --no-files sends the tables alone
    bigger = tmp_path / "g2"
    profiled_folder(bigger, models=("m1", "m2", "m3"))
    leak = bigger / "runs" / f"m3__d1__{HASH}.json"
    leak.write_text(json.dumps(record("m3", "d1", note=f"token {TOKEN}")))
    refused = mandc(env, "push", str(bigger), "--repo", "alice/graph", check=False)
    assert refused.returncode == 2 and f"runs/m3__d1__{HASH}.json" in refused.stderr
    assert TOKEN not in refused.stdout + refused.stderr and hub.head("alice/graph") == head
    tables = json.loads(mandc(env, "push", str(bigger), "--repo", "alice/graph", "--no-files",
                              "--json").stdout)
    assert tables["added"]["scores"] == 2 and tables["sent_files"] == {"runs": 0, "samples": 0}
    assert not any(p.startswith(("runs/m3", "samples/m3")) for p in hub.tree("alice/graph"))


PUSHER = r"""
import json, sys
from PIL import Image
from mandc.graph.store import append_scores
from mandc.hub.pair_push import PairPusher
from mandc.profile import runner
from mandc.profile.recipe import Recipe
from pathlib import Path

graph_dir, repo = Path(sys.argv[1]), sys.argv[2]
recipe = Recipe(steps=2, rank=2)
pusher = PairPusher(graph_dir, repo)
for model, fid in (("m1", 40.0), ("m2", 50.0)):
    runner.ensure_graph(graph_dir, [{"model": model, "source": "hub"}],
                        [{"dataset": "d1", "fingerprint": "d1", "size": 8}])
    append_scores(graph_dir, runner._score_rows(model, "d1", recipe, {"fid": fid}))
    stem = runner._file_stem(model, "d1", recipe.hash())
    (graph_dir / "samples").mkdir(exist_ok=True)
    Image.new("RGB", (8, 8), (int(fid), 0, 0)).save(graph_dir / "samples" / f"{stem}.png")
    (graph_dir / "runs").mkdir(exist_ok=True)
    (graph_dir / "runs" / f"{stem}.json").write_text(json.dumps(
        {"model": model, "dataset": "d1", "dataset_source": "/home/me/d1"}))
    pusher({"model": model, "dataset": "d1"})
print(json.dumps(pusher.close()))
"""


def test_a_profiling_run_pushes_each_pairs_grid_and_record(hub, tmp_path):
    env = run_env(hub, tmp_path)
    done = subprocess.run([sys.executable, "-c", PUSHER, str(tmp_path / "run"), "alice/graph"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert (summary["commits"], summary["added_scores"], summary["added_files"]) == (2, 2, 4)
    tree = hub.tree("alice/graph")
    assert sum(p.startswith(("runs/", "samples/")) for p in tree) == 4
