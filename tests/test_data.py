"""Loading target datasets: every source kind, sampling, image modes and each bad-input message."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from datafactory import (
    caption,
    colour,
    header_only_png,
    index_of,
    png_bytes,
    solid,
    write_caption_folder,
    write_imagefolder,
    write_metadata,
    zip_folder,
)
from PIL import Image

import mandc.data.sampling as sampling_module
import mandc.data.trees as trees_module
from mandc.data import ImageCaptionSet, decode_image, load_target, sample_indices
from mandc.data.images import ImageTooLargeError, UnreadableImageError
from mandc.errors import ConfigError, DatasetLoadError, ValidationError


def assert_pairs_intact(dataset: ImageCaptionSet) -> None:
    """Each image is the colour its caption's index encodes: sampling kept the pairs together."""
    assert len(dataset) == len(dataset.captions) > 0
    for image, text in zip(dataset.images, dataset.captions):
        assert image.mode == "RGB"
        assert image.getpixel((0, 0)) == colour(index_of(text))


# ---------------------------------------------------------------- source kinds


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_imagefolder_metadata(tmp_path, fmt):
    root = write_imagefolder(tmp_path / "set", 12, fmt=fmt, subdir="images")
    dataset = load_target(root)
    assert dataset.name == "set" and dataset.source == str(root)
    assert dataset.total == 12 and dataset.skipped == 0 and len(dataset) == 12
    assert dataset.captions == [caption(i) for i in range(12)]
    assert_pairs_intact(dataset)


def test_split_folders_pick_the_split(tmp_path):
    write_imagefolder(tmp_path / "zoo" / "train", 10)
    test_dir = tmp_path / "zoo" / "test"
    test_dir.mkdir(parents=True)
    for i in (100, 101, 102):
        solid(i).save(test_dir / f"t{i}.png")
    rows = [{"file_name": f"t{i}.png", "text": caption(i)} for i in (100, 101, 102)]
    write_metadata(test_dir, rows)
    assert load_target(tmp_path / "zoo").total == 10
    assert load_target(tmp_path / "zoo", split="TRAIN").total == 10  # as on case-blind disks
    test = load_target(tmp_path / "zoo", split="test")
    assert test.captions == [caption(i) for i in (100, 101, 102)]
    assert_pairs_intact(test)
    with pytest.raises(ValidationError,
                       match=r"no split 'validation'; split folders are: test, train"):
        load_target(tmp_path / "zoo", split="validation")


def test_root_metadata_describing_split_folders(tmp_path):
    root = tmp_path / "set"
    rows = []
    for split, indices in (("train", range(4)), ("test", range(4, 6))):
        (root / split).mkdir(parents=True)
        for i in indices:
            solid(i).save(root / split / f"{i}.png")
            rows.append({"file_name": f"{split}/{i}.png", "caption": caption(i)})
    write_metadata(root, rows)
    assert load_target(root, split="test").captions == [caption(4), caption(5)]


def test_folder_without_splits_has_only_train(tmp_path):
    root = write_caption_folder(tmp_path / "set", 3)
    with pytest.raises(ValidationError, match="only split is 'train'"):
        load_target(root, split="test")


def test_caption_files_beside_images_nested(tmp_path):
    root = write_caption_folder(tmp_path / "pets", 9, nested=True)
    dataset = load_target(str(root))
    assert dataset.total == 9 and len(dataset) == 9
    assert sorted(dataset.captions, key=index_of) == [caption(i) for i in range(9)]
    assert_pairs_intact(dataset)  # the trailing newline of each .txt is not part of the caption


