"""Copy a profiled graph into the package (``mandc/graphs/<name>``), small enough to ship.

    python scripts/ship_graph.py BUILT_GRAPH_DIR NAME [--descriptors DESCRIBED_GRAPH_DIR]
                                 [--exclude-models A,B] [--merge OTHER_BUILT_DIR ...]

Keeps the node tables, one consolidated score shard, the similarity edges, the run records
(``runs/*.json``: recipe, seed and wall time of every pair) and the fine-tuned 4 × 4 sample grid
of every pair, re-encoded as WebP (quality 85: about a sixth of the PNG's size; grids that are
WebP already, from a shipped graph, are copied as they are). Zero-shot sample
grids stay behind. ``--descriptors`` takes the dataset table, similarity edges and featurizer
from a copy of the graph that ``mandc graph describe`` processed (describing rewrites the score
shards, so it ran on a copy while the grid was still adding to the original).
``--exclude-models`` leaves models out (nodes, scores, runs), e.g. ones whose profiling is not
finished. ``--merge`` joins other built graphs of other datasets (same models) into this one, e.g.
a shipped graph (copied out of the package first) and a run that profiled more datasets for it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
from PIL import Image

from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph, save_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("built", type=Path)
    parser.add_argument("name")
    parser.add_argument("--descriptors", type=Path)
    parser.add_argument("--exclude-models", default="", metavar="A,B")
    parser.add_argument("--merge", type=Path, nargs="+", default=[], metavar="DIR")
    args = parser.parse_args()

    target = shipped_graph_dir(args.name)
    sources = [args.built, *args.merge]
    if any(source.resolve() == target.resolve() for source in sources):
        raise SystemExit(f"{target} is rewritten by shipping; copy it elsewhere to merge it")
    excluded = {name for name in args.exclude_models.split(",") if name}
    graph = merged([load_graph(source) for source in sources])
    graph = MatchingGraph(graph.models[~graph.models["model"].isin(excluded)], graph.datasets,
                          graph.scores[~graph.scores["model"].isin(excluded)], graph.similarity,
                          dict(graph.meta))
    if args.descriptors:
        described = load_graph(args.descriptors)
        if sorted(described.dataset_ids) != sorted(graph.dataset_ids):
            raise SystemExit(f"{args.descriptors} describes other datasets than {args.built}")
        meta = {**graph.meta, **{k: v for k, v in described.meta.items()
                                 if k not in ("metrics", "primary_metric")}}
        graph = MatchingGraph(graph.models, described.datasets, graph.scores,
                              described.similarity, meta)
    shutil.rmtree(target, ignore_errors=True)
    save_graph(graph, target)

    (target / "runs").mkdir()
    (target / "samples").mkdir()
    records = [(source, path) for source in sources for path in (source / "runs").glob("*.json")]
    for source, record_path in sorted(records, key=lambda item: item[1].name):
        record = json.loads(record_path.read_text())
        if record["model"] in excluded:
            continue
        samples = {}
        finetuned = record.get("samples", {}).get("finetuned")
        if finetuned and (source / finetuned).is_file():
            name = Path(finetuned).with_suffix(".webp").name
            if Path(finetuned).suffix == ".webp":  # shipped before: copy, never re-compress
                shutil.copyfile(source / finetuned, target / "samples" / name)
            else:
                with Image.open(source / finetuned) as grid:
                    grid.convert("RGB").save(target / "samples" / name, "WEBP", quality=85)
            samples["finetuned"] = f"samples/{name}"
        record["samples"] = samples
        record.pop("shard", None)  # shards are consolidated into one when shipped
        (target / "runs" / record_path.name).write_text(
            json.dumps(record, indent=1, sort_keys=True) + "\n")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"{target}: {len(graph.model_ids)} models × {len(graph.dataset_ids)} datasets, "
          f"{len(graph.scores)} score rows, {size / 1e6:.1f} MB")


def merged(graphs: list[MatchingGraph]) -> MatchingGraph:
    """One graph of the datasets of all: the first one's model nodes and metadata, every
    dataset node, score and similarity edge. Datasets must not repeat; models must agree."""
    first = graphs[0]
    for other in graphs[1:]:
        if sorted(other.model_ids) != sorted(first.model_ids):
            raise SystemExit("graphs to merge hold different models")
    ids = [d for graph in graphs for d in graph.dataset_ids]
    repeated = sorted({d for d in ids if ids.count(d) > 1})
    if repeated:
        raise SystemExit(f"datasets in more than one graph to merge: {repeated}")
    return MatchingGraph(first.models, pd.concat([g.datasets for g in graphs], ignore_index=True),
                         pd.concat([g.scores for g in graphs], ignore_index=True),
                         pd.concat([g.similarity for g in graphs], ignore_index=True),
                         dict(first.meta))


if __name__ == "__main__":
    main()
