"""A served graph's files beside its tables: the sample grids profiling kept and the run
records (the measured seconds behind the fine-tune cost), from the graph's local folder or, for
a graph read from a Hub repo, fetched from that repo on first use (:mod:`mandc.hub.graph_extras`).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from ..graph.defaults import graph_file_folders
from ..hub.repo_id import GraphRepo

log = logging.getLogger(__name__)

MAX_HUB_RUNS_PER_MODEL = 8
"""Run records fetched per model from a Hub graph: enough for a median, bounded for big graphs."""


def pair_of(stem: str) -> tuple[str, str] | None:
    """(model, dataset) of a profiling file stem ``<model>__<dataset>__<recipe hash>`` (a ``/``
    in an id is written ``--``, which Hub ids cannot hold); ``None`` for any other name."""
    parts = stem.split("__")
    if len(parts) != 3:
        return None
    return parts[0].replace("--", "/"), parts[1].replace("--", "/")


class GraphFiles:
    """Sample grids and run records of one graph: ``folder`` (a local graph directory, or
    ``None``; for the shipped default graph, also the shipped graphs it was merged from) and,
    where the graph came from the Hub, ``repo`` at ``commit``."""

    def __init__(self, folder: Path | None, repo: GraphRepo | None = None,
                 commit: str | None = None):
        self.folder, self.repo, self.commit = folder, repo, commit
        self.folders = graph_file_folders(folder) if folder is not None else []
        self._lock = threading.Lock()
        self._grids: dict[tuple[str, str], str] | None = None
        self._runs: list[dict] | None = None
        self._fetched: dict[str, Path] = {}

    @property
    def on_hub(self) -> bool:
        return self.repo is not None and self.commit is not None

    def sample_grid(self, model: str, dataset: str) -> Path | None:
        """The grid ``model`` generated after its fine-tune on ``dataset``, if profiling kept
        one (fetched from the Hub repo the first time it is shown)."""
        with self._lock:
            if self._grids is None:
                self._grids = self._index(self._list("samples"))
            path = self._grids.get((model, dataset))
        if path is None:
            return None
        if self.on_hub:
            from ..hub.graph_extras import fetch_file

            if path not in self._fetched:
                fetched = fetch_file(self.repo, self.commit, path)
                if fetched is None:
                    return None
                self._fetched[path] = fetched
            return self._fetched[path]
        return Path(path)

    def runs(self) -> list[dict]:
        """The graph's run records (at most :data:`MAX_HUB_RUNS_PER_MODEL` a model from a Hub
        repo); an unreadable record is skipped and logged."""
        with self._lock:
            if self._runs is None:
                self._runs = self._read_runs()
            return self._runs

    def _list(self, folder: str) -> list[str]:
        """The files in ``folder``, sorted: paths relative to the repo for a Hub graph, full
        paths (first graph folder first) for a local one."""
        if self.on_hub:
            from ..hub.graph_extras import list_folder

            return list_folder(self.repo, self.commit, folder)
        found = []
        for base in self.folders:
            local = base / folder
            if local.is_dir():
                found += [str(path) for path in sorted(local.iterdir()) if path.is_file()]
        return found

    @staticmethod
    def _index(paths: list[str]) -> dict[tuple[str, str], str]:
        index = {}
        for path in paths:
            name = Path(path)
            if name.suffix.lower() not in (".png", ".webp", ".jpg", ".jpeg"):
                continue
            if name.stem.endswith("-zero-shot"):  # the base model's grid, sorted first
                continue
            pair = pair_of(name.stem)
            if pair is not None:
                index.setdefault(pair, path)
        return index

    def _read_runs(self) -> list[dict]:
        paths = [p for p in self._list("runs") if p.endswith(".json")]
        if self.on_hub:
            from ..hub.graph_extras import fetch_files

            taken: dict[str, int] = {}
            chosen = []
            for path in paths:
                pair = pair_of(Path(path).stem)
                if pair and taken.get(pair[0], 0) < MAX_HUB_RUNS_PER_MODEL:
                    taken[pair[0]] = taken.get(pair[0], 0) + 1
                    chosen.append(path)
            folder = fetch_files(self.repo, self.commit, chosen)
            files = [folder / path for path in chosen] if folder is not None else []
        else:
            files = [Path(path) for path in paths]
        records = []
        for file in files:
            if file is None:
                continue
            try:
                record = json.loads(Path(file).read_text())
            except (OSError, ValueError) as error:
                log.warning("run record %s skipped: %s", Path(file).name, error)
                continue
            if isinstance(record, dict):
                records.append(record)
        return records
