"""Image–caption sets held locally: the ``imagefolder`` convention or images with ``.txt`` captions.

Layouts (the same for a folder, a zip or uploaded files):

- ``imagefolder`` (as in Hugging Face ``datasets``): a ``metadata.jsonl``, ``metadata.csv`` or
  ``metadata.parquet`` whose ``file_name`` column names each image relative to it, and a caption
  column (``text``, ``caption``...).
- captions beside images: ``cat.png`` with ``cat.txt`` (or ``cat.caption``, as kohya-style
  trainers write) holding its caption, in any subfolder.
- either one inside ``train/``, ``test/``... split folders; ``split`` picks the folder.

Files are listed first and only the sampled images are opened (caption files are small and all
read, so that empty captions are counted exactly), so the cost does not grow with the dataset
beyond listing names. Read directly rather than through the ``imagefolder`` builder, which
decodes or copies every file into an Arrow cache before one can be sampled.

Every file of the split ends in one outcome of the :class:`~mandc.data.report.LoadReport`: read,
not sampled, a caption or metadata file (companion), or left out with its reason.
"""

from __future__ import annotations

import os
from collections import Counter

from ..errors import DatasetLoadError, ValidationError
from .columns import CAPTION_COLUMN_NAMES, IMAGE_COLUMN_NAMES, caption_text, pick_column
from .images import (
    IMAGE_EXTENSIONS,
    UnreadableImageError,
    is_image_name,
    is_unsupported_image_name,
)
from .imageset import ImageCaptionSet
from .options import LoadOptions
from .report import COMPANION, NOT_SAMPLED
from .sampling import SampleCollector, sample_indices
from .tables import decode_utf8, read_table
from .trees import MAX_CAPTION_BYTES, FileTree

SPLIT_NAMES = frozenset({"train", "test", "validation", "valid", "val", "dev", "eval"})
"""Top-level folder names read as splits, as the ``imagefolder`` builder does."""

METADATA_NAMES = ("metadata.jsonl", "metadata.csv", "metadata.parquet")

CAPTION_EXTENSIONS = (".txt", ".caption")
"""Caption files beside an image, tried in this order."""


def load_tree(tree: FileTree, options: LoadOptions, *, name: str, source: str) -> ImageCaptionSet:
    """Sample an image–caption set from ``tree`` (a folder, zip or upload) per ``options``."""
    paths = tree.paths()
    if not paths:
        raise ValidationError("no images: it holds no files", file=tree.label)
    prefix, split_folders = _split_prefix(paths, options.split, tree.label)
    inside = [p[len(prefix):] for p in paths if p.startswith(prefix)]
    metadata = [m for m in METADATA_NAMES if m in inside]
    label = tree.display(prefix.rstrip("/")) if prefix else tree.label
    if len(metadata) > 1:
        raise ValidationError(
            f"both {' and '.join(metadata)} describe the same images; keep one", file=label)
    collector = SampleCollector(name=name, source=source, options=options)
    known = set(paths)
    files = [prefix + p for p in inside]
    if metadata:
        return _load_metadata(tree, prefix + metadata[0], prefix, "", files, known, options,
                              collector)
    root_metadata = [m for m in METADATA_NAMES if m in paths] if split_folders else []
    if len(root_metadata) == 1:  # one metadata file at the top describing every split
        return _load_metadata(tree, root_metadata[0], "", prefix, [root_metadata[0], *files],
                              known, options, collector)
    for option in ("caption_column", "image_column"):  # it would have no effect: say so
        if getattr(options, option):
            raise ValidationError(
                f"the {option.replace('_', ' ')} {getattr(options, option)!r} names a column "
                f"of a metadata file, but there is none ({', '.join(METADATA_NAMES)}): the "
                "captions are files beside the images; leave the option out", file=label)
    return _load_caption_files(tree, prefix, inside, label, options, collector)


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
                   files: list[str], known: set[str], options: LoadOptions,
                   collector: SampleCollector) -> ImageCaptionSet:
    """``base``: folder file names are relative to; ``row_prefix``: keep rows under this folder;
    ``files``: the tree paths of the split, each of which gets an outcome."""
    where = tree.display(metadata_path)
    columns, rows = read_table(_read_small_file(tree, metadata_path), metadata_path, where)
    image_column = pick_column(columns, kind="image", given=options.image_column,
                               candidates=("file_name", *IMAGE_COLUMN_NAMES), where=where)
    caption_column = pick_column(columns, kind="caption", given=options.caption_column,
                                 candidates=CAPTION_COLUMN_NAMES, where=where)
    if image_column == caption_column:
        raise ValidationError(f"column {image_column!r} cannot be both the image and the caption",
                              file=where)
    if row_prefix:
        rows = [(n, r) for n, r in rows
                if str(r.get(image_column, "")).replace("\\", "/").startswith(row_prefix)]
    if not rows:
        raise ValidationError("no images: the metadata lists no rows" +
                              (f" under {row_prefix}" if row_prefix else ""), file=where)
    report = collector.report
    report.mark(metadata_path, COMPANION)
    eligible: list[tuple[str, str]] = []  # (tree path, caption)
    for row_number, row in rows:
        file_name = row.get(image_column)
        if not isinstance(file_name, str) or not file_name.strip():
            raise ValidationError("expected a file name relative to the metadata file",
                                  file=where, row=row_number, column=image_column)
        caption = caption_text(row.get(caption_column), where=where, row=row_number,
                               column=caption_column)
        found = tree.resolve(base + file_name.strip(), known)
        key = found if found is not None else base + file_name.strip()
        if key in report.outcomes:  # a further row for the same file (COCO-style captions)
            collector.leave_out(f"{metadata_path} row {row_number} ({file_name.strip()})",
                                "duplicate_row")
            continue
        if found is None:
            collector.leave_out(key, "missing_file")
            continue
        if is_unsupported_image_name(found):
            collector.leave_out(key, "unsupported_format")
        elif not caption.strip():
            collector.leave_out(key, "empty_caption")
        else:
            report.mark(key, NOT_SAMPLED)  # until the sample is drawn
            eligible.append((found, caption))
    for path in files:
        if path in report.outcomes:
            continue
        if is_image_name(path):
            collector.leave_out(path, "no_metadata_row")
        elif is_unsupported_image_name(path):
            collector.leave_out(path, "unsupported_format")
        else:
            collector.leave_out(path, "other_file")
    _sample(tree, eligible, options, collector)
    return collector.finish(len(rows), where=tree.label)


