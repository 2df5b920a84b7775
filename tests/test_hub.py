"""The graph's home on the Hub, over a real socket: huggingface_hub's own client runs unpatched
against ``tests/hub_stand_in.py`` (``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET=1``), and every push,
pull and compaction is a real ``mandc`` process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mandc import __version__ as mandc_version
from mandc.errors import ValidationError
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph, save_graph
from mandc.hub.layout import card_text, read_repo_graph, table_bytes
from mandc.hub.repo_id import GraphRepo, looks_like_repo, parse_repo

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = ROOT / "tests" / "hub_stand_in.py"
TOKEN = "hf_SENTINEL" + "x7Q2" * 6  # never to be seen in any output or file
READ_TOKEN = "hf_readonly" + "k9" * 8
BOB_TOKEN = "hf_bob" + "z3" * 10


# ------------------------------------------------------------------------------ fixtures
class Hub:
    def __init__(self, url: str, root: Path, process: subprocess.Popen):
        self.url, self.root, self.process = url, root, process

    def control(self, path: str, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         method="POST" if data is not None else "GET")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def faults(self, *rules: dict) -> None:
        self.control("/_stand_in/faults", list(rules))

    def head(self, repo: str) -> str | None:
        path = self.root / "datasets" / repo / "repo.json"
        return json.loads(path.read_text())["refs"]["main"] if path.is_file() else None

    def tree(self, repo: str) -> list[str]:
        sha = self.head(repo)
        commit = json.loads((self.root / "datasets" / repo / "commits" / f"{sha}.json")
                            .read_text())
        return sorted(commit["tree"])


def start_stand_in(root: Path, *extra: str) -> Hub:
    process = subprocess.Popen(
        [sys.executable, str(STAND_IN), "--root", str(root), "--port", "0",
         "--token", f"{TOKEN}:alice", "--token", f"{READ_TOKEN}:alice:read",
         "--token", f"{BOB_TOKEN}:bob", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("ready http://127.0.0.1:"), process.stderr.read()
    return Hub(line.split(" ", 1)[1], root, process)


def serve_stand_in(root: Path, *extra: str):
    """A fixture's body: the stand-in for one test, stopped afterwards whatever happened."""
    server = start_stand_in(root, *extra)
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(10)


@pytest.fixture
def hub(tmp_path):
    yield from serve_stand_in(tmp_path / "hub-root", "--commit-hold", "0.05")


