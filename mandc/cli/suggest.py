"""``mandc suggest``: the (model, dataset) pairs to profile next, with the reason for each
(:func:`mandc.ranking.suggest.suggest`), as a table or JSON."""

from __future__ import annotations

from . import report
from .args import add_loader_options, examples, loader_options, paragraph, positive_int

SUGGEST_BUDGET = 10
"""Pairs listed without --budget."""


def add_suggest_command(commands, formatter) -> None:
    """Register ``mandc suggest``."""
    from ..graph.defaults import DEFAULT_GRAPH_WHERE

    parser = commands.add_parser(
        "suggest", help="which (model, dataset) pairs to profile next, and why",
        formatter_class=formatter,
        description=paragraph(
            "List the unmeasured (model, dataset) pairs whose fine-tuning result would most "
            "improve the recommendations: on each dataset, the models that may beat the "
            "current best (their prediction interval reaches it), the wider the interval the "
            "more. On a graph where every pair is measured, name a new dataset (--dataset, "
            "--example) to learn which models to fine-tune on it first."),
        epilog=examples(
            "mandc suggest --graph my-graph --budget 5",
            "mandc suggest --dataset ./my-images --budget 3     # needs mandc[data]",
            "mandc suggest --graph my-graph --json",
            note="value: the expected gain of the dataset's best pick once the pair is "
                 "measured, in standard deviations of the models' scores on that dataset (the "
                 "knowledge gradient); p_best: the chance that the pair beats the rival, the "
                 "best other model on that dataset."))
    parser.add_argument("--graph", metavar="GRAPH", help=f"graph directory or Hub repo "
                        f"(OWNER/NAME[@REV]; default: {DEFAULT_GRAPH_WHERE})")
    parser.add_argument("--budget", type=positive_int, default=SUGGEST_BUDGET, metavar="N",
                        help=f"pairs to list, most worth profiling first (default "
                             f"{SUGGEST_BUDGET})")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--dataset", metavar="TARGET",
                        help="only pairs of this dataset: one of the graph, or a folder, zip or "
                             "Hub dataset id to describe and place in the graph first")
    target.add_argument("--example", action="store_true",
                        help="only pairs of the example dataset that ships with M&C")
    parser.add_argument("--metric", help="metric to decide on (default: the primary one)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_loader_options(parser)
    parser.set_defaults(handler=run_suggest)


def run_suggest(args) -> int:
    from ..graph.defaults import (
        EXAMPLE_DATASET,
        default_graph_source,
        example_dir,
        place_target,
        resolve_graph,
    )
    from ..ranking.suggest import suggest

    graph = resolve_graph(args.graph)
    source = str(args.graph) if args.graph else default_graph_source()
    target = str(example_dir(EXAMPLE_DATASET)) if args.example else args.dataset
    if target is not None:
        graph, target, _ = place_target(graph, target, options=loader_options(args),
                                        seed=args.seed)
    metric = graph._metric(args.metric)
    table = suggest(graph, budget=args.budget, datasets=None if target is None else [target],
                    metric=metric, seed=args.seed)
    result = {"graph": source, "metric": metric, "dataset": target,
              "measured_pairs": table.attrs["measured_pairs"],
              "total_pairs": table.attrs["total_pairs"],
              "models": len(graph.model_ids), "message": None,
              "suggestions": [{"rank": i + 1, **row}
                              for i, row in enumerate(table.to_dict(orient="records"))]}
    if table.empty:
        result["message"] = nothing_to_suggest(result, datasets=len(graph.dataset_ids))
    print(report.to_json(result) if args.json else suggestion_text(result))
    return 0


def nothing_to_suggest(result: dict, *, datasets: int) -> str:
    """Why the list is empty, and what to do instead."""
    if result["dataset"] is not None:
        return (f"every one of the {result['models']} models is already measured on "
                f"{result['dataset']!r}: nothing left to profile there.")
    return (f"every one of the {result['models']} models is measured on every one of the "
            f"{datasets} datasets of this graph: no pair is left to profile. To learn which "
            "models to fine-tune first on a new dataset, run `mandc suggest --dataset "
            "./my-images` (or --example).")


def suggestion_text(result: dict) -> str:
    """The pairs as a table, then the reason of each."""
    scope = f" of {result['dataset']!r}" if result["dataset"] else ""
    head = (f"graph {result['graph']} · metric {result['metric']} · "
            f"{result['measured_pairs']} of the {result['total_pairs']} (model, dataset) "
            f"pairs{scope} measured")
    if result["message"]:
        return f"{head}\n\n{result['message']}"
    rows = [{**row, "interval": f"{row['low']:+.2f} … {row['high']:+.2f}"}
            for row in result["suggestions"]]
    columns = ["rank", "model", "dataset", "value", "p_best", "predicted", "interval", "rival"]
    parts = [head, "", report.table(rows, columns, formats={"predicted": "{:+.2f}",
                                                            "p_best": "{:.2f}"}), ""]
    parts += [f"{row['rank']:>2}. {row['reason']}" for row in rows]
    parts += ["", paragraph(
        "value: expected gain of the dataset's best pick once the pair is measured, in standard "
        "deviations of the models' scores there; p_best: chance that the pair beats the rival, "
        "the best other model on that dataset (measured or predicted); predicted and "
        "interval: in those standard deviations (recommend shows normalised scores), the "
        "interval being recommend's calibrated 80% interval widened or narrowed for this pair "
        "by how much a committee of refits disagrees on it.")]
    return "\n".join(parts)
