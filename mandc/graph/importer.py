"""Build a :class:`~mandc.graph.MatchingGraph` from plain CSV files, so anyone can bring their own
performance matrix (``mandc graph import``).

Files (UTF-8, comma-separated, first line a header):

- scores: columns ``model``, ``dataset``, ``score`` and optionally ``metric``; several rows for
  one (model, dataset, metric) are averaged and their number kept as ``count``. Other columns
  are not read, and a warning names them (a misspelt ``metric`` would average two metrics).
- models / datasets: an id column (``model`` / ``dataset``) and any feature columns. A column
  whose values are all numbers becomes numeric, any other becomes categorical text; empty cells
  (and ``NA``, ``N/A``, ``NaN``, ``null``, ``None``) are missing values. Features are kept raw;
  the recommender encodes them.
- similarity: long form (``dataset_a``, ``dataset_b``, ``value``, optionally ``measure``) or a
  square matrix whose header and first column are dataset ids (the top-left cell is free;
  an empty cell means "not measured"; one triangle is enough). Self-pairs are not edges and are
  skipped.

Input is validated in full before anything is built, and nothing is ever silently fixed: a
missing score, a conflicting duplicate or an unknown id is an error. Every error is one
:class:`~mandc.errors.ValidationError` naming the file, the row and the column. **Rows are
numbered as the lines of the file, the header being row 1** (what a text editor or a
spreadsheet shows).
"""

from __future__ import annotations

import csv
import errno
import logging
import math
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, ValidationError
from .matching_graph import DATASET_ID, MODEL_ID, MatchingGraph
from .store import holds_other_files, save_graph

log = logging.getLogger(__name__)

SCORE_FILE_COLUMNS = ("model", "dataset", "score", "metric")
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})
DEFAULT_METRIC = "score"
SIMILARITY_MEASURE = "given"
OTHER_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}
"""Separators of files that are not comma-separated, named in the hint of a one-column header."""


# ---------------------------------------------------------------------------------- reading CSV
@dataclass
class CsvTable:
    """A CSV file read as text, with the file row number of every record (header = row 1)."""

    name: str
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]

    def column(self, name: str) -> int:
        """Index of a required column, or an error that lists the columns the file has."""
        if name in self.header:
            return self.header.index(name)
        raise ValidationError(f"missing column {name!r}; the header has {self.header}"
                              f"{self.separator_hint()}", file=self.name, row=1, column=name)

    def separator_hint(self) -> str:
        """Why a header may read as one column: the file uses another separator (or '')."""
        if len(self.header) == 1:
            for separator, word in OTHER_SEPARATORS.items():
                if separator in self.header[0]:
                    return (f" (the file looks {word}-separated; M&C reads comma-separated "
                            "files)")
        return ""


