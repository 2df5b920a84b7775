"""The READMEs work as written: every ```bash and ```python block runs, the default-graph wording
agrees with the code, and the cheap figures match a fresh measurement.

Blocks are read from the README files, never copied here. An HTML comment on the line(s) right
before a block says how it runs:

- ``<!-- not run: REASON -->``: skipped; the reason is required (a GPU, the Hub, ``pip install``…);
- ``<!-- run in a copy of FOLDER -->``: the working directory starts as a copy of FOLDER's files;
- ``<!-- run with FOLDER as NAME -->``: a copy of FOLDER is placed in the working directory as NAME;
- ``<!-- run from "TEXT": REASON -->``: only the part from TEXT on runs (an install before it is
  ``.ci/run``'s job);
- ``<!-- run with "ARGS" added: REASON -->``: ARGS are added to the block's last command (a
  smaller run of a command that takes minutes).

Otherwise a block runs in an empty temporary folder. ``mandc`` and ``python`` are this checkout's,
offline, with a private ``$MANDC_HOME``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mandc.graph.defaults import (
    DEFAULT_GRAPH_TEXT,
    default_shipped_dir,
    example_dir,
)

ROOT = Path(__file__).resolve().parents[1]
READMES = {"README.md": ROOT / "README.md", "toy": example_dir() / "README.md"}
RUN_LANGUAGES = ("bash", "python")
DIRECTIVES = [
    ("not_run", re.compile(r"<!-- not run: (?P<reason>.*\S.*?) -->")),
    ("copy_into", re.compile(r"<!-- run in a copy of (?P<folder>\S+) -->")),
    ("copy_as", re.compile(r"<!-- run with (?P<folder>\S+) as (?P<name>\S+) -->")),
    ("run_from", re.compile(r'<!-- run from "(?P<text>[^"]+)": (?P<reason>.*\S.*?) -->')),
    ("add_args", re.compile(r'<!-- run with "(?P<args>[^"]+)" added: (?P<reason>.*\S.*?) -->')),
]
BLOCK_SECONDS = 240


@dataclass
class Block:
    readme: str
    line: int
    language: str
    code: str
    directives: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.readme}:{self.line}"


def read_blocks(path: Path, readme: str) -> list[Block]:
    """Every fenced block of ``path`` with the run directives in the comments right above it."""
    lines = path.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        directives, above = {}, index - 1
        while above >= 0 and lines[above].startswith("<!--"):
            directives.update(_directive(lines[above], f"{readme}:{above + 1}"))
            above -= 1
        blocks.append(Block(readme, index + 1, opening.group(1), "\n".join(lines[index + 1:end]),
                            directives))
        index = end + 1
    return blocks


def _directive(comment: str, where: str) -> dict:
    for kind, pattern in DIRECTIVES:
        found = pattern.fullmatch(comment.strip())
        if found:
            return {kind: found.groupdict()}
    raise AssertionError(f"{where}: unknown directive before a block: {comment}")


ALL_BLOCKS = [b for name, path in READMES.items() for b in read_blocks(path, name)]
RUN_BLOCKS = [b for b in ALL_BLOCKS
              if b.language in RUN_LANGUAGES and "not_run" not in b.directives]


# ------------------------------------------------------------------------------ the blocks
def test_the_readme_has_the_blocks_this_test_expects():
    """The parser found the Quickstart's main command and the README's other examples."""
    main = [b for b in RUN_BLOCKS if b.readme == "README.md"]
    assert "mandc recommend --example" in main[0].code and "run_from" in main[0].directives
    assert any(b.language == "python" for b in main)
    assert any("mandc evaluate" in b.code for b in main)
    assert any("onepiece-blip" in b.code for b in RUN_BLOCKS if b.readme == "toy")


def test_every_block_not_run_says_why():
    skipped = [b for b in ALL_BLOCKS if "not_run" in b.directives]
    assert skipped, "the README has install and probe blocks that CI cannot run here"
    for block in skipped:
        assert len(block.directives["not_run"]["reason"].split()) >= 3, block.name
    unlabelled = [b.name for b in ALL_BLOCKS if b.language not in RUN_LANGUAGES + ("text",)]
    assert not unlabelled, f"blocks without a language (bash, python or text): {unlabelled}"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    """One MANDC_HOME for every block, so the feature cache of the example images is shared."""
    return tmp_path_factory.mktemp("readme_home")


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    """A ``mandc`` on PATH that runs this checkout with this interpreter."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "mandc"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mandc "$@"\n')
    script.chmod(0o755)
    (folder / "python").symlink_to(sys.executable)
    return folder


def runnable(block: Block) -> str:
    """The block's code with its directives applied."""
    code = block.code
    if "run_from" in block.directives:
        text = block.directives["run_from"]["text"]
        assert text in code, f"{block.name}: {text!r} is not in the block"
        code = code[code.index(text):]
    if "add_args" in block.directives:
        code = code.rstrip() + " " + block.directives["add_args"]["args"]
    return code


