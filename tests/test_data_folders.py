"""Real users' folders (issue 19): nothing dropped in silence, the same loader options on every
entry point, and messy files read or refused with a message that points at the problem."""

from __future__ import annotations

import io
import json

import pytest
from datafactory import caption, colour, header_only_png, solid
from PIL import Image

import mandc.data.images as images_module
from mandc.cli.args import add_loader_options, loader_options
from mandc.cli.main import build_parser
from mandc.data import LoadOptions, load_target
from mandc.data.images import BASE_EXTENSIONS, decode_image
from mandc.data.report import REFUSE_ABOVE
from mandc.errors import ConfigError, DatasetLoadError, ValidationError


def caption_folder(root, n: int, *, ext: str = ".jpg", start: int = 0):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        solid(i, (16, 16)).save(root / f"img_{i:02d}{ext}", quality=100)
        (root / f"img_{i:02d}.txt").write_text(caption(i))
    return root


def every_file(root) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- nothing dropped in silence


def test_five_of_twelve_empty_captions_are_reported_not_embedded(tmp_path):
    root = caption_folder(tmp_path / "set", 12)
    for i in range(5):
        (root / f"img_{i:02d}.txt").write_text("  \n" if i % 2 else "")
    dataset = load_target(root)
    assert len(dataset) == 7 and dataset.captions == [caption(i) for i in range(5, 12)]
    report = dataset.report.to_dict()
    assert report["seen"] == 24 and report["read"] == 7 and report["companion_files"] == 12
    assert report["left_out"] == {"empty_caption": {
        "count": 5, "first": ["img_00.jpg", "img_01.jpg", "img_02.jpg"],
        "why": "empty or whitespace-only caption"}}
    assert dataset.notes[0] == ("left out 5: empty or whitespace-only caption "
                                "(first: img_00.jpg, img_01.jpg, img_02.jpg)")


def test_eleven_of_twelve_empty_captions_refuse_with_one_message(tmp_path):
    root = caption_folder(tmp_path / "set", 12)
    for i in range(11):
        (root / f"img_{i:02d}.txt").write_text("")
    with pytest.raises(ValidationError) as caught:
        load_target(root)
    assert str(caught.value) == (
        f"{root}: 11 of 12 images (92%) are left out: empty or whitespace-only caption (first: "
        "img_00.jpg, img_01.jpg, img_02.jpg); more than the 50% allowed for this reason; write "
        "the missing captions or remove those images")


def test_heic_beside_jpgs_is_read_with_pillow_heif(tmp_path):
    pytest.importorskip("pillow_heif")
    root = caption_folder(tmp_path / "iphone", 4)
    for i in (4, 5):
        solid(i, (16, 16)).save(root / f"img_{i:02d}.HEIC", format="HEIF", quality=-1)
        (root / f"img_{i:02d}.txt").write_text(caption(i))
    dataset = load_target(root)
    assert len(dataset) == 6 and dataset.report.to_dict()["left_out"] == {}
    heic = dataset.images[dataset.captions.index(caption(5))]
    assert all(abs(a - b) <= 3 for a, b in zip(heic.getpixel((8, 8)), colour(5)))


def test_heic_without_a_plugin_is_named_as_unsupported(tmp_path, monkeypatch):
    monkeypatch.setattr(images_module, "IMAGE_EXTENSIONS", BASE_EXTENSIONS)
    root = caption_folder(tmp_path / "iphone", 9)
    (root / "IMG_0001.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (root / "IMG_0001.txt").write_text("a cat")
    dataset = load_target(root)
    assert len(dataset) == 9
    assert dataset.report.to_dict()["left_out"]["unsupported_format"] == {
        "count": 1, "first": ["IMG_0001.heic"], "why": "image format that cannot be decoded here"}
    for i in (2, 3):  # 3 of 12 = 25%, above the 20% an unsupported format may take
        (root / f"IMG_000{i}.heic").write_bytes(b"\x00")
        (root / f"IMG_000{i}.txt").write_text("a cat")
    with pytest.raises(ValidationError, match=r"3 of 12 images \(25%\) are left out: image format "
                                              r"that cannot be decoded here \(first: IMG_0001.heic"
                                              r".*convert them to JPEG or PNG"):
        load_target(root)


def test_images_without_a_metadata_row_are_counted(tmp_path):
    root = caption_folder(tmp_path / "set", 10, ext=".png")
    for txt in root.glob("*.txt"):
        txt.unlink()
    rows = [{"file_name": f"img_{i:02d}.png", "text": caption(i)} for i in range(8)]
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "latents.npz").write_bytes(b"PK")
    dataset = load_target(root)
    assert len(dataset) == 8
    report = dataset.report.to_dict()
    assert report["left_out"]["no_metadata_row"]["first"] == ["img_08.png", "img_09.png"]
    assert report["left_out"]["other_file"]["first"] == ["latents.npz"]
    assert set(dataset.report.outcomes) == every_file(root)