def run_env(hub: Hub, home: Path, token: str | None = TOKEN, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MANDC_"))}
    env.update(HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1", HF_HOME=str(home / "hf"),
               HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1", MANDC_HOME=str(home / "mandc"),
               MANDC_HUB_BACKOFF="0.05", MANDC_HUB_ATTEMPTS="4", MANDC_HUB_TIMEOUT="10",
               PYTHONPATH=str(ROOT))
    if token is not None:
        env["HF_TOKEN"] = token
    env.update({k: str(v) for k, v in extra.items()})
    return env


def mandc(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mandc", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def recipe(seed: int) -> tuple[str, str]:
    text = json.dumps({"lr": 0.001, "seed": seed, "steps": 60}, sort_keys=True,
                      separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def graph_with(models: list[str], datasets: list[str], *, seed: int = 0,
               author: str = "alice") -> MatchingGraph:
    """A small profiled-looking graph: FID-like scores with one recipe per seed."""
    rng = np.random.default_rng(seed)
    text, digest = recipe(seed)
    scores = pd.DataFrame([
        {"model": m, "dataset": d, "metric": "fid", "value": float(rng.uniform(20, 90)),
         "higher_is_better": False, "count": 1, "recipe": text, "recipe_hash": digest,
         "created_at": "2026-11-30T12:00:00+00:00", "author": author}
        for m in models for d in datasets])
    return MatchingGraph(
        models=pd.DataFrame({"model": models, "source": "hub",
                             "params": [1_000_000 + 10 * i for i in range(len(models))]}),
        datasets=pd.DataFrame({"dataset": datasets, "size": [100 + i for i in
                                                              range(len(datasets))],
                               "emb": [[0.1 * i, 0.2, 0.3] for i in range(len(datasets))]}),
        scores=scores,
        similarity=pd.DataFrame({"dataset_a": datasets[:1], "dataset_b": datasets[-1:],
                                 "measure": "cos", "value": [0.5], "is_distance": [False]}),
        meta={"featurizer": "effnet-minilm@1-192px", "primary_metric": "fid",
              "metrics": {"fid": {"higher_is_better": False, "log_scale": True}}})


def sorted_table(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(list(table.columns[:4])).reset_index(drop=True)


def assert_same_graph(a: MatchingGraph, b: MatchingGraph) -> None:
    pd.testing.assert_frame_equal(a.models, b.models)
    pd.testing.assert_frame_equal(a.datasets, b.datasets)
    pd.testing.assert_frame_equal(sorted_table(a.scores), sorted_table(b.scores))
    pd.testing.assert_frame_equal(sorted_table(a.similarity), sorted_table(b.similarity))
    assert a.meta == b.meta


# ------------------------------------------------------------------------------ in-process
def test_repo_ids_parse_the_spellings_hf_users_type():
    assert parse_repo("alice/graph") == GraphRepo("alice/graph")
    assert parse_repo("alice/graph@v1.2") == GraphRepo("alice/graph", "v1.2")
    assert parse_repo("hf://datasets/org-x/g.1@refs/pr/3") == GraphRepo("org-x/g.1", "refs/pr/3")
    assert str(parse_repo("alice/graph").at("abc1234")) == "alice/graph@abc1234"
    for bad in ("alice", "alice/graph/extra", "hf://models/alice/graph", "alice/gr--aph",
                "-alice/graph", "alice/graph@"):
        with pytest.raises(ValidationError):
            parse_repo(bad)
    assert looks_like_repo("alice/graph") and not looks_like_repo("alice")


def test_node_shards_merge_by_id_and_report_disagreements(tmp_path):
    graph = graph_with(["m1", "m2"], ["d1"])
    save_graph(graph, tmp_path)
    (tmp_path / "models").mkdir()
    same = graph.models.iloc[[0]]
    other = pd.DataFrame({"model": ["m2", "m3"], "source": "hub", "params": [5, 7]})
    (tmp_path / "models" / "a.parquet").write_bytes(table_bytes(same))
    (tmp_path / "models" / "b.parquet").write_bytes(table_bytes(other))
    read = read_repo_graph(tmp_path)
    assert read.graph.model_ids == ["m1", "m2", "m3"]
    assert read.graph.models.set_index("model").loc["m2", "params"] == 1_000_010  # first kept
    assert len(read.conflicts) == 1 and "'m2'" in read.conflicts[0]
    assert "params" in read.conflicts[0] and "models/b.parquet" in read.conflicts[0]
    assert read.shards() == ["models/a.parquet", "models/b.parquet"] + [
        p for p in read.files["scores"]]


def test_the_card_names_every_table_for_the_dataset_viewer(tmp_path):
    datasets = pytest.importorskip("datasets")
    graph = graph_with(["m1", "m2"], ["d1", "d2"])
    save_graph(graph, tmp_path)
    (tmp_path / "README.md").write_text(card_text(graph))
    (tmp_path / "models").mkdir()  # a pushed node shard; no datasets/ shard yet
    (tmp_path / "models" / "x.parquet").write_bytes(table_bytes(
        pd.DataFrame({"model": ["m3"], "source": ["hub"], "params": [3]})))
    rows = {config: datasets.load_dataset(str(tmp_path), config, split="train").num_rows
            for config in ("models", "datasets", "scores", "similarity")}
    assert rows == {"models": 3, "datasets": 2, "scores": 4, "similarity": 1}


# ------------------------------------------------------------------------------ over the socket
def test_push_then_pull_round_trips_and_pushes_are_idempotent(hub, tmp_path):
    graph = graph_with(["m1", "m2", "m3"], ["d1", "d2"])
    save_graph(graph, tmp_path / "g")
    env = run_env(hub, tmp_path)
    missing = mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph", check=False)
    assert missing.returncode == 2 and "--create" in missing.stderr
    assert hub.head("alice/graph") is None

    first = mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph", "--create", "--json")
    result = json.loads(first.stdout)
    assert result["added"] == {"models": 3, "datasets": 2, "scores": 6, "similarity": 1}
    assert result["created"] and len(result["commit"]) == 40
    assert {"graph.json", "README.md", "models.parquet", "datasets.parquet",
            "similarity.parquet"} <= set(hub.tree("alice/graph"))

    mandc(env, "pull", "alice/graph", "--out", str(tmp_path / "pulled"))
    assert_same_graph(load_graph(tmp_path / "pulled"), graph)

    head = hub.head("alice/graph")
    again = mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph")
    assert "nothing to push" in again.stdout and hub.head("alice/graph") == head

    # one new pair and one new model: one commit, two new shards, nothing rewritten
    bigger = graph_with(["m1", "m2", "m3", "m4"], ["d1", "d2"])
    save_graph(bigger, tmp_path / "g2")
    before = set(hub.tree("alice/graph"))
    pushed = json.loads(mandc(env, "push", str(tmp_path / "g2"), "--repo", "alice/graph",
                              "--json").stdout)
    assert pushed["added"] == {"models": 1, "datasets": 0, "scores": 2, "similarity": 0}
    assert pushed["present"]["scores"] == 6
    after = set(hub.tree("alice/graph"))
    assert before < after and {p.split("/")[0] for p in after - before} == {"models", "scores"}

    # --graph and $MANDC_GRAPH_REPO take a repo wherever a graph directory goes
    shown = json.loads(mandc(env, "graph", "show", "alice/graph", "--json").stdout)
    assert (shown["models"], shown["scores"]) == (4, 8)
    by_default = json.loads(mandc(run_env(hub, tmp_path, MANDC_GRAPH_REPO="alice/graph"),
                                  "graph", "show", "--json").stdout)
    assert by_default["scores"] == 8
    typo = mandc(env, "graph", "show", "alice/grpah", check=False)
    assert typo.returncode == 2 and typo.stderr.startswith(
        "error: alice/grpah: no such graph directory here, and as a Hub repo: pulling "
        "alice/grpah: dataset repo alice/grpah not found")

    # the cache answers offline (what main was at the last pull); a repo never pulled gives
    # one clear line
    mandc(env, "pull", "alice/graph")
    offline = run_env(hub, tmp_path, HF_HUB_OFFLINE="1")
    cached = json.loads(mandc(offline, "pull", "alice/graph", "--json").stdout)
    assert cached["models"] == 4 and cached["scores"] == 8
    # provenance on every file: who pushed, with which mandc, when; and the recipes
    assert [(p["author"], p["files"]) for p in cached["contributors"]] == [("alice", 6)]
    assert cached["contributors"][0]["mandc_versions"] == [mandc_version]
    assert cached["recipes"] == [{"recipe_hash": recipe(0)[1], "rows": 8}]
    never = mandc(offline, "pull", "alice/other", check=False)
    assert never.returncode == 2
    assert never.stderr.strip().splitlines() == [
        "error: alice/other is not in the Hugging Face cache and HF_HUB_OFFLINE=1 forbids "
        "downloading it; run `mandc pull alice/other` once online"]


def test_refused_pushes_name_the_row_and_write_nothing(hub, tmp_path):
    env = run_env(hub, tmp_path)
    save_graph(graph_with(["m1"], ["d1", "d2"]), tmp_path / "g")
    mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph", "--create")
    head = hub.head("alice/graph")

    unhashed = graph_with(["m1"], ["d1", "d2"], seed=5)
    unhashed.scores.loc[1, "recipe_hash"] = ""
    save_graph(unhashed, tmp_path / "unhashed")
    refused = mandc(env, "push", str(tmp_path / "unhashed"), "--repo", "alice/graph",
                    check=False)
    assert refused.returncode == 2
    assert "scores, row 2, column 'recipe_hash'" in refused.stderr
    assert "(m1 × d2, fid) has no recipe_hash" in refused.stderr
    # refused before --create makes the repo: a refused push leaves no empty repo behind
    refused = mandc(env, "push", str(tmp_path / "unhashed"), "--repo", "alice/fresh",
                    "--create", check=False)
    assert refused.returncode == 2
    assert f"{tmp_path / 'unhashed'}/scores, row 2, column 'recipe_hash'" in refused.stderr
    assert not (hub.root / "datasets" / "alice" / "fresh").exists()

    linear = graph_with(["m1"], ["d3"], seed=6)
    linear.meta["metrics"]["fid"]["log_scale"] = False
    save_graph(linear, tmp_path / "linear")
    refused = mandc(env, "push", str(tmp_path / "linear"), "--repo", "alice/graph", check=False)
    assert "metric 'fid' has log_scale=False in the push but log_scale=True in the repo" in \
        refused.stderr

    proposal = graph_with(["m1"], ["d1", "d2", "d5"], seed=0)
    save_graph(proposal, tmp_path / "proposal")
    pr = json.loads(mandc(env, "push", str(tmp_path / "proposal"), "--repo", "alice/graph",
                          "--create-pr", "--json").stdout)
    assert pr["pr_url"].endswith("/datasets/alice/graph/discussions/1")
    assert pr["added"]["scores"] == 1 and hub.head("alice/graph") == head

    other = graph_with(["m1"], ["d4"], seed=7)
    other.meta["featurizer"] = "clip@1"
    save_graph(other, tmp_path / "other")
    refused = mandc(env, "push", str(tmp_path / "other"), "--repo", "alice/graph", check=False)
    assert "featurizer is 'clip@1', the repo's 'effnet-minilm@1-192px'" in refused.stderr
    assert hub.head("alice/graph") == head


def test_tokens_missing_wrong_or_read_only_write_nothing(hub, tmp_path):
    save_graph(graph_with(["m1"], ["d1"]), tmp_path / "g")
    cases = {None: "no Hugging Face token: set HF_TOKEN or log in with `hf auth login`",
             "hf_wrong" + "0" * 20: "the Hub refused the token (HTTP 401)",
             READ_TOKEN: "may not write to alice/graph (HTTP 403)"}
    for token, message in cases.items():
        done = mandc(run_env(hub, tmp_path, token=token), "push", str(tmp_path / "g"),
                     "--repo", "alice/graph", "--create", check=False)
        assert done.returncode == 2, done.stdout
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr
        assert hub.head("alice/graph") is None
    offline = mandc(run_env(hub, tmp_path, HF_HUB_OFFLINE="1"), "push", str(tmp_path / "g"),
                    "--repo", "alice/graph", "--create", check=False)
    assert offline.stderr.strip() == ("error: pushing to alice/graph needs the Hub, and "
                                      "HF_HUB_OFFLINE=1 forbids reaching it")
    bob = mandc(run_env(hub, tmp_path, token=BOB_TOKEN), "push", str(tmp_path / "g"),
                "--repo", "alice/graph", "--create", check=False)
    assert bob.returncode == 2 and "HTTP 403" in bob.stderr and hub.head("alice/graph") is None
    # a private graph: its owner pulls it, an anonymous reader is told it is not there
    mandc(run_env(hub, tmp_path), "push", str(tmp_path / "g"), "--repo", "alice/secret",
          "--create", "--private")
    assert json.loads(mandc(run_env(hub, tmp_path / "a"), "pull", "alice/secret",
                            "--json").stdout)["scores"] == 1
    anonymous = mandc(run_env(hub, tmp_path / "b", token=None), "pull", "alice/secret",
                      check=False)
    assert anonymous.stderr.strip() == ("error: pulling alice/secret: dataset repo alice/secret "
                                        "not found, or private and the token cannot read it")
    # a dry run only reads, so it needs no token: it says what a push would add, and writes nothing
    mandc(run_env(hub, tmp_path), "push", str(tmp_path / "g"), "--repo", "alice/public",
          "--create")
    save_graph(graph_with(["m1", "m2"], ["d1"]), tmp_path / "g2")
    head = hub.head("alice/public")
    dry = json.loads(mandc(run_env(hub, tmp_path / "c", token=None), "push", str(tmp_path / "g2"),
                           "--repo", "alice/public", "--dry-run", "--json").stdout)
    assert dry["dry_run"] and dry["commit"] is None and dry["added"]["scores"] == 1
    assert hub.head("alice/public") == head


def test_server_errors_are_retried_then_reported_in_one_line(hub, tmp_path):
    env = run_env(hub, tmp_path)
    save_graph(graph_with(["m1"], ["d1"]), tmp_path / "g")
    mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph", "--create")
    save_graph(graph_with(["m1", "m2"], ["d1"]), tmp_path / "g2")
    head = hub.head("alice/graph")

    hub.faults({"route": "commit", "action": "status", "status": 503})
    failed = mandc(env, "push", str(tmp_path / "g2"), "--repo", "alice/graph", check=False)
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [
        "error: pushing to alice/graph: HTTP 503 (injected 503); gave up after 4 attempts"]
    assert hub.head("alice/graph") == head
    assert hub.control("/_stand_in/faults")[0]["fired"] == 4

    # two 503s, then a dropped answer to a commit that did land: nothing is doubled
    hub.faults({"route": "commit", "action": "status", "status": 502, "times": 2},
               {"route": "commit", "action": "drop_after", "after": 2, "times": 1})
    done = json.loads(mandc(env, "push", str(tmp_path / "g2"), "--repo", "alice/graph",
                            "--json").stdout)
    assert done["attempts"] == 4 and done["added"]["scores"] == 1 and done["note"]
    pulled = json.loads(mandc(env, "pull", "alice/graph", "--json").stdout)
    assert pulled["scores"] == 2 and pulled["models"] == 2
    shards = [p for p in hub.tree("alice/graph") if p.startswith("scores/")]
    assert len(shards) == 2


@pytest.mark.slow
def test_a_timed_out_commit_is_retried_and_rows_stay_single(hub, tmp_path):
    env = run_env(hub, tmp_path, MANDC_HUB_TIMEOUT="1")
    save_graph(graph_with(["m1"], ["d1"]), tmp_path / "g")
    mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph", "--create")
    save_graph(graph_with(["m1"], ["d1", "d2"]), tmp_path / "g2")
    hub.faults({"route": "commit", "action": "delay", "seconds": 2.5, "times": 1})
    done = mandc(env, "push", str(tmp_path / "g2"), "--repo", "alice/graph")
    assert "added 1 score rows, 1 datasets" in done.stdout
    time.sleep(2.0)  # the slow commit lands after the client gave up on it
    pulled = json.loads(mandc(env, "pull", "alice/graph", "--json").stdout)
    assert pulled["scores"] == 2 and pulled["datasets"] == 2


def _pusher_graph(number: int) -> MatchingGraph:
    """Pusher ``number``: the shared models and datasets, a model of its own, its own recipe."""
    return graph_with(["m1", "m2", f"mine-{number}"], ["d1", "d2"], seed=100 + number)


@pytest.fixture
def slow_commits(tmp_path):
    """A stand-in whose commits hold the repo for 0.4 s, as the Hub's take a while: concurrent
    pushers then meet 409 "Another commit operation is in progress" and must retry."""
    server = start_stand_in(tmp_path / "hub-root", "--commit-hold", "0.4")
    yield server
    server.process.terminate()
    server.process.wait(10)


@pytest.mark.slow
def test_eight_concurrent_pushers_and_a_compaction_lose_no_row(slow_commits, tmp_path):
    hub = slow_commits
    env = run_env(hub, tmp_path)
    save_graph(graph_with(["m1", "m2"], ["d1", "d2"]), tmp_path / "base")
    mandc(env, "push", str(tmp_path / "base"), "--repo", "alice/graph", "--create")
    expected = [load_graph(tmp_path / "base").scores]
    processes = []
    for number in range(8):
        source = tmp_path / f"pusher{number}"
        save_graph(_pusher_graph(number), source)
        expected.append(load_graph(source).scores)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "mandc", "push", str(source), "--repo", "alice/graph"],
            env=run_env(hub, tmp_path / f"home{number}", MANDC_HUB_ATTEMPTS="20",
                        MANDC_HUB_BACKOFF="0.2"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        if number == 3:  # a compaction starts while pushes are landing
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "mandc", "graph", "compact", "--repo",
                 "alice/graph"], env=run_env(hub, tmp_path / "compactor",
                                             MANDC_HUB_ATTEMPTS="20", MANDC_HUB_BACKOFF="0.2"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    answers = hub.control("/_stand_in/stats")["commit"]["status"]
    assert answers.get("409", 0) > 0 and answers["200"] >= 9, answers  # they did collide
    mandc(env, "graph", "compact", "--repo", "alice/graph")
    mandc(env, "pull", "alice/graph", "--out", str(tmp_path / "all"))
    merged = load_graph(tmp_path / "all")
    want = pd.concat(expected, ignore_index=True).drop_duplicates()
    pd.testing.assert_frame_equal(sorted_table(merged.scores), sorted_table(want))
    assert set(merged.model_ids) == {"m1", "m2", *(f"mine-{n}" for n in range(8))}
    tree = hub.tree("alice/graph")
    assert [p for p in tree if p.startswith("scores/")].__len__() == 1
    assert not [p for p in tree if p.startswith(("models/", "datasets/", "similarity/"))]


def test_the_token_never_reaches_output_logs_or_files(hub, tmp_path):
    env = run_env(hub, tmp_path, HF_DEBUG="1")
    save_graph(graph_with(["m1"], ["d1"]), tmp_path / "g")
    save_graph(graph_with(["m1", "m2"], ["d1"]), tmp_path / "g2")
    outputs = [mandc(env, "push", str(tmp_path / "g"), "--repo", "alice/graph", "--create"),
               mandc(env, "push", str(tmp_path / "g2"), "--repo", "alice/graph"),
               mandc(env, "graph", "compact", "--repo", "alice/graph"),
               mandc(env, "pull", "alice/graph", "--out", str(tmp_path / "out"))]
    hub.faults({"route": "commit", "action": "status", "status": 500})
    save_graph(graph_with(["m1", "m3"], ["d1"]), tmp_path / "g3")
    outputs.append(mandc(env, "push", str(tmp_path / "g3"), "--repo", "alice/graph",
                         check=False))
    for done in outputs:
        assert TOKEN not in done.stdout and TOKEN not in done.stderr
    secret = TOKEN.encode()
    for folder in (tmp_path, hub.root):
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert secret not in path.read_bytes(), path


@pytest.mark.slow
def test_a_push_landing_during_compaction_survives_it(hub, tmp_path):
    env = run_env(hub, tmp_path)
    for number, models in enumerate((["m1"], ["m1", "m2"], ["m1", "m2", "m3"])):
        save_graph(graph_with(models, ["d1"]), tmp_path / f"g{number}")
        mandc(env, "push", str(tmp_path / f"g{number}"), "--repo", "alice/graph",
              *(["--create"] if number == 0 else []))
    # the compaction's listing of the repo is slow; a push lands meanwhile
    hub.faults({"route": "tree", "action": "delay", "seconds": 6.0, "times": 1})
    compaction = subprocess.Popen(
        [sys.executable, "-m", "mandc", "graph", "compact", "--repo", "alice/graph",
         "--json"], env=run_env(hub, tmp_path / "compactor"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while hub.control("/_stand_in/faults")[0]["fired"] == 0:  # the compaction is listing
        assert time.monotonic() < deadline and compaction.poll() is None
        time.sleep(0.05)
    save_graph(graph_with(["m1", "m2", "m3", "m4"], ["d1"]), tmp_path / "late")
    mandc(run_env(hub, tmp_path / "late-home"), "push", str(tmp_path / "late"),
          "--repo", "alice/graph")
    out, err = compaction.communicate(timeout=120)
    assert compaction.returncode == 0, err
    result = json.loads(out)
    assert result["attempts"] == 2  # the moved head (HTTP 412) made it re-read
    assert result["rows"] == {"models": 4, "datasets": 1, "scores": 4, "similarity": 1}
    tree = hub.tree("alice/graph")
    assert len([p for p in tree if p.startswith("scores/")]) == 1
    assert not [p for p in tree if p.startswith("models/")]
    pulled = json.loads(mandc(env, "pull", "alice/graph", "--json").stdout)
    assert pulled["scores"] == 4 and pulled["models"] == 4


def test_the_stand_in_serves_a_model_catalogue_to_huggingface_hub(tmp_path):
    """Ready for the candidate catalogue: ``list_models`` and ``model_info`` as the Hub answers."""
    catalogue = [
        {"id": "acme/tiny-sd", "pipeline_tag": "text-to-image", "library_name": "diffusers",
         "tags": ["diffusers", "text-to-image"], "downloads": 50, "likes": 3},
        {"id": "acme/big-sd", "pipeline_tag": "text-to-image", "library_name": "diffusers",
         "tags": ["diffusers", "text-to-image"], "downloads": 900, "likes": 40},
        {"id": "acme/captioner", "pipeline_tag": "image-to-text", "tags": ["transformers"],
         "downloads": 5000}]
    (tmp_path / "models.json").write_text(json.dumps(catalogue))
    server = start_stand_in(tmp_path / "root", "--models", str(tmp_path / "models.json"))
    try:
        script = (
            "from huggingface_hub import HfApi\n"
            "api = HfApi()\n"
            "found = api.list_models(pipeline_tag='text-to-image', filter='diffusers',\n"
            "                        sort='downloads', expand=['downloads', 'likes'])\n"
            "print([(m.id, m.downloads, m.likes) for m in found])\n"
            "print(api.model_info('acme/tiny-sd').pipeline_tag)\n")
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=run_env(server, tmp_path, token=None), timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "[('acme/big-sd', 900, 40), ('acme/tiny-sd', 50, 3)]", "text-to-image"]
    finally:
        server.process.terminate()
        server.process.wait(10)
