"""Which column holds the images and which the captions, found by name or given by the user."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ValidationError

IMAGE_COLUMN_NAMES = (
    "image", "img", "images", "file_name", "filename", "image_path", "image_file", "path",
    "file", "jpg", "png", "picture", "photo",
)
"""Image column names tried in order (case-insensitive) when none is given."""

CAPTION_COLUMN_NAMES = (
    "text", "caption", "captions", "prompt", "prompts", "description", "sentence", "sentences",
    "caption_text", "label_text", "alt_text", "title", "txt", "tags", "tag_string",
)
"""Caption column names tried in order (case-insensitive) when none is given."""


def pick_column(columns: Sequence[str], *, kind: str, given: str | None,
                candidates: Sequence[str], where: str, preferred: Sequence[str] = ()) -> str:
    """Return the ``kind`` column: ``given`` if it exists, else the first known name.

    Names are compared without surrounding spaces (a CSV header ``image, caption``), and a
    ``given`` name case-insensitively when no column has its exact spelling.
    ``preferred`` (e.g. the columns a Hub dataset types as images) are tried before names.
    Raises :class:`ValidationError` listing the columns that do exist, and the argument to pass.
    """
    listed = ", ".join(repr(c) for c in columns) or "none"
    if given is not None:
        wanted = given.strip()
        exact = [c for c in columns if c.strip() == wanted]
        loose = [c for c in columns if c.strip().lower() == wanted.lower()]
        if exact or len(loose) == 1:
            return (exact or loose)[0]
        raise ValidationError(f"no {kind} column {given!r}; columns are: {listed}", file=where)
    if len(preferred) == 1:
        return preferred[0]
    by_lower = {c.strip().lower(): c for c in reversed(list(columns))}
    for name in candidates:
        if name in by_lower and (not preferred or by_lower[name] in preferred):
            return by_lower[name]
    if preferred:
        raise ValidationError(
            f"several {kind} columns ({', '.join(map(repr, preferred))}); "
            f"choose one with {kind}_column", file=where)
    raise ValidationError(
        f"no {kind} column found (looked for {', '.join(candidates[:6])}…); columns are: "
        f"{listed}; name it with {kind}_column", file=where)


def caption_text(value: object, *, where: str, row: int, column: str) -> str:
    """A caption cell as text: strings as they are, missing as ``""``, a list by its first string.

    Several captions per image (COCO style) are common on the Hub; the first one stands for the
    image. Anything else (numbers, dicts) is refused rather than turned into text by guesswork.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if not value:
            return ""
        if all(isinstance(item, str) for item in value):
            return value[0]
    if isinstance(value, float) and value != value:  # NaN from a table reader
        return ""
    raise ValidationError(
        f"caption is a {type(value).__name__}, not text: {str(value)[:60]!r}",
        file=where, row=row, column=column)