def test_duplicate_rows_keep_the_first_caption_and_say_so(tmp_path):
    root = caption_folder(tmp_path / "coco", 3, ext=".png")
    rows = [{"file_name": "img_00.png", "text": "first"}, {"file_name": "img_00.png",
                                                           "text": "second"},
            {"file_name": "img_01.png", "text": "b"}, {"file_name": "img_02.png", "text": "c"}]
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = load_target(root)
    assert dataset.captions == ["first", "b", "c"]
    assert dataset.report.names("duplicate_row") == ["metadata.jsonl row 2 (img_00.png)"]


def test_sampling_leaves_the_rest_not_sampled_and_accounts_for_every_file(tmp_path):
    root = caption_folder(tmp_path / "set", 30, ext=".png")
    (root / "notes.md").write_text("how I made it")
    dataset = load_target(root, max_samples=10, seed=1)
    counts = dataset.report.counts()
    assert (counts["read"], counts["not_sampled"], counts["companion"], counts["other_file"]) == \
        (10, 20, 30, 1)
    assert set(dataset.report.outcomes) == every_file(root)


# ---------------------------------------------------------------- messy files


def test_unquoted_commas_in_tag_captions_name_the_first_row(tmp_path):
    root = caption_folder(tmp_path / "tags", 4, ext=".png")
    lines = ["file_name,text", 'img_00.png,"1girl, solo"'] + \
        [f"img_{i:02d}.png,1girl, solo, smile" for i in (1, 2, 3)]
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError) as caught:
        load_target(root)
    assert str(caught.value) == (
        f"{root / 'metadata.csv'}: line 3 has 4 fields but the header has 2 (file_name, text); "
        'a caption that contains commas must be quoted, e.g. a.png,"red, square, outline"')


def test_a_semicolon_separated_csv_says_so(tmp_path):
    root = caption_folder(tmp_path / "excel", 2, ext=".png")
    (root / "metadata.csv").write_text("file_name;text\nimg_00.png;a\nimg_01.png;b\n")
    with pytest.raises(ValidationError, match="the header 'file_name;text' is one column: the "
                                              "file is separated by ';', and metadata.csv must"):
        load_target(root)


@pytest.mark.parametrize("name", ["metadata.csv", "metadata.jsonl"])
def test_a_non_utf8_byte_is_named_by_its_line(tmp_path, name):
    root = caption_folder(tmp_path / "set", 3, ext=".png")
    if name.endswith(".csv"):
        data = b"file_name,text\nimg_00.png,a\nimg_01.png,caf\xe9 au lait\nimg_02.png,c\n"
    else:
        data = (b'{"file_name": "img_00.png", "text": "a"}\n'
                b'{"file_name": "img_01.png", "text": "caf\xe9"}\n')
    (root / name).write_bytes(data)
    line = 3 if name.endswith(".csv") else 2
    column = 15 if name.endswith(".csv") else 41
    with pytest.raises(ValidationError, match=rf"{name}: line {line} is not UTF-8 text \(byte "
                                              rf"0xe9 at character {column}\); save the file as"):
        load_target(root)


def test_spaces_around_header_names_and_a_tags_column(tmp_path):
    root = caption_folder(tmp_path / "set", 3, ext=".png")
    (root / "metadata.csv").write_text(
        'image, tags\nimg_00.png, "1girl, solo"\nimg_01.png, cat\nimg_02.png, dog\n')
    dataset = load_target(root)
    assert dataset.captions == ["1girl, solo", "cat", "dog"]
    assert load_target(root, caption_column=" tags ").captions == dataset.captions
    with pytest.raises(ValidationError, match=r"no caption column 'label'; columns are: "
                                              r"'image', 'tags'"):
        load_target(root, caption_column="label")


@pytest.mark.parametrize("option", ["caption_column", "image_column"])
def test_a_column_option_on_a_folder_without_metadata_is_refused_not_ignored(tmp_path, option):
    root = caption_folder(tmp_path / "set", 3, ext=".png")  # captions in .txt files
    with pytest.raises(ValidationError) as caught:
        load_target(root, **{option: "tags"})
    assert str(caught.value) == (
        f"{root}: the {option.replace('_', ' ')} 'tags' names a column of a metadata file, but "
        "there is none "
        "(metadata.jsonl, metadata.csv, metadata.parquet): the captions are files beside the "
        "images; leave the option out")
    assert len(load_target(root)) == 3


