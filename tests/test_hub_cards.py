"""``mandc card`` and adapter cards: recommendations written into model cards, over the stand-in
(huggingface_hub's own ModelCard client), with dry runs, pull requests, direct commits and reruns
that update the one section in place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_hub import BOB_TOKEN, TOKEN, Hub, graph_with, mandc, run_env, serve_stand_in

from mandc.advise import advise
from mandc.errors import ValidationError
from mandc.graph.store import save_graph
from mandc.hub.cards import (
    SECTION_END,
    SECTION_START,
    GraphSource,
    adapter_card,
    parse_card,
    updated_card,
    why_section,
    with_section,
    write_adapter_card,
)

MODELS = ["org/sd15", "org/sdxl", "org/pixart"]
DATASETS = ["alice/cats", "alice/logos", "alice/maps"]
CARD = """---
license: mit
tags:
- cats
- text-to-image
widget:
- text: a cat
---
# sd-cats

A fine-tune of a diffusion model on my cats. Try it with `a photo of a cat`.
"""

SEED = r"""
import json, sys
from huggingface_hub import CommitOperationAdd, HfApi
api = HfApi()
for repo, files in json.loads(sys.argv[1]).items():
    api.create_repo(repo, exist_ok=True)
    api.create_commit(repo, [CommitOperationAdd(p, c.encode()) for p, c in files.items()],
                      commit_message="seed")
    if sys.argv[2:] == ["gated"]:
        api.update_repo_settings(repo, gated="auto")