def prepare(block: Block, folder: Path) -> None:
    """Copy the example files the README says the block runs with."""
    if "copy_into" in block.directives:
        source = ROOT / block.directives["copy_into"]["folder"]
        assert source.is_dir(), f"{block.name}: no folder {source}"
        shutil.copytree(source, folder, dirs_exist_ok=True)
    if "copy_as" in block.directives:
        spec = block.directives["copy_as"]
        source = ROOT / spec["folder"]
        assert source.is_dir(), f"{block.name}: no folder {source}"
        shutil.copytree(source, folder / spec["name"])


@pytest.mark.slow
@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: b.name)
def test_block_runs_as_written(block, tmp_path, shared_home, shim):
    folder = tmp_path / "work"
    folder.mkdir()
    prepare(block, folder)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "MANDC_HOME": str(shared_home), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("MANDC_CACHE", None)
    command = (["bash", "-e", "-o", "pipefail", "-c", runnable(block)] if block.language == "bash"
               else [sys.executable, "-c", runnable(block)])
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=BLOCK_SECONDS)
    assert done.returncode == 0, (f"{block.name} failed ({done.returncode}):\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    assert done.stdout.strip(), f"{block.name} printed nothing"


# ------------------------------------------------------------------------------ the wording
def _prose(path: Path) -> str:
    """Markdown as plain words: no quote marks, backticks or line breaks."""
    text = re.sub(r"^>\s?", "", path.read_text(), flags=re.MULTILINE).replace("`", "")
    return " ".join(text.split())


@pytest.mark.parametrize("readme", list(READMES))
def test_readmes_say_what_the_default_graph_is(readme):
    assert DEFAULT_GRAPH_TEXT in _prose(READMES[readme])


def test_the_default_graph_wording_matches_the_shipped_graph():
    from mandc.graph.store import load_graph
    from mandc.minizoo.domains import HELD_OUT_DOMAINS

    graph = load_graph(default_shipped_dir())
    found = re.search(r"(\d+) small text-to-image models fine-tuned on (\d+) procedural "
                      r"domains, (\d+) of them in no model's pretraining", DEFAULT_GRAPH_TEXT)
    models, domains, unseen = (int(found.group(n)) for n in (1, 2, 3))
    assert models == len(graph.model_ids)
    assert domains == graph.measured_scores["dataset"].nunique()
    assert unseen == len(set(HELD_OUT_DOMAINS) & set(graph.dataset_ids))


def test_the_help_uses_the_wording(capsys):
    from mandc.cli.main import main

    assert main(["--help"]) == 0
    assert DEFAULT_GRAPH_TEXT in " ".join(capsys.readouterr().out.split())


# ------------------------------------------------------------------------------ the figures
TOY_FIGURES = re.compile(
    r"toy example graph imported with the commands of \*Bring your own performance matrix\*"
    r".*?mandc evaluate --graph my-graph gives mandc top-1 (?P<top1>[\d.]+) / regret "
    r"(?P<regret>[\d.]+) against nearest_dataset (?P<nd_top1>[\d.]+) / (?P<nd_regret>[\d.]+); "
    r"imported with its datasets.csv as well .*?, mandc has top-1 (?P<d_top1>[\d.]+) / regret "
    r"(?P<d_regret>[\d.]+) and nearest_dataset again (?P<d_nd_top1>[\d.]+) / "
    r"(?P<d_nd_regret>[\d.]+)")


@pytest.mark.parametrize("with_datasets", [False, True], ids=["as-in-the-readme", "datasets.csv"])
def test_toy_graph_figures_in_the_readme_are_measured(with_datasets):
    """The README's toy figures are what leave-one-dataset-out gives on the toy graph imported as
    the README's own import command does (no datasets file), and with the datasets file."""
    from mandc.graph.importer import import_csv
    from mandc.ranking.evaluate import leave_one_dataset_out

    found = TOY_FIGURES.search(_prose(READMES["README.md"]))
    assert found, "the README quotes the toy graph's figures"
    folder = example_dir()
    graph = import_csv(folder / "scores.csv", models=folder / "models.csv",
                       datasets=folder / "datasets.csv" if with_datasets else None,
                       similarity=folder / "similarity.csv", lower_is_better=True)
    summary = leave_one_dataset_out(graph, ["mandc", "nearest_dataset"]).summary
    prefix = "d_" if with_datasets else ""
    measured = {"top1": summary.loc["mandc", "top1"], "regret": summary.loc["mandc", "regret"],
                "nd_top1": summary.loc["nearest_dataset", "top1"],
                "nd_regret": summary.loc["nearest_dataset", "regret"]}
    for key, value in measured.items():
        quoted = found.group(prefix + key)
        assert f"{value:.{len(quoted.split('.')[1])}f}" == quoted, (key, value, quoted)
