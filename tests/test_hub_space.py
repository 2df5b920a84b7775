"""``mandc space deploy`` over the stand-in: one commit with exactly the app's files, the graph
repo as a Space variable, the hardware requested, stale files removed on an update."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_hub import ROOT, TOKEN, Hub, mandc, run_env, serve_stand_in

from mandc.hub.cards import parse_card
from mandc.hub.space import space_files

STALE = r"""
from huggingface_hub import HfApi
HfApi().upload_file(path_or_fileobj=b"print('old')\n", path_in_repo="old_app.py",
                    repo_id="alice/mandc", repo_type="space")
"""


@pytest.fixture
def hub(tmp_path) -> Hub:
    yield from serve_stand_in(tmp_path / "hub-root")


def space(hub: Hub) -> tuple[dict, dict]:
    """The Space's repo record and its main commit."""
    folder = hub.root / "spaces" / "alice" / "mandc"
    repo = json.loads((folder / "repo.json").read_text())
    return repo, json.loads((folder / "commits" / f"{repo['refs']['main']}.json").read_text())


def test_deploy_sends_exactly_the_app_in_one_commit_and_updates_it(hub, tmp_path):
    env = run_env(hub, tmp_path)
    deploy = ["space", "deploy", "--space", "alice/mandc", "--graph-repo", "alice/t2i-graph"]
    dry = mandc(env, *deploy, "--dry-run")
    assert "would send" in dry.stdout and not (hub.root / "spaces").exists()

    done = mandc(env, *deploy, "--hardware", "t4-small")
    assert done.stdout.splitlines()[-1] == f"{hub.url}/spaces/alice/mandc"
    assert "alice/mandc: created with" in done.stdout
    assert "MANDC_GRAPH_REPO=alice/t2i-graph; hardware t4-small requested" in done.stdout
    repo, commit = space(hub)
    assert repo["space"]["sdk"] == "gradio" and repo["space"]["hardware"] == "t4-small"
    assert repo["space"]["variables"]["MANDC_GRAPH_REPO"]["value"] == "alice/t2i-graph"
    expected = set(space_files(ROOT)) | {"README.md", ".gitattributes"}
    assert set(commit["tree"]) == expected
    assert {"app.py", "requirements.txt", "mandc/ui/app.py", "mandc/graphs/minizoo-all/graph.json",
            "mandc/minizoo/assets/shapes-v/unet/diffusion_pytorch_model.safetensors",
            "mandc/examples/flowers/metadata.jsonl"} <= expected
    assert not [p for p in expected if "/samples/" in p or "/runs/" in p or "__pycache__" in p
                or p.startswith(("tests/", "bench/"))
                or p.startswith("mandc/graphs/") and not p.startswith("mandc/graphs/minizoo-all/")]
    assert len(commit["parents"]) == 1 and len(list((hub.root / "spaces/alice/mandc/commits")
                                                   .glob("*.json"))) == 2  # created + 1 commit
    card = (hub.root / "objects" / commit["tree"]["README.md"]["sha256"]).read_text()
    data = parse_card(card, label="README.md").data.to_dict()
    assert data["sdk"] == "gradio" and data["app_file"] == "app.py"
    assert data["datasets"] == ["alice/t2i-graph"]
    app = (hub.root / "objects" / commit["tree"]["mandc/hub/space.py"]["sha256"]).read_bytes()
    assert app == (ROOT / "mandc" / "hub" / "space.py").read_bytes()

    # a file the app no longer has is deleted by the next deploy, in its one commit
    seeded = subprocess.run([sys.executable, "-c", STALE], env=env, capture_output=True,
                            text=True, timeout=60)
    assert seeded.returncode == 0, seeded.stderr
    again = json.loads(mandc(env, *deploy, "--json").stdout)
    assert again["deleted"] == ["old_app.py"] and not again["created"]
    repo, commit = space(hub)
    assert set(commit["tree"]) == expected
    assert repo["space"]["hardware"] == "t4-small"  # no --hardware: left as it was
    assert TOKEN not in done.stdout + done.stderr + json.dumps(again)


def test_bad_deploy_input_is_one_clear_message_and_sends_nothing(hub, tmp_path):
    env = run_env(hub, tmp_path)
    cases = [
        (["--space", "alice/mandc", "--hardware", "t5-huge"],
         "error: --hardware: unknown Space hardware 't5-huge'; one of cpu-basic"),
        (["--space", "mandc"], "error: --space: 'mandc' is not a Space id; expected OWNER/NAME"),
        (["--space", "alice/mandc", "--graph-repo", "not a repo"],
         "error: 'not a repo' is not a Hub dataset repo id"),
    ]
    for args, message in cases:
        done = mandc(env, "space", "deploy", *args, check=False)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(message), \
            done.stderr
    no_token = mandc(run_env(hub, tmp_path, token=None), "space", "deploy", "--space",
                     "alice/mandc", check=False)
    assert no_token.returncode == 2 and "no Hugging Face token" in no_token.stderr
    other = mandc(env, "space", "deploy", "--space", "bob/mandc", check=False)
    assert other.returncode == 2 and "HTTP 403" in other.stderr
    assert not (hub.root / "spaces").exists()