"""


@pytest.fixture
def hub(tmp_path) -> Hub:
    yield from serve_stand_in(tmp_path / "hub-root")


def model_head(hub: Hub, repo: str, ref: str = "main") -> str | None:
    path = hub.root / "models" / repo / "repo.json"
    return json.loads(path.read_text())["refs"].get(ref) if path.is_file() else None


def model_file(hub: Hub, repo: str, path: str, ref: str = "main") -> str:
    commit = json.loads((hub.root / "models" / repo / "commits" /
                         f"{model_head(hub, repo, ref)}.json").read_text())
    return (hub.root / "objects" / commit["tree"][path]["sha256"]).read_text()


def seed_models(hub: Hub, tmp_path, repos: dict[str, dict[str, str]], *,
                token: str = TOKEN, gated: bool = False) -> None:
    done = subprocess.run([sys.executable, "-c", SEED, json.dumps(repos),
                           *(["gated"] if gated else [])], capture_output=True, text=True,
                          env=run_env(hub, tmp_path / "seeder", token=token), timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def graph_repo(hub, tmp_path):
    """A graph repo whose models and datasets are Hub ids, and the graph it holds."""
    graph = graph_with(MODELS, DATASETS)
    save_graph(graph, tmp_path / "graph")
    mandc(run_env(hub, tmp_path), "push", str(tmp_path / "graph"), "--repo", "alice/graph",
          "--create")
    return graph


def top_model(graph, dataset: str) -> str:
    return advise(graph, dataset, top=1)["ranking"][0]["model"]


# ------------------------------------------------------------------------------ in-process
def test_the_why_section_says_predicted_is_a_score_not_a_rank():
    """Two candidates, one neighbour: the predictions are exactly +1 and -1 SD; printed as
    ``1`` beside rank 1 and a measured 0.8247 they read as a second rank."""
    advice = {"metric": "clip_score", "higher_is_better": True, "candidates": 2,
              "target": "alice/cats", "method": "mandc", "neighbours": [],
              "ranking": [{"rank": 1, "model": "org/sd15", "predicted": 1.0,
                           "measured": 0.8247},
                          {"rank": 2, "model": "org/sdxl", "predicted": -1.0,
                           "measured": 0.61}]}
    section = why_section({**advice, "all": advice["ranking"]}, "org/sd15",
                          GraphSource(name="a graph"), {"models": 2, "datasets": 2, "scores": 4})
    assert "| rank | base model | predicted (SD) | measured clip_score |" in section
    assert "| 1 | **org/sd15** | +1.00 | 0.8247 |\n| 2 | org/sdxl | -1.00 | 0.61 |" in section
    assert ("predicted: the quality to expect after fine-tuning, a score in standard deviations "
            "(SD) above the average candidate on this dataset, not a rank (higher is better); "
            "measured: the `clip_score` measured after fine-tuning (higher is better).") in section


def test_the_section_is_appended_once_and_replaced_in_place():
    body = "# Title\n\nText.\n"
    once = with_section(body, "## Why\n\nfirst")
    assert once == f"# Title\n\nText.\n\n{SECTION_START}\n## Why\n\nfirst\n{SECTION_END}\n"
    twice = with_section(once + "\n## After\n", "## Why\n\nsecond")
    assert twice.count(SECTION_START) == 1 and "first" not in twice and "second" in twice
    assert twice.endswith("## After\n") and twice.startswith("# Title\n\nText.\n\n")
    with pytest.raises(ValidationError, match="only one of the markers"):
        with_section(f"x\n{SECTION_START}\n", "y")


def test_metadata_is_merged_never_overwritten():
    update = updated_card(CARD.replace("license: mit", "license: mit\nbase_model: org/sd15"),
                          {"base_model": "org/sdxl", "base_model_relation": "finetune",
                           "tags": ["mandc", "cats"], "datasets": ["alice/cats"]}, "## Why",
                          label="README.md")
    data = parse_card(update.after, label="x").data.to_dict()
    assert data["base_model"] == "org/sd15" and data["base_model_relation"] == "finetune"
    assert data["tags"] == ["cats", "text-to-image", "mandc"]
    assert data["widget"] == [{"text": "a cat"}] and data["license"] == "mit"
    assert data["datasets"] == ["alice/cats"]
    assert update.notes == ["the card's base_model is 'org/sd15'; kept (M&C would write "
                            "'org/sdxl')"]
    assert "A fine-tune of a diffusion model on my cats." in update.after


@pytest.mark.parametrize("text, message", [
    ("---\nlicense: [mit\n---\n# x\n", "malformed front matter (line 2): expected ',' or ']'"),
    ("---\n- a\n- b\n---\n# x\n", "malformed front matter: repo card metadata block should be "
                                  "a dict"),
    ("---\nlicense: mit\n# x\n", "the '---' block opened on line 1 is never closed")])
def test_malformed_front_matter_is_one_clear_error(text, message):
    with pytest.raises(ValidationError) as raised:
        parse_card(text, label="sd-cats/README.md")
    assert message in str(raised.value) and "sd-cats/README.md" in str(raised.value)


def test_a_profiled_adapter_gets_a_card_with_its_recipe_and_scores(tmp_path):
    record = {"model": "org/sd15", "dataset": "alice/cats", "recipe_hash": "ab" * 32,
              "recipe": {"steps": 200, "rank": 4, "lr": 0.0001},
              "scores": {"fid": 31.25, "kid": 0.0123, "zero_shot_fid": 80.5}}
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    path = write_adapter_card(folder, record, source=GraphSource("alice/graph", "c0ffee" * 6))
    text = path.read_text()
    data = parse_card(text, label="x").data.to_dict()
    assert (data["base_model"], data["base_model_relation"]) == ("org/sd15", "adapter")
    assert data["datasets"] == ["alice/cats"] and data["tags"] == ["mandc", "lora"]
    assert "| fid | 31.25 |" in text and "| kid | 0.0123 |" in text
    assert "Recipe: lr=0.0001, rank=4, steps=200." in text
    assert "at revision `c0ffeec0ffee`" in text
    before = path.stat().st_mtime_ns
    assert write_adapter_card(folder, record, source=GraphSource("alice/graph", "c0ffee" * 6))
    assert path.stat().st_mtime_ns == before  # unchanged: not rewritten
    # a zoo model is no Hub id: no base_model, the section still says what it adapts
    local = adapter_card({**record, "model": "shapes-v"})
    assert "base_model" not in parse_card(local.after, label="x").data.to_dict()
    assert "A LoRA adapter of `shapes-v`" in local.after


# ------------------------------------------------------------------------------ over the socket
def test_card_dry_run_pull_request_direct_commit_and_rerun(hub, graph_repo, tmp_path):
    seed_models(hub, tmp_path, {"alice/sd-cats": {"README.md": CARD}})
    env = run_env(hub, tmp_path)
    top = top_model(graph_repo, "alice/cats")
    graph_head = hub.head("alice/graph")
    head = model_head(hub, "alice/sd-cats")
    command = ["card", "alice/sd-cats", "--dataset", "alice/cats", "--graph", "alice/graph"]

    dry = mandc(env, *command)
    assert model_head(hub, "alice/sd-cats") == head  # nothing written
    assert dry.stdout.startswith("--- a/README.md\n+++ b/README.md\n")
    added = [line[1:] for line in dry.stdout.splitlines() if line.startswith("+")]
    assert f"base_model: {top}" in added and "base_model_relation: finetune" in added
    assert "- mandc" in added and "- alice/cats" in added
    assert f"`{top}` ranks **#1**." in dry.stdout
    assert f"at revision `{graph_head[:12]}`" in dry.stdout
    assert "(3 models, 3 datasets, 9 scores)" in dry.stdout
    assert "dry run: nothing written" in dry.stderr

    pr = json.loads(mandc(env, *command, "--apply", "--json").stdout)
    assert pr["pr_url"].endswith("/alice/sd-cats/discussions/1")
    assert model_head(hub, "alice/sd-cats") == head
    proposed = model_file(hub, "alice/sd-cats", "README.md", "refs/pr/1")
    assert proposed.count(SECTION_START) == 1 and f"base_model: {top}" in proposed

    direct = mandc(env, *command, "--direct")
    assert direct.stdout.startswith("alice/sd-cats: committed the card (")
    card = model_file(hub, "alice/sd-cats", "README.md")
    assert card == proposed
    data = parse_card(card, label="x").data.to_dict()
    assert data["license"] == "mit" and data["widget"] == [{"text": "a cat"}]
    assert data["tags"] == ["cats", "text-to-image", "mandc"]
    assert data["datasets"] == ["alice/cats"] and data["base_model"] == top
    assert "A fine-tune of a diffusion model on my cats." in card

    committed = model_head(hub, "alice/sd-cats")
    again = mandc(env, *command, "--direct")
    assert "already carries this recommendation; nothing to write" in again.stdout
    assert model_head(hub, "alice/sd-cats") == committed

    # the graph grows: a rerun updates the one section (new revision, new counts)
    bigger = graph_with(MODELS, [*DATASETS, "alice/birds"])
    save_graph(bigger, tmp_path / "bigger")
    mandc(env, "push", str(tmp_path / "bigger"), "--repo", "alice/graph")
    mandc(env, *command, "--direct")
    updated = model_file(hub, "alice/sd-cats", "README.md")
    assert updated.count(SECTION_START) == 1 and updated.count("## Why this base model") == 1
    assert f"at revision `{hub.head('alice/graph')[:12]}`" in updated
    assert "(3 models, 4 datasets, " in updated
    assert updated.count("base_model:") == 1
    for done in (dry, direct, again):  # the write token never shows, nor lands in a file
        assert TOKEN not in done.stdout + done.stderr
    for path in [*hub.root.rglob("*"), *tmp_path.rglob("*")]:
        if path.is_file() and not path.is_symlink():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_an_adapter_repo_and_a_chosen_base_keep_what_the_card_says(hub, graph_repo, tmp_path):
    seed_models(hub, tmp_path, {
        "alice/cats-lora": {"adapter_config.json": "{}", "README.md": "# cats LoRA\n"},
        "alice/bare": {"config.json": "{}"}})
    env = run_env(hub, tmp_path)
    mandc(env, "card", "alice/cats-lora", "--dataset", "alice/logos", "--graph", "alice/graph",
          "--base", "org/pixart", "--direct")
    card = model_file(hub, "alice/cats-lora", "README.md")
    data = parse_card(card, label="x").data.to_dict()
    assert (data["base_model"], data["base_model_relation"]) == ("org/pixart", "adapter")
    assert card.split("---\n", 2)[2].startswith("# cats LoRA\n")
    assert "**org/pixart**" in card
    # a repo without a card gets one
    mandc(env, "card", "alice/bare", "--dataset", "alice/logos", "--graph", "alice/graph",
          "--direct")
    assert SECTION_START in model_file(hub, "alice/bare", "README.md")
    # a base the graph does not rank is refused, naming the flag
    refused = mandc(env, "card", "alice/bare", "--dataset", "alice/logos", "--graph",
                    "alice/graph", "--base", "org/flux", check=False)
    assert refused.returncode == 2 and "--base" in refused.stderr
    assert "base model 'org/flux' is not among the 3 models the graph ranks" in refused.stderr


def test_bad_input_is_one_clear_message_and_writes_nothing(hub, graph_repo, tmp_path):
    # a card the Hub holds though its YAML is broken (pushed with git, which skips the check
    # huggingface_hub's client makes): the stand-in's YAML check is told to let it through
    hub.faults({"route": "validate_yaml", "action": "status", "status": 200})
    seed_models(hub, tmp_path, {"alice/broken": {"README.md": "---\nlicense: [mit\n---\n# x\n"},
                                "alice/fine": {"README.md": CARD}})
    hub.faults()
    seed_models(hub, tmp_path, {"bob/gated-sd": {"README.md": CARD}}, token=BOB_TOKEN,
                gated=True)
    env = run_env(hub, tmp_path)
    heads = {repo: model_head(hub, repo) for repo in ("alice/broken", "alice/fine",
                                                      "bob/gated-sd")}
    cases = [
        (["alice/nowhere"], "error: model repo alice/nowhere not found on the Hub, or private "
                            "and the token cannot read it"),
        (["alice/broken", "--direct"], "error: README.md: malformed front matter (line 2): "
                                       "expected ',' or ']'"),
        (["./no-such-folder"], "error: './no-such-folder' is neither a model folder here nor a "
                               "Hub model id (OWNER/NAME)"),
    ]
    for args, message in cases:
        done = mandc(env, "card", *args, "--dataset", "alice/cats", "--graph", "alice/graph",
                     check=False)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(message), \
            done.stderr
    gated = "error: model repo bob/gated-sd is gated: accept its conditions on the Hub"
    for token in (None, TOKEN):  # anonymous, and a user who has not been granted access
        done = mandc(run_env(hub, tmp_path, token=token), "card", "bob/gated-sd", "--dataset",
                     "alice/cats", "--graph", "alice/graph", check=False)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(gated), \
            done.stderr
    no_token = mandc(run_env(hub, tmp_path, token=None), "card", "alice/fine", "--dataset",
                     "alice/cats", "--graph", "alice/graph", "--apply", check=False)
    assert no_token.returncode == 2 and "no Hugging Face token" in no_token.stderr
    assert {repo: model_head(hub, repo) for repo in heads} == heads
    assert not list(hub.root.glob("models/alice/nowhere"))


def test_a_local_folder_card_is_written_in_place(tmp_path):
    folder = tmp_path / "my-finetune"
    folder.mkdir()
    (folder / "README.md").write_text(CARD)
    env = {**run_env(Hub("http://127.0.0.1:9", tmp_path, None), tmp_path), "HF_HUB_OFFLINE": "1"}
    refused = mandc(env, "card", str(folder), "--dataset", "shapes-red-circles", "--apply",
                    check=False)
    assert refused.returncode == 2 and "a pull request needs a Hub repo" in refused.stderr
    assert (folder / "README.md").read_text() == CARD
    done = mandc(env, "card", str(folder), "--dataset", "shapes-red-circles", "--direct")
    assert "wrote README.md" in done.stdout
    # on the 72-domain default graph mandc ranks scenes-v first here (measured FID 89.2, second
    # to shapes-v's 80.6): the card writes what the ranking says
    assert "base model 'scenes-v' is not a Hub model id" in done.stderr
    text = (folder / "README.md").read_text()
    assert "`scenes-v` ranks **#1**" in text and "the minizoo-all graph shipped with mandc" in text
    assert "- mandc" in text and "base_model" not in text
    assert TOKEN not in text
