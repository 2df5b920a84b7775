"""Target datasets: however a person holds their images and captions, a validated, sampled set.

:func:`load_target` accepts a Hub dataset id, a local folder (``imagefolder`` convention or
``.txt`` captions beside images, optionally in ``train/``/``test/`` split folders), a zip of
either, or a list of uploaded files, and returns an :class:`ImageCaptionSet` of at most
``max_samples`` upright RGB images with their captions.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..errors import DatasetLoadError, ValidationError
from .hub import load_hub, looks_like_hub_id
from .images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_SIDE, decode_image, to_rgb
from .imageset import ImageCaptionSet
from .local import SPLIT_NAMES, load_tree
from .sampling import SampleOptions, sample_indices
from .trees import FolderTree, UploadTree, ZipTree

DEFAULT_MAX_SAMPLES = 256
"""Examples described per dataset unless told otherwise: enough for stable means and covariance
summaries, small enough that the cost does not grow with the dataset."""

DEFAULT_MAX_UNREADABLE_SHARE = 0.1

__all__ = [
    "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_SAMPLES", "DEFAULT_MAX_UNREADABLE_SHARE",
    "IMAGE_EXTENSIONS", "MAX_SIDE", "ImageCaptionSet", "decode_image", "load_target",
    "sample_indices", "to_rgb",
]


def load_target(source: str | os.PathLike | list, *, split: str = "train",
                image_column: str | None = None, caption_column: str | None = None,
                max_samples: int = DEFAULT_MAX_SAMPLES, seed: int = 0, streaming: bool = True,
                max_unreadable_share: float = DEFAULT_MAX_UNREADABLE_SHARE,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageCaptionSet:
    """Load, check and sample a target image–caption set.

    ``source``: a local folder, a ``.zip``, a list of uploaded file paths, or a Hub dataset id
    (``owner/name``; ``streaming`` and ``split`` are passed to ``datasets.load_dataset``).
    Sampling draws at most ``max_samples`` examples with ``seed`` without opening the others.
    Raises :class:`~mandc.errors.ValidationError` for malformed data and
    :class:`~mandc.errors.DatasetLoadError` for data that cannot be reached or read.
    """
    options = SampleOptions(split=split, image_column=image_column,
                            caption_column=caption_column, max_samples=max_samples, seed=seed,
                            max_unreadable_share=max_unreadable_share, max_pixels=max_pixels)
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
        return load_hub(text, options, streaming=streaming)
    raise DatasetLoadError(
        f"no such folder or file: {text!r} (nor is it a Hub id like 'owner/name')")


def _load_zip(path: Path, options: SampleOptions, *, source: str) -> ImageCaptionSet:
    tree = ZipTree(path, split_names=SPLIT_NAMES)
    try:
        return load_tree(tree, options, name=path.name, source=source)
    finally:
        tree.close()


def _load_uploads(files: list, options: SampleOptions) -> ImageCaptionSet:
    """Gradio hands over file paths (or objects with ``.path``/``.name``): images and captions,
    or a single zip or folder."""
    if not files:
        raise ValidationError("no images: nothing was uploaded", file="upload")
    paths = [_upload_path(f) for f in files]
    archives = [p for p in paths if p.suffix.lower() == ".zip"]
    if len(paths) == 1 and (paths[0].is_dir() or archives):
        return load_target(paths[0], split=options.split, image_column=options.image_column,
                           caption_column=options.caption_column,
                           max_samples=options.max_samples, seed=options.seed,
                           max_unreadable_share=options.max_unreadable_share,
                           max_pixels=options.max_pixels)
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
