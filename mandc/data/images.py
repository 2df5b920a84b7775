"""Decode one image file into an upright 8-bit RGB picture, or say why it cannot be read.

Photos arrive rotated by an EXIF tag, as grayscale, palette, transparent, CMYK or 16-bit scans;
encoders want upright RGB. Each mode is mapped explicitly (transparency onto white, 16-bit scaled
to 8 bits rather than clipped), so that no conversion is left to a library default by accident.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from ..errors import ValidationError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm",
     ".pbm", ".pnm", ".tga"}
)
"""File extensions treated as images (lower case). Other files are never opened as images."""

DEFAULT_MAX_PIXELS = 100_000_000
"""Images with more pixels than this are refused as likely decompression bombs (100 MP is above
any common camera; Pillow itself refuses beyond about 179 MP whatever this limit says)."""

MAX_SIDE = 1024
"""Images whose longer side exceeds this are downscaled after decoding, so 256 sampled 12 MP
photos take ~0.8 GB instead of ~9 GB. Encoders look at 224–512 px anyway."""

_EXIF_ORIENTATION = 0x0112
_SWAPS_SIDES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90° or 270°
_WHITE = (255, 255, 255, 255)
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_PLAIN_MODES = {"1", "L", "CMYK", "YCbCr"}


class UnreadableImageError(Exception):
    """One file could not be decoded; the loader skips and counts it."""


def is_image_name(name: str) -> bool:
    """Whether a file name has one of :data:`IMAGE_EXTENSIONS`."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def decode_image(data: bytes | str | os.PathLike, name: str, *,
                 max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_side: int = MAX_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """Decode ``data`` (bytes or a path) to ``(upright RGB image, (width, height) upright)``.

    The size is read from the header before any pixel is decoded, so a decompression bomb is
    refused (:class:`ValidationError` naming ``name``) without allocating it. Any decoding failure
    (truncated file, not an image, unsupported mode) raises :class:`UnreadableImageError`.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with _bomb_warnings_silenced(), Image.open(stream) as image:
            return prepare_image(image, name, max_pixels=max_pixels, max_side=max_side)
    except Image.DecompressionBombError as error:
        raise ValidationError(f"refused as a decompression bomb by Pillow ({error})",
                              file=name) from None
    except (ValidationError, UnreadableImageError):
        raise
    except Image.UnidentifiedImageError:
        raise UnreadableImageError(f"{name}: not an image Pillow can identify") from None
    except Exception as error:  # Pillow's decoders raise many types for corrupt input
        raise UnreadableImageError(f"{name}: {type(error).__name__}: {error}") from None


def prepare_image(image: Image.Image, name: str, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                  max_side: int = MAX_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """Like :func:`decode_image` for an image Pillow has already opened (e.g. from ``datasets``)."""
    original_size = _upright_size(image)
    _refuse_bomb(original_size, name, max_pixels)
    try:
        if image.format == "JPEG" and max(image.size) > 2 * max_side:
            image.draft(image.mode, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
        image.load()
        rgb = to_rgb(ImageOps.exif_transpose(image))
    except UnreadableImageError as error:
        raise UnreadableImageError(f"{name}: {error}") from None
    except Exception as error:
        raise UnreadableImageError(f"{name}: {type(error).__name__}: {error}") from None
    if rgb is image:  # already RGB, upright and unconverted: never hand back the caller's object
        rgb = rgb.copy()
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return rgb, original_size


@contextlib.contextmanager
def _bomb_warnings_silenced():
    """Our own pixel limit replaces Pillow's warning; its hard error is still translated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _upright_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # a broken EXIF block is not a reason to refuse the pixels
        orientation = None
    return (height, width) if orientation in _SWAPS_SIDES else (width, height)


def _refuse_bomb(size: tuple[int, int], name: str, max_pixels: int) -> None:
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise ValidationError(
            f"{size[0]}×{size[1]} = {pixels:,} pixels is over the limit of {max_pixels:,} "
            "(a decompression bomb?); remove the file or raise max_pixels",
            file=name,
        )


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: alpha composited on white, 16-bit scaled by 1/257."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _PLAIN_MODES:
        return image.convert("RGB")
    if mode == "P":
        if "transparency" in image.info:
            return _on_white(image.convert("RGBA"))
        return image.convert("RGB")
    if mode in _ALPHA_MODES:
        return _on_white(image.convert("RGBA"))
    if mode == "I" or mode.startswith("I;16"):
        return _gray_to_rgb(_scale_16bit(np.asarray(image), mode))
    if mode == "F":
        return _gray_to_rgb(_scale_unit_float(np.asarray(image)))
    try:
        return image.convert("RGB")
    except ValueError:
        raise UnreadableImageError(f"image mode {mode!r} cannot be converted to RGB") from None


def _on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, _WHITE)
    return Image.alpha_composite(background, rgba).convert("RGB")


def _scale_16bit(values: np.ndarray, mode: str) -> np.ndarray:
    """0..65535 → 0..255 (65535 / 257 = 255). Mode ``I`` is 32-bit, so check it really is 16-bit."""
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise UnreadableImageError(
            f"mode {mode!r} values span {values.min()}..{values.max()}, outside 16-bit 0..65535; "
            "no 8-bit mapping would be faithful"
        )
    return np.rint(values.astype(np.float64) / 257.0).astype(np.uint8)


def _scale_unit_float(values: np.ndarray) -> np.ndarray:
    """Float images are accepted only in 0..1, the one range that maps to 8 bits unambiguously."""
    if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1):
        raise UnreadableImageError("float image values are not all within 0..1")
    return np.rint(values.astype(np.float64) * 255.0).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(gray)).convert("RGB")
