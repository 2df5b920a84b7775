"""The run records (``runs/*.json``) and sample grids (``samples/*``) of a pushed graph's pairs,
made ready for the push's commit (:func:`.graph_repo.push_graph`).

The Space shows the grids profiling kept and a fine-tune cost read from the run records
(:mod:`mandc.ui.graph_files`); for a graph served from a repo, they must be in the repo.

- Only files of the pushed graph's pairs go: a name ``<model>__<dataset>__<recipe hash>``
  (``--`` for a ``/`` in an id, as the runner writes it) whose pair has score rows in the graph.
- A file the repo already holds with the same bytes is skipped, so a rerun sends nothing.
  A repo file of the same name with *other* bytes (the same pair profiled again with the same
  recipe, by someone else or after a rerun) is never overwritten: the repo's file is kept, the
  local one is not sent, and a warning names it, as a node row that disagrees is (the rest of
  the push goes in; refusing it all would hold back every other pair's rows, and stall
  ``mandc profile --push`` for the rest of a run).
- A public repo must not show the pusher's machine: an absolute local path in a run record
  (``dataset_source`` is often ``/data/…``) is replaced by ``<local>/<last part>``, and the push
  says which records it changed. A record holding what looks like a Hugging Face token refuses
  the whole push (nothing is written); the token is never repeated in the message.
- Limits (:data:`MAX_RUN_BYTES`, :data:`MAX_GRID_BYTES`): a larger file, a grid that is not an
  image, or a record that is not JSON is not sent and is named in a warning; a push over
  :data:`MAX_FILES` files or :data:`MAX_TOTAL_BYTES` refuses, since one commit that large
  is better sent with ``hf upload-large-folder``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ValidationError

MAX_RUN_BYTES = 1 << 20
"""A run record over 1 MiB is not sent (the runner's are about 1 KB)."""
MAX_GRID_BYTES = 16 << 20
"""A sample grid over 16 MiB is not sent (a 4 × 4 grid of 512 px images is a few MiB)."""
MAX_FILES = 5000
"""Run records and grids one push may send; more refuses the push."""
MAX_TOTAL_BYTES = 2 << 30
"""Bytes of run records and grids one push may send (2 GiB); more refuses the push."""
GRID_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")
FOLDERS = ("runs", "samples")

_LOCAL_PATH = re.compile(
    r"(?<![\w:/.~-])(?:file://)?~?/(?![/\s])[^\s'\"<>]*"  # POSIX: /…, ~/…, file:///…
    r"|(?<![\w\\/])[A-Za-z]:[\\/][^\s'\"<>]*"  # Windows drive: C:\…, C:/…
    r"|(?<![\w\\])\\\\[^\s\\'\"<>]+\\[^\s'\"<>]*")  # Windows share: \\server\share\…
_TOKEN = re.compile(r"hf_[A-Za-z0-9]{20,}")
_MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",),
          ".jpeg": (b"\xff\xd8\xff",), ".webp": (b"RIFF",)}


@dataclass
class RemoteFile:
    """What the repo says of a file: its git blob id, and its sha256 when stored with LFS."""

    blob_id: str | None
    sha256: str | None = None

    def holds(self, content: bytes) -> bool:
        if self.sha256:
            return hashlib.sha256(content).hexdigest() == self.sha256
        return self.blob_id == git_blob_id(content)


@dataclass
class FilePlan:
    """Run records and grids a push sends (path → bytes), and what it left out and why."""

    files: dict[str, bytes] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FOLDERS, 0))
    conflicts: list[str] = field(default_factory=list)
    scrubbed: list[str] = field(default_factory=list)
    """run records whose local paths were replaced before sending."""

    @property
    def added(self) -> dict[str, int]:
        return {folder: sum(p.startswith(f"{folder}/") for p in self.files) for folder in FOLDERS}


