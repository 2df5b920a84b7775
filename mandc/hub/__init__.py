"""Everything that talks to the Hub about matching graphs: a graph repo is the shared graph.

A Hub dataset repo holds a graph in the local layout (DESIGN.md, "Graph on disk") plus
append-only shards; :mod:`.graph_repo` pulls and pushes it, :mod:`.compact` compacts it,
:mod:`.layout` reads and writes its files, :mod:`.repo_id` parses ``OWNER/NAME[@REV]`` and
``hf://datasets/…``, and :mod:`.session` holds the token, the retries and the one-line errors.
:mod:`.pair_push` pushes a profiling run as its pairs finish; :mod:`.cards` and
:mod:`.model_card` write recommendations into model cards (``mandc card``) and cards for
profiled adapters; :mod:`.space` deploys the app as a Space (``mandc space deploy``).
"""

from __future__ import annotations

from .repo_id import GraphRepo, looks_like_repo, parse_repo

__all__ = ["GraphRepo", "compact_graph", "looks_like_repo", "parse_repo", "pull_graph",
           "push_graph"]


def __getattr__(name: str):
    """``pull_graph``, ``push_graph`` and ``compact_graph`` import huggingface_hub on first use."""
    if name in {"pull_graph", "push_graph"}:
        from . import graph_repo

        return getattr(graph_repo, name)
    if name == "compact_graph":
        from .compact import compact_graph

        return compact_graph
    raise AttributeError(name)