def big_photo_jpeg(path) -> None:
    """A 102-megapixel camera's 11648 × 8736 photo (gray, so it stays small while built)."""
    Image.new("L", (11648, 8736), 90).save(path, "JPEG", quality=50)


def test_a_102_megapixel_photo_is_decoded_reduced(tmp_path):
    root = caption_folder(tmp_path / "camera", 3)
    big_photo_jpeg(root / "DSC_0001.jpg")
    (root / "DSC_0001.txt").write_text("a mountain at dawn")
    dataset = load_target(root)
    index = dataset.captions.index("a mountain at dawn")
    assert dataset.original_sizes[index] == (11648, 8736)
    assert dataset.images[index].size == (1024, 768)
    assert dataset.images[index].getpixel((10, 10)) == (90, 90, 90)
    # decoded at 1/8 scale: 1456 × 1092 pixels, so two megapixels are enough
    image, size = decode_image(root / "DSC_0001.jpg", "DSC_0001.jpg", max_pixels=2_000_000)
    assert size == (11648, 8736) and image.size == (1024, 768)


def test_an_over_limit_file_is_skipped_and_counted_not_a_refusal(tmp_path):
    root = caption_folder(tmp_path / "set", 19, ext=".png")
    (root / "scan.png").write_bytes(header_only_png(11648, 8736))
    (root / "scan.txt").write_text("a scan")
    dataset = load_target(root)
    assert len(dataset) == 19 and dataset.skipped == 1
    assert dataset.report.names("too_large") == [
        "scan.png (11648×8736 = 101,756,928 pixels to decode, over max_pixels 100,000,000)"]


def test_max_pixels_is_an_option(tmp_path):
    root = caption_folder(tmp_path / "set", 9, ext=".png")
    solid(99, (40, 40)).save(root / "large.png")
    (root / "large.txt").write_text("large")
    assert len(load_target(root)) == 10
    small = load_target(root, max_pixels=16 * 16)
    assert len(small) == 9 and small.report.names("too_large") == [
        "large.png (40×40 = 1,600 pixels to decode, over max_pixels 256)"]
    with pytest.raises(ConfigError, match="max_pixels must be a positive integer"):
        LoadOptions(max_pixels=0)


def test_refusal_limits_are_documented_in_one_place():
    assert REFUSE_ABOVE == {"unsupported_format": 0.2, "no_caption": 0.2, "empty_caption": 0.5,
                            "no_metadata_row": 0.5, "missing_file": 0.1}


# ---------------------------------------------------------------- the same options everywhere

LOADER_FLAGS = {"--image-column", "--caption-column", "--max-pixels", "--max-unreadable-share"}


def subparser(*words):
    parser = build_parser()
    for word in words:
        action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = action.choices[word]
    return parser


