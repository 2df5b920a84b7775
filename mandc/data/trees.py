"""Read-only views of where local files live: a folder, a zip archive, or a list of uploads.

One loader reads all three through this small interface, so a zip is sampled without being
extracted (only the sampled entries are ever inflated) and uploads need no temporary folder.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import DatasetLoadError, ValidationError
from .images import UnreadableImageError

MAX_ZIP_ENTRIES = 1_000_000
"""Archives listing more entries than this are refused before anything is read."""

MAX_ENTRY_BYTES = 512 * 2**20
"""One zip entry may inflate to at most this many bytes (counted while inflating, not trusted
from the header), which bounds a zip bomb."""

MAX_ZIP_READ_BYTES = 4 * 2**30
"""All entries read from one archive together may inflate to at most this many bytes."""

MAX_CAPTION_BYTES = 64 * 2**10
"""A caption file may hold at most this many bytes (a long paragraph is about 2 KB). Every
caption is read before sampling (an empty one leaves its image out), so without this bound one
heavily compressed caption could inflate to 512 MB; only the sampled captions are kept."""

_IGNORED_PARTS = {"__MACOSX"}
_DRIVE = re.compile(r"^[A-Za-z]:")


def _ignored(relative: str) -> bool:
    """Hidden files (``.DS_Store``), and macOS resource forks are not part of a dataset."""
    return any(part.startswith(".") or part in _IGNORED_PARTS for part in relative.split("/"))


class FileTree:
    """Relative POSIX paths of the files in a dataset, and a way to read each one."""

    label: str
    """How messages name the whole tree (a folder, a zip file, "upload")."""

    def paths(self) -> list[str]:
        """Every file, sorted, hidden files excluded."""
        raise NotImplementedError

    def resolve(self, relative: str, known: set[str]) -> str | None:
        """The tree path a metadata ``file_name`` refers to, or ``None`` when there is none."""
        relative = PurePosixPath(relative.replace("\\", "/")).as_posix()
        return relative if relative in known else None

    def image_source(self, relative: str) -> bytes | str:
        """What :func:`~mandc.data.images.decode_image` reads: a path when there is one."""
        return self.read_bytes(relative)

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        """The file's bytes; a file longer than ``limit`` bytes is refused unread
        (:class:`ValidationError` naming it)."""
        raise NotImplementedError

    def display(self, relative: str) -> str:
        """How messages name one file."""
        return f"{self.label}/{relative}"


class FolderTree(FileTree):
    """A directory on disk, walked recursively in sorted order."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.label = str(self.root)

    def paths(self) -> list[str]:
        found = []
        for directory, subdirs, files in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if not _ignored(d))
            base = Path(directory).relative_to(self.root).as_posix()
            prefix = "" if base == "." else base + "/"
            found.extend(prefix + name for name in files if not _ignored(name))
        return sorted(found)

    def image_source(self, relative: str) -> str:
        return str(self.root / relative)

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        return _read_file(self.root / relative, limit, self.display(relative))

    def display(self, relative: str) -> str:
        return str(self.root / relative)


class ZipTree(FileTree):
    """A zip archive read in place. Refuses the whole archive if any entry would escape a folder.

    A single top-level folder wrapping everything (what zipping a folder produces) is looked
    through, unless it is a split name such as ``train``.
    """

    def __init__(self, path: str | os.PathLike, *, split_names: frozenset[str] = frozenset()):
        self.path = Path(path)
        self.label = str(self.path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as error:
            raise DatasetLoadError(f"{self.path}: not a readable zip archive ({error})") from None
        infos = self._zip.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ValidationError(
                f"{len(infos):,} entries, more than the {MAX_ZIP_ENTRIES:,} allowed",
                file=self.label)
        for info in infos:
            _refuse_escape(info.filename, self.label)
        names = [i.filename for i in infos if not i.is_dir() and not _ignored(i.filename)]
        self._prefix = _wrapping_folder(names, split_names)
        self._entries = {name[len(self._prefix):]: name for name in names}
        self._inflated = 0

    def paths(self) -> list[str]:
        return sorted(self._entries)

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        name = self._entries[relative]
        bound = MAX_ENTRY_BYTES if limit is None else min(limit, MAX_ENTRY_BYTES)
        try:
            with self._zip.open(name) as entry:
                data = entry.read(bound + 1)  # inflates no more than one byte past the bound
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as error:
            # bad CRC, encrypted or truncated entry: that file is unreadable, not the archive
            raise UnreadableImageError(f"{self.display(relative)}: {error}") from None
        if limit is not None and len(data) > limit:
            raise _too_long(limit, self.display(relative))
        if len(data) > MAX_ENTRY_BYTES:
            raise ValidationError(
                f"entry inflates beyond {MAX_ENTRY_BYTES:,} bytes (a zip bomb?)",
                file=self.display(relative))
        self._inflated += len(data)
        if self._inflated > MAX_ZIP_READ_BYTES:
            raise ValidationError(
                f"entries read so far inflate beyond {MAX_ZIP_READ_BYTES:,} bytes (a zip bomb?)",
                file=self.label)
        return data

    def display(self, relative: str) -> str:
        return f"{self.label}:{self._prefix}{relative}"

    def close(self) -> None:
        self._zip.close()


def _read_file(path: Path, limit: int | None, shown: str) -> bytes:
    if limit is not None and path.stat().st_size > limit:
        raise _too_long(limit, shown)
    return path.read_bytes()


def _too_long(limit: int, shown: str) -> ValidationError:
    return ValidationError(f"longer than {limit:,} bytes, too long for a caption file; is it the "
                           "right file?", file=shown)


def _refuse_escape(name: str, archive: str) -> None:
    """Zip slip: an absolute path, a drive letter or a ``..`` would land outside any folder."""
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
        raise ValidationError(
            f"entry {name!r} points outside the archive's folder (absolute path or '..'); "
            "refusing the whole archive", file=archive, given=(repr(name),))


def _wrapping_folder(names: list[str], split_names: frozenset[str]) -> str:
    tops = {PurePosixPath(n).parts[0] for n in names}
    if len(tops) != 1 or all("/" not in n for n in names):
        return ""
    (top,) = tops
    if top.lower() in split_names or any("/" not in n for n in names):
        return ""
    return top + "/"


class UploadTree(FileTree):
    """Files picked one by one (the Gradio app): each is known by its base name."""

    def __init__(self, files: list[str | os.PathLike]):
        self.label = "upload"
        self._files: dict[str, Path] = {}
        for file in files:
            path = Path(file)
            if not path.is_file():
                raise DatasetLoadError(f"uploaded file {str(path)!r} does not exist or is a folder")
            if path.name in self._files:
                raise ValidationError(
                    f"two uploaded files are both named {path.name!r}; rename one", file="upload")
            if not _ignored(path.name):
                self._files[path.name] = path

    def paths(self) -> list[str]:
        return sorted(self._files)

    def resolve(self, relative: str, known: set[str]) -> str | None:
        """Metadata may say ``images/a.png`` while the upload only kept ``a.png``."""
        base = PurePosixPath(relative.replace("\\", "/")).name
        return base if base in known else None

    def image_source(self, relative: str) -> str:
        return str(self._files[relative])

    def read_bytes(self, relative: str, limit: int | None = None) -> bytes:
        return _read_file(self._files[relative], limit, self.display(relative))

    def display(self, relative: str) -> str:
        return f"upload:{relative}"
