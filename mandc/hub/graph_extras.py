"""The files of a graph repo beside its tables: sample grids (``samples/``) and run records
(``runs/``), read on demand.

A pull (:func:`.graph_repo.pull_graph`) downloads the tables only; a graph with thousands of
profiled pairs holds as many grids and records, and a page needs a handful. So the folders are
listed once and single files are downloaded when asked for, through the same ``huggingface_hub``
client, cache and timeouts as the pull, at the commit the graph was read from (its snapshot
folder in the cache gains them). A repo that cannot be reached lists nothing: the page shows
less, and says nothing false.
"""

from __future__ import annotations

import logging
from pathlib import Path

from huggingface_hub import hf_hub_download, snapshot_download

from .repo_id import GraphRepo
from .session import api_with_timeout, with_retries

log = logging.getLogger(__name__)

REPO_TYPE = "dataset"
FOLDERS = ("samples", "runs")
"""Graph-repo folders (as a local graph directory lays them out) that can be listed here."""


def list_folder(repo: GraphRepo, commit: str, folder: str) -> list[str]:
    """Paths of the files directly in ``folder`` of the repo at ``commit`` (``[]`` when the
    folder is missing or the Hub cannot be reached; the reason is logged)."""
    if folder not in FOLDERS:
        raise ValueError(f"folder must be one of {FOLDERS}, not {folder!r}")
    api = api_with_timeout()

    def attempt(_: int) -> list[str]:
        entries = api.list_repo_tree(repo.repo_id, path_in_repo=folder, repo_type=REPO_TYPE,
                                     revision=commit)
        return sorted(entry.path for entry in entries if hasattr(entry, "size"))

    try:
        return with_retries(attempt, action=f"listing {folder}/ of {repo}", token=None,
                            repo=repo.repo_id)
    except Exception as error:  # noqa: BLE001 - a missing folder or an offline Hub: show less
        log.info("no %s/ from %s: %s", folder, repo, " ".join(str(error).split()))
        return []


def fetch_file(repo: GraphRepo, commit: str, path: str) -> Path | None:
    """The local file of ``path`` in the repo at ``commit`` (downloaded into the Hugging Face
    cache once), or ``None`` when it cannot be had (logged)."""
    if path.split("/", 1)[0] not in FOLDERS or ".." in path.split("/"):
        raise ValueError(f"not a file of {FOLDERS}: {path!r}")

    def attempt(_: int) -> Path:
        return Path(hf_hub_download(repo.repo_id, path, repo_type=REPO_TYPE, revision=commit))

    api_with_timeout()
    try:
        return with_retries(attempt, action=f"reading {path} of {repo}", token=None,
                            repo=repo.repo_id)
    except Exception as error:  # noqa: BLE001 - one missing image must not fail the page
        log.info("%s of %s not read: %s", path, repo, " ".join(str(error).split()))
        return None


def fetch_files(repo: GraphRepo, commit: str, paths: list[str]) -> Path | None:
    """Download several files of :data:`FOLDERS` at once (a few in parallel) into the commit's
    snapshot folder, which is returned (``None`` when the Hub cannot be reached; logged)."""
    for path in paths:
        if path.split("/", 1)[0] not in FOLDERS or ".." in path.split("/"):
            raise ValueError(f"not a file of {FOLDERS}: {path!r}")
    if not paths:
        return None

    def attempt(_: int) -> Path:
        return Path(snapshot_download(repo.repo_id, repo_type=REPO_TYPE, revision=commit,
                                      allow_patterns=list(paths), max_workers=8))

    api_with_timeout()
    try:
        return with_retries(attempt, action=f"reading {len(paths)} files of {repo}",
                            token=None, repo=repo.repo_id)
    except Exception as error:  # noqa: BLE001 - the page shows less, not an error
        log.info("%d files of %s not read: %s", len(paths), repo, " ".join(str(error).split()))
        return None
