"""Which graph and which target a command means when the user does not spell it out.

One place decides the default graph, so the CLI and the app agree: a named directory, else
``$MANDC_HOME/graph`` if a graph was saved there, else the example graph that ships with the
package (``mandc/examples/toy``, illustrative numbers, built from its CSVs on first use).
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path

from .errors import ValidationError
from .graph import MatchingGraph
from .settings import get_settings
from .store import load_graph

EXAMPLE_NAME = "toy"


def example_dir(name: str = EXAMPLE_NAME) -> Path:
    """Folder of the CSV files of a shipped example graph."""
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
    home_graph = get_settings().default_graph_dir
    if (home_graph / "graph.json").is_file():
        return str(home_graph)
    return f"example graph {EXAMPLE_NAME!r} (illustrative numbers, not measured)"


def resolve_graph(path_or_none: str | Path | None = None) -> MatchingGraph:
    """The graph a command works on: the named directory, ``$MANDC_HOME/graph``, or the example."""
    if path_or_none is not None:
        return load_graph(path_or_none)
    home_graph = get_settings().default_graph_dir
    if (home_graph / "graph.json").is_file():
        return load_graph(home_graph)
    return example_graph()


def resolve_target(graph: MatchingGraph, target: str) -> tuple[MatchingGraph, str]:
    """The graph to rank in and the dataset id of ``target``.

    Today a target must be a dataset of the graph. This is the hook for targets given as a
    folder, zip or Hub id: describe them with the graph's featurizer, add them to the graph
    with their data–data edges, and return the extended graph and the new id.
    """
    if target in set(graph.dataset_ids):
        return graph, target
    known = graph.dataset_ids
    shown = ", ".join(known[:10]) + (f" … ({len(known)} in all)" if len(known) > 10 else "")
    raise ValidationError(f"dataset {target!r} is not in the graph; its datasets are: {shown}")
