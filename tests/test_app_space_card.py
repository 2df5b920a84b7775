"""The Space card (space_config/README.md) as the Hub reads it, in step with what is tested."""

import tomllib
from pathlib import Path

import gradio
from huggingface_hub import SpaceCard

ROOT = Path(__file__).resolve().parents[1]


def test_the_space_card_front_matter_matches_the_tested_setup():
    card = SpaceCard((ROOT / "space_config" / "README.md").read_text())
    data = card.data.to_dict()
    assert data["sdk"] == "gradio" and data["sdk_version"] == gradio.__version__
    assert (ROOT / data["app_file"]).is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={data['python_version']}"
    assert data["license"] == project["license"]["text"].lower()
    assert 0 < len(data["short_description"]) <= 60  # the Hub's limit
    assert data["suggested_hardware"] in {"cpu-basic", "cpu-upgrade", "t4-small", "t4-medium",
                                          "zero-a10g", "a10g-small", "l4x1"}
    assert {"text-to-image", "model-selection"} <= set(data["tags"])
    assert data["models"] == ["sentence-transformers/all-MiniLM-L6-v2"]
