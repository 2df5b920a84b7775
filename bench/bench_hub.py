"""Push and pull a large graph through the Hub stand-in; bytes sent for a one-pair push.

    PYTHONPATH=. python bench/bench_hub.py [--models 1000 --datasets 200 --density 0.3]

Starts ``tests/hub_stand_in.py`` on a loopback port, writes a synthetic graph with
``mandc graph synth`` (scores given a recipe, since a push refuses rows without one), and times
real ``mandc`` processes (interpreter start included): the first push (creates the repo), a cold
pull (empty Hugging Face cache), a warm pull, then a push of one new pair from a machine that
has pulled before. The stand-in's counters give the body bytes each way for that push; the same
is measured on a small graph, to show it does not grow with the graph. A pusher with an empty
cache first downloads the graph it validates against (last rows).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hf_bench" + "0" * 24
RECIPE = json.dumps({"lr": 0.001, "seed": 0, "steps": 60}, sort_keys=True, separators=(",", ":"))


def mandc(env: dict, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mandc", *args], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"mandc {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - start


def stats(url: str, *, reset: bool = False) -> dict:
    path = "/_stand_in/stats/reset" if reset else "/_stand_in/stats"
    request = urllib.request.Request(url + path, data=b"" if reset else None,
                                     method="POST" if reset else "GET")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def synth(env: dict, out: Path, models: int, datasets: int, density: float) -> int:
    from mandc.graph.store import load_graph, save_graph

    mandc(env, "graph", "synth", "--models", str(models), "--datasets", str(datasets),
          "--density", str(density), "--lower-is-better", "--metric", "fid", "--out", str(out))
    graph = load_graph(out)
    graph.scores["recipe"] = RECIPE
    graph.scores["recipe_hash"] = hashlib.sha256(RECIPE.encode()).hexdigest()
    save_graph(graph, out)
    return len(graph.scores)


def one_new_pair(source: Path, out: Path) -> None:
    """``source`` plus one score for a pair it lacks (a new measurement)."""
    from mandc.graph.store import load_graph, save_graph

    graph = load_graph(source)
    have = set(zip(graph.scores["model"], graph.scores["dataset"], strict=True))
    pair = next((m, d) for m in graph.model_ids for d in graph.dataset_ids if (m, d) not in have)
    row = graph.scores.iloc[[0]].assign(model=pair[0], dataset=pair[1], value=42.0)
    save_graph(graph.add_scores(row), out)


def measure(url: str, work: Path, name: str, models: int, datasets: int,
            density: float) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MANDC_"))}
    env.update(HF_ENDPOINT=url, HF_HUB_DISABLE_XET="1", HF_TOKEN=TOKEN,
               HF_HOME=str(work / f"{name}-hf-pusher"), MANDC_HOME=str(work / "mandc"),
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(ROOT))
    graph_dir = work / f"{name}-graph"
    scores = synth(env, graph_dir, models, datasets, density)
    repo = f"bench/{name}"
    stats(url, reset=True)
    push_s = mandc(env, "push", str(graph_dir), "--repo", repo, "--create")
    pushed = stats(url)
    reader = {**env, "HF_HOME": str(work / f"{name}-hf-reader")}
    cold_s = mandc(reader, "pull", repo)
    warm_s = mandc(reader, "pull", repo)
    one_new_pair(graph_dir, work / f"{name}-plus-one")
    mandc(env, "pull", repo)  # the pusher's cache is up to date, as after its last push
    stats(url, reset=True)
    one_s = mandc(env, "push", str(work / f"{name}-plus-one"), "--repo", repo)
    one = stats(url)
    one_new_pair(work / f"{name}-plus-one", work / f"{name}-plus-two")
    fresh = {**env, "HF_HOME": str(work / f"{name}-hf-fresh")}
    stats(url, reset=True)
    cold_one_s = mandc(fresh, "push", str(work / f"{name}-plus-two"), "--repo", repo)
    cold = stats(url)
    startup_s = mandc(env, "--version")
    return {"graph": f"{models} × {datasets}", "scores": scores, "push_s": push_s,
            "push_mb_up": sum(r["bytes_in"] for r in pushed.values()) / 1e6,
            "pull_cold_s": cold_s, "pull_warm_s": warm_s, "one_pair_push_s": one_s,
            "one_pair_up_bytes": sum(r["bytes_in"] for r in one.values()),
            "one_pair_down_bytes": sum(r["bytes_out"] for r in one.values()),
            "one_pair_requests": sum(r["requests"] for r in one.values()),
            "one_pair_cold_cache_s": cold_one_s,
            "one_pair_cold_cache_down_bytes": sum(r["bytes_out"] for r in cold.values()),
            "cli_start_s": startup_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--density", type=float, default=0.3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "hub_stand_in.py"), "--root",
             str(work / "hub"), "--port", "0", "--token", f"{TOKEN}:bench"],
            stdout=subprocess.PIPE, text=True)
        try:
            url = server.stdout.readline().split()[1]
            rows = [measure(url, work, "small", 100, 20, args.density),
                    measure(url, work, "large", args.models, args.datasets, args.density)]
        finally:
            server.terminate()
            server.wait(10)
    table = pd.DataFrame(rows).set_index("graph")
    print(table.round(2).T.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
