"""The procedural domains: catalogue, determinism, splits, captions, imagefolder export."""

import json

import numpy as np
import pytest

from mandc.errors import ConfigError, UnknownNameError
from mandc.minizoo.domains import (
    DOMAINS,
    EXTRA_DOMAINS,
    FAMILIES,
    FRESH_DOMAINS,
    FRESH_PRETRAINED_REGIME,
    HELD_OUT_DOMAINS,
    MAX_CAPTION_BYTES,
    PROFILED_DOMAINS,
    Domain,
    family_of,
    list_domains,
    role_of,
    sample,
)
from mandc.minizoo.export import contact_sheet, overview_sheet, write_all, write_imagefolder


def _bytes(images):
    return [image.tobytes() for image in images]


def test_catalogue_size_and_split_into_profiled_and_held_out():
    names = set(DOMAINS.names())
    assert len(names) >= 40
    assert len(PROFILED_DOMAINS) >= 32 and len(set(PROFILED_DOMAINS)) == len(PROFILED_DOMAINS)
    assert len(HELD_OUT_DOMAINS) >= 8 and len(set(HELD_OUT_DOMAINS)) == len(HELD_OUT_DOMAINS)
    assert not set(PROFILED_DOMAINS) & set(HELD_OUT_DOMAINS)
    assert set(PROFILED_DOMAINS) | set(HELD_OUT_DOMAINS) | set(FRESH_DOMAINS) | set(
        EXTRA_DOMAINS) == names
    assert not set(EXTRA_DOMAINS) & (set(PROFILED_DOMAINS) | set(HELD_OUT_DOMAINS))
    assert not set(FRESH_DOMAINS) & (set(PROFILED_DOMAINS) | set(HELD_OUT_DOMAINS))
    assert {family_of(n) for n in PROFILED_DOMAINS} == set(FAMILIES)
    assert {family_of(n) for n in HELD_OUT_DOMAINS} == set(FAMILIES)
    assert {role_of(n) for n in HELD_OUT_DOMAINS} == {"held_out"}
    assert {role_of(n) for n in PROFILED_DOMAINS} == {"profiled"}
    assert {role_of(n) for n in EXTRA_DOMAINS} <= {"extra"}
    assert {role_of(n) for n in FRESH_DOMAINS} == {"fresh"} and len(FRESH_DOMAINS) == 8


def test_fresh_mixtures_draw_only_from_their_pretraining_parts():
    parts = {"scenes-day-and-night": ("scenes-day", "scenes-night"),
             "glyphs-digits-and-dice": ("glyphs-digits-black", "grids-dice")}
    for name, (first, second) in parts.items():
        assert name in FRESH_PRETRAINED_REGIME
        assert {role_of(first), role_of(second)} == {"profiled"}
        images, captions = sample(name, 60)
        keywords = set(DOMAINS.get(first).keywords) | set(DOMAINS.get(second).keywords)
        # each caption names one part's keyword; both parts are drawn from
        assert all(any(k in c for k in keywords) for c in captions)
        assert any(any(k in c for k in DOMAINS.get(first).keywords) for c in captions)
        assert any(any(k in c for k in DOMAINS.get(second).keywords) for c in captions)
        assert len(set(_bytes(images))) > 30  # varied, not one repeated image


def test_every_held_out_domain_has_a_profiled_sibling():
    for name in HELD_OUT_DOMAINS:
        siblings = [n for n in PROFILED_DOMAINS if family_of(n) == family_of(name)]
        assert len(siblings) >= 4, name


def test_list_domains_by_family():
    everything = list_domains()
    assert [d.name for d in everything] == DOMAINS.names()
    assert all(isinstance(d, Domain) for d in everything)
    for family in FAMILIES:
        members = list_domains(family)
        assert len(members) >= 5 and all(d.family == family for d in members)
    assert sum(len(list_domains(f)) for f in FAMILIES) == len(everything)
    with pytest.raises(ConfigError, match="valid families"):
        list_domains("no-such-family")


def test_same_arguments_give_identical_images_and_captions():
    for name in DOMAINS.names():
        first, caps_a = sample(name, 4, seed=3)
        second, caps_b = sample(name, 4, seed=3)
        assert _bytes(first) == _bytes(second) and caps_a == caps_b, name
        other, _ = sample(name, 4, seed=4)
        assert _bytes(other) != _bytes(first), name


