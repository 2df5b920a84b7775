"""Property-based checks (hypothesis) of the two readers of user files: the dataset loader and the
CSV graph import. Random folder layouts and tables with random defects must end in a result or in
one of the project's errors (never a traceback); a dataset's every file ends read or reported; an
import that fails writes nothing."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest
from datafactory import header_only_png, solid

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

set_hypothesis_home_dir(tempfile.mkdtemp(prefix="mandc-hypothesis-"))  # not .hypothesis/ here

from mandc.cli.main import main  # noqa: E402
from mandc.data import load_target  # noqa: E402
from mandc.errors import MandcError  # noqa: E402

BOUNDED = settings(max_examples=40, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
"""Bounded so the suite stays fast; no example database (the tests write nothing in the repo)."""

DEFECTS = ["ok"] * 8 + ["empty_caption", "no_caption", "truncated", "not_an_image",
           "unsupported", "huge", "bad_utf8_caption"]
META_DEFECTS = ["none", "none", "none", "unlisted", "missing_file", "duplicate",
                "unquoted_commas", "bad_byte", "blank_name", "spaced_header"]

folders = st.fixed_dictionaries({
    "layout": st.sampled_from(["captions", "jsonl", "csv"]),
    "defects": st.lists(st.sampled_from(DEFECTS), min_size=0, max_size=8),
    "meta_defect": st.sampled_from(META_DEFECTS),
    "extra_files": st.lists(st.sampled_from(["notes.md", "orphan.txt", "latents.npz",
                                             "sub/deep.png"]), max_size=3, unique=True),
    "zipped": st.booleans(),
    "max_samples": st.integers(1, 10),
    "seed": st.integers(0, 3),
    "share": st.sampled_from([0.0, 0.1, 0.5, 1.0]),
})


def write_folder(root: Path, spec: dict) -> None:
    """Lay out images with ``spec``'s defects, captions beside them or in a metadata file."""
    root.mkdir(parents=True)
    rows = []
    for i, defect in enumerate(spec["defects"]):
        name = f"img_{i}.dng" if defect == "unsupported" else f"img_{i}.png"
        if defect == "truncated":
            data = _png(i)
            (root / name).write_bytes(data[: len(data) // 2])
        elif defect == "not_an_image":
            (root / name).write_bytes(b"this is text, not pixels")
        elif defect == "huge":
            (root / name).write_bytes(header_only_png(12_000, 10_000))
        else:
            (root / name).write_bytes(_png(i) if defect != "unsupported" else b"II*\x00raw")
        text = "" if defect == "empty_caption" else f"tag {i}, red, square"
        if spec["layout"] == "captions":
            if defect == "bad_utf8_caption":
                (root / f"img_{i}.txt").write_bytes(b"caf\xe9")
            elif defect != "no_caption":
                (root / f"img_{i}.txt").write_text(text)
        elif defect != "no_caption":
            rows.append((name, text))
    for extra in spec["extra_files"]:
        (root / extra).parent.mkdir(exist_ok=True)
        (root / extra).write_bytes(_png(99) if extra.endswith(".png") else b"x")
    if spec["layout"] != "captions":
        write_metadata(root, rows, spec)


def write_metadata(root: Path, rows: list[tuple[str, str]], spec: dict) -> None:
    defect = spec["meta_defect"]
    if defect == "unlisted" and rows:
        rows = rows[1:]
    if defect == "missing_file":
        rows = [*rows, ("gone.png", "a caption")]
    if defect == "duplicate" and rows:
        rows = [*rows, rows[0]]
    if defect == "blank_name":
        rows = [*rows, ("  ", "no name")]
    if spec["layout"] == "jsonl":
        data = "".join(json.dumps({"file_name": n, "text": t}) + "\n" for n, t in rows).encode()
        name = "metadata.jsonl"
    else:
        quote = (lambda t: t) if defect == "unquoted_commas" else (lambda t: f'"{t}"')
        header = "file_name, text" if defect == "spaced_header" else "file_name,text"
        data = (header + "\n" + "".join(f"{n},{quote(t)}\n" for n, t in rows)).encode()
        name = "metadata.csv"
    if defect == "bad_byte":
        data += b"x.png,caf\xe9\n" if name.endswith(".csv") else b'{"file_name": "\xe9"}\n'
    (root / name).write_bytes(data)


def _png(i: int) -> bytes:
    buffer = io.BytesIO()
    solid(i, (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


def files_of(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@BOUNDED
@given(spec=folders)
def test_every_file_ends_read_or_reported_or_the_load_is_refused(spec):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "set"
        write_folder(root, spec)
        source = root
        if spec["zipped"]:
            source = Path(scratch) / "set.zip"
            with zipfile.ZipFile(source, "w") as archive:
                for name in sorted(files_of(root)):
                    archive.write(root / name, name)
        try:
            dataset = load_target(source, max_samples=spec["max_samples"], seed=spec["seed"],
                                  max_unreadable_share=spec["share"])
        except MandcError as error:
            assert str(error) and "\n" not in str(error).strip()
            event(f"refused: {type(error).__name__}")
            return
        event("loaded")
        report = dataset.report
        files = files_of(root)
        assert files <= set(report.outcomes)  # every file has exactly one outcome
        for name in set(report.outcomes) - files:  # the rest are metadata rows without a file
            assert report.outcomes[name] in ("missing_file", "duplicate_row")
        counts = report.counts()
        assert counts["read"] == len(dataset) <= spec["max_samples"]
        assert sum(counts.values()) == len(report.outcomes)
        assert all(caption.strip() for caption in dataset.captions)
        assert dataset.skipped == counts["unreadable"] + counts["too_large"]


# ---------------------------------------------------------------- the CSV graph import

CELLS = st.sampled_from(["m1", "m2", "d1", "d2", "", "nan", "inf", "-1", "0.5", "12", "1e400",
                         "abc", " m1 ", "fid", "kid", "é", '"', "a,b", "NA"])
HEADERS = st.sampled_from([
    ["model", "dataset", "score"], ["model", "dataset", "score", "metric"],
    ["model", "dataset"], ["dataset", "model", "value"], ["model", "model", "score"],
    ["model", "dataset", "score", ""]])

GOOD_ROWS = st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.sampled_from(["d1", "d2"]),
                               st.floats(0, 100).map(repr)).map(list), min_size=1, max_size=6)
"""Valid score rows, which random defects then damage."""

tables = st.fixed_dictionaries({
    "header": st.one_of(st.just(["model", "dataset", "score"]), HEADERS),
    "rows": GOOD_ROWS,
    "damage": st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), CELLS), max_size=2),
    "bad_byte": st.sampled_from([False, False, False, True]),
    "separator": st.sampled_from([",", ",", ",", ";"]),
    "similarity": st.one_of(st.none(), st.lists(st.tuples(CELLS, CELLS, CELLS), max_size=4)),
    "lower": st.booleans(),
})


