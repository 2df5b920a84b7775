"""``mandc profile --save-adapters``: a real (tiny) profiling run keeps its LoRA adapter as
safetensors with a model card, and the adapter reproduces the run's fine-tuned images.

The model is the runner tests' micro zoo pipeline, placed in the Hugging Face cache as the Hub
repo ``org/micro`` (the cache a download leaves, read offline), so the card has a real Hub
``base_model``. Inception is replaced by the cheap pixel stand-in, as in tests/test_runner.py.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open
from stand_ins import PixelExtractor

from mandc.cli.main import main
from mandc.minizoo.export import write_imagefolder
from mandc.minizoo.models import ZooSpec, build_pipeline, load_pipeline, save_pipeline
from mandc.profile import metrics, runner
from mandc.profile.finetune import LORA_WEIGHT_NAME, generate, load_adapter, save_adapter
from mandc.profile.recipe import Recipe
from mandc.settings import get_settings
from mandc.threads import torch_threads

MICRO = ZooSpec(
    "micro", {"shapes": 1.0}, block_out_channels=(8, 16), attention_head_dim=4,
    norm_num_groups=4, text_hidden_size=16, text_layers=1, text_heads=2, max_caption_tokens=64,
    resolution=16, seed=3,
)
REPO = "org/micro"


@pytest.fixture(scope="module")
def hub_model(tmp_path_factory):
    """The micro pipeline as a cached Hub snapshot of ``org/micro`` (HF_HUB_OFFLINE is set)."""
    from huggingface_hub import constants

    built = tmp_path_factory.mktemp("built") / "micro"
    save_pipeline(build_pipeline(MICRO), built, spec=MICRO)
    (built / "zoo_spec.json").unlink()  # a Hub repo, not a zoo folder
    revision = "0123456789abcdef" * 2 + "01234567"
    repo = Path(constants.HF_HUB_CACHE) / "models--org--micro"
    shutil.copytree(built, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    yield REPO
    shutil.rmtree(repo, ignore_errors=True)


@pytest.fixture(scope="module")
def domain(tmp_path_factory):
    return str(write_imagefolder("shapes-red-circles", tmp_path_factory.mktemp("domains"),
                                 n_train=8, n_test=8, size=16))


def cheap_scorer():
    return metrics.FIDKIDScorer(extractor=PixelExtractor(), kid_subsets=3)


@pytest.mark.slow
def test_profile_saves_an_adapter_with_a_card_and_it_reproduces_the_run(
        hub_model, domain, tmp_path, monkeypatch, capsys):
    from huggingface_hub import ModelCard

    monkeypatch.setattr(metrics, "FIDKIDScorer", lambda real=metrics.FIDKIDScorer: real(
        extractor=PixelExtractor(), kid_subsets=3))
    monkeypatch.chdir(tmp_path)  # both folders given relative to where the user is
    graph, adapters = tmp_path / "my-graph", tmp_path / "adapters"
    assert main(["profile", "--model", hub_model, "--dataset", domain, "--graph", "my-graph",
                 "--steps", "2", "--rank", "2", "--eval-samples", "8", "--sample-steps", "2",
                 "--save-adapters", "adapters", "--no-progress"]) == 0
    record = json.loads(capsys.readouterr().out)
    recipe = Recipe.from_dict(record["recipe"])
    folder = adapters / f"org--micro__shapes-red-circles__{recipe.hash()[:12]}"
    assert graph / record["adapter"] == folder.resolve()  # outside the graph: a whole path
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", LORA_WEIGHT_NAME]
    assert not (graph / "adapters").exists()  # nothing of it lands in the graph

    card = ModelCard.load(folder / "README.md")
    data = card.data.to_dict()
    assert (data["base_model"], data["base_model_relation"]) == (REPO, "adapter")
    assert data["tags"] == ["mandc", "lora"] and data["library_name"] == "diffusers"
    assert "datasets" not in data  # a local folder is no Hub dataset id
    assert f"| fid | {record['scores']['fid']:.4g} |" in card.text
    assert f"| zero_shot_kid | {record['scores']['zero_shot_kid']:.4g} |" in card.text
    assert "rank=2" in card.text and "steps=2" in card.text
    assert "Scores recorded in the local graph `my-graph`." in card.text

    with safe_open(folder / LORA_WEIGHT_NAME, "pt") as weights:
        keys = list(weights.keys())
        assert json.loads(weights.metadata()["lora_adapter_metadata"])["unet.r"] == 2
    assert keys and all(k.startswith("unet.") and ".lora" in k for k in keys)

    # the adapter on a fresh copy of the base model gives the very images the run scored
    _, test, _ = runner._load_splits(domain, recipe.train_samples, recipe.eval_samples)
    options = {**recipe.generate_kwargs(), "seed": record["pair_seed"]}
    with Image.open(graph / record["samples"]["finetuned"]) as saved:
        scored = np.asarray(saved.convert("RGB"))
    with torch_threads(get_settings().threads):
        tuned = load_adapter(load_pipeline(hub_model), folder)
        again = np.asarray(runner.sample_grid(generate(tuned, test.captions, **options)))
        base = np.asarray(runner.sample_grid(generate(load_pipeline(hub_model), test.captions,
                                                      **options)))
    assert np.array_equal(again, scored)
    assert np.abs(base.astype(int) - scored).mean() > 1  # the adapter is what makes them


def test_save_adapters_naming_a_file_is_refused_before_any_work(tmp_path, capsys):
    taken = tmp_path / "adapters"
    taken.write_text("not a folder")
    assert main(["profile", "--model", "m", "--dataset", "d", "--graph", str(tmp_path / "g"),
                 "--save-adapters", str(taken)]) == 2
    assert capsys.readouterr().err == f"error: --save-adapters {taken}: is a file, not a " \
                                      "folder\n"
    assert not (tmp_path / "g").exists()


def test_a_pipeline_without_an_adapter_has_nothing_to_save(tmp_path):
    from mandc.errors import ConfigError

    with pytest.raises(ConfigError, match="no LoRA adapter to save"):
        save_adapter(build_pipeline(MICRO), tmp_path / "adapter")
    assert not (tmp_path / "adapter").exists()


def test_profile_grid_keeps_every_pairs_adapter_with_its_card(tmp_path, monkeypatch, capsys):
    """The grid hands --save-adapters to every pair and writes each saved adapter's card."""
    from huggingface_hub import ModelCard

    seen = []

    def fake_profile_pair(model, dataset, recipe, **kwargs):  # the adapter a pair would save
        seen.append(kwargs["adapters_dir"])
        folder = kwargs["adapters_dir"] / f"{model}__{dataset}".replace("/", "--")
        folder.mkdir(parents=True)
        (folder / LORA_WEIGHT_NAME).write_bytes(b"")
        return {"model": model, "dataset": dataset, "recipe": recipe.to_dict(),
                "recipe_hash": recipe.hash(), "scores": {"fid": 42.0, "kid": 0.01},
                "adapter": str(folder)}

    monkeypatch.setattr(runner, "profile_pair", fake_profile_pair)
    monkeypatch.setattr(metrics, "FIDKIDScorer", object)  # no Inception network for a fake pair
    adapters = tmp_path / "adapters"
    assert main(["profile-grid", "--models", "org/sd,shapes-v", "--datasets", "alice/cats",
                 "--graph", str(tmp_path / "g"), "--no-progress", "--save-adapters",
                 str(adapters)]) == 0
    assert seen == [adapters, adapters]
    hub = ModelCard.load(adapters / "org--sd__alice--cats" / "README.md")
    assert (hub.data.base_model, hub.data.base_model_relation, hub.data.datasets) == (
        "org/sd", "adapter", ["alice/cats"])
    assert "| fid | 42 |" in hub.text
    zoo = ModelCard.load(adapters / "shapes-v__alice--cats" / "README.md")
    assert zoo.data.base_model is None and "A LoRA adapter of `shapes-v`" in zoo.text
