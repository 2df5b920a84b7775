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

from .options import DEFAULT_MAX_PIXELS

BASE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm",
     ".pbm", ".pnm", ".tga"}
)
"""Extensions Pillow decodes on its own."""

HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
"""iPhone photos: decoded once ``pillow-heif`` (in the ``data`` extra) registers its opener."""

OTHER_IMAGE_EXTENSIONS = frozenset(
    {".avif", ".jxl", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".raw",
     ".psd", ".svg", ".exr", ".hdr"}
)
"""Image formats people keep in datasets that may not decode here (camera raw, layered, vector,
HDR): reported as unsupported rather than passed over as unknown files."""


def _register_plugins() -> frozenset[str]:
    """The extensions this installation decodes: Pillow's own, HEIF with ``pillow-heif``, AVIF
    when Pillow was built with it."""
    extensions = set(BASE_EXTENSIONS)
    try:
        import pillow_heif
    except ImportError:
        pass
    else:
        pillow_heif.register_heif_opener()
        extensions |= HEIF_EXTENSIONS
    from PIL import features

    if features.check("avif"):
        extensions.add(".avif")
    return frozenset(extensions)


IMAGE_EXTENSIONS = _register_plugins()
"""File extensions decoded as images here (lower case). Other files are never opened as images."""

KNOWN_IMAGE_EXTENSIONS = BASE_EXTENSIONS | HEIF_EXTENSIONS | OTHER_IMAGE_EXTENSIONS
"""Everything a person would call an image; those outside :data:`IMAGE_EXTENSIONS` are reported
as an unsupported format."""


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


class ImageTooLargeError(UnreadableImageError):
    """One file would decode to more pixels than allowed; skipped and counted like an unreadable
    one (a large photo is ordinary data, not a reason to refuse the dataset)."""


def is_image_name(name: str) -> bool:
    """Whether a file name has one of :data:`IMAGE_EXTENSIONS` (decoded here)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def is_unsupported_image_name(name: str) -> bool:
    """An image by its extension, in a format this installation cannot decode."""
    extension = os.path.splitext(name)[1].lower()
    return extension in KNOWN_IMAGE_EXTENSIONS and extension not in IMAGE_EXTENSIONS


def decode_image(data: bytes | str | os.PathLike, name: str, *,
                 max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_side: int = MAX_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """Decode ``data`` (bytes or a path) to ``(upright RGB image, (width, height) upright)``.

    The size is read from the header before any pixel is decoded; a JPEG much larger than
    ``max_side`` is decoded reduced (draft mode, 1/2 to 1/8 scale). An image that would still
    decode to more than ``max_pixels`` raises :class:`ImageTooLargeError` without allocating it.
    Any decoding failure (truncated file, not an image, unsupported mode) raises
    :class:`UnreadableImageError`.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with _bomb_warnings_silenced(), Image.open(stream) as image:
            return prepare_image(image, name, max_pixels=max_pixels, max_side=max_side)
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError(f"{name}: refused as a decompression bomb by Pillow ({error})"
                                 ) from None
    except UnreadableImageError:
        raise
    except Image.UnidentifiedImageError:
        raise UnreadableImageError(f"{name}: not an image Pillow can identify") from None
    except Exception as error:  # Pillow's decoders raise many types for corrupt input
        raise UnreadableImageError(f"{name}: {type(error).__name__}: {error}") from None


def prepare_image(image: Image.Image, name: str, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                  max_side: int = MAX_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """Like :func:`decode_image` for an image Pillow has already opened (e.g. from ``datasets``)."""
    original_size = _upright_size(image)
    try:
        if image.format == "JPEG" and max(image.size) > 2 * max_side:
            image.draft(image.mode, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
    except Exception as error:
        raise UnreadableImageError(f"{name}: {type(error).__name__}: {error}") from None
    _refuse_too_large(image.size, original_size, name, max_pixels)
    try:
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


def _refuse_too_large(decoded: tuple[int, int], original: tuple[int, int], name: str,
                      max_pixels: int) -> None:
    """``decoded``: the size the pixels will be decoded at (reduced for a drafted JPEG)."""
    pixels = decoded[0] * decoded[1]
    if pixels > max_pixels:
        reduced = f" (decoded reduced to {decoded[0]}×{decoded[1]})" if decoded != original \
            and decoded[::-1] != original else ""
        raise ImageTooLargeError(
            f"{name}: {original[0]}×{original[1]}{reduced} = {pixels:,} pixels to decode, over "
            f"max_pixels {max_pixels:,}")


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