def _sample(tree: FileTree, eligible: list[tuple[str, str]], options: LoadOptions,
            collector: SampleCollector, caption_of=None) -> None:
    """Open the sampled examples; mark the others as not sampled. ``caption_of``: when
    ``eligible`` holds where each caption is rather than its text, reads a sampled one's."""
    chosen = set(sample_indices(len(eligible), options.max_samples, options.seed))
    for index, (path, caption) in enumerate(eligible):
        if index in chosen:
            _add_file(tree, path, caption if caption_of is None else caption_of(caption),
                      collector)
        else:
            collector.not_sampled(path)


def _load_caption_files(tree: FileTree, prefix: str, inside: list[str], label: str,
                        options: LoadOptions, collector: SampleCollector) -> ImageCaptionSet:
    """Images with a same-named ``.txt`` beside each one."""
    images = [p for p in inside if is_image_name(p) or is_unsupported_image_name(p)]
    if not images:
        kinds = Counter(os.path.splitext(p)[1].lower() or "(no extension)" for p in inside)
        found = ", ".join(f"{n} {ext}" for ext, n in kinds.most_common(5))
        raise ValidationError(
            f"no images: {len(inside)} file{'s' if len(inside) != 1 else ''} ({found}) but "
            "none with an image extension "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))})", file=label)
    names = set(inside)
    caption_files = {p: _caption_file(p, names) for p in images}
    if all(found is None for found in caption_files.values()):
        raise ValidationError(
            f"no captions: none of the {len(images)} images has a .txt caption beside it "
            f"(e.g. {os.path.splitext(images[0])[0]}.txt), and there is no "
            f"{', '.join(METADATA_NAMES)}", file=label)
    used = {found for found in caption_files.values() if found is not None}
    eligible: list[tuple[str, str]] = []  # (image, its caption file): no caption text is kept
    for path in inside:
        shown = prefix + path
        if path in used:
            collector.report.mark(shown, COMPANION)
        elif path not in caption_files:
            collector.leave_out(shown, "other_file")
        elif is_unsupported_image_name(path):
            collector.leave_out(shown, "unsupported_format")
        elif caption_files[path] is None:
            collector.leave_out(shown, "no_caption")
        else:
            # read here for its emptiness, again only if sampled: kept, 65,536 captions of
            # 64 KiB from a 23 MB zip would fill 4 GiB
            caption_file = prefix + caption_files[path]
            if _read_caption(tree, caption_file):
                eligible.append((prefix + path, caption_file))
            else:
                collector.leave_out(shown, "empty_caption")
    _sample(tree, eligible, options, collector,
            caption_of=lambda caption_file: _read_caption(tree, caption_file))
    return collector.finish(len(images), where=tree.label)


def _read_caption(tree: FileTree, path: str) -> str:
    return decode_utf8(_read_small_file(tree, path, MAX_CAPTION_BYTES),
                       tree.display(path)).strip()


def _caption_file(image: str, names: set[str]) -> str | None:
    stem = os.path.splitext(image)[0]
    return next((stem + ext for ext in CAPTION_EXTENSIONS if stem + ext in names), None)


def _read_small_file(tree: FileTree, relative: str, limit: int | None = None) -> bytes:
    """A metadata or caption file; unlike an image, one that cannot be read stops the load."""
    try:
        return tree.read_bytes(relative, limit)
    except (UnreadableImageError, OSError) as error:
        raise DatasetLoadError(f"cannot read {tree.display(relative)}: {error}") from None


def _add_file(tree: FileTree, relative: str, caption: str, collector: SampleCollector) -> None:
    """Decode one sampled image; the report names it by its path inside the tree."""
    try:
        data = tree.image_source(relative)
    except (UnreadableImageError, OSError) as error:
        detail = str(error).removeprefix(f"{tree.display(relative)}: ")
        collector.leave_out(relative, "unreadable", detail)
        return
    collector.add(data, caption, relative)