def read_csv_table(path: str | Path, *, ragged_hint: str = "") -> CsvTable:
    """Read a CSV file as strings; blank lines are skipped but still counted in row numbers.
    Spaces around a cell are dropped, so that ``a ,x`` and ``a,x`` name the same model.

    ``ragged_hint`` is added to the error for a row with more fields than the header.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ValidationError("no such file", file=name)
    records: list[tuple[int, list[str]]] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, skipinitialspace=True)
            next_line = 1
            for record in reader:
                start, next_line = next_line, reader.line_num + 1
                record = [cell.strip() for cell in record]
                if any(record):
                    records.append((start, record))
    except UnicodeDecodeError as error:
        raise ValidationError(f"not UTF-8 text ({error.reason} at byte {error.start})",
                              file=name) from None
    except csv.Error as error:
        raise ValidationError(f"unreadable CSV: {error}", file=name, row=next_line) from None
    if not records:
        raise ValidationError("empty file (expected a header and at least one row)", file=name)
    header_row, header = records[0]
    if header_row != 1:
        raise ValidationError("the header must be the first line", file=name, row=header_row)
    seen: set[str] = set()
    for index, column in enumerate(header):
        if column in seen:
            raise ValidationError("duplicate column name", file=name, row=1, column=column)
        if not column.strip() and index > 0:
            raise ValidationError(f"column {index + 1} of the header has no name", file=name,
                                  row=1)
        seen.add(column)
    if len(records) == 1:
        raise ValidationError("empty file: a header but no rows", file=name)
    for row_number, record in records[1:]:
        if len(record) != len(header):
            hint = ragged_hint if len(record) == len(header) + 1 else ""
            raise ValidationError(f"{len(record)} fields where the header has {len(header)}"
                                  f"{hint}", file=name, row=row_number)
    return CsvTable(name, header, [r for _, r in records[1:]], [n for n, _ in records[1:]])


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def _parse_number(table: CsvTable, cell: str, row: int, column: str, what: str) -> float:
    """A finite float, or an error naming the place (never a silent NaN)."""
    if _is_missing(cell):
        raise ValidationError(f"missing {what} ({cell!r}); leave unmeasured pairs out instead",
                              file=table.name, row=row, column=column)
    try:
        value = float(cell)
    except ValueError:
        hint = " (use '.' as the decimal mark)" if "," in cell else ""
        raise ValidationError(f"{what} is not a number: {cell!r}{hint}", file=table.name,
                              row=row, column=column) from None
    if not math.isfinite(value):
        raise ValidationError(f"{what} is not finite: {cell!r}", file=table.name, row=row,
                              column=column)
    return value


def _parse_id(table: CsvTable, cell: str, row: int, column: str) -> str:
    if _is_missing(cell):
        raise ValidationError(f"missing id ({cell!r})", file=table.name, row=row, column=column)
    return cell


# ---------------------------------------------------------------------------------- scores
@dataclass
class _Scores:
    rows: pd.DataFrame
    """averaged per (model, dataset, metric), with ``count``"""
    primary_metric: str | None
    first_row: dict[str, dict[str, int]]
    """id column → id → file row where it first appears (for error messages)"""
    name: str


def _read_scores(path, *, metric: str | None, lower_is_better) -> _Scores:
    table = read_csv_table(path)
    model_col, dataset_col, score_col = (table.column(c) for c in ("model", "dataset", "score"))
    metric_col = table.header.index("metric") if "metric" in table.header else None
    unread = [column for column in table.header if column not in SCORE_FILE_COLUMNS]
    if unread:
        log.warning("note: %s: column(s) %s not read (a scores file has model, dataset, score "
                    "and optionally metric); rows of one pair are averaged whatever they hold",
                    table.name, ", ".join(map(repr, unread)))
    rows = []
    first_row: dict[str, dict[str, int]] = {"model": {}, "dataset": {}}
    for number, record in zip(table.row_numbers, table.rows):
        model = _parse_id(table, record[model_col], number, "model")
        dataset = _parse_id(table, record[dataset_col], number, "dataset")
        first_row["model"].setdefault(model, number)
        first_row["dataset"].setdefault(dataset, number)
        value = _parse_number(table, record[score_col], number, "score", "score")
        if metric_col is None:
            name = metric or DEFAULT_METRIC
        else:
            name = record[metric_col]
            if _is_missing(name):
                raise ValidationError(f"missing metric name ({name!r})", file=table.name,
                                      row=number, column="metric")
        rows.append((model, dataset, name, value))
    frame = pd.DataFrame(rows, columns=["model", "dataset", "metric", "value"])
    metrics = list(dict.fromkeys(frame["metric"]))
    primary = None
    if metric is not None:
        if metric not in metrics:
            raise ValidationError(f"metric {metric!r} is not in the file; it has {metrics}",
                                  file=table.name, column="metric")
        primary = metric
    lower = _lower_is_better_metrics(lower_is_better, metrics)
    grouped = frame.groupby(["model", "dataset", "metric"], sort=False)["value"]
    averaged = grouped.agg(value="mean", count="size").reset_index()
    averaged["higher_is_better"] = ~averaged["metric"].isin(lower)
    return _Scores(averaged, primary, first_row, table.name)


def _lower_is_better_metrics(lower_is_better, metrics: list[str]) -> set[str]:
    """``True`` means every metric; a collection names the metrics where lower is better."""
    if isinstance(lower_is_better, bool):
        return set(metrics) if lower_is_better else set()
    if isinstance(lower_is_better, str) or not isinstance(lower_is_better, Iterable):
        raise ConfigError("lower_is_better must be True/False or a collection of metric names")
    named = set(lower_is_better)
    unknown = sorted(named - set(metrics))
    if unknown:
        raise ConfigError(f"lower_is_better names metrics {unknown} that the scores do not "
                          f"have; they have {metrics}")
    return named


# ---------------------------------------------------------------------------------- node tables
def _read_nodes(path, id_column: str) -> tuple[pd.DataFrame, dict[str, int], str]:
    """A node table with raw-typed feature columns; ids mapped to their file row number."""
    table = read_csv_table(path)
    key = table.column(id_column)
    first_row: dict[str, int] = {}
    kept: dict[str, list[str]] = {}
    for number, record in zip(table.row_numbers, table.rows):
        node = _parse_id(table, record[key], number, id_column)
        if node in kept:
            for column, old, new in zip(table.header, kept[node], record):
                if _normalised(old) != _normalised(new):
                    raise ValidationError(
                        f"{id_column} {node!r} is also on row {first_row[node]} with a different "
                        f"value ({old!r} there, {new!r} here)", file=table.name, row=number,
                        column=column)
            continue  # an exact duplicate carries no new information
        first_row[node] = number
        kept[node] = record
    records, rows = list(kept.values()), list(first_row.values())
    columns = {id_column: pd.array(list(kept), dtype="string")}
    for index, column in enumerate(table.header):
        if index != key:
            cells = [r[index] for r in records]
            columns[column] = _feature_column(table, column, cells, rows)
    return pd.DataFrame(columns), first_row, table.name


def _normalised(cell: str) -> str | None:
    return None if _is_missing(cell) else cell


def _feature_column(table: CsvTable, column: str, cells: list[str], rows: list[int]):
    """Numbers if every present value is one; text otherwise — unless the text looks like a typo.

    A column that is mostly numbers with a few words in it is far more often a slip than a
    categorical feature, and guessing either way would silently change the data, so it is refused.
    """
    present = [(row, cell) for row, cell in zip(rows, cells) if not _is_missing(cell)]
    numbers, words = [], []
    for row, cell in present:
        try:
            value = float(cell)
        except ValueError:
            words.append((row, cell))
            continue
        if not math.isfinite(value):
            raise ValidationError(f"value is not finite: {cell!r}", file=table.name, row=row,
                                  column=column)
        numbers.append(value)
    if words and len(numbers) > len(words):
        row, cell = words[0]
        raise ValidationError(f"column is numeric but this value is not a number: {cell!r} "
                              "(fix it, or leave the cell empty if it is unknown)",
                              file=table.name, row=row, column=column)
    if words or not present:
        return pd.array([_normalised(c) for c in cells], dtype="string")
    values = pd.to_numeric(pd.Series([None if _is_missing(c) else c for c in cells],
                                     dtype="object"), errors="raise")
    return values.to_numpy()


def _node_table(scores: _Scores, given, id_column: str, *, source: str | None) -> pd.DataFrame:
    """The given node table, or one built from the score ids; every scored id must be in it."""
    where = scores.first_row[id_column]
    ids_from_scores = list(where)
    if given is None:
        table = pd.DataFrame({id_column: pd.array(ids_from_scores, dtype="string")})
    else:
        table, known, name = given
        missing = [node for node in ids_from_scores if node not in known]
        if missing:
            raise ValidationError(
                f"{id_column} {missing[0]!r} is not in {name}; add a row for it (its features "
                "may be left empty)", file=scores.name, row=where[missing[0]], column=id_column)
    if source is not None:
        if "source" in table.columns:
            table["source"] = table["source"].fillna(source)
        else:
            table.insert(1, "source", pd.array([source] * len(table), dtype="string"))
    return table


# ---------------------------------------------------------------------------------- similarity
def _read_similarity(path, known: set[str] | None, *, is_distance: bool) -> pd.DataFrame:
    table = read_csv_table(path, ragged_hint=" (a square matrix's header starts with a corner "
                           "cell, which may be empty: ',d1,d2,...')")
    long_form = {"dataset_a", "dataset_b", "value"}
    if long_form & set(table.header):
        edges = _long_similarity(table, known, is_distance)
    else:
        edges = _square_similarity(table, known, is_distance)
    frame = pd.DataFrame(edges, columns=["dataset_a", "dataset_b", "measure", "value"])
    frame["is_distance"] = is_distance
    return frame


def _check_known(table: CsvTable, node: str, known: set[str] | None, row: int,
                 column: str) -> None:
    """``known`` is None when any id may be new (no datasets file: a dataset that only has
    similarities is a cold-start target); else the ids of the datasets file."""
    if known is not None and node not in known:
        raise ValidationError(f"dataset id {node!r} is not in the datasets file; add a row for "
                              "it (its features may be left empty)", file=table.name, row=row,
                              column=column)


def _check_value(table, cell, row, column, is_distance) -> float:
    value = _parse_number(table, cell, row, column, "distance" if is_distance else "similarity")
    if is_distance and value < 0:
        raise ValidationError(f"a distance cannot be negative: {cell!r}", file=table.name,
                              row=row, column=column)
    return value


def _long_similarity(table: CsvTable, known: set[str] | None, is_distance: bool) -> list[tuple]:
    a_col, b_col, value_col = (table.column(c) for c in ("dataset_a", "dataset_b", "value"))
    measure_col = table.header.index("measure") if "measure" in table.header else None
    seen: dict[tuple, tuple[float, int]] = {}
    edges = []
    for number, record in zip(table.row_numbers, table.rows):
        a = _parse_id(table, record[a_col], number, "dataset_a")
        b = _parse_id(table, record[b_col], number, "dataset_b")
        _check_known(table, a, known, number, "dataset_a")
        _check_known(table, b, known, number, "dataset_b")
        value = _check_value(table, record[value_col], number, "value", is_distance)
        measure = SIMILARITY_MEASURE if measure_col is None else record[measure_col]
        if a == b:
            continue
        key = (measure, *sorted((a, b)))
        if key in seen:
            previous, row = seen[key]
            if not math.isclose(previous, value, rel_tol=1e-9, abs_tol=1e-12):
                raise ValidationError(f"pair ({a}, {b}) is also on row {row} with value "
                                      f"{previous} (here {value})", file=table.name, row=number,
                                      column="value")
            continue
        seen[key] = (value, number)
        edges.append((a, b, measure, value))
    return edges


def _square_similarity(table: CsvTable, known: set[str] | None,
                       is_distance: bool) -> list[tuple]:
    ids = table.header[1:]
    if not ids:
        raise ValidationError("a square similarity matrix needs dataset ids as its header; a "
                              "long-form file needs columns dataset_a, dataset_b, value"
                              f"{table.separator_hint()}", file=table.name, row=1)
    for node in ids:
        _check_known(table, node, known, 1, node)
    if len(table.rows) != len(ids):
        raise ValidationError(f"the matrix is not square: {len(ids)} dataset columns but "
                              f"{len(table.rows)} rows", file=table.name)
    row_of: dict[str, int] = {}
    for number, record in zip(table.row_numbers, table.rows):
        node = _parse_id(table, record[0], number, table.header[0])
        if node not in ids:
            raise ValidationError(f"row id {node!r} is not one of the header's dataset ids",
                                  file=table.name, row=number, column=table.header[0])
        if node in row_of:
            raise ValidationError(f"dataset {node!r} has a second row (first on row "
                                  f"{row_of[node]})", file=table.name, row=number,
                                  column=table.header[0])
        row_of[node] = number
    cells: dict[tuple[str, str], tuple[float, int]] = {}
    for number, record in zip(table.row_numbers, table.rows):
        a = record[0]
        for b, cell in zip(ids, record[1:]):
            if a != b and not _is_missing(cell):
                cells[(a, b)] = (_check_value(table, cell, number, b, is_distance), number)
    edges = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            upper, lower = cells.get((a, b)), cells.get((b, a))
            if upper and lower and not math.isclose(upper[0], lower[0], rel_tol=1e-6,
                                                    abs_tol=1e-9):
                raise ValidationError(f"the matrix is not symmetric: ({a}, {b}) is {upper[0]} "
                                      f"on row {upper[1]} but ({b}, {a}) is {lower[0]}",
                                      file=table.name, row=lower[1], column=a)
            if upper or lower:
                edges.append((a, b, SIMILARITY_MEASURE, (upper or lower)[0]))
    return edges


def _with_cold_start_datasets(table: pd.DataFrame, similarity: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus a featureless row for each dataset that only the similarity file names: a
    dataset with data–data edges and no scores yet, the cold-start target M&C ranks models for."""
    named = pd.concat([similarity["dataset_a"], similarity["dataset_b"]]).astype(str)
    new = [d for d in dict.fromkeys(named) if d not in set(table[DATASET_ID].astype(str))]
    if not new:
        return table
    rows = pd.DataFrame({DATASET_ID: pd.array(new, dtype="string")})
    return pd.concat([table, rows], ignore_index=True)