def flags(parser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


@pytest.mark.parametrize("command", [("describe",), ("recommend",), ("probe",), ("profile",),
                                     ("graph", "describe")])
def test_every_command_that_loads_a_target_takes_the_loader_flags(command):
    have = flags(subparser(*command))
    assert LOADER_FLAGS <= have
    if command in (("describe",), ("recommend",), ("graph", "describe")):
        assert {"--split", "--samples", "--seed"} <= have


def test_flags_become_one_load_options():
    parser = subparser("recommend")
    args = parser.parse_args(["--dataset", "x", "--caption-column", "tags", "--split", "test",
                              "--samples", "64", "--seed", "3", "--max-pixels", "5000000",
                              "--max-unreadable-share", "0.25"])
    assert loader_options(args) == LoadOptions(
        split="test", caption_column="tags", max_samples=64, seed=3, max_pixels=5_000_000,
        max_unreadable_share=0.25)
    plain = subparser("describe").parse_args(["x"])
    assert loader_options(plain) == LoadOptions()


def test_a_bad_share_is_a_usage_error(capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="t")
    add_loader_options(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-unreadable-share", "1.5"])
    assert "must be within 0..1, got 1.5" in capsys.readouterr().err


def test_load_options_and_keywords_combine(tmp_path):
    root = caption_folder(tmp_path / "set", 6, ext=".png")
    options = LoadOptions(max_samples=2, seed=5)
    assert len(load_target(root, options)) == 2
    assert len(load_target(root, options, max_samples=4)) == 4
    with pytest.raises(ConfigError, match="options must be a LoadOptions"):
        load_target(root, {"max_samples": 2})


def test_decoding_bytes_reports_truncation_as_unreadable(tmp_path):
    root = caption_folder(tmp_path / "set", 12, ext=".png")
    data = (root / "img_03.png").read_bytes()
    (root / "img_03.png").write_bytes(data[: len(data) // 2])
    dataset = load_target(root)
    assert dataset.report.counts()["unreadable"] == 1 and dataset.skipped == 1
    assert dataset.report.names("unreadable")[0].startswith("img_03.png (")
    with pytest.raises(DatasetLoadError, match="1 of 12 sampled images"):
        load_target(root, max_unreadable_share=0.05)


def test_jpeg_bytes_in_memory_decode_too():
    buffer = io.BytesIO()
    solid(7, (32, 24)).save(buffer, "JPEG", quality=100)
    image, size = decode_image(buffer.getvalue(), "x.jpg")
    assert size == (32, 24) and image.mode == "RGB"


# ---------------------------------------------------------------- shown by describe and recommend


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    from mandc.cli.main import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tags_folder(root):
    """Tag-captioned set: ``image, tags`` header, two images with empty tags, one unlisted."""
    caption_folder(root, 8, ext=".png")
    for txt in root.glob("*.txt"):
        txt.unlink()
    rows = [f'img_{i:02d}.png, "red, {i}"' for i in range(5)] + ["img_05.png,", "img_06.png, "]
    (root / "metadata.csv").write_text("image, label\n" + "\n".join(rows) + "\n")
    return root


def test_describe_shows_the_report_in_text_and_json(capsys, tmp_path):
    from test_cli import tiny_featurizer

    name = tiny_featurizer()
    root = tags_folder(tmp_path / "tags")
    code, _, err = run_cli(capsys, "describe", root, "--featurizer", name)
    assert code == 2 and "name it with --caption-column" in err
    code, out, err = run_cli(capsys, "describe", root, "--featurizer", name, "--caption-column",
                             "label", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["sampled"] == 5 and result["load_report"]["left_out"] == {
        "empty_caption": {"count": 2, "first": ["img_05.png", "img_06.png"],
                          "why": "empty or whitespace-only caption"},
        "no_metadata_row": {"count": 1, "first": ["img_07.png"],
                            "why": "image not listed in the metadata file"}}
    code, out, _ = run_cli(capsys, "describe", root, "--featurizer", name, "--caption-column",
                           "label")
    assert "dataset: 5 images read of 9 files seen (0 not sampled, 1 caption/metadata files)" in out
    assert "  left out 2: empty or whitespace-only caption (first: img_05.png, img_06.png)" in out


def test_recommend_takes_the_loader_flags_and_shows_the_report(capsys, tmp_path):
    import pandas as pd
    from test_cli import tiny_featurizer

    from mandc.features import describe, get_featurizer
    from mandc.graph.matching_graph import MatchingGraph
    from mandc.graph.placement import with_descriptors
    from mandc.graph.store import save_graph

    featurizer = get_featurizer(tiny_featurizer())
    names = ["reds", "greens", "blues"]
    rows = [{"model": m, "dataset": d, "metric": "fid", "value": v + 10 * k,
             "higher_is_better": False}
            for k, d in enumerate(names) for m, v in (("a", 20.0), ("b", 40.0))]
    graph = MatchingGraph(pd.DataFrame({"model": ["a", "b"]}), pd.DataFrame({"dataset": names}),
                          pd.DataFrame(rows))
    descriptors = [describe(load_target(caption_folder(tmp_path / d, 4, ext=".png",
                                                       start=40 * k)), featurizer)
                   for k, d in enumerate(names)]
    save_graph(with_descriptors(graph, descriptors), tmp_path / "g")
    root = tags_folder(tmp_path / "mine")
    code, _, err = run_cli(capsys, "recommend", "--graph", tmp_path / "g", "--dataset", root)
    assert code == 2 and "name it with --caption-column" in err, err
    code, out, err = run_cli(capsys, "recommend", "--graph", tmp_path / "g", "--dataset", root,
                             "--caption-column", "label", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["load_report"]["read"] == 5
    assert result["load_report"]["left_out"]["empty_caption"]["count"] == 2
    code, out, _ = run_cli(capsys, "recommend", "--graph", tmp_path / "g", "--dataset", root,
                           "--caption-column", "label", "--samples", "3", "--seed", "2")
    assert code == 0 and "dataset: 3 images read of 9 files seen (2 not sampled" in out
    assert "left out 1: image not listed in the metadata file (first: img_07.png)" in out


def test_probe_and_profile_read_the_dataset_with_the_options(tmp_path):
    from mandc.profile.probe import probe_sample
    from mandc.profile.runner import _load_splits

    root = tags_folder(tmp_path / "tags")
    options = LoadOptions(caption_column="label")
    with pytest.raises(ValidationError, match="no caption column found"):
        probe_sample(root, 3)
    sample = probe_sample(root, 3, options)
    assert len(sample) == 3 and sample.report.counts()["empty_caption"] == 2
    train, test, heldout = _load_splits(root, 3, 2, options)
    assert (len(train), len(test), heldout) == (3, 2, "train-holdout")
