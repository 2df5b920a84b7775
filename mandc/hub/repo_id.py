"""Graph repo references: ``OWNER/NAME``, ``OWNER/NAME@REVISION`` or ``hf://datasets/OWNER/NAME``.

A matching graph on the Hub is a *dataset* repo; these are the spellings a user of ``hf`` and
``huggingface_hub`` types for one. Parsing is strict so that a mistyped local path is not taken
for a repo (and the reverse): :func:`looks_like_repo` is what resolvers ask first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ValidationError

_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO = re.compile(rf"(?P<owner>{_PART})/(?P<name>{_PART})(?:@(?P<revision>[^@\s]+))?")
_URI_PREFIX = "hf://"


@dataclass(frozen=True)
class GraphRepo:
    """A dataset repo id and an optional revision (branch, tag, commit or ``refs/pr/N``)."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id

    def at(self, revision: str | None) -> GraphRepo:
        """The same repo at ``revision`` (None keeps the one it has)."""
        return GraphRepo(self.repo_id, revision or self.revision)


def parse_repo(text: str | GraphRepo) -> GraphRepo:
    """``OWNER/NAME[@REV]`` or ``hf://datasets/OWNER/NAME[@REV]`` → :class:`GraphRepo`."""
    if isinstance(text, GraphRepo):
        return text
    raw = str(text).strip()
    spec = raw
    if spec.startswith(_URI_PREFIX):
        spec = spec[len(_URI_PREFIX):]
        kind, _, spec = spec.partition("/")
        if kind != "datasets":
            raise ValidationError(f"{raw!r}: a matching graph lives in a dataset repo; write "
                                  f"hf://datasets/OWNER/NAME")
    match = _REPO.fullmatch(spec)
    if match is None:
        raise ValidationError(f"{raw!r} is not a Hub dataset repo id; expected OWNER/NAME, "
                              f"OWNER/NAME@REVISION or hf://datasets/OWNER/NAME")
    owner, name = match.group("owner"), match.group("name")
    for part in (owner, name):
        if "--" in part or ".." in part:
            raise ValidationError(f"{raw!r}: '--' and '..' are not allowed in a repo id")
    return GraphRepo(f"{owner}/{name}", match.group("revision"))


def looks_like_repo(text: str | Path) -> bool:
    """True for a repo spelling that is not an existing local path (a folder wins)."""
    if isinstance(text, Path) or Path(str(text)).expanduser().exists():
        return False
    try:
        parse_repo(str(text))
    except ValidationError:
        return False
    return True