def git_blob_id(content: bytes) -> str:
    """The git object id of ``content``: what the Hub lists as a regular file's ``blob_id``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def pair_of(stem: str) -> tuple[str, str] | None:
    """(model, dataset) of a profiling file stem ``<model>__<dataset>__<recipe hash>[-…]``."""
    parts = stem.split("__")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0].replace("--", "/"), parts[1].replace("--", "/")


def plan_files(folder: str | Path, pairs: set[tuple[str, str]],
               remote: dict[str, RemoteFile], *, token: str | None = None,
               samples_dir: str | Path | None = None) -> FilePlan:
    """The run records and grids under ``folder`` (grids: under ``samples_dir`` when the run
    wrote them elsewhere) of ``pairs`` that ``remote`` (the repo's files) lacks; see the module
    docstring for what is skipped, scrubbed or refused."""
    folder = Path(folder)
    plan = FilePlan()
    for kind in FOLDERS:
        local = Path(samples_dir) if kind == "samples" and samples_dir else folder / kind
        if not local.is_dir():
            continue
        for file in sorted(local.iterdir()):
            path = f"{kind}/{file.name}"
            if not file.is_file() or pair_of(file.stem) not in pairs:
                continue
            content = _content(file, path, kind, plan, token)
            if content is None:
                continue
            there = remote.get(path)
            if there is None:
                plan.files[path] = content
            elif there.holds(content):
                plan.present[kind] += 1
            else:
                plan.conflicts.append(f"{path}: the repo holds a different file of this name "
                                      f"(the same pair profiled again with the same recipe?); "
                                      f"the repo's file is kept and this one is not sent")
    total = sum(map(len, plan.files.values()))
    if len(plan.files) > MAX_FILES or total > MAX_TOTAL_BYTES:
        raise ValidationError(
            f"the push would send {len(plan.files)} run records and sample grids "
            f"({total / 2**20:,.0f} MiB), over the limit of {MAX_FILES} files and "
            f"{MAX_TOTAL_BYTES >> 30} GiB a push; push the tables with --no-files and upload "
            f"runs/ and samples/ with `hf upload-large-folder`", file=str(folder))
    return plan


def _content(file: Path, path: str, kind: str, plan: FilePlan, token: str | None
             ) -> bytes | None:
    """The bytes to send for ``file`` (a scrubbed record), or ``None`` with a warning."""
    limit = MAX_RUN_BYTES if kind == "runs" else MAX_GRID_BYTES
    size = file.stat().st_size
    if size > limit:
        plan.conflicts.append(f"{path}: {size:,} bytes, over the limit of {limit:,} for "
                              f"{kind}/; not sent")
        return None
    content = file.read_bytes()
    if kind == "samples":
        magic = _MAGIC.get(file.suffix.lower())
        if magic is None:
            return None  # not a grid (the runner writes only images here)
        if not content.startswith(magic):
            plan.conflicts.append(f"{path}: not a {file.suffix.lower()[1:].upper()} image; "
                                  f"not sent")
            return None
        return content
    if file.suffix != ".json":
        return None
    try:
        record = json.loads(content)
    except (UnicodeDecodeError, ValueError):
        record = None
    if not isinstance(record, dict):
        plan.conflicts.append(f"{path}: not a JSON object (a damaged run record?); not sent")
        return None
    _refuse_tokens(record, path, token)
    scrubbed, changed = scrub_record(record)
    if not changed:
        return content
    plan.scrubbed.append(path)
    return (json.dumps(scrubbed, indent=1, sort_keys=True) + "\n").encode()


def scrub_record(record: dict) -> tuple[dict, list[str]]:
    """``record`` with every absolute local path (``/…``, ``~/…``, ``file://…``, ``C:\\…``,
    ``\\\\server\\share\\…``, alone or in a text) replaced by ``<local>/<its last part>``, and
    the fields changed (dotted keys)."""
    changed: list[str] = []

    def clean(value, where: str):
        if isinstance(value, str):
            new = _LOCAL_PATH.sub(_hide, value)
            if new != value:
                changed.append(where)
            return new
        if isinstance(value, dict):
            return {key: clean(item, f"{where}.{key}" if where else str(key))
                    for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item, f"{where}[{number}]") for number, item in enumerate(value)]
        return value

    return clean(record, ""), changed


def _hide(match: re.Match) -> str:
    last = re.split(r"[\\/]", match.group(0).rstrip("/\\"))[-1]
    return f"<local>/{last}" if last and last != "~" and not last.endswith(":") else "<local>"


def _refuse_tokens(record: dict, path: str, token: str | None) -> None:
    text = json.dumps(record)
    found = _TOKEN.search(text) or (token and token in text)
    if found:
        field_name = next((key for key, value in record.items()
                           if _TOKEN.search(json.dumps(value))
                           or (token and token in json.dumps(value))), None)
        raise ValidationError("holds what looks like a Hugging Face token; nothing was pushed "
                              "(remove it from the record, or push with --no-files)",
                              file=path, column=field_name)
