"""The Space serving a graph from a Hub repo (``MANDC_GRAPH_REPO``), over the stand-in: the sample
grids and run records ``mandc push`` stored beside the tables are fetched from the repo, only the
ones the page shows, so the "why" images and the fine-tune cost appear as for the bundled graph."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from test_hub import Hub, mandc, run_env, serve_stand_in

from mandc.graph.defaults import shipped_graph_dir
from mandc.ui.graph_files import MAX_HUB_RUNS_PER_MODEL

RANK = """
import json, os, urllib.request
from mandc.ui.callbacks import recommend_callback
from mandc.ui.service import GraphServer

def stand_in(path, data=None):
    request = urllib.request.Request(os.environ["HF_ENDPOINT"] + path, data=data)
    return json.loads(urllib.request.urlopen(request, timeout=10).read())

server = GraphServer()
out = recommend_callback(server, "scenes-day", None, None, 3)
first = stand_in("/_stand_in/stats")
stand_in("/_stand_in/stats/reset", b"{}")
recommend_callback(server, "scenes-day", None, None, 3)  # the next visitor: nothing refetched
again = stand_in("/_stand_in/stats")
# a visitor naming the repo in the graph box, on a server whose own graph is the bundled one
named = recommend_callback(GraphServer(os.environ["SHIPPED"]), "scenes-day", None, None, 3,
                           graph="alice/graph")
print(json.dumps({"label": server.default.label, "source": server.default.source,
                  "first": first, "again": sum(r["requests"] for r in again.values()),
                  "named": [caption for _, caption in named[5]],
                  "reasons": [[str(path), caption] for path, caption in out[5]],
                  "table": out[1].astype(str).to_dict("list"), "legend": out[2],
                  "card": open(out[9][1]).read()}))
"""


@pytest.fixture
def hub(tmp_path) -> Hub:
    yield from serve_stand_in(tmp_path / "hub-root")


def _python(env: dict, code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_a_hub_graph_shows_its_sample_grids_and_measured_costs(hub, tmp_path):
    env = run_env(hub, tmp_path)
    shipped = shipped_graph_dir()
    # `mandc push` sends the grids and run records beside the tables, as a deployed Space needs
    pushed = json.loads(mandc(env, "push", str(shipped), "--repo", "alice/graph", "--create",
                              "--json").stdout)
    assert pushed["sent_files"] == {"runs": 352, "samples": 352}
    hub.control("/_stand_in/stats/reset", {})

    page = json.loads(_python({**env, "MANDC_GRAPH_REPO": "alice/graph",
                               "SHIPPED": str(shipped)}, RANK).splitlines()[-1])
    assert page["again"] == 0  # a second request reads the grids and costs it already has
    assert page["label"] == "Hub graph repo alice/graph ($MANDC_GRAPH_REPO)"
    assert page["source"]["repo"] == "alice/graph" and len(page["source"]["revision"]) == 40

    grids = [(path, caption) for path, caption in page["reasons"]
             if "after fine-tuning (FID" in caption]
    assert len(grids) >= 4, page["reasons"]  # two best models on each similar dataset
    assert [caption for _, caption in grids] == [c for c in page["named"]
                                                 if "after fine-tuning (FID" in c]
    for path, caption in grids:  # each shown grid is the repo's file, pixel for pixel
        dataset, rest = caption.split(": ", 1)
        model = rest.split(" after ", 1)[0]
        stored = shipped / "samples" / f"{model}__{dataset}__0e24d5802cb9.webp"
        with Image.open(path) as shown, Image.open(stored) as original:
            assert np.array_equal(np.asarray(shown.convert("RGB")),
                                  np.asarray(original.convert("RGB")))

    # the fine-tune cost comes from the repo's run records, with the machine they name
    costs = page["table"]["fine-tune (s)"]
    assert all(cell.endswith(("(H200)", "(CPU)")) for cell in costs), costs
    assert "H200 = NVIDIA H200" in page["legend"]
    # the card section cites the repo and the commit the graph was read at
    assert f"[`alice/graph`](https://huggingface.co/datasets/alice/graph) at revision " \
           f"`{page['source']['revision'][:12]}`" in page["card"]

    # only what the page needed was downloaded: the grids shown, a bounded share of the runs
    resolved = page["first"]["resolve"]["requests"]
    fetched = 11 * MAX_HUB_RUNS_PER_MODEL + len(grids)  # of the repo's 352 grids and 352 runs
    assert resolved <= 2 * fetched + 20, page["first"]  # HEAD + GET a file, and the tables
