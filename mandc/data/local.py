"""Image–caption sets held locally: the ``imagefolder`` convention or images with ``.txt`` captions.

Layouts (the same for a folder, a zip or uploaded files):

- ``imagefolder`` (as in Hugging Face ``datasets``): a ``metadata.jsonl``, ``metadata.csv`` or
  ``metadata.parquet`` whose ``file_name`` column names each image relative to it, and a caption
  column (``text``, ``caption``...).
- captions beside images: ``cat.png`` with ``cat.txt`` (or ``cat.caption``, as kohya-style
  trainers write) holding its caption, in any subfolder.
- either one inside ``train/``, ``test/``... split folders; ``split`` picks the folder.

Files are listed first and only the sampled ones are opened, so the cost does not grow with the
dataset beyond listing names. Read directly rather than through the ``imagefolder`` builder,
which decodes or copies every file into an Arrow cache before one can be sampled.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter

import pandas as pd

from ..errors import DatasetLoadError, ValidationError
from .columns import CAPTION_COLUMN_NAMES, IMAGE_COLUMN_NAMES, caption_text, pick_column
from .images import IMAGE_EXTENSIONS, UnreadableImageError, is_image_name
from .imageset import ImageCaptionSet
from .sampling import SampleCollector, SampleOptions, sample_indices
from .trees import FileTree

SPLIT_NAMES = frozenset({"train", "test", "validation", "valid", "val", "dev", "eval"})
"""Top-level folder names read as splits, as the ``imagefolder`` builder does."""

METADATA_NAMES = ("metadata.jsonl", "metadata.csv", "metadata.parquet")

CAPTION_EXTENSIONS = (".txt", ".caption")
"""Caption files beside an image, tried in this order."""


def load_tree(tree: FileTree, options: SampleOptions, *, name: str, source: str) -> ImageCaptionSet:
    """Sample an image–caption set from ``tree`` (a folder, zip or upload) per ``options``."""
    paths = tree.paths()
    if not paths:
        raise ValidationError("no images: it holds no files", file=tree.label)
    prefix, split_folders = _split_prefix(paths, options.split, tree.label)
    inside = [p[len(prefix):] for p in paths if p.startswith(prefix)]
    metadata = [m for m in METADATA_NAMES if m in inside]
    if len(metadata) > 1:
        raise ValidationError(
            f"both {' and '.join(metadata)} describe the same images; keep one",
            file=tree.display(prefix.rstrip("/")) if prefix else tree.label)
    collector = SampleCollector(name=name, source=source, options=options)
    known = set(paths)
    if metadata:
        return _load_metadata(tree, prefix + metadata[0], prefix, "", known, options, collector)
    root_metadata = [m for m in METADATA_NAMES if m in paths] if split_folders else []
    if len(root_metadata) == 1:  # one metadata file at the top describing every split
        return _load_metadata(tree, root_metadata[0], "", prefix, known, options, collector)
    return _load_caption_files(tree, prefix, inside, options, collector)


def _split_prefix(paths: list[str], split: str, label: str) -> tuple[str, list[str]]:
    """``("train/", [...])`` when the tree has split folders, else ``("", [])``."""
    tops = sorted({p.split("/", 1)[0] for p in paths if "/" in p})
    splits = [t for t in tops if t.lower() in SPLIT_NAMES]
    if not splits:
        if split.lower() != "train":
            raise ValidationError(
                f"no split folders (train/, test/...), so its only split is 'train'; "
                f"split={split!r} does not exist", file=label)
        return "", []
    matching = [t for t in splits if t.lower() == split.lower()]
    if not matching:
        raise ValidationError(
            f"no split {split!r}; split folders are: {', '.join(splits)}", file=label)
    return matching[0] + "/", splits


def _load_metadata(tree: FileTree, metadata_path: str, base: str, row_prefix: str,
                   known: set[str], options: SampleOptions,
                   collector: SampleCollector) -> ImageCaptionSet:
    """``base``: folder file names are relative to; ``row_prefix``: keep rows under this folder."""
    where = tree.display(metadata_path)
    columns, rows = _read_table(tree, metadata_path, where)
    image_column = pick_column(columns, kind="image", given=options.image_column,
                               candidates=("file_name", *IMAGE_COLUMN_NAMES), where=where)
    caption_column = pick_column(columns, kind="caption", given=options.caption_column,
                                 candidates=CAPTION_COLUMN_NAMES, where=where)
    if image_column == caption_column:
        raise ValidationError(f"column {image_column!r} cannot be both the image and the caption",
                              file=where)
    numbered = list(enumerate(rows, start=1))
    if row_prefix:
        numbered = [(n, r) for n, r in numbered
                    if str(r.get(image_column, "")).replace("\\", "/").startswith(row_prefix)]
    if not numbered:
        raise ValidationError("no images: the metadata lists no rows" +
                              (f" under {row_prefix}" if row_prefix else ""), file=where)
    captions = [caption_text(row.get(caption_column), where=where, row=n, column=caption_column)
                for n, row in numbered]
    if not any(c.strip() for c in captions):
        raise ValidationError(f"every caption is empty ({len(captions)} rows)", file=where,
                              column=caption_column)
    for index in sample_indices(len(numbered), options.max_samples, options.seed):
        row_number, row = numbered[index]
        file_name = row.get(image_column)
        if not isinstance(file_name, str) or not file_name.strip():
            raise ValidationError("expected a file name relative to the metadata file",
                                  file=where, row=row_number, column=image_column)
        found = tree.resolve(base + file_name, known)
        if found is None:
            collector.skip(f"{tree.display(base + file_name)}: listed in metadata but missing")
            continue
        _add_file(tree, found, captions[index], collector)
    return collector.finish(len(numbered), caption_where=where)


def _read_table(tree: FileTree, path: str, where: str) -> tuple[list[str], list[dict]]:
    data = _read_small_file(tree, path)
    if path.endswith(".jsonl"):
        return _read_jsonl(data, where)
    try:
        if path.endswith(".csv"):
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(io.BytesIO(data))
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise ValidationError(f"cannot be read as a table ({error})", file=where) from None
    return [str(c) for c in frame.columns], frame.to_dict(orient="records")


def _read_jsonl(data: bytes, where: str) -> tuple[list[str], list[dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(f"not UTF-8 text ({error})", file=where) from None
    columns: dict[str, None] = {}
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValidationError(f"invalid JSON ({error.msg})", file=where, row=number) from None
        if not isinstance(row, dict):
            raise ValidationError("each line must be a JSON object", file=where, row=number)
        columns.update(dict.fromkeys(row))
        rows.append(row)
    return list(columns), rows


def _load_caption_files(tree: FileTree, prefix: str, inside: list[str], options: SampleOptions,
                        collector: SampleCollector) -> ImageCaptionSet:
    """Images with a same-named ``.txt`` beside each one."""
    label = tree.display(prefix.rstrip("/")) if prefix else tree.label
    images = [p for p in inside if is_image_name(p)]
    if not images:
        kinds = Counter(os.path.splitext(p)[1].lower() or "(no extension)" for p in inside)
        found = ", ".join(f"{n} {ext}" for ext, n in kinds.most_common(5))
        raise ValidationError(
            f"no images: {len(inside)} files ({found}) but none with an image extension "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))})", file=label)
    names = set(inside)
    caption_files = {p: _caption_file(p, names) for p in images}
    missing = [p for p, found in caption_files.items() if found is None]
    if len(missing) == len(images):
        raise ValidationError(
            f"no captions: none of the {len(images)} images has a .txt caption beside it "
            f"(e.g. {os.path.splitext(images[0])[0]}.txt), and there is no "
            f"{', '.join(METADATA_NAMES)}", file=label)
    if missing:
        raise ValidationError(
            f"{len(missing)} of {len(images)} images have no .txt caption beside them "
            f"(first: {', '.join(missing[:3])}); add them or list captions in a metadata.jsonl",
            file=label)
    for index in sample_indices(len(images), options.max_samples, options.seed):
        image = prefix + images[index]
        caption_path = prefix + caption_files[images[index]]
        try:
            caption = _read_small_file(tree, caption_path).decode("utf-8-sig").strip()
        except UnicodeDecodeError as error:
            raise ValidationError(f"caption is not UTF-8 text ({error})",
                                  file=tree.display(caption_path)) from None
        _add_file(tree, image, caption, collector)
    return collector.finish(len(images), caption_where=label)


def _caption_file(image: str, names: set[str]) -> str | None:
    stem = os.path.splitext(image)[0]
    return next((stem + ext for ext in CAPTION_EXTENSIONS if stem + ext in names), None)


def _read_small_file(tree: FileTree, relative: str) -> bytes:
    """A metadata or caption file; unlike an image, one that cannot be read stops the load."""
    try:
        return tree.read_bytes(relative)
    except (UnreadableImageError, OSError) as error:
        raise DatasetLoadError(f"cannot read {tree.display(relative)}: {error}") from None


def _add_file(tree: FileTree, relative: str, caption: str, collector: SampleCollector) -> None:
    try:
        data = tree.image_source(relative)
    except (UnreadableImageError, OSError) as error:
        collector.skip(f"{tree.display(relative)}: {error}")
        return
    collector.add(data, caption, tree.display(relative))