def test_dot_caption_files(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    solid(5).save(root / "a.jpg.png")
    (root / "a.jpg.caption").write_text(caption(5))
    assert load_target(root).captions == [caption(5)]


@pytest.mark.parametrize("wrap", [None, "my_set"])
def test_zip_of_imagefolder(tmp_path, wrap):
    archive = zip_folder(write_imagefolder(tmp_path / "set", 6), tmp_path / "set.zip", wrap=wrap)
    dataset = load_target(archive)
    assert dataset.name == "set.zip" and dataset.total == 6
    assert_pairs_intact(dataset)


def test_zip_of_caption_files_with_splits(tmp_path):
    folder = tmp_path / "set"
    write_caption_folder(folder / "train", 5)
    write_caption_folder(folder / "test", 2)
    archive = zip_folder(folder, tmp_path / "set.zip")
    assert load_target(archive, split="test").total == 2
    assert load_target(archive).total == 5


def test_uploaded_images_with_txt_and_with_metadata(tmp_path):
    root = write_caption_folder(tmp_path / "up", 4)
    dataset = load_target(sorted(str(p) for p in root.iterdir()))
    assert dataset.name == "upload" and dataset.total == 4
    assert_pairs_intact(dataset)
    # metadata may keep the folder it was written in; the upload only keeps base names
    meta_root = write_imagefolder(tmp_path / "meta", 3, subdir="images")
    uploads = [*sorted((meta_root / "images").iterdir()), meta_root / "metadata.jsonl"]
    assert load_target(uploads).captions == [caption(i) for i in range(3)]


def test_upload_of_one_zip_or_objects_with_a_path(tmp_path):
    archive = zip_folder(write_caption_folder(tmp_path / "set", 3), tmp_path / "set.zip")

    class GradioFile:  # what gradio hands over: an object with .path
        def __init__(self, path):
            self.path = str(path)

    assert load_target([GradioFile(archive)]).total == 3
    with pytest.raises(ValidationError, match="not a mix"):
        load_target([archive, tmp_path / "set" / "img_0000.png"])
    with pytest.raises(ValidationError, match="nothing was uploaded"):
        load_target([])


# ---------------------------------------------------------------- columns


def test_caption_column_found_by_name_and_overridden(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    rows = []
    for i in range(3):
        solid(i).save(root / f"{i}.png")
        rows.append({"file_name": f"{i}.png", "Prompt": caption(i), "alt": f"other {i}"})
    write_metadata(root, rows)
    assert load_target(root).captions == [caption(i) for i in range(3)]
    assert load_target(root, caption_column="alt").captions == [f"other {i}" for i in range(3)]
    with pytest.raises(ValidationError, match=r"no caption column 'label'; columns are: "
                                              r"'file_name', 'Prompt', 'alt'"):
        load_target(root, caption_column="label")


def test_image_column_override(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    rows = []
    for i in range(2):
        solid(i).save(root / f"{i}.png")
        rows.append({"picture_file": f"{i}.png", "text": caption(i)})
    write_metadata(root, rows)
    with pytest.raises(ValidationError, match="no image column found.*'picture_file'"):
        load_target(root)
    assert_pairs_intact(load_target(root, image_column="picture_file"))


def test_no_caption_column_lists_columns(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    solid(0).save(root / "0.png")
    write_metadata(root, [{"file_name": "0.png", "label": 3}])
    with pytest.raises(ValidationError, match=r"metadata.jsonl: no caption column found .*"
                                              r"columns are: 'file_name', 'label'"):
        load_target(root)


def test_list_captions_take_the_first_and_numbers_are_refused(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    solid(0).save(root / "0.png")
    write_metadata(root, [{"file_name": "0.png", "captions": [caption(0), "second"]}])
    assert load_target(root).captions == [caption(0)]
    write_metadata(root, [{"file_name": "0.png", "text": 7}])
    with pytest.raises(ValidationError, match="row 1, column 'text': caption is a int"):
        load_target(root)


# ---------------------------------------------------------------- sampling


def test_seeded_sampling(tmp_path):
    root = write_imagefolder(tmp_path / "set", 40)
    first = load_target(root, max_samples=10, seed=1)
    again = load_target(root, max_samples=10, seed=1)
    other = load_target(root, max_samples=10, seed=2)
    assert len(first) == 10 and first.total == 40
    assert first.captions == again.captions and first.fingerprint() == again.fingerprint()
    assert first.captions != other.captions and first.fingerprint() != other.fingerprint()
    indices = [index_of(c) for c in first.captions]
    assert indices == sorted(indices) and len(set(indices)) == 10  # dataset order, no repeats
    assert_pairs_intact(first)
    assert len(load_target(root, max_samples=100)) == 40


def test_sampling_opens_only_the_sampled_images(tmp_path, monkeypatch):
    root = write_caption_folder(tmp_path / "set", 30)
    opened = []
    real = sampling_module.decode_image

    def counting(data, name, **kwargs):
        opened.append(name)
        return real(data, name, **kwargs)

    monkeypatch.setattr(sampling_module, "decode_image", counting)
    load_target(root, max_samples=5)
    assert len(opened) == 5


def test_sample_indices_bounds():
    assert sample_indices(3, 10, 0) == [0, 1, 2]
    chosen = sample_indices(1000, 50, 7)
    assert len(chosen) == 50 == len(set(chosen)) and max(chosen) < 1000
    assert chosen == sample_indices(1000, 50, 7) != sample_indices(1000, 50, 8)


@pytest.mark.parametrize("kwargs", [{"max_samples": 0}, {"max_unreadable_share": 1.5},
                                    {"max_pixels": 0}, {"split": ""}])
def test_bad_settings(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        load_target(write_caption_folder(tmp_path / "set", 2), **kwargs)


# ---------------------------------------------------------------- image modes


def decode(image: Image.Image, **save) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format=save.pop("format", "PNG"), **save)
    return decode_image(buffer.getvalue(), "x")[0]


def test_16bit_gray_is_scaled_not_clipped():
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    rgb = decode(image)
    assert rgb.mode == "RGB"
    assert [rgb.getpixel((x, 0)) for x in range(4)] == [(0,) * 3, (1,) * 3, (128,) * 3, (255,) * 3]
    as_int32 = decode(Image.fromarray(values.astype(np.int32)), format="TIFF")
    assert as_int32.getpixel((3, 0)) == (255, 255, 255)
    with pytest.raises(UnreadableImageError, match="outside 16-bit"):
        decode(Image.fromarray(np.array([[70000]], dtype=np.int32)), format="TIFF")


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    rgba.putpixel((1, 0), (255, 0, 0, 128))
    rgb = decode(rgba)
    assert rgb.getpixel((0, 0)) == (255, 255, 255)  # transparent → white, not black or red
    assert rgb.getpixel((1, 0)) == (255, 127, 127)
    assert decode(Image.new("LA", (1, 1), (0, 0))).getpixel((0, 0)) == (255, 255, 255)


def test_palette_gray_bilevel_cmyk_and_float():
    palette = Image.new("P", (2, 1), 0)
    palette.putpalette([10, 20, 30, 40, 50, 60])
    palette.putpixel((1, 0), 1)
    assert decode(palette).getpixel((1, 0)) == (40, 50, 60)
    assert decode(palette, transparency=0).getpixel((0, 0)) == (255, 255, 255)
    assert decode(Image.new("L", (1, 1), 77)).getpixel((0, 0)) == (77, 77, 77)
    assert decode(Image.new("1", (1, 1), 1)).getpixel((0, 0)) == (255, 255, 255)
    cyan = decode(Image.new("CMYK", (1, 1), (255, 0, 0, 0)), format="TIFF")
    assert cyan.getpixel((0, 0)) == (0, 255, 255)
    half = decode(Image.fromarray(np.array([[0.5, 1.0]], dtype=np.float32)), format="TIFF")
    assert [half.getpixel((x, 0)) for x in range(2)] == [(128,) * 3, (255,) * 3]


def test_exif_orientation_applied():
    image = Image.new("RGB", (40, 20), (200, 0, 0))
    image.paste((0, 0, 200), (0, 0, 4, 4))  # mark the top-left corner blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)
    upright, size = decode_image(buffer.getvalue(), "rotated.jpg")
    assert upright.size == (20, 40) and size == (20, 40)
    red, _, blue = upright.getpixel((18, 1))  # the corner now sits at the top right
    assert blue > 150 and red < 80


def test_large_images_are_downscaled_and_size_recorded(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    Image.new("RGB", (2000, 400), (9, 9, 9)).save(root / "wide.png")
    (root / "wide.txt").write_text("a wide image")
    dataset = load_target(root)
    assert dataset.images[0].size == (1024, 205) and dataset.original_sizes == [(2000, 400)]
    assert "downscaled 1 image(s)" in dataset.notes[0]


# ---------------------------------------------------------------- unreadable files and bombs


def write_broken(path, i: int) -> None:
    data = png_bytes(Image.fromarray(np.random.default_rng(i).integers(0, 255, (32, 32, 3),
                                                                        dtype=np.uint8)))
    path.write_bytes(data[: len(data) // 2])


def test_truncated_file_skipped_and_counted(tmp_path):
    root = write_caption_folder(tmp_path / "set", 20)
    write_broken(root / "img_0003.png", 3)
    dataset = load_target(root)
    assert dataset.skipped == 1 and len(dataset) == 19 and dataset.total == 20
    assert caption(3) not in dataset.captions
    assert any("img_0003.png" in note for note in dataset.notes)
    assert_pairs_intact(dataset)


def test_too_many_unreadable_is_an_error(tmp_path):
    root = write_caption_folder(tmp_path / "set", 10)
    for i in (1, 4, 7):
        write_broken(root / f"img_{i:04d}.png", i)
    with pytest.raises(DatasetLoadError, match=r"3 of 10 sampled images \(30%\) could not be read"):
        load_target(root)
    assert load_target(root, max_unreadable_share=0.5).skipped == 3


def test_every_image_unreadable(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    (root / "a.png").write_bytes(b"not a png")
    (root / "a.txt").write_text("a")
    with pytest.raises(DatasetLoadError, match="none of the 1 sampled images could be read"):
        load_target(root)


def test_missing_file_listed_in_metadata_is_skipped(tmp_path):
    root = write_imagefolder(tmp_path / "set", 20)
    (root / "img_0005.png").unlink()
    dataset = load_target(root)
    assert dataset.skipped == 0 and len(dataset) == 19
    assert dataset.report.counts()["missing_file"] == 1
    assert dataset.notes[0] == ("left out 1: listed in the metadata, but no such file "
                                "(first: img_0005.png)")


def test_too_large_image_is_reported_against_the_skip_budget(tmp_path):
    root = write_caption_folder(tmp_path / "set", 3)
    (root / "img_0001.png").write_bytes(header_only_png(12_000, 10_000))
    with pytest.raises(DatasetLoadError, match=r"1 of 3 sampled images \(33%\) could not be read"
                                               r".*img_0001.png \(12000×10000 = 120,000,000 "
                                               r"pixels to decode, over max_pixels 100,000,000\)"):
        load_target(root)
    dataset = load_target(root, max_unreadable_share=0.5)
    assert len(dataset) == 2 and dataset.skipped == 1
    assert dataset.report.counts()["too_large"] == 1
    with pytest.raises(DatasetLoadError, match="none of the 3 sampled images could be read"
                                               ".*8×8 = 64 pixels to decode, over max_pixels 50"):
        load_target(write_caption_folder(tmp_path / "small", 3), max_pixels=50)
    with pytest.raises(ImageTooLargeError, match="bomb.png: refused as a decompression bomb"):
        decode_image(header_only_png(20_000, 20_000), "bomb.png", max_pixels=10**9)


# ---------------------------------------------------------------- bad input, one message each


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no images: it holds no files"):
        load_target(tmp_path / "empty")


def test_non_image_files_only(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "notes.pdf").write_bytes(b"%PDF")
    (root / "a.docx").write_bytes(b"PK")
    (root / ".DS_Store").write_bytes(b"x")
    with pytest.raises(ValidationError, match=r"no images: 2 files \(1 .docx, 1 .pdf\) but none "
                                              r"with an image extension"):
        load_target(root)


def test_images_without_captions(tmp_path):
    root = tmp_path / "set"
    root.mkdir()
    for i in range(3):
        solid(i).save(root / f"{i}.png")
    with pytest.raises(ValidationError, match="no captions: none of the 3 images has a .txt"):
        load_target(root)
    (root / "0.txt").write_text("one")
    with pytest.raises(ValidationError, match=r"2 of 3 images \(67%\) are left out: no caption "
                                              r".*first: 1.png, 2.png"):
        load_target(root)


def test_empty_captions_everywhere(tmp_path):
    root = write_caption_folder(tmp_path / "set", 3)
    for txt in root.glob("*.txt"):
        txt.write_text("  \n")
    with pytest.raises(ValidationError, match=r"3 of 3 images \(all\) are left out: empty"):
        load_target(root)
    meta = write_imagefolder(tmp_path / "meta", 3)
    write_metadata(meta, [{"file_name": f"img_{i:04d}.png", "text": ""} for i in range(3)])
    with pytest.raises(ValidationError, match=r"3 of 3 images \(all\) are left out: empty "
                                              r"or whitespace-only caption \(first: img_0000.png"):
        load_target(meta)


def test_two_metadata_files_and_broken_json(tmp_path):
    root = write_imagefolder(tmp_path / "set", 2)
    write_metadata(root, [{"file_name": "img_0000.png", "text": "x"}], fmt="csv")
    with pytest.raises(ValidationError, match="both metadata.jsonl and metadata.csv"):
        load_target(root)
    (root / "metadata.csv").unlink()
    (root / "metadata.jsonl").write_text(json.dumps({"file_name": "img_0000.png"}) + "\n{oops\n")
    with pytest.raises(ValidationError, match="metadata.jsonl: line 2: invalid JSON"):
        load_target(root)


def test_missing_path_single_file_and_bad_zip(tmp_path):
    with pytest.raises(DatasetLoadError, match="no such folder or file: './nowhere'"):
        load_target("./nowhere")
    solid(0).save(tmp_path / "one.png")
    with pytest.raises(DatasetLoadError, match="a single file is not a dataset"):
        load_target(tmp_path / "one.png")
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(DatasetLoadError, match="broken.zip: not a readable zip archive"):
        load_target(tmp_path / "broken.zip")


@pytest.mark.parametrize("entry", ["../evil.png", "/etc/evil.png", "a/../../evil.png",
                                   "C:/evil.png", "..\\evil.png"])
def test_zip_slip_refused(tmp_path, entry):
    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.png", png_bytes(solid(0)))
        zf.writestr("ok.txt", "fine")
        zf.writestr(entry, png_bytes(solid(1)))
    with pytest.raises(ValidationError, match="points outside the archive's folder"):
        load_target(archive)


def test_zip_bomb_bounded(tmp_path, monkeypatch):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", b"\0" * 200_000)
        zf.writestr("a.txt", "caption")
    monkeypatch.setattr(trees_module, "MAX_ENTRY_BYTES", 100_000)
    with pytest.raises(ValidationError, match="a.png: entry inflates beyond 100,000 bytes"):
        load_target(archive)


def test_huge_caption_refused_without_inflating_it(tmp_path):
    """Captions are all read and kept before sampling: a compressed 16 MB caption must stop the
    load after at most 64 KiB + 1 byte of it, naming the file."""
    archive = tmp_path / "captions.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"{i}.png", png_bytes(solid(i)))
            zf.writestr(f"{i}.txt", "a red square")
        zf.writestr("3.png", png_bytes(solid(3)))
        zf.writestr("3.txt", b"a" * 16 * 2**20)
    assert archive.stat().st_size < 100_000
    tree = trees_module.ZipTree(archive)
    with pytest.raises(ValidationError, match=r"captions.zip:3.txt.*longer than 65,536 bytes"):
        tree.read_bytes("3.txt", trees_module.MAX_CAPTION_BYTES)
    assert tree._inflated == 0  # refused before it counted as read
    with pytest.raises(ValidationError, match=r"3.txt.*too long for a caption file"):
        load_target(archive)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes(solid(0)))
    (folder / "a.txt").write_text("x" * (trees_module.MAX_CAPTION_BYTES + 1))
    with pytest.raises(ValidationError, match=r"a.txt.*too long for a caption file"):
        load_target(folder)
    (folder / "a.txt").write_text("x" * trees_module.MAX_CAPTION_BYTES)  # at the bound: read
    assert len(load_target(folder).captions[0]) == trees_module.MAX_CAPTION_BYTES


def test_captions_of_unsampled_images_are_not_kept(tmp_path):
    """Every caption is read before sampling, but only the sampled ones may stay in memory: kept,
    65,536 captions of 64 KiB from a 23 MB zip would hold 4 GiB. 300 of them are 19 MiB."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(300):
            zf.writestr(f"{i:03d}.png", png_bytes(solid(i % 5)))
            zf.writestr(f"{i:03d}.txt", f"{i:03d}" + "a" * (trees_module.MAX_CAPTION_BYTES - 3))
    tracemalloc.start()
    try:
        loaded = load_target(archive, max_samples=4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(loaded) == 4
    assert all(len(c) == trees_module.MAX_CAPTION_BYTES for c in loaded.captions)
    read = sorted(f for f, outcome in loaded.report.outcomes.items() if outcome == "read")
    assert sorted(f"{c[:3]}.png" for c in loaded.captions) == read  # each image its own caption
    assert peak < 300 * trees_module.MAX_CAPTION_BYTES / 4  # 19 MiB kept before; 1.6 MiB now


# ---------------------------------------------------------------- Hub


def test_hub_id_offline_is_a_clear_error():
    with pytest.raises(DatasetLoadError, match=r"cannot reach the Hugging Face Hub for dataset "
                                               r"'someone/pets' \(HF_HUB_OFFLINE=1 is set\)"):
        load_target("someone/pets")


@pytest.mark.parametrize("message, expected", [
    ("Dataset 'o/x' is a gated dataset on the Hub.", "'o/x' is a gated dataset"),
    ("Dataset 'o/x' doesn't exist on the Hub or cannot be accessed.",
     "no dataset 'o/x' on the Hub"),
])
def test_hub_not_found_and_gated(monkeypatch, message, expected):
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    def refuse(*args, **kwargs):
        raise DatasetNotFoundError(message)

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(DatasetLoadError, match=expected):
        load_target("o/x")


def fake_hub_dataset(n: int, *, broken: int | None = None):
    import datasets

    features = datasets.Features({"image": datasets.Image(), "caption": datasets.Value("string"),
                                  "id": datasets.Value("int32")})
    images = [{"bytes": b"garbage" if i == broken else png_bytes(solid(i)), "path": None}
              for i in range(n)]
    return datasets.Dataset.from_dict(
        {"image": images, "caption": [caption(i) for i in range(n)], "id": list(range(n))},
        features=features)


@pytest.mark.parametrize("streaming", [True, False])
def test_hub_dataset_sampled(monkeypatch, streaming):
    import datasets

    calls = []

    def fake_load(repo_id, *, split, streaming):
        calls.append((repo_id, split, streaming))
        table = fake_hub_dataset(30, broken=4)
        return table.to_iterable_dataset(num_shards=3) if streaming else table

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    dataset = load_target("owner/pets", max_samples=20, streaming=streaming, seed=3,
                          max_unreadable_share=0.2)
    assert calls == [("owner/pets", "train", streaming)]
    assert dataset.name == "owner/pets" and len(dataset) + dataset.skipped == 20
    assert_pairs_intact(dataset)
    assert dataset.total == (None if streaming else 30)
    if streaming:
        assert any("seeded shuffle" in note for note in dataset.notes)
    again = load_target("owner/pets", max_samples=20, streaming=streaming, seed=3,
                        max_unreadable_share=0.2)
    assert again.fingerprint() == dataset.fingerprint()


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_is_content_sensitive(tmp_path):
    root = write_caption_folder(tmp_path / "set", 4)
    base = load_target(root)
    assert base.fingerprint() == load_target(root).fingerprint()
    assert len(base.fingerprint()) == 64
    (root / "img_0002.txt").write_text("a different caption")
    assert load_target(root).fingerprint() != base.fingerprint()
    write_caption_folder(root, 4)
    image = solid(1)
    image.putpixel((3, 3), (1, 2, 3))
    image.save(root / "img_0001.png")
    assert load_target(root).fingerprint() != base.fingerprint()
    swapped = ImageCaptionSet("s", "s", base.images, base.captions[::-1], 4, 0)
    assert swapped.fingerprint() != base.fingerprint()


def test_hub_stream_without_declared_features(monkeypatch):
    import datasets

    def rows(kind):
        for i in range(5):
            yield {"jpg": png_bytes(solid(i)) if kind == "bytes" else f"http://x/{i}.png",
                   "txt": caption(i)}

    def fake_load(repo_id, *, split, streaming):
        return datasets.IterableDataset.from_generator(rows, gen_kwargs={"kind": repo_id[2:]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    dataset = load_target("o/bytes")
    assert sorted(dataset.captions) == [caption(i) for i in range(5)]  # in seeded shuffle order
    assert_pairs_intact(dataset)
    with pytest.raises(ValidationError, match="column 'jpg': holds str values, not images"):
        load_target("o/urls")
