"""Target datasets: however a person holds their images and captions, a validated, sampled set.

:func:`load_target` accepts a Hub dataset id, a local folder (``imagefolder`` convention or
``.txt`` captions beside images, optionally in ``train/``/``test/`` split folders), a zip of
either, or a list of uploaded files, and returns an :class:`ImageCaptionSet` of at most
``max_samples`` upright RGB images with their captions. How to read it is one
:class:`LoadOptions` (the same for every command and API that loads a target); what happened to
every file it saw is the set's :class:`LoadReport` (read, or left out and why).
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

from ..errors import ConfigError, DatasetLoadError, ValidationError
from .hub import load_hub, looks_like_hub_id
from .images import IMAGE_EXTENSIONS, MAX_SIDE, decode_image, to_rgb
from .imageset import ImageCaptionSet
from .local import SPLIT_NAMES, load_tree
from .options import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SAMPLES,
    DEFAULT_MAX_UNREADABLE_SHARE,
    LoadOptions,
)
from .report import LoadReport
from .sampling import sample_indices
from .trees import FolderTree, UploadTree, ZipTree

__all__ = [
    "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_SAMPLES", "DEFAULT_MAX_UNREADABLE_SHARE",
    "IMAGE_EXTENSIONS", "MAX_SIDE", "ImageCaptionSet", "LoadOptions", "LoadReport",
    "decode_image", "load_target", "sample_indices", "to_rgb",
]


def load_target(source: str | os.PathLike | list, options: LoadOptions | None = None, *,
                split: str | None = None, image_column: str | None = None,
                caption_column: str | None = None, max_samples: int | None = None,
                seed: int | None = None, streaming: bool | None = None,
                max_unreadable_share: float | None = None,
                max_pixels: int | None = None) -> ImageCaptionSet:
    """Load, check and sample a target image–caption set.

    ``source``: a local folder, a ``.zip``, a list of uploaded file paths, or a Hub dataset id
    (``owner/name``). ``options`` (:class:`LoadOptions`) says how to read it; a keyword given
    here overrides that field. Sampling draws at most ``max_samples`` examples with ``seed``
    without opening the others. The result's ``report`` says what happened to every file.
    Raises :class:`~mandc.errors.ValidationError` for malformed data or too much of it left out,
    and :class:`~mandc.errors.DatasetLoadError` for data that cannot be reached or read.
    """
    given = {"split": split, "image_column": image_column, "caption_column": caption_column,
             "max_samples": max_samples, "seed": seed, "streaming": streaming,
             "max_unreadable_share": max_unreadable_share, "max_pixels": max_pixels}
    if options is not None and not isinstance(options, LoadOptions):
        raise ConfigError(f"options must be a LoadOptions, got {type(options).__name__}")
    options = dataclasses.replace(options or LoadOptions(),
                                  **{k: v for k, v in given.items() if v is not None})
    if isinstance(source, (list, tuple)):
        return _load_uploads(list(source), options)
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_dir():
        return load_tree(FolderTree(path), options, name=path.resolve().name, source=text)
    if path.is_file():
        if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            return _load_zip(path, options, source=text)
        raise DatasetLoadError(
            f"{text}: a single file is not a dataset; pass a folder, a .zip, or a Hub dataset id")
    if looks_like_hub_id(text):
        return load_hub(text, options)
    raise DatasetLoadError(
        f"no such folder or file: {text!r} (nor is it a Hub id like 'owner/name')")


def _load_zip(path: Path, options: LoadOptions, *, source: str) -> ImageCaptionSet:
    tree = ZipTree(path, split_names=SPLIT_NAMES)
    try:
        return load_tree(tree, options, name=path.name, source=source)
    finally:
        tree.close()


def _load_uploads(files: list, options: LoadOptions) -> ImageCaptionSet:
    """Gradio hands over file paths (or objects with ``.path``/``.name``): images and captions,
    or a single zip or folder."""
    if not files:
        raise ValidationError("no images: nothing was uploaded", file="upload")
    paths = [_upload_path(f) for f in files]
    archives = [p for p in paths if p.suffix.lower() == ".zip"]
    if len(paths) == 1 and (paths[0].is_dir() or archives):
        return load_target(paths[0], options)
    if archives:
        raise ValidationError(
            "upload either one .zip or image files with their captions, not a mix", file="upload")
    return load_tree(UploadTree(paths), options, name="upload", source="upload")


def _upload_path(item: object) -> Path:
    if isinstance(item, (str, os.PathLike)):
        return Path(item)
    for attribute in ("path", "name"):  # gradio FileData / tempfile wrappers
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return Path(value)
    raise ValidationError(f"cannot read an uploaded item of type {type(item).__name__}",
                          file="upload")
