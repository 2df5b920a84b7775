"""The examples that ship inside the package: what they hold, that the script rebuilds them, that
the wheel carries them."""

import json
import tomllib
from pathlib import Path

import numpy as np
from PIL import Image

from mandc.graph.defaults import EXAMPLE_DATASET, example_dir

ROOT = Path(__file__).resolve().parents[1]


def test_the_flower_example_is_a_small_captioned_image_folder():
    folder = example_dir(EXAMPLE_DATASET)
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and len({r["file_name"] for r in rows}) == 20
    for row in rows:
        with Image.open(folder / row["file_name"]) as image:
            assert image.size == (64, 64)
        assert "flower" in row["text"]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 200_000


def test_the_script_draws_the_same_flowers(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("flowers",
                                                  ROOT / "scripts" / "make_example_flowers.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.write_dataset(tmp_path, 20, 0)
    shipped = example_dir(EXAMPLE_DATASET)
    assert (tmp_path / "metadata.jsonl").read_text() == (shipped / "metadata.jsonl").read_text()
    for drawn in sorted(tmp_path.glob("*.png")):
        with Image.open(drawn) as a, Image.open(shipped / drawn.name) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b)), drawn.name


def test_no_domain_of_the_zoo_shows_flowers():
    from mandc.minizoo.domains import list_domains

    assert not any("flower" in f"{d.name} {d.description}" for d in list_domains())


def test_package_data_carries_the_examples():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "examples/**/*" in data["package-data"]["mandc"]
