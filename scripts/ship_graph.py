"""Copy a profiled graph into the package (``mandc/graphs/<name>``), small enough to ship.

    python scripts/ship_graph.py BUILT_GRAPH_DIR NAME [--descriptors DESCRIBED_GRAPH_DIR]
                                 [--exclude-models A,B]

Keeps the node tables, one consolidated score shard, the similarity edges, the run records
(``runs/*.json``: recipe, seed and wall time of every pair) and the fine-tuned 4 × 4 sample grid
of every pair, re-encoded as WebP (quality 85: about a sixth of the PNG's size). Zero-shot sample
grids stay behind. ``--descriptors`` takes the dataset table, similarity edges and featurizer
from a copy of the graph that ``mandc graph describe`` processed (describing rewrites the score
shards, so it ran on a copy while the grid was still adding to the original).
``--exclude-models`` leaves models out (nodes, scores, runs), e.g. ones whose profiling is not
finished.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from PIL import Image

from mandc.defaults import shipped_graph_dir
from mandc.graph import MatchingGraph
from mandc.store import load_graph, save_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("built", type=Path)
    parser.add_argument("name")
    parser.add_argument("--descriptors", type=Path)
    parser.add_argument("--exclude-models", default="", metavar="A,B")
    args = parser.parse_args()

    excluded = {name for name in args.exclude_models.split(",") if name}
    graph = load_graph(args.built)
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
    target = shipped_graph_dir(args.name)
    shutil.rmtree(target, ignore_errors=True)
    save_graph(graph, target)

    (target / "runs").mkdir()
    (target / "samples").mkdir()
    for record_path in sorted((args.built / "runs").glob("*.json")):
        record = json.loads(record_path.read_text())
        if record["model"] in excluded:
            continue
        samples = {}
        finetuned = record.get("samples", {}).get("finetuned")
        if finetuned and (args.built / finetuned).is_file():
            name = Path(finetuned).with_suffix(".webp").name
            with Image.open(args.built / finetuned) as grid:
                grid.convert("RGB").save(target / "samples" / name, "WEBP", quality=85)
            samples["finetuned"] = f"samples/{name}"
        record["samples"] = samples
        record.pop("shard", None)  # shards are consolidated into one when shipped
        (target / "runs" / record_path.name).write_text(
            json.dumps(record, indent=1, sort_keys=True) + "\n")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"{target}: {len(graph.model_ids)} models × {len(graph.dataset_ids)} datasets, "
          f"{len(graph.scores)} score rows, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