def write_csv(path: Path, header: list[str], rows: list[list[str]], separator: str,
              bad_byte: bool) -> None:
    lines = [separator.join(header)] + [separator.join(row) for row in rows]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(data + (b"m1,d1,\xff\n" if bad_byte else b""))


@BOUNDED
@given(spec=tables)
def test_the_csv_import_writes_a_whole_graph_or_nothing(spec):
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        scores = scratch / "scores.csv"
        rows = [list(row) for row in spec["rows"]]
        for row, column, cell in spec["damage"]:
            target = rows[row % len(rows)]
            if column < len(target):
                target[column] = cell
            else:
                target.append(cell)  # a field too many
        write_csv(scores, spec["header"], rows, spec["separator"], spec["bad_byte"])
        argv = ["graph", "import", "--scores", str(scores), "--out", str(scratch / "g")]
        if spec["similarity"] is not None:
            write_csv(scratch / "sim.csv", ["dataset_a", "dataset_b", "value"],
                      [list(r) for r in spec["similarity"]], ",", False)
            argv += ["--similarity", str(scratch / "sim.csv")]
        if spec["lower"]:
            argv.append("--lower-is-better")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)  # a bug would raise here with its traceback
        err = err.getvalue()
        event("imported" if code == 0 else "refused")
        if code == 0:
            assert (scratch / "g" / "graph.json").is_file()
        else:
            assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
            assert not (scratch / "g").exists()
