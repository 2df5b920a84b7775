"""Which graph and which target a command means when the user does not spell it out.

One place decides the default graph, so the CLI and the app agree, in this order:

1. the graph named by ``--graph``: a directory, or a Hub dataset repo (``OWNER/NAME``,
   ``OWNER/NAME@REV``, ``hf://datasets/OWNER/NAME``; an existing directory wins);
2. the Hub repo named by ``$MANDC_GRAPH_REPO`` (what a Space sets);
3. ``$MANDC_HOME/graph`` if a graph was saved there;
4. the measured mini-zoo graph that ships with the package (``mandc/graphs/minizoo-all``: 11
   zoo models fine-tuned on 72 procedural domains, both regimes: 32 in the zoo's pretraining,
   32 in no model's pretraining and 8 pretraining-only ones), since more evidence is what a
   user wants. It is merged (``scripts/merge_graphs.py``) from the shipped sub-graphs, which
   stay for the studies that need one regime alone.

A repo is read through the Hugging Face cache (:func:`mandc.hub.graph_repo.graph_from_repo`), so
it works offline once pulled. The illustrative toy graph (``mandc/examples/toy``) remains for
tests and as an import example.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
from importlib import resources
from pathlib import Path

from ..errors import ValidationError
from ..settings import get_settings
from .matching_graph import MatchingGraph
from .store import load_graph

DEFAULT_GRAPH_WHERE = ("the Hub graph repo named by $MANDC_GRAPH_REPO when it is set, else "
                       "$MANDC_HOME/graph when a graph was saved there, else the measured "
                       "mini-zoo graph that ships with M&C")
"""Where commands read when no graph is named: the one wording of :func:`resolve_graph`'s rule,
used by the CLI help; ``tests/test_readme.py`` checks that the READMEs say the same."""
DEFAULT_GRAPH_TEXT = (f"The default graph is {DEFAULT_GRAPH_WHERE} (mandc/graphs/minizoo-all: "
                      "11 small text-to-image models fine-tuned on 72 procedural domains, 32 of "
                      "them in no model's pretraining).")

EXAMPLE_NAME = "toy"
EXAMPLE_DATASET = "flowers"
"""``mandc/examples/flowers``: 20 flower images with captions (``mandc recommend --example``),
drawn by ``scripts/make_example_flowers.py``; a kind of image no graph dataset shows."""
SHIPPED_GRAPH = "minizoo"
"""The 32-domain pretrained-regime graph: :func:`shipped_graph_dir`'s default, what the
benches and the leave-one-out studies of one regime read."""
DEFAULT_GRAPH = "minizoo-all"
"""The shipped graph commands read when no graph is named (:func:`resolve_graph`)."""
DEFAULT_GRAPH_PARTS = ("minizoo", "minizoo-heldout", "minizoo-extra")
"""The shipped graphs :data:`DEFAULT_GRAPH` is merged from; they keep its sample grids and run
records (the merged folder holds tables only)."""


def shipped_graph_dir(name: str = SHIPPED_GRAPH) -> Path:
    """A measured graph directory inside the package: ``minizoo-all`` (:data:`DEFAULT_GRAPH`,
    every profiled domain), ``minizoo`` (the 32 domains in the zoo's pretraining),
    ``minizoo-heldout`` (ground truth of the held-out domains, in no model's pretraining),
    ``minizoo-extra`` (ground truth of the pretraining-only domains, in the zoo's pretraining but
    not in the graph) or ``minizoo-seed1`` (a second profiling seed, for the stability check)."""
    return Path(str(resources.files("mandc") / "graphs" / name))


def default_shipped_dir() -> Path:
    """The folder of the shipped default graph (:data:`DEFAULT_GRAPH`)."""
    return shipped_graph_dir(DEFAULT_GRAPH)


def graph_file_folders(folder: Path) -> list[Path]:
    """The folders holding the sample grids and run records of the graph in ``folder``: the
    folder itself, and for the shipped default graph, which keeps tables only, the shipped
    graphs it was merged from."""
    folders = [Path(folder)]
    if Path(folder).resolve() == default_shipped_dir().resolve():
        folders += [shipped_graph_dir(name) for name in DEFAULT_GRAPH_PARTS]
    return folders


def example_dir(name: str = EXAMPLE_NAME) -> Path:
    """Folder of a shipped example: the CSV files of a graph (``toy``) or a dataset
    (:data:`EXAMPLE_DATASET`)."""
    return Path(str(resources.files("mandc") / "examples" / name))


@functools.lru_cache(maxsize=4)
def _example_graph(name: str) -> MatchingGraph:
    from .importer import import_csv  # local: the importer is only needed for the fallback

    folder = example_dir(name)
    return import_csv(folder / "scores.csv", models=folder / "models.csv",
                      datasets=folder / "datasets.csv", similarity=folder / "similarity.csv",
                      lower_is_better=True)


def example_graph(name: str = EXAMPLE_NAME) -> MatchingGraph:
    """The shipped example graph (imported once per process; each call gets its own copy)."""
    return copy.deepcopy(_example_graph(name))


def default_graph_source() -> str:
    """Where ``resolve_graph(None)`` reads from, in words (for ``graph show`` and logs)."""
    if get_settings().graph_repo:
        return f"Hub graph repo {get_settings().graph_repo} ($MANDC_GRAPH_REPO)"
    home_graph = get_settings().default_graph_dir
    if (home_graph / "graph.json").is_file():
        return str(home_graph)
    if (default_shipped_dir() / "graph.json").is_file():
        return f"shipped mini-zoo graph ({default_shipped_dir()})"
    return f"example graph {EXAMPLE_NAME!r} (illustrative numbers, not measured)"


def resolve_graph(path_or_none: str | Path | None = None) -> MatchingGraph:
    """The graph a command works on: the named directory or Hub repo, ``$MANDC_GRAPH_REPO``,
    ``$MANDC_HOME/graph``, the shipped mini-zoo graph, or (in a checkout without it) the toy
    example."""
    from ..hub.repo_id import looks_like_repo

    if path_or_none is not None:
        if looks_like_repo(path_or_none):
            from ..hub.graph_repo import graph_from_repo

            return graph_from_repo(str(path_or_none))
        return load_graph(path_or_none)
    if get_settings().graph_repo:
        from ..hub.graph_repo import graph_from_repo

        return graph_from_repo(get_settings().graph_repo)
    home_graph = get_settings().default_graph_dir
    if (home_graph / "graph.json").is_file():
        return load_graph(home_graph)
    if (default_shipped_dir() / "graph.json").is_file():
        return _shipped_graph()
    return example_graph()


@functools.lru_cache(maxsize=1)
def _load_shipped() -> MatchingGraph:
    return load_graph(default_shipped_dir())


def _shipped_graph() -> MatchingGraph:
    """The shipped graph, read once per process (each call gets its own copy)."""
    return copy.deepcopy(_load_shipped())


def resolve_target(graph: MatchingGraph, target: str | os.PathLike | list, *,
                   samples: int | None = None, seed: int | None = None, options=None,
                   **load_options) -> tuple[MatchingGraph, str]:
    """The graph to rank in and the dataset id of ``target``.

    ``target`` is a dataset of the graph, or a folder, zip, Hub dataset id or list of uploaded
    files (anything :func:`mandc.data.load_target` reads, with ``options``, a
    :class:`mandc.data.LoadOptions`, and keyword overrides): that is loaded, described with the
    graph's featurizer and placed in the graph through its data–data edges
    (:func:`mandc.graph.placement.add_target`).
    """
    graph, name, _ = place_target(graph, target, samples=samples, seed=seed, options=options,
                                  **load_options)
    return graph, name


def place_target(graph: MatchingGraph, target: str | os.PathLike | list, *,
                 samples: int | None = None, seed: int | None = None, options=None,
                 **load_options):
    """Like :func:`resolve_target`, and the loaded :class:`~mandc.data.ImageCaptionSet` (whose
    ``report`` says what was read and what was left out), ``None`` for a dataset of the graph."""
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if isinstance(target, str) and target in set(graph.dataset_ids):
        return graph, target, None
    if isinstance(target, str) and not _looks_like_a_source(target):
        known = graph.dataset_ids
        close = difflib.get_close_matches(target, known, n=3, cutoff=0.6)
        if close:
            hint = "did you mean " + " or ".join(repr(name) for name in close) + "?"
        else:
            shown = ", ".join(known[:10]) + (f" … ({len(known)} in all: `mandc graph show "
                                             "--list datasets` lists them)"
                                             if len(known) > 10 else "")
            hint = f"the graph's datasets are: {shown}"
            if not graph.meta.get("featurizer"):
                hint += (" (a new dataset of an imported graph joins it through its rows in the "
                         "similarity file)")
        raise ValidationError(f"dataset {target!r} is not in the graph and is not a folder, zip "
                              f"or Hub id; {hint}")
    from ..data import load_target
    from ..features import describe, get_featurizer
    from .placement import add_target

    featurizer = graph.meta.get("featurizer")
    if not featurizer:
        add_target(graph, None)  # raises the explanation for graphs without descriptors
    name = featurizer.split("@", 1)[0]
    sample = load_target(target, options, max_samples=samples, seed=seed, **load_options)
    placed, target_id = add_target(graph, describe(sample, get_featurizer(name)))
    return placed, target_id, sample


def _looks_like_a_source(target: str) -> bool:
    """A path that exists, a .zip, or an ``owner/name`` Hub id."""
    if Path(target).exists() or target.lower().endswith(".zip"):
        return True
    parts = target.split("/")
    return len(parts) == 2 and all(parts)
