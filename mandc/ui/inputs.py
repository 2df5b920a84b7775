"""What a visitor may give the public Space, checked before anything is read.

A visitor names data by uploading files or by typing a Hub id; never by a server path. Typed
text is accepted only in the Hub's own spelling (``OWNER/NAME``), so nothing a visitor types can
make the server read its own disk. Uploads are copied into a private folder per request
(:class:`StagedUpload`), bounded in count and size, and removed when the request ends.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from ..data import DEFAULT_MAX_SAMPLES, LoadOptions
from ..errors import ConfigError, DatasetLoadError, ValidationError
from ..hub.repo_id import GraphRepo, parse_repo

UPLOAD_FOLDER = "upload"
"""Where a request's uploads are copied, inside its private temporary folder."""
MAX_UPLOAD_FILES = 1000
MAX_UPLOAD_MB = 200
"""Upload limits stated in the page and enforced per request (the loader samples 256 images)."""

_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_HUB_DATASET_ID = re.compile(rf"{_PART}/{_PART}")


def hub_dataset_id(text: str | None) -> str | None:
    """The visitor's typed Hub dataset id (``OWNER/NAME``), ``None`` when the box is empty.

    Anything else (a server path, ``..``, a URL) is refused: the Space reads no local path a
    visitor names."""
    text = (text or "").strip()
    if not text:
        return None
    if not _HUB_DATASET_ID.fullmatch(text) or ".." in text or "--" in text:
        raise ValidationError(f"{text!r} is not a Hub dataset id; type OWNER/NAME "
                              "(e.g. user/my-dataset) or upload your files — this Space reads "
                              "no server paths", file="hub dataset", given=(repr(text),))
    return text


def hub_graph_repo(text: str | None) -> GraphRepo | None:
    """A Hub graph repo the visitor typed (``OWNER/NAME[@REV]``), ``None`` for the Space's own
    graph. Parsed strictly, never looked up as a local folder."""
    text = (text or "").strip()
    if not text:
        return None
    refused = ValidationError(f"{text!r} is not a Hub graph repo id; type OWNER/NAME "
                              "(optionally @REVISION) or leave it empty for this Space's graph",
                              file="graph", given=(repr(text),))
    if text.startswith(("/", ".", "~", "hf:")) or "\\" in text:
        raise refused
    try:
        return parse_repo(text)
    except ValidationError:
        raise refused from None


def load_options(caption_column: str | None = None, image_column: str | None = None,
                 split: str | None = None, max_images: float | None = None) -> LoadOptions:
    """The Advanced section's loader options (empty boxes: the loader's defaults, columns found
    by name). ``max_images``: examples sampled, at most the default (the Space's CPU budget)."""
    count = DEFAULT_MAX_SAMPLES if max_images in (None, "") else max_images
    if (not math.isfinite(float(count)) or float(count) != int(count)
            or not 1 <= int(count) <= DEFAULT_MAX_SAMPLES):  # an API call can send NaN
        raise ConfigError(f"max images must be a whole number from 1 to {DEFAULT_MAX_SAMPLES}, "
                          f"not {max_images}")
    return LoadOptions(split=(split or "").strip() or "train",
                       image_column=(image_column or "").strip() or None,
                       caption_column=(caption_column or "").strip() or None,
                       max_samples=int(count))


class StagedUpload:
    """One request's uploads copied together into a private folder, under their own names.

    Gradio keeps every uploaded file in a folder of its own (named by its content hash) and may
    clean its cache while other requests run. Copied side by side into a folder that lives as
    long as the request, the files are read by :func:`mandc.data.load_target` as an upload
    (known by base name, so a ``metadata.jsonl`` naming ``images/cat.png`` finds ``cat.png``;
    one zip is read as an archive), and the probe can read them again. ``target`` is the list of
    copied paths (``None`` without uploads). The folder is deleted when the ``with`` block ends;
    :meth:`hide_paths` takes its location out of messages shown to the visitor.
    """

    def __init__(self, files: list, *, max_files: int = MAX_UPLOAD_FILES,
                 max_mb: float = MAX_UPLOAD_MB):
        self.files = list(files)
        self.max_files, self.max_mb = max_files, max_mb
        self.target: list[str] | None = None
        self._scratch: str | None = None

    def __enter__(self) -> StagedUpload:
        if not self.files:
            return self
        if len(self.files) > self.max_files:
            raise ValidationError(f"{len(self.files)} files uploaded; the limit is "
                                  f"{self.max_files} (a zip counts as one)", file="upload")
        self._scratch = tempfile.mkdtemp(prefix="mandc-upload-")
        try:
            self.target = self._stage(Path(self._scratch) / UPLOAD_FOLDER)
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._remove()

    def _stage(self, folder: Path) -> list[str]:
        folder.mkdir()
        copied, sources, total = [], {}, 0
        for item in self.files:
            name, source = _upload_name(item), _upload_path(item)
            if sources.get(name) == source:  # one file added twice (Gradio's cache is by content)
                continue
            sources[name] = source
            destination = folder / name
            if destination.exists():
                raise ValidationError(f"two uploaded files are both named {name!r}; rename one",
                                      file="upload")
            try:
                total += os.path.getsize(source)
                if total > self.max_mb * 2**20:
                    raise ValidationError(f"the upload is larger than {self.max_mb:g} MB; send "
                                          "fewer or smaller images", file="upload")
                shutil.copyfile(source, destination)
            except OSError as error:
                raise DatasetLoadError(f"upload:{name}: could not be read ({error.strerror})") \
                    from None
            copied.append(str(destination))
        return copied

    def hide_paths(self, message: str) -> str:
        """``message`` with the request folder's location removed (it names server paths)."""
        if self._scratch is None:
            return message
        for root in {self._scratch, os.path.realpath(self._scratch)}:
            message = message.replace(root + os.sep, "").replace(root, "")
        return message

    def _remove(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/[^\s()'\",;:]*")


def public_text(text: str, given: tuple[str, ...] = ()) -> str:
    """``text`` with every absolute path cut to its last part: the page is public, and server
    paths (the graph's folder, a typed folder's files) are not the visitor's business. The
    parts in ``given`` are the visitor's own (what they typed, what their zip holds): they are
    shown as they are, so a message never misquotes the visitor."""
    kept = "|".join(re.escape(part) for part in sorted(set(given) - {""}, key=len, reverse=True))
    pattern = re.compile(f"({kept})|{_ABSOLUTE_PATH.pattern}") if kept else _ABSOLUTE_PATH
    return pattern.sub(lambda match: match.group() if kept and match.group(1) is not None
                       else PurePosixPath(match.group()).name or "…", text)


def _upload_path(item: object) -> str:
    """Gradio hands over paths (``str`` subclasses); API callers may pass objects with ``.path``."""
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    value = getattr(item, "path", None)
    if isinstance(value, str):
        return value
    raise ValidationError(f"cannot read an uploaded item of type {type(item).__name__}",
                          file="upload")


def _upload_name(item: object) -> str:
    """The uploaded file's own base name; one that is not a plain file name (a folder part,
    ``..``, a control character) is refused rather than allowed to land outside the folder."""
    name = getattr(item, "orig_name", None) or os.path.basename(_upload_path(item))
    if (not name or name in {".", ".."} or "/" in name or "\\" in name
            or any(ord(c) < 32 for c in name)):
        raise ValidationError(f"uploaded file name {name!r} is not a plain file name",
                              file="upload")
    return name
