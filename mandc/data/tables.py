"""Metadata tables (``metadata.csv``/``.jsonl``/``.parquet``) read strictly, with errors that name
the line: tag captions with unquoted commas, bytes that are not UTF-8, broken JSON.

CSV is read with the standard ``csv`` module rather than pandas: pandas silently turns extra
leading fields into an index when every row has too many, which shifts file names into captions.
Header names are stripped of surrounding spaces (``image, caption`` names ``caption``).
"""

from __future__ import annotations

import csv
import io
import json

from ..errors import ValidationError

Row = tuple[int, dict]
"""A table row with the line it starts on (the header is line 1; a parquet row: its number)."""


def read_table(data: bytes, path: str, where: str) -> tuple[list[str], list[Row]]:
    """Columns and ``(line, row)`` pairs of a metadata file's bytes."""
    if path.endswith(".parquet"):
        return _read_parquet(data, where)
    text = decode_utf8(data, where)
    if path.endswith(".jsonl"):
        return _read_jsonl(text, where)
    return _read_csv(text, where)


def decode_utf8(data: bytes, where: str) -> str:
    """UTF-8 text (a BOM is dropped); otherwise an error naming the line and the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start:error.start + 1].hex()
        raise ValidationError(
            f"line {line} is not UTF-8 text (byte 0x{byte} at character {column}); save the file "
            "as UTF-8", file=where) from None


def _read_csv(text: str, where: str) -> tuple[list[str], list[Row]]:
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationError("is empty; the first line must name the columns", file=where)
        columns = [name.strip() for name in header]
        if len(columns) == 1:
            separator = next((s for s in (";", "\t", "|") if s in columns[0]), None)
            if separator is not None:
                raise ValidationError(
                    f"the header {columns[0]!r} is one column: the file is separated by "
                    f"{separator!r}, and metadata.csv must be comma-separated (or use a "
                    "metadata.jsonl)", file=where)
        _refuse_bad_header(columns, where)
        rows: list[Row] = []
        start = reader.line_num + 1
        for fields in reader:
            if not any(field.strip() for field in fields):
                start = reader.line_num + 1
                continue
            if len(fields) > len(columns):
                raise ValidationError(
                    f"line {start} has {len(fields)} fields but the header has {len(columns)} "
                    f"({', '.join(columns)}); a caption that contains commas must be quoted, "
                    f'e.g. a.png,"red, square, outline"', file=where)
            rows.append((start, dict(zip(columns, fields))))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ValidationError(f"line {reader.line_num}: not valid CSV ({error})",
                              file=where) from None
    return columns, rows


def _refuse_bad_header(columns: list[str], where: str) -> None:
    if any(not name for name in columns):
        raise ValidationError(f"the header has an unnamed column ({', '.join(columns)})",
                              file=where)
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ValidationError(f"the header names {', '.join(map(repr, repeated))} twice",
                              file=where)


def _read_jsonl(text: str, where: str) -> tuple[list[str], list[Row]]:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValidationError(f"line {number}: invalid JSON ({error.msg})", file=where,
                                  ) from None
        if not isinstance(row, dict):
            raise ValidationError(f"line {number}: each line must be a JSON object", file=where)
        row = {str(key).strip(): value for key, value in row.items()}
        columns.update(dict.fromkeys(row))
        rows.append((number, row))
    return list(columns), rows


def _read_parquet(data: bytes, where: str) -> tuple[list[str], list[Row]]:
    import pandas as pd

    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (ValueError, OSError) as error:
        raise ValidationError(f"cannot be read as a parquet table ({error})", file=where) from None
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    _refuse_bad_header(columns, where)
    return columns, [(n, row) for n, row in enumerate(frame.to_dict(orient="records"), start=1)]