def test_a_short_sample_is_a_prefix_of_a_longer_one():
    short, short_caps = sample("scenes-day", 3)
    longer, longer_caps = sample("scenes-day", 7)
    assert _bytes(short) == _bytes(longer[:3]) and short_caps == longer_caps[:3]


def test_train_and_test_streams_share_no_image():
    for name in DOMAINS.names():
        train, _ = sample(name, 48, split="train")
        test, _ = sample(name, 24, split="test")
        assert not set(_bytes(train)) & set(_bytes(test)), name
        assert len(set(_bytes(train))) == 48, f"{name}: duplicate images within a split"


@pytest.mark.parametrize("size", [16, 32, 48, 64])
def test_images_are_rgb_squares_of_the_requested_size(size):
    for name in DOMAINS.names():
        images, captions = sample(name, 2, size=size)
        assert len(images) == len(captions) == 2
        assert all(image.mode == "RGB" and image.size == (size, size) for image in images), name


def test_captions_say_what_is_drawn():
    for domain in list_domains():
        _, captions = sample(domain.name, 24)
        for caption in captions:
            assert caption.strip() and caption == caption.strip(), domain.name
            words = caption.replace(",", " ").replace(":", " ").split()
            named = any(k in words or k + "s" in words for k in domain.keywords)
            assert named, (domain.name, caption)
        assert len(set(captions)) > 3, f"{domain.name}: captions barely vary"


def test_captions_fit_a_64_token_byte_tokenizer():
    for name in DOMAINS.names():
        _, captions = sample(name, 200, size=16)
        longest = max(captions, key=lambda c: len(c.encode()))
        assert len(longest.encode()) <= MAX_CAPTION_BYTES, (name, longest)


def test_colour_words_in_captions_match_the_pixels():
    """A 'red circles' image is mostly white with some red: the caption is about these pixels."""
    images, captions = sample("shapes-red-circles", 16)
    for image, caption in zip(images, captions):
        pixels = np.asarray(image).reshape(-1, 3).astype(int)
        reddish = (pixels[:, 0] > 150) & (pixels[:, 1] < 90) & (pixels[:, 2] < 90)
        assert "red" in caption and caption.endswith("on white")
        assert reddish.mean() > 0.01 and (pixels.min(axis=1) > 230).mean() > 0.4
    images, captions = sample("gradients-solid", 8)
    for image, caption in zip(images, captions):
        spread = np.asarray(image).reshape(-1, 3).std(axis=0).max()
        assert caption.startswith("a flat ") and spread < 3


