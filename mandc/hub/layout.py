"""The graph's files in a Hub dataset repo: the local layout, plus append-only shards.

A compacted repo holds exactly what a local graph directory holds (DESIGN.md, "Graph on disk"):
``graph.json``, ``README.md``, ``models.parquet``, ``datasets.parquet``, ``similarity.parquet``
and ``scores/<id>.parquet``. Pushers never rewrite a file, so between compactions the node and
similarity tables grow as shards too: ``models/<id>.parquet``, ``datasets/<id>.parquet``,
``similarity/<id>.parquet``. Reading merges them: score and similarity rows drop exact
duplicates; node rows are deduplicated by id, and two rows of one id that disagree are reported.

A shard's name is a digest of its rows, so a retried push writes the same path with the same
bytes; its provenance (author, mandc version, time, recipes) sits in the parquet metadata.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..graph.matching_graph import MatchingGraph
from ..graph.store import TABLE_FILES as TABLES
from ..graph.store import read_graph_files

#: what a pull downloads: the graph's files and nothing else of the repo (runs, samples...)
GRAPH_PATTERNS = ["graph.json", "README.md", "models.parquet", "datasets.parquet",
                  "similarity.parquet", "scores/*.parquet", "models/*.parquet",
                  "datasets/*.parquet", "similarity/*.parquet"]
PROVENANCE_KEY = b"mandc"

CARD = """---
configs:
- config_name: scores
  data_files:
  - split: train
    path: scores/*.parquet
  default: true
- config_name: models
  data_files:
  - split: train
    path:
    - models.parquet
    - models/*.parquet
- config_name: datasets
  data_files:
  - split: train
    path:
    - datasets.parquet
    - datasets/*.parquet
- config_name: similarity
  data_files:
  - split: train
    path:
    - similarity.parquet
    - similarity/*.parquet
tags:
- mandc
- model-selection
---

# M&C matching graph

A shared matching graph for [M&C](https://arxiv.org/abs/2508.10993): which pretrained
text-to-image model to fine-tune on a dataset. At its last compaction it held {models} models,
{datasets} profiled datasets and {scores} fine-tuning scores (primary metric: `{metric}`).

Tables: `models`, `datasets`, `scores` and `similarity`. Pushes (`mandc push`) add new files
(shards) and never rewrite one, so concurrent pushers keep each other's rows;
`mandc graph compact --repo OWNER/NAME` folds the shards into one file per table.
Read it with `mandc pull OWNER/NAME` or `--graph OWNER/NAME`.
"""


@dataclass
class RepoGraph:
    """A graph read from a Hub-layout folder, with the files each table came from."""

    graph: MatchingGraph
    files: dict[str, list[str]]
    """table → files read, relative to the folder (compacted file first, then shards)."""
    conflicts: list[str] = field(default_factory=list)
    """node ids whose rows disagree across files (the first row read is kept)."""

    def shards(self) -> list[str]:
        """The shard files (everything a compaction folds)."""
        return [path for table, paths in self.files.items() for path in paths
                if path.startswith(f"{TABLES[table][1]}/")]


def card_text(graph: MatchingGraph) -> str:
    return CARD.format(models=len(graph.models), datasets=len(graph.datasets),
                       scores=len(graph.scores), metric=graph.primary_metric)


def read_repo_graph(folder: str | Path, *, label: str | None = None) -> RepoGraph:
    """Read a Hub-layout folder (a snapshot, or a local graph directory) into one graph."""
    folder = Path(folder)
    label = label or str(folder)
    read = read_graph_files(folder, label=label)  # checks graph.json and its schema
    return RepoGraph(read.graph, read.files, read.conflicts)


# ------------------------------------------------------------------------------ writing
def table_bytes(table: pd.DataFrame, provenance: dict | None = None) -> bytes:
    """Parquet bytes of a table; ``provenance`` goes into the file's key-value metadata."""
    arrow = pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False)
    if provenance is not None:
        metadata = dict(arrow.schema.metadata or {})
        metadata[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True).encode()
        arrow = arrow.replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pq.write_table(arrow, buffer)
    return buffer.getvalue()


def shard_path(table: str, rows: pd.DataFrame) -> str:
    """``<table>/<digest of the rows>.parquet``: the same rows always get the same name."""
    digest = hashlib.sha256(table_bytes(rows)).hexdigest()[:32]
    return f"{TABLES[table][1]}/{digest}.parquet"


def contributors(folder: str | Path, files: dict[str, list[str]]) -> list[dict]:
    """Who pushed the graph's files: per author, files, rows and the last push time, from the
    provenance each push records (files without it count under ``"unknown"``)."""
    folder = Path(folder)
    people: dict[str, dict] = {}
    for paths in files.values():
        for path in paths:
            stamp = read_provenance(folder / path) or {}
            person = people.setdefault(stamp.get("author") or "unknown", {
                "author": stamp.get("author") or "unknown", "files": 0, "rows": 0,
                "last": "", "mandc_versions": set()})
            person["files"] += 1
            person["rows"] += int(stamp.get("rows") or pq.read_metadata(folder / path).num_rows)
            person["last"] = max(person["last"], stamp.get("pushed_at")
                                 or stamp.get("compacted_at") or "")
            if stamp.get("mandc_version"):
                person["mandc_versions"].add(stamp["mandc_version"])
    return [{**p, "mandc_versions": sorted(p["mandc_versions"])}
            for p in sorted(people.values(), key=lambda p: -p["rows"])]


def read_provenance(path: str | Path) -> dict | None:
    """The provenance a push recorded in a parquet file, or None."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(PROVENANCE_KEY)
    return json.loads(raw) if raw else None
