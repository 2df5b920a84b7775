"""``mandc catalog`` (the candidate models, Hub and mini zoo, with their features) and the
``--candidates`` choice of ``mandc recommend`` (graph models only, with the catalogue, or from a
file), where models the graph never profiled are ranked and marked "not profiled"."""

from __future__ import annotations

import argparse
import re
import sys

from . import report
from .args import examples, paragraph, positive_int

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s*$")
UNITS = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}
TEXT_COLUMNS = ["id", "source", "pipeline", "params", "resolution", "licence", "downloads",
                "base", "note"]


def parameter_count(text: str) -> float:
    """``2.6B``, ``900M``, ``70k`` or a plain number."""
    match = SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a count such as 900M or 2.6B, got {text!r}")
    return float(match.group(1)) * UNITS[match.group(2).lower()]


def add_catalog_commands(commands, formatter) -> None:
    """Register ``mandc catalog`` and add ``--candidates`` to ``mandc recommend``."""
    parser = commands.add_parser(
        "catalog", help="candidate base models (Hub and mini zoo) with their features",
        formatter_class=formatter,
        description=paragraph(
            "List text-to-image diffusers base models from the Hub (most downloaded first) and "
            "the mini zoo, with features read from metadata only: pipeline class, parameters of "
            "the denoiser and text encoders (safetensors headers), native resolution, licence, "
            "base model, downloads, likes, gating. Cached under MANDC_HOME for "
            "MANDC_CATALOG_TTL seconds; offline, the last cached catalogue is shown."),
        epilog=examples(
            "mandc catalog --limit 20 --licence openrail++ creativeml-openrail-m",
            "mandc catalog --search sdxl --min-resolution 1024 --max-params 3.5B --no-gated",
            "mandc catalog --model stabilityai/stable-diffusion-xl-base-1.0 --json",
            note="--min-downloads applies to Hub models (local ones have no downloads). A gated "
                 "model is listed with its features unknown until HF_TOKEN can read it."))
    parser.add_argument("--search", metavar="TEXT", help="part of the model id")
    parser.add_argument("--limit", type=positive_int, default=20, metavar="N",
                        help="Hub models to list at most (default 20): the N most downloaded "
                             "that pass every filter. It does not count the mini zoo's models, "
                             "listed besides them (--no-minizoo leaves them out)")
    parser.add_argument("--min-downloads", type=int, default=0, metavar="K",
                        help="Hub models with at least K downloads (last 30 days)")
    parser.add_argument("--licence", nargs="+", action="extend", metavar="L",
                        help="licence ids to keep, any of them (e.g. openrail++ mit)")
    parser.add_argument("--max-params", type=parameter_count, metavar="P",
                        help="denoiser + text encoders at most (e.g. 900M, 2.6B)")
    parser.add_argument("--min-resolution", type=positive_int, metavar="R",
                        help="native resolution of at least R pixels a side")
    gated = parser.add_mutually_exclusive_group()
    gated.add_argument("--include-gated", dest="include_gated", action="store_true",
                       default=True, help="list gated models (the default)")
    gated.add_argument("--no-gated", dest="include_gated", action="store_false",
                       help="leave gated models out")
    parser.add_argument("--include-adapters", action="store_true",
                        help="list LoRAs and other adapters too")
    parser.add_argument("--no-minizoo", dest="minizoo", action="store_false",
                        help="leave the mini zoo out")
    parser.add_argument("--model", action="append", metavar="ID",
                        help="only these models (Hub id, mini-zoo name or pipeline folder)")
    parser.add_argument("--refresh", action="store_true", help="ignore the cached listing")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_catalog)

    recommend = commands.choices.get("recommend")
    if recommend is not None:
        recommend.add_argument(
            "--candidates", default="graph", metavar="graph|catalog|FILE",
            help="models to rank: the graph's (default), those and the catalogue's, or a file "
                 "of model ids (one a line); models the graph never profiled are ranked from "
                 "their features and lineage and marked 'not profiled'; a listed Hub "
                 "model whose features cannot be read (offline, unknown, gated) is marked "
                 "'not reachable' and the others are ranked")
        graph_only = recommend.get_default("handler")
        recommend.set_defaults(handler=lambda args: _recommend(args, graph_only))


def _catalog(args) -> int:
    from ..hub.catalog import candidate_catalog, model_features

    if args.model:
        import pandas as pd

        from ..hub.catalog import CATALOG_COLUMNS

        table = pd.DataFrame([model_features(m) for m in args.model], columns=CATALOG_COLUMNS)
        notice, hub_error, skipped = None, None, []
    else:
        table = candidate_catalog(
            search=args.search, limit=args.limit, min_downloads=args.min_downloads,
            licences=args.licence, max_params=args.max_params,
            min_resolution=args.min_resolution, include_gated=args.include_gated,
            include_adapters=args.include_adapters, include_minizoo=args.minizoo,
            refresh=args.refresh)
        notice, hub_error, skipped = (table.attrs["notice"], table.attrs["hub_error"],
                                      table.attrs["skipped"])
    rows = [{k: (None if _missing(v) else v) for k, v in row.items()}
            for row in table.astype(object).to_dict("records")]
    if args.json:
        print(report.to_json({"models": rows, "notice": notice, "hub_error": hub_error,
                              "skipped": skipped}))
    else:
        if notice:  # the operator's terminal: the failed request's own line too
            print(f"note: {notice}{f' ({hub_error})' if hub_error else ''}", file=sys.stderr)
        print(catalog_text(rows, skipped, limit=None if args.model else args.limit))
    return 0