# ---------------------------------------------------------------------------------- public API
def import_csv(scores, *, models=None, datasets=None, similarity=None, lower_is_better=False,
               similarity_is_distance: bool = False, metric: str | None = None) -> MatchingGraph:
    """Read CSV files into a validated :class:`MatchingGraph` (nothing is written to disk).

    ``lower_is_better``: ``True`` for metrics such as FID where lower is better (all metrics of
    the file), or a collection of the metric names where it holds. ``metric``: the metric name
    when the scores file has no ``metric`` column (default ``"score"``), else the primary metric.
    Every model and dataset named in the scores gets a row (``source="import"`` for models);
    when a models or datasets file is given, every scored id must be in it (catches typos).
    A dataset that has similarities but no scores (a new dataset to rank models for) gets a
    node without model–data edges; with a datasets file, it must have a row there.
    """
    read = _read_scores(scores, metric=metric, lower_is_better=lower_is_better)
    model_table = _node_table(read, None if models is None else _read_nodes(models, MODEL_ID),
                              MODEL_ID, source="import")
    dataset_table = _node_table(read, None if datasets is None
                                else _read_nodes(datasets, DATASET_ID), DATASET_ID, source=None)
    similarity_rows = None
    if similarity is not None:
        known = None if datasets is None else set(dataset_table[DATASET_ID])
        similarity_rows = _read_similarity(similarity, known, is_distance=similarity_is_distance)
        dataset_table = _with_cold_start_datasets(dataset_table, similarity_rows)
    imported = {"scores": Path(scores).name}
    for kind, path in (("models", models), ("datasets", datasets), ("similarity", similarity)):
        if path is not None:
            imported[kind] = Path(path).name
    meta = {"primary_metric": read.primary_metric, "imported_from": imported}
    graph = MatchingGraph(models=model_table, datasets=dataset_table, scores=read.rows,
                          meta=meta, **({} if similarity_rows is None
                                        else {"similarity": similarity_rows}))
    return graph


def write_graph(graph: MatchingGraph, out: str | Path, *, overwrite: bool = False) -> Path:
    """Save ``graph`` to ``out`` all at once: written to a temporary sibling, then renamed.

    A failure mid-write leaves no half graph behind. An existing non-empty ``out`` is refused
    unless ``overwrite`` and it holds a graph (``graph.json``), so that no other folder is ever
    deleted; a graph is replaced only after the new one is complete.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a directory")
    occupied = out.is_dir() and any(out.iterdir())
    if holds_other_files(out):  # someone's folder: never deleted
        raise ConfigError(f"{out} is not empty and holds no matching graph (no graph.json); "
                          "write to another directory (overwrite=True replaces only a graph)")
    if occupied and not overwrite:
        raise ConfigError(f"{out} already exists and is not empty; write to another directory, "
                          "or replace it with overwrite=True")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where one of the path's folders should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(out)) from None
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        save_graph(graph, staging)
        if out.is_dir():
            retired = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, retired)
            os.replace(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    except OSError as error:
        if error.filename == str(staging):  # no folder can be made there: said of ``out``
            raise OSError(error.errno, error.strerror, str(out)) from None
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out
