"""Where a matching graph lives: a local directory laid out exactly as the Hub dataset repo.

Layout (DESIGN.md): ``models.parquet``, ``datasets.parquet``, ``scores/<uuid>.parquet`` (append-only
shards), ``similarity.parquet`` (optional), ``graph.json`` and a ``README.md`` dataset card whose
``configs`` name each table so the Hub's viewer shows them. Reading also merges the node and
similarity shards a Hub graph repo gathers between compactions (``models/*.parquet``…), so a
snapshot in the Hugging Face cache is a graph directory too.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, ValidationError
from ..settings import get_settings
from .matching_graph import (
    DATASET_ID,
    MODEL_ID,
    SCHEMA_VERSION,
    MatchingGraph,
    complete_scores,
    empty_scores,
    empty_similarity,
    new_shard_name,
)

log = logging.getLogger(__name__)

CARD_TEMPLATE = """---
configs:
- config_name: scores
  data_files: scores/*.parquet
  default: true
- config_name: models
  data_files: models.parquet
- config_name: datasets
  data_files: datasets.parquet
{similarity}tags:
- mandc
- model-selection
---

# M&C matching graph

A matching graph for [M&C](https://arxiv.org/abs/2508.10993): {models} models, {datasets} profiled
datasets and {scores} fine-tuning scores (primary metric: `{metric}`).
Tables: `models`, `datasets`, `scores` (append-only shards under `scores/`){sim_text}.
"""


def default_graph_dir() -> Path:
    """The graph used when none is named: ``$MANDC_HOME/graph``."""
    return get_settings().default_graph_dir


def holds_other_files(directory: str | Path) -> bool:
    """Whether ``directory`` is a non-empty folder that holds no graph (no ``graph.json``): its
    files are someone else's, never to be overwritten or deleted."""
    directory = Path(directory)
    return (directory.is_dir() and not (directory / "graph.json").is_file()
            and any(directory.iterdir()))


def save_graph(graph: MatchingGraph, directory: str | Path) -> Path:
    """Write ``graph`` to ``directory``; existing score shards are replaced by one new shard.
    A non-empty folder that holds no graph is refused: its README.md and files are not ours."""
    directory = Path(directory)
    if holds_other_files(directory):
        raise ConfigError(f"{directory} is not empty and holds no matching graph (no graph.json); "
                          "save the graph to a new or empty folder")
    (directory / "scores").mkdir(parents=True, exist_ok=True)
    for old in (directory / "scores").glob("*.parquet"):
        old.unlink()
    graph.models.to_parquet(directory / "models.parquet", index=False)
    graph.datasets.to_parquet(directory / "datasets.parquet", index=False)
    if len(graph.scores):
        graph.scores.to_parquet(directory / "scores" / new_shard_name(), index=False)
    similarity_path = directory / "similarity.parquet"
    if len(graph.similarity):
        graph.similarity.to_parquet(similarity_path, index=False)
    elif similarity_path.exists():
        similarity_path.unlink()
    (directory / "graph.json").write_text(json.dumps(graph.meta, indent=2, sort_keys=True) + "\n")
    (directory / "README.md").write_text(_card(graph))
    return directory


def append_scores(directory: str | Path, rows: pd.DataFrame) -> Path:
    """Add score rows as a new shard and touch no other file, so concurrent writers are safe."""
    # validates ids and metric directions against the nodes; the other shards need not be read
    load_graph(directory, with_scores=False).add_scores(rows)
    path = Path(directory) / "scores" / new_shard_name()
    complete_scores(rows).to_parquet(path, index=False)
    return path


def add_nodes(directory: str | Path, *, models: pd.DataFrame | None = None,
              datasets: pd.DataFrame | None = None) -> MatchingGraph:
    """Add the model and dataset rows whose ids the graph lacks; score shards are not touched.

    Rows for ids already present are ignored (their stored features win); where such a row
    disagrees with the stored one a warning names the columns, since a node written before its
    model or dataset changed goes stale silently otherwise. The node tables are
    rewritten atomically, so run this from one process at a time (a grid's driver, before its
    workers append scores).
    """
    directory = Path(directory)
    graph = load_graph(directory, with_scores=False)
    tables = {"models": (graph.models, models, "model"),
              "datasets": (graph.datasets, datasets, "dataset")}
    changed = {}
    for name, (stored, new, key) in tables.items():
        if new is None or new.empty:
            continue
        if key not in new.columns:
            raise ValidationError(f"new rows have no {key!r} column", file=name)
        fresh = new[~new[key].astype(str).isin(set(stored[key].astype(str)))]
        _warn_on_stale_nodes(name, stored, new, key)
        if len(fresh):
            changed[name] = pd.concat([stored, fresh], ignore_index=True)
    if not changed:
        return graph
    graph = load_graph(directory)  # the card counts the scores too
    updated = MatchingGraph(changed.get("models", graph.models),
                            changed.get("datasets", graph.datasets),
                            graph.scores, graph.similarity, dict(graph.meta))
    for name, table in changed.items():
        temporary = directory / f".{name}.parquet.tmp"
        table.to_parquet(temporary, index=False)
        temporary.replace(directory / f"{name}.parquet")
    (directory / "README.md").write_text(_card(updated))
    return updated


def _warn_on_stale_nodes(name: str, stored: pd.DataFrame, new: pd.DataFrame, key: str) -> None:
    shared = [c for c in new.columns if c in stored.columns and c != key]
    before = stored.assign(**{key: stored[key].astype(str)}).set_index(key)
    for _, row in new.iterrows():
        node = str(row[key])
        if node not in before.index:
            continue
        old = before.loc[node]
        changed = [c for c in shared if not _same_value(old[c], row[c])]
        if changed:
            details = ", ".join(f"{c}: {old[c]!r} stored, {row[c]!r} given" for c in changed)
            log.warning("%s.parquet: %r is already a node with other features (%s); the stored "
                        "ones are kept, rewrite the node if the %s changed", name, node,
                        details, key)


def _same_value(stored, given) -> bool:
    """Node features agree: both missing, equal numbers (a parquet round trip turns 256 into
    256.0), or the same text."""
    if pd.isna(stored) and pd.isna(given):
        return True
    if isinstance(stored, Number) and isinstance(given, Number) and \
            not isinstance(stored, bool) and not isinstance(given, bool):
        return bool(stored == given)
    return str(stored) == str(given)


def declare_metrics(directory: str | Path, specs: dict[str, dict]) -> None:
    """Add metric declarations (``higher_is_better``, ``log_scale``, ``probe``) to a graph's
    ``graph.json``; a metric already declared otherwise is an error, never overwritten."""
    meta_path = Path(directory) / "graph.json"
    if not meta_path.is_file():
        raise ValidationError("not a matching graph directory (no graph.json)",
                              file=str(directory))
    meta = json.loads(meta_path.read_text())
    declared = meta.setdefault("metrics", {})
    if all(declared.get(metric) == spec for metric, spec in specs.items()):
        return  # nothing to write (parallel grid workers rely on this)
    for metric, spec in specs.items():
        if metric in declared and declared[metric] != spec:
            raise ValidationError(f"metric {metric!r} is declared as {declared[metric]} already, "
                                  f"not {spec}", file=str(meta_path))
        declared[metric] = spec
    temporary = meta_path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    temporary.replace(meta_path)


NODE_TABLES = {"models": MODEL_ID, "datasets": DATASET_ID}
#: table → (compacted file, shard folder), as the Hub layout writes them (DESIGN.md)
TABLE_FILES = {"models": ("models.parquet", "models"),
               "datasets": ("datasets.parquet", "datasets"),
               "similarity": ("similarity.parquet", "similarity"),
               "scores": (None, "scores")}


@dataclass
class StoredGraph:
    """A graph read from a folder, with the files each table came from."""

    graph: MatchingGraph
    files: dict[str, list[str]]
    """table → files read, relative to the folder (compacted file first, then shards)."""
    conflicts: list[str] = field(default_factory=list)
    """node rows of one id that disagree across files (the first row read is kept)."""


def load_graph(directory: str | Path, *, with_scores: bool = True) -> MatchingGraph:
    """Read a graph directory, merging score shards and dropping exact duplicate rows.

    A snapshot of a Hub graph repo loads too: node and similarity shards
    (``models/*.parquet``, ``datasets/*.parquet``, ``similarity/*.parquet``) are merged with
    the compacted files, nodes deduplicated by id; rows that disagree are logged as warnings.
    ``with_scores=False`` skips the score shards (nodes, similarity and metadata only): what
    writers need to validate new rows, at a constant cost however many shards a grid has written.
    """
    read = read_graph_files(directory, with_scores=with_scores)
    for line in read.conflicts:
        log.warning("%s: %s", directory, line)
    return read.graph


def read_graph_files(directory: str | Path, *, with_scores: bool = True,
                     label: str | None = None) -> StoredGraph:
    """:func:`load_graph`, also saying which files each table came from and which node rows
    disagree (``label`` names the folder in messages)."""
    label = label or os.fspath(directory)
    directory = Path(directory)
    meta_path = directory / "graph.json"
    if not directory.exists():
        raise ValidationError("no such graph directory", file=label)
    if not meta_path.is_file():
        raise ValidationError("not a matching graph directory (no graph.json)", file=label)
    meta = json.loads(meta_path.read_text())
    if meta.get("schema_version", 0) > SCHEMA_VERSION:
        raise ValidationError(f"graph schema {meta['schema_version']} is newer than this M&C "
                              f"understands ({SCHEMA_VERSION}); upgrade mandc",
                              file=f"{label}/graph.json")
    files: dict[str, list[str]] = {}
    frames: dict[str, list[pd.DataFrame]] = {}
    for table, (compacted, shard_dir) in TABLE_FILES.items():
        if table == "scores" and not with_scores:
            files[table], frames[table] = [], []
            continue
        paths = [compacted] if compacted and (directory / compacted).is_file() else []
        paths += sorted(path.relative_to(directory).as_posix()
                        for path in (directory / shard_dir).glob("*.parquet"))
        files[table] = paths
        frames[table] = [pd.read_parquet(directory / path) for path in paths]
    for table in NODE_TABLES:
        if not files[table]:
            raise ValidationError(f"no {table} table ({table}.parquet or {table}/*.parquet)",
                                  file=label)
    conflicts: list[str] = []
    nodes = {table: merge_nodes(table, frames[table], files[table], conflicts)
             for table in NODE_TABLES}
    scores = _concat_unique(frames["scores"]) if frames["scores"] else empty_scores()
    similarity = (_concat_unique(frames["similarity"]) if frames["similarity"]
                  else empty_similarity())
    graph = MatchingGraph(models=nodes["models"], datasets=nodes["datasets"], scores=scores,
                          similarity=similarity, meta=meta)
    return StoredGraph(graph, files, conflicts)


def _concat_unique(frames: list[pd.DataFrame]) -> pd.DataFrame:
    merged = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return merged.drop_duplicates(ignore_index=True)


def merge_nodes(table: str, frames: list[pd.DataFrame], paths: list[str],
                conflicts: list[str]) -> pd.DataFrame:
    """Node rows deduplicated by id; the first file's row wins and each disagreement is added
    to ``conflicts`` (append-only shards can repeat a node, and must not silently change it)."""
    key = NODE_TABLES[table]
    for frame, path in zip(frames, paths, strict=True):
        if key not in frame.columns:
            raise ValidationError(f"no {key!r} column", file=path)
    merged = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    ids = merged[key].astype(str)
    repeated = ids.duplicated(keep=False)
    if repeated.any():
        origin = np.repeat(np.asarray(paths, dtype=object), [len(f) for f in frames])
        for node, positions in ids[repeated].groupby(ids[repeated]).groups.items():
            first = merged.index.get_loc(positions[0])
            for position in positions[1:]:
                other = merged.index.get_loc(position)
                differing = differing_columns(merged.iloc[first], merged.iloc[other])
                if differing:
                    conflicts.append(f"{table} {node!r}: {origin[other]} disagrees with "
                                     f"{origin[first]} on {', '.join(differing)}; the row of "
                                     f"{origin[first]} is kept")
    return merged[~ids.duplicated()].reset_index(drop=True)


def differing_columns(a: pd.Series, b: pd.Series) -> list[str]:
    """Columns both rows fill with different values (numbers compared as numbers, vectors
    element-wise); a column one row lacks is not a disagreement."""
    out = []
    for column in a.index.intersection(b.index):
        x, y = a[column], b[column]
        if _missing(x) or _missing(y):
            continue
        if not _same(x, y):
            out.append(str(column))
    return out


def _missing(value) -> bool:
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def _same(x, y) -> bool:
    if np.ndim(x) or np.ndim(y):
        try:
            return bool(np.array_equal(np.asarray(x), np.asarray(y)))
        except (TypeError, ValueError):
            return False
    if isinstance(x, (int, float, np.number)) and isinstance(y, (int, float, np.number)) \
            and not isinstance(x, bool) and not isinstance(y, bool):
        return bool(x == y)
    return str(x) == str(y)


def _card(graph: MatchingGraph) -> str:
    has_similarity = len(graph.similarity) > 0
    return CARD_TEMPLATE.format(
        similarity=("- config_name: similarity\n  data_files: similarity.parquet\n"
                    if has_similarity else ""),
        models=len(graph.models), datasets=len(graph.datasets), scores=len(graph.scores),
        metric=graph.primary_metric, sim_text=", `similarity`" if has_similarity else "")