def _pixel_signature(name: str) -> np.ndarray:
    """Mean 64-bin colour histogram plus a histogram of horizontal gradient magnitudes."""
    images, _ = sample(name, 24, seed=1)
    stack = np.stack([np.asarray(image) for image in images]).astype(np.int32)
    bins = (stack[..., 0] // 64) * 16 + (stack[..., 1] // 64) * 4 + stack[..., 2] // 64
    colours = np.bincount(bins.ravel(), minlength=64) / bins.size
    edges = np.abs(np.diff(stack.mean(axis=-1), axis=2))
    sharpness = np.histogram(edges, bins=[0, 2, 8, 32, 256])[0] / edges.size
    return np.concatenate([colours, sharpness])


def test_families_differ_more_between_than_within():
    names = DOMAINS.names()
    signature = {name: _pixel_signature(name) for name in names}

    def distance(a, b):
        return 0.5 * np.abs(signature[a] - signature[b]).sum()

    for family in FAMILIES:
        members = [n for n in names if family_of(n) == family]
        others = [n for n in names if family_of(n) != family]
        within = np.mean([distance(a, b) for a in members for b in members if a < b])
        between = np.mean([distance(a, b) for a in members for b in others])
        assert within < between, (family, within, between)


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(UnknownNameError, match="valid names"):
        sample("no-such-domain", 1)
    with pytest.raises(ConfigError, match="split"):
        sample("shapes-red-circles", 1, split="validation")
    with pytest.raises(ConfigError, match="size"):
        sample("shapes-red-circles", 1, size=4)
    with pytest.raises(ConfigError, match="non-negative"):
        sample("shapes-red-circles", -1)


def _read_split(folder):
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    files = sorted(p.name for p in folder.glob("*.png"))
    return rows, files


def test_write_imagefolder_layout_counts_and_captions(tmp_path):
    target = write_imagefolder("glyphs-digits-black", tmp_path)  # defaults: 256 train, 64 test
    assert target == tmp_path / "glyphs-digits-black"
    images, captions = sample("glyphs-digits-black", 64, split="test")
    for split, count in (("train", 256), ("test", 64)):
        rows, files = _read_split(target / split)
        assert len(rows) == len(files) == count
        assert sorted(row["file_name"] for row in rows) == files
        assert all(set(row) == {"file_name", "text"} and row["text"] for row in rows)
    rows, _ = _read_split(target / "test")
    assert [row["text"] for row in rows] == captions
    from PIL import Image

    with Image.open(target / "test" / rows[5]["file_name"]) as written:
        assert written.mode == "RGB" and written.tobytes() == images[5].tobytes()


def test_write_imagefolder_is_idempotent_and_rewrites_on_new_settings(tmp_path):
    target = write_imagefolder("scenes-night", tmp_path, n_train=8, n_test=4)
    stamp = (target / "train" / "00000.png").stat().st_mtime_ns
    assert write_imagefolder("scenes-night", tmp_path, n_train=8, n_test=4) == target
    assert (target / "train" / "00000.png").stat().st_mtime_ns == stamp
    write_imagefolder("scenes-night", tmp_path, n_train=5, n_test=3)
    assert len(_read_split(target / "train")[1]) == 5 and len(_read_split(target / "test")[1]) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["scenes-night"]  # no staging left behind


def test_write_imagefolder_never_overwrites_a_foreign_folder(tmp_path):
    (tmp_path / "shapes-red-circles").mkdir()
    (tmp_path / "shapes-red-circles" / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match="refusing"):
        write_imagefolder("shapes-red-circles", tmp_path, n_train=2, n_test=2)
    assert (tmp_path / "shapes-red-circles" / "mine.txt").read_text() == "keep"


def test_written_folder_reads_back_through_the_target_loader(tmp_path):
    from mandc.data import load_target

    [target] = write_all(tmp_path, ["patterns-checkers"], n_train=12, n_test=6)
    loaded = load_target(target, split="test", max_samples=100)
    _, captions = sample("patterns-checkers", 6, split="test")
    assert sorted(loaded.captions) == sorted(captions)
    assert all(image.size == (32, 32) for image in loaded.images)


def test_contact_sheet_has_one_row_per_domain():
    sheet = contact_sheet(["shapes-red-circles", "scenes-day"], per_domain=3, size=32, labels=False)
    assert sheet.size == (3 * 34 + 2, 2 * 34 + 2)
    first, _ = sample("scenes-day", 1)
    assert sheet.crop((2, 36, 34, 68)).tobytes() == first[0].tobytes()


def test_overview_sheet_shows_every_domain_once():
    sheet = overview_sheet(per_domain=2, size=16, scale=1)
    rows = [sum(len(list_domains(f)) for f in part) for part in (FAMILIES[:3], FAMILIES[3:])]
    assert sum(rows) == len(DOMAINS.names())
    assert sheet.height == max(rows) * (16 + 2) + 2
    panel_width = 200 + 2 * (16 + 2) + 2
    assert sheet.width == 2 * panel_width + 16


@pytest.mark.slow
def test_written_folder_loads_with_the_datasets_imagefolder_builder(tmp_path):
    datasets = pytest.importorskip("datasets")
    target = write_imagefolder("scenes-day", tmp_path / "data", n_train=10, n_test=4)
    loaded = datasets.load_dataset("imagefolder", data_dir=str(target),
                                   cache_dir=str(tmp_path / "cache"))
    assert loaded["train"].num_rows == 10 and loaded["test"].num_rows == 4
    _, captions = sample("scenes-day", 4, split="test")
    assert sorted(loaded["test"]["text"]) == sorted(captions)