def catalog_text(rows: list[dict], skipped: list[str], limit: int | None = None) -> str:
    shown = [{"id": r["id"], "source": r["source"] + (" (adapter)" if r["kind"] == "adapter"
                                                      else ""),
              "pipeline": (r["pipeline_class"] or "").removesuffix("Pipeline") or None,
              "params": _human(r["params"]), "resolution": r["resolution"],
              "licence": r["licence"], "downloads": r["downloads"],
              "base": f"{r['base_model']} ({r['base_model_relation']})" if r["base_model"]
              else None,
              "note": _note(r)} for r in rows]
    parts = [report.table(shown, TEXT_COLUMNS) if shown else "no model matches the filters"]
    if skipped:
        parts.append(f"\nleft out, not diffusers pipelines (no model_index.json): "
                     f"{', '.join(skipped)}")
    if limit is not None:
        hub = sum(row["source"] == "hub" for row in rows)
        local = len(rows) - hub
        parts.append(f"\n{hub} Hub models (--limit {limit}: the most downloaded that pass the "
                     f"filters) and {local} mini-zoo models (not counted by --limit).")
    parts.append("\nparams: denoiser + text encoders, from safetensors headers; resolution: "
                 "native side in pixels.")
    return "\n".join(parts)


def _note(row: dict) -> str | None:
    """A short note for the text table (JSON carries the full one)."""
    if row["gated"]:
        return "gated: features need access (HF_TOKEN)" if row["note"] else "gated"
    return row["note"].split(":")[0] if row["note"] else None


def _human(count) -> str | None:
    if count is None:
        return None
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= size:
            return f"{count / size:.3g}{unit}"
    return str(count)


def _missing(value) -> bool:
    try:
        return value is None or value != value or value is __import__("pandas").NA
    except TypeError:
        return False


# --------------------------------------------------------------------------- recommend
def _recommend(args, graph_only) -> int:
    if args.candidates == "graph":
        return graph_only(args)
    from ..advise import advise, load_candidates
    from ..graph.defaults import EXAMPLE_DATASET, example_dir, resolve_graph

    graph = resolve_graph(args.graph)
    candidates = load_candidates(args.candidates, graph)
    dataset = str(example_dir(EXAMPLE_DATASET)) if args.example else args.dataset
    source = str(args.graph) if args.graph else None
    if source is None:
        from ..graph.defaults import default_graph_source

        source = default_graph_source()
    result = advise(graph, dataset, method=args.method, metric=args.metric, top=args.top,
                    neighbours=args.neighbours, hold_out=args.hold_out, seed=args.seed,
                    samples=args.samples, graph_source=source, probe=args.probe,
                    candidates=candidates)
    if result.get("notice"):  # stderr in both modes: the JSON on stdout stays whole
        print(f"note: {result['notice']}", file=sys.stderr)
    if args.json:
        print(report.to_json(result))
        return 0
    print(cold_ranking_text(result, top=args.top or 10))
    return 0


def cold_ranking_text(result: dict, *, top: int) -> str:
    """The ranking with profiled and never-profiled models together, the latter marked."""
    rows = [{**row, "profiled": "yes" if row["profiled"] else "not profiled",
             "±": row["uncertainty"]} for row in result["ranking"][:top]]
    columns = ["rank", "model", "predicted", "±", "profiled"]
    head = (f"target {result['target']!r} · method {result['method']} · graph {result['graph']}"
            f" · candidates {result['candidates_source']}")
    parts = [head, "", report.table(rows, columns,
                                    formats={"predicted": report.significant,
                                             "±": report.significant})]
    if len(result["ranking"]) > top:
        parts.append(f"({len(result['ranking']) - top} more not shown; --top "
                     f"{len(result['ranking'])} lists them all)")
    unreachable = result.get("unreachable") or []
    if unreachable:
        parts += ["", f"not ranked, {unreachable[0]['note']}: "
                      + ", ".join(item["model"] for item in unreachable)]
    parts += ["", "predicted: the quality to expect after fine-tuning, in standard deviations "
              "above the average candidate on this dataset; higher is better. ±: one standard "
              "deviation of that prediction.",
              "not profiled: never fine-tuned in the graph; predicted from the profiled models "
              "closest to it (its base model first), hence the wider ±."]
    return "\n".join(parts)
