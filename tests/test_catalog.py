"""The candidate catalogue against the Hub stand-in, seeded with model repos built for real
(``tests/catalog_repos.py``): huggingface_hub's own client lists them, reads their configs and
the safetensors headers of their components over a socket; every run is a real ``mandc``
process."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from catalog_repos import build_repos
from test_hub import BOB_TOKEN, TOKEN, run_env, start_stand_in

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalog")
    entries, folders, expected = build_repos(root / "repos")
    (root / "models.json").write_text(json.dumps(entries))
    repos = [f"--model-repo={repo}={folder}" for repo, folder in folders.items()]
    server = start_stand_in(root / "hub-root", "--models", str(root / "models.json"), *repos)
    yield server, expected
    server.process.terminate()
    server.process.wait(10)


def mandc(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mandc", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def catalog(env, *args, check=True):
    done = mandc(env, "catalog", *args, check=check)
    return (json.loads(done.stdout) if done.returncode == 0 and "--json" in args else None), done


def rows_by_id(payload):
    return {row["id"]: row for row in payload["models"]}


def test_features_from_configs_and_safetensors_headers(seeded, tmp_path):
    server, expected = seeded
    payload, done = catalog(run_env(server, tmp_path, token=None), "--json")
    rows = rows_by_id(payload)
    hub = [r["id"] for r in payload["models"] if r["source"] == "hub"]
    # text-to-image diffusers models by downloads; the adapter, the captioner and the
    # single-file checkpoint (not a pipeline) left out, the last one said so
    assert hub == ["acme/tiny-sdxl", "acme/tiny-sd15", "acme/tiny-sdxl-gated", "acme/tiny-pixart",
                   "acme/tiny-sd15-anime"]
    assert payload["skipped"] == ["acme/tiny-checkpoint"]
    for repo in ("acme/tiny-sdxl", "acme/tiny-sd15", "acme/tiny-pixart"):
        want = expected[repo]
        got = rows[repo]
        assert {k: got[k] for k in want} == want, repo
        assert got["params"] == want["denoiser_params"] + want["text_encoder_params"]
    assert rows["acme/tiny-sdxl"]["downloads"] == 9000 and rows["acme/tiny-sdxl"]["likes"] == 300
    assert rows["acme/tiny-sd15"]["licence"] == "creativeml-openrail-m"
    # lineage and licences
    anime = rows["acme/tiny-sd15-anime"]
    assert (anime["base_model"], anime["base_model_relation"], anime["licence"]) == (
        "acme/tiny-sd15", "finetune", "cc-by-nc-4.0")
    # gated, read anonymously: listed with its metadata, features unknown and why
    gated = rows["acme/tiny-sdxl-gated"]
    assert gated["gated"] is True and gated["params"] is None
    assert gated["licence"] == "other:tiny-research-license"
    assert "gated" in gated["note"] and "HF_TOKEN" in gated["note"]
    # the mini zoo in the same schema, its parameter counts those the shipped graph records
    from mandc.graph.defaults import shipped_graph_dir
    from mandc.graph.store import load_graph

    graph = load_graph(shipped_graph_dir()).models.set_index("model")
    for name in graph.index:
        assert rows[name]["source"] == "minizoo"
        assert rows[name]["params"] == graph.loc[name, "params"]
        assert rows[name]["denoiser_params"] == graph.loc[name, "unet_params"]
        assert rows[name]["resolution"] == 32 and rows[name]["family"] == graph.loc[name, "family"]


def test_filters_and_adapters(seeded, tmp_path):
    server, expected = seeded
    env = run_env(server, tmp_path, token=TOKEN)
    payload, _ = catalog(env, "--json", "--no-minizoo", "--min-resolution", "1024",
                         "--no-gated")
    assert [r["id"] for r in payload["models"]] == ["acme/tiny-sdxl", "acme/tiny-pixart"]
    payload, _ = catalog(env, "--json", "--no-minizoo", "--licence", "cc-by-nc-4.0",
                         "tiny-research-license")
    assert [r["id"] for r in payload["models"]] == ["acme/tiny-sdxl-gated", "acme/tiny-sd15-anime"]
    payload, _ = catalog(env, "--json", "--max-params", "70k", "--search", "tiny-")
    assert [r["id"] for r in payload["models"]] == [
        "acme/tiny-sd15", "acme/tiny-pixart", "acme/tiny-sd15-anime"]
    payload, _ = catalog(env, "--json", "--no-minizoo", "--min-downloads", "2500",
                         "--include-adapters")
    rows = rows_by_id(payload)
    assert list(rows) == ["acme/tiny-sdxl", "acme/tiny-sd15", "acme/tiny-sdxl-lora"]
    lora = rows["acme/tiny-sdxl-lora"]
    assert (lora["kind"], lora["base_model"], lora["base_model_relation"], lora["params"]) == (
        "adapter", "acme/tiny-sdxl", "adapter", expected["acme/tiny-sdxl-lora"]["params"])
    # with a token the gated repo's owner granted, its features are read
    payload, _ = catalog(env, "--json", "--no-minizoo", "--search", "gated")
    assert rows_by_id(payload)["acme/tiny-sdxl-gated"]["params"] == 69212 + 22240


def test_limit_counts_hub_models_that_pass_every_filter(seeded, tmp_path):
    """--limit N: the N most downloaded Hub models that pass the filters, read further down the
    listing when a feature filter drops one; the mini zoo is listed besides, and said so."""
    server, _ = seeded
    env = run_env(server, tmp_path, token=TOKEN)
    # tiny-sd15 (the second most downloaded) is 512 px: the limit reaches past it to pixart
    payload, _ = catalog(env, "--json", "--no-minizoo", "--limit", "2", "--min-resolution",
                         "1024", "--no-gated")
    assert [r["id"] for r in payload["models"]] == ["acme/tiny-sdxl", "acme/tiny-pixart"]
    text = mandc(env, "catalog", "--limit", "1").stdout
    assert "1 Hub models (--limit 1: the most downloaded that pass the filters) and 11 " \
           "mini-zoo models (not counted by --limit)." in text
    assert "acme/tiny-sdxl" in text and "acme/tiny-sd15" not in text


def test_bad_input_is_one_clear_line(seeded, tmp_path):
    server, _ = seeded
    env = run_env(server, tmp_path, token=None)
    _, done = catalog(env, "--model", "acme/no-such-model", check=False)
    assert done.returncode == 2 and "acme/no-such-model not found on the Hub" in done.stderr
    _, done = catalog(env, "--model", "acme/tiny-checkpoint", check=False)
    assert done.returncode == 2
    assert "acme/tiny-checkpoint: not a diffusers pipeline" in done.stderr
    _, done = catalog(env, "--model", "acme/tiny-sdxl-gated", check=False)
    assert done.returncode == 2 and "acme/tiny-sdxl-gated is gated" in done.stderr
    assert "HF_TOKEN" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    _, done = catalog(run_env(server, tmp_path, token=BOB_TOKEN), "--model",
                      "acme/tiny-sdxl-gated", check=False)  # a token its owner did not grant
    assert done.returncode == 2 and "is gated" in done.stderr and BOB_TOKEN not in done.stderr
    _, done = catalog(env, "--max-params", "lots", check=False)
    assert done.returncode == 2 and "--max-params" in done.stderr
    payload, _ = catalog(env, "--model", "acme/tiny-pixart", "--model", "shapes-s", "--json")
    assert [r["params"] for r in payload["models"]] == [8096, 1105315]


def features(payload) -> list[tuple]:
    return [(r["id"], r["params"], r["resolution"], r["licence"]) for r in payload["models"]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cache_ttl_and_offline_fallback(seeded, tmp_path):
    server, _ = seeded
    env = run_env(server, tmp_path, token=None)
    server.control("/_stand_in/stats/reset", {})
    first, _ = catalog(env, "--json", "--no-minizoo")
    listed = server.control("/_stand_in/stats")["models"]["requests"]
    again, done = catalog(env, "--json", "--no-minizoo")  # fresh cache: no request at all
    assert server.control("/_stand_in/stats")["models"]["requests"] == listed == 2  # probe, list
    assert again["models"] == first["models"] and again["notice"] is None
    # expired cache: read again from the Hub
    catalog({**env, "MANDC_CATALOG_TTL": "0.001"}, "--json", "--no-minizoo")
    assert server.control("/_stand_in/stats")["models"]["requests"] == 4
    # offline, and a Hub that does not answer: one notice, the cached catalogue, quickly
    offline, done = catalog({**env, "HF_HUB_OFFLINE": "1", "MANDC_CATALOG_TTL": "0.001"},
                            "--json", "--no-minizoo")
    assert features(offline) == features(first) and "HF_HUB_OFFLINE=1" in offline["notice"]
    assert rows_by_id(offline)["acme/tiny-sdxl-gated"]["note"] == (
        "features not cached and the Hub is not reachable")
    away = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{_free_port()}", "MANDC_CATALOG_TTL": "0.001"}
    text = mandc(away, "catalog", "--no-minizoo")
    assert "could not be reached" in text.stderr and len(text.stderr.strip().splitlines()) == 1
    assert "(reaching the Hub: connection failed (" in text.stderr  # the operator's line
    assert "acme/tiny-sdxl" in text.stdout
    # a Hub that hangs: bounded by the timeout and the retries, then the cache
    server.faults({"route": "models", "action": "delay", "seconds": 5})
    try:
        slow, _ = catalog({**env, "MANDC_HUB_TIMEOUT": "0.5", "MANDC_HUB_ATTEMPTS": "2",
                           "MANDC_CATALOG_TTL": "0.001"}, "--json", "--no-minizoo")
    finally:
        server.faults()
    assert features(slow) == features(first) and "timed out" in slow["hub_error"]
    assert slow["notice"].startswith("the Hub could not be reached: showing the catalogue cached")
    # no cache at all: the mini zoo alone, said once
    empty, _ = catalog({**away, "MANDC_HOME": str(tmp_path / "empty")}, "--json")
    assert {r["source"] for r in empty["models"]} == {"minizoo"}
    assert "mini zoo only" in empty["notice"]
    shutil.rmtree(tmp_path / "empty", ignore_errors=True)


def test_library_call_returns_one_schema(seeded, tmp_path):
    server, _ = seeded
    script = ("from mandc.hub.catalog import CATALOG_COLUMNS, candidate_catalog\n"
              "table = candidate_catalog(limit=2, include_minizoo=False)\n"
              "print(list(table.columns) == CATALOG_COLUMNS, list(table['id']))\n")
    done = subprocess.run([sys.executable, "-c", script], env=run_env(server, tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True ['acme/tiny-sdxl', 'acme/tiny-sd15']"


def test_recommend_ranks_graph_and_catalogue_models_together(seeded, tmp_path):
    server, _ = seeded
    env = run_env(server, tmp_path, token=None)
    done = mandc(env, "recommend", "--dataset", "shapes-blue-squares", "--hold-out", "--method",
                 "nearest_dataset", "--candidates", "catalog", "--json")
    result = json.loads(done.stdout)
    rows = {row["model"]: row for row in result["ranking"]}
    from mandc.graph.defaults import shipped_graph_dir
    from mandc.graph.store import load_graph

    graph_models = set(load_graph(shipped_graph_dir()).model_ids)
    hub = {"acme/tiny-sdxl", "acme/tiny-sd15", "acme/tiny-sdxl-gated", "acme/tiny-pixart",
           "acme/tiny-sd15-anime"}
    assert set(rows) == graph_models | hub and len(result["ranking"]) == len(rows)
    assert result["not_profiled"] == len(hub) and result["candidates_source"] == "catalog"
    for model, row in rows.items():
        assert row["profiled"] is (model in graph_models)
        assert (row.get("note") == "not profiled") is (model in hub)
    profiled_sd = min(r["uncertainty"] for r in rows.values() if r["profiled"])
    assert all(rows[m]["uncertainty"] > profiled_sd for m in hub)
    text = mandc(env, "recommend", "--dataset", "shapes-blue-squares", "--hold-out", "--method",
                 "nearest_dataset", "--candidates", "catalog", "--top", "20").stdout
    marked = [line for line in text.splitlines() if line.rstrip().endswith("not profiled")]
    assert sorted(line.split()[1] for line in marked) == sorted(hub)


def test_recommend_ranks_the_readable_candidates_and_marks_the_unreachable(seeded, tmp_path):
    """A Hub id the Hub does not know, or a Hub that cannot be reached: the other candidates
    are ranked, the model is marked in text and JSON, one notice on stderr, exit 0; when no
    candidate can be read at all, one clear error."""
    server, _ = seeded
    env = run_env(server, tmp_path, token=None)
    listing = tmp_path / "candidates.txt"
    listing.write_text("shapes-s\nacme/tiny-sd15\nacme/no-such-model\n")
    args = ["recommend", "--dataset", "shapes-blue-squares", "--hold-out", "--method",
            "nearest_dataset", "--candidates", str(listing)]
    done = mandc(env, *args, "--json")
    result = json.loads(done.stdout)
    assert {row["model"] for row in result["ranking"]} == {"shapes-s", "acme/tiny-sd15"}
    assert result["candidates"] == 2 and result["not_profiled"] == 1
    [missing] = result["unreachable"]
    assert (missing["model"], missing["row"], missing["note"]) == (
        "acme/no-such-model", 3, "not reachable — features unknown")
    assert "not found on the Hub" in missing["reason"]
    notice = done.stderr.strip().splitlines()
    assert len(notice) == 1 and notice[0].startswith(
        f"note: 1 of the candidates in {listing} could not be read from the Hub and are not "
        "ranked (acme/no-such-model)")
    text = mandc(env, *args).stdout
    assert "not ranked, not reachable — features unknown: acme/no-such-model" in text
    assert "acme/no-such-model" not in text.split("not ranked")[0]

    # a Hub that does not answer: the graph model is ranked, both Hub models are marked
    away = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{_free_port()}",
            "MANDC_HUB_ATTEMPTS": "1"}
    offline = json.loads(mandc(away, *args, "--json").stdout)
    assert [row["model"] for row in offline["ranking"]] == ["shapes-s"]
    assert [item["model"] for item in offline["unreachable"]] == ["acme/tiny-sd15",
                                                                  "acme/no-such-model"]
    # nothing readable: an error naming the file, nothing on stdout
    listing.write_text("acme/tiny-sd15\n")
    failed = mandc({**env, "HF_HUB_OFFLINE": "1"}, *args, check=False)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith(f"error: {listing}: no candidate could be read from the "
                                    "Hub, so none can be ranked (row 1, acme/tiny-sd15: ")
    assert len(failed.stderr.strip().splitlines()) == 1
