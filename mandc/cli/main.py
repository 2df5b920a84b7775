"""The ``mandc`` command: parse arguments, call the library, format the result.

Every error M&C raises on purpose (:class:`~mandc.errors.MandcError`) is printed as one line,
``error: ...``, on stderr with exit code 2 (an operating-system error such as a full disk gets
exit code 1; an ``--out`` where no graph folder can be made is a bad ``--out``, 2); a missing
optional package is one such line naming the extra to install; anything else is a bug and
keeps its traceback. Every command's ``--help`` ends with examples.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .. import __version__
from ..errors import ConfigError, MandcError
from ..graph.defaults import DEFAULT_GRAPH_TEXT, DEFAULT_GRAPH_WHERE
from . import report
from .args import add_loader_options, density, examples, loader_options, paragraph, positive_int
from .catalog import add_catalog_commands
from .hub import add_hub_commands
from .suggest import add_suggest_command

RECOMMEND_TOP = 10
"""Rows the text ranking shows without --top (JSON carries every candidate)."""


EPILOG = examples(
    "mandc recommend --example                                 # rank the models for an example",
    "mandc recommend --dataset ./my-images --top 5             # your images: mandc[data]",
    "mandc evaluate --methods mandc,nearest_dataset,random     # how well each method ranks",
    note=f"{DEFAULT_GRAPH_TEXT} `mandc COMMAND --help` shows each command's options and "
         "examples.")


# ---------------------------------------------------------------------------------- commands
def _graph_import(args) -> int:
    from ..graph.importer import import_csv, write_graph

    lower = args.lower_is_better
    if isinstance(lower, str):
        lower = _split(lower)
    graph = import_csv(args.scores, models=args.models, datasets=args.datasets,
                       similarity=args.similarity, lower_is_better=lower,
                       similarity_is_distance=args.similarity_is_distance, metric=args.metric)
    out = _write_out(write_graph, graph, args)
    return _show(graph, str(out), as_json=args.json, prefix=f"imported into {out}\n")


def _write_out(write_graph, graph, args) -> Path:
    """``write_graph`` to ``--out``: a place that cannot be written is a bad ``--out`` (exit 2),
    named as the user typed it."""
    try:
        return write_graph(graph, args.out, overwrite=args.overwrite)
    except OSError as error:
        raise ConfigError(f"--out {args.out}: cannot write a graph there "
                          f"({error.strerror or error})") from None


def _graph_show(args) -> int:
    from ..graph.defaults import resolve_graph
    from ..hub.repo_id import looks_like_repo
    from ..settings import get_settings

    repo = get_settings().graph_repo if args.dir is None else (
        args.dir if looks_like_repo(args.dir) else None)
    if repo and args.list:
        from ..hub.graph_repo import pulled_from_repo

        pulled = pulled_from_repo(repo)
        return _list_nodes(pulled.graph, f"{pulled.repo.repo_id}@{pulled.commit[:12]}",
                           args.list, as_json=args.json)
    if repo:  # a Hub graph: also who contributed it and with which recipes
        from .hub import show_repo

        return show_repo(repo, as_json=args.json)
    graph = resolve_graph(args.dir)
    if args.list:
        return _list_nodes(graph, _graph_source(args.dir), args.list, as_json=args.json)
    return _show(graph, _graph_source(args.dir), as_json=args.json)


def _list_nodes(graph, source: str, kind: str, *, as_json: bool) -> int:
    """``graph show --list models|datasets``: every node of that kind with how many pairs of it
    are measured on the primary metric; a dataset with its best measured model, a model with the
    datasets it is best on (the names ``recommend --dataset`` and ``suggest --dataset`` take)."""
    import pandas as pd

    metric = graph.primary_metric
    matrix = (graph.score_matrix(metric) if metric else pd.DataFrame()).reindex(
        index=graph.model_ids, columns=graph.dataset_ids)
    higher = graph.higher_is_better(metric) if metric else True
    winners = pd.Series({d: ((column.idxmax() if higher else column.idxmin())
                             if column.notna().any() else None)
                         for d, column in matrix.items()}, dtype=object)
    if kind == "datasets":
        rows = [{"dataset": d, "measured": int(matrix[d].notna().sum()),
                 "best_model": winners[d] if isinstance(winners[d], str) else None,
                 metric or "score": (float(matrix.at[winners[d], d])
                                     if isinstance(winners[d], str) else None)}
                for d in graph.dataset_ids]
        legend = f"measured: models with a {metric or 'score'}; best_model: the best of them"
    else:
        rows = [{"model": m, "measured": int(matrix.loc[m].notna().sum()),
                 "best_on": int((winners == m).sum())} for m in graph.model_ids]
        legend = f"measured: datasets with a {metric or 'score'}; best_on: datasets it is best on"
    if as_json:
        print(report.to_json({"graph": source, "metric": metric, kind: rows}))
        return 0
    print(f"{len(rows)} {kind} of {source}; {legend} "
          f"({'higher' if higher else 'lower'} is better)")
    if rows:
        print(report.table(rows, list(rows[0])))
    return 0


def _show(graph, source: str, *, as_json: bool, prefix: str = "") -> int:
    summary = {**graph.summary(), "graph": source}
    print(report.to_json(summary) if as_json else prefix + report.graph_summary_text(summary,
                                                                                     source))
    return 0


def _graph_synth(args) -> int:
    from ..graph.importer import write_graph
    from ..graph.synth import synthetic_graph

    graph = synthetic_graph(args.models, args.datasets, seed=args.seed, density=args.density,
                            noise=args.noise, metric=args.metric,
                            higher_is_better=not args.lower_is_better)
    out = _write_out(write_graph, graph, args)
    return _show(graph, str(out), as_json=args.json, prefix=f"synthetic graph written to {out}\n")


def _evaluate(args) -> int:
    from ..graph.defaults import resolve_graph
    from ..ranking.evaluate import leave_one_dataset_out

    if args.json and args.json != "-":
        _check_output_file(args.json, "--json")  # before minutes of evaluation, not after
    graph = resolve_graph(args.graph)
    methods = _split(args.methods) if args.methods else available_methods()
    result = leave_one_dataset_out(graph, methods, metric=args.metric, seed=args.seed,
                                   progress=not args.no_progress)
    payload = report.to_json(result.to_dict())
    if args.json == "-":
        print(payload)
        return 0
    print(report.evaluation_text(result, _graph_source(args.graph),
                                 higher_is_better=graph.higher_is_better(result.metric),
                                 metric_spec=graph.meta.get("metrics", {}).get(result.metric)))
    if args.json:
        Path(args.json).write_text(payload + "\n")
        print(f"wrote {args.json}")
    return 0


def _check_output_file(path: str, flag: str) -> None:
    """Refuse an output file that cannot be written (a folder, or in a missing folder)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder; name a file to write")
    if not target.parent.is_dir():
        raise ConfigError(f"{flag} {path}: no such folder {str(target.parent)!r}; create it "
                          "first")


def _recommend(args) -> int:
    from ..advise import advise
    from ..graph.defaults import EXAMPLE_DATASET, example_dir, resolve_graph

    if args.probe:
        from ..optional import require

        require("diffusers", "transformers", "safetensors", extra="profile", purpose="--probe")
    dataset = str(example_dir(EXAMPLE_DATASET)) if args.example else args.dataset
    result = advise(resolve_graph(args.graph), dataset, method=args.method,
                    metric=args.metric, top=args.top, neighbours=args.neighbours,
                    hold_out=args.hold_out, seed=args.seed, load_options=loader_options(args),
                    graph_source=_graph_source(args.graph), probe=args.probe)
    print(report.to_json(result) if args.json
          else report.ranking_text(result, top=args.top or RECOMMEND_TOP))
    return 0


def _describe(args) -> int:
    from ..data import load_target
    from ..features import describe

    target = load_target(args.dataset, loader_options(args))
    descriptor = describe(target, featurizer=args.featurizer)
    left_out = _left_out(target)
    payload = {"source": target.source, "sampled": len(target), "total": target.total,
               "skipped": sum(left_out.values()), "skipped_by_reason": left_out,
               "notes": list(target.notes),
               "load_report": target.report.to_dict() if target.report else None,
               **descriptor.to_dict()}
    print(report.to_json(payload) if args.json else report.descriptor_text(payload))
    return 0


# ---------------------------------------------------------------------------------- helpers
def _left_out(target) -> dict[str, int]:
    """Files the loader saw and left out, per reason (``mandc.data.report.REASONS``): every
    kind, not only the undecodable ones ``ImageCaptionSet.skipped`` counts."""
    if target.report is None:  # a set built by hand: only what it counts
        return {"unreadable": target.skipped} if target.skipped else {}
    from ..data.report import REASONS

    counts = target.report.counts()
    return {reason: counts[reason] for reason in REASONS if counts[reason]}


def available_methods() -> list[str]:
    """Every registered ranking method (imports the modules that register them)."""
    from ..ranking.methods import METHODS

    return METHODS.names()


def _graph_source(directory) -> str:
    """The graph a command read, as the user should see it: the directory given, else the
    default's description."""
    from ..graph.defaults import default_graph_source

    return str(directory) if directory else default_graph_source()


def _split(names: str) -> list[str]:
    return [name.strip() for name in names.split(",") if name.strip()]


# ---------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="mandc", formatter_class=formatter, epilog=EPILOG,
        description=paragraph(
            "M&C (Match & Choose): which pretrained text-to-image model should you fine-tune on "
            "your images? Learns from a matching graph of models, datasets and measured "
            "fine-tuning scores."))
    parser.add_argument("--version", action="version", version=f"mandc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    graph = commands.add_parser(
        "graph", help="import, inspect or synthesise a matching graph", formatter_class=formatter,
        epilog=examples("mandc graph show",
                        "mandc graph import --scores scores.csv --lower-is-better --out my-graph",
                        "mandc graph synth --models 40 --datasets 30 --out synth-graph"))
    graph_commands = graph.add_subparsers(dest="graph_command", required=True, metavar="ACTION")

    imp = graph_commands.add_parser(
        "import", help="build a graph from CSV files", formatter_class=formatter,
        description=paragraph(
            "Build a matching graph from CSV files (comma-separated, UTF-8, a header first). "
            "Nothing is written unless every file is valid; errors name the file, the row "
            "(header = row 1) and the column."),
        epilog=examples(
            "mandc graph import --scores scores.csv --lower-is-better --out my-graph",
            "mandc graph import --scores scores.csv --models models.csv --datasets datasets.csv "
            "\\\n      --similarity similarity.csv --lower-is-better fid --out my-graph"))
    imp.add_argument("--scores", required=True, metavar="CSV",
                     help="columns model, dataset, score [, metric]; repeated pairs are averaged")
    imp.add_argument("--models", metavar="CSV", help="column model + feature columns")
    imp.add_argument("--datasets", metavar="CSV", help="column dataset + feature columns")
    imp.add_argument("--similarity", metavar="CSV",
                     help="long form (dataset_a, dataset_b, value) or a square matrix")
    imp.add_argument("--similarity-is-distance", action="store_true",
                     help="the similarity file holds distances (smaller = more alike)")
    imp.add_argument("--lower-is-better", nargs="?", const=True, default=False,
                     metavar="METRICS", help="lower scores are better (FID, KID); alone: every "
                     "metric, or a comma-separated list of metric names")
    imp.add_argument("--metric", help="metric name when the scores have no metric column "
                     "(default 'score'), else the primary metric")
    imp.add_argument("--out", required=True, metavar="DIR", help="new graph directory")
    imp.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    imp.add_argument("--json", action="store_true", help="print the summary as JSON")
    imp.set_defaults(handler=_graph_import)

    show = graph_commands.add_parser(
        "show", help="summarise a graph", formatter_class=formatter,
        description=paragraph("Summarise a graph: its models, datasets, scores, metrics and "
                              "coverage."),
        epilog=examples("mandc graph show --list datasets        # names for recommend --dataset",
                        "mandc graph show my-graph --json",
                        "mandc graph show alice/t2i-graph        # a Hub graph repo"))
    show.add_argument("dir", nargs="?", metavar="GRAPH",
                      help=f"graph directory or Hub repo (OWNER/NAME[@REV]; a repo also lists "
                           f"its contributors and recipes; default: {DEFAULT_GRAPH_WHERE})")
    show.add_argument("--list", choices=["models", "datasets"],
                      help="list every dataset (pairs measured, best measured model) or every "
                           "model (pairs measured, datasets it is best on) instead of the summary")
    show.add_argument("--json", action="store_true", help="print the summary (or the --list) as "
                      "JSON")
    show.set_defaults(handler=_graph_show)

    synth = graph_commands.add_parser(
        "synth", help="write a synthetic graph (tests, benchmarks)", formatter_class=formatter,
        description=paragraph(
            "Write a synthetic graph with a known latent structure, for tests and "
            "benchmarks of the ranking methods."),
        epilog=examples("mandc graph synth --out synth-graph",
                        "mandc graph synth --models 8 --datasets 6 --density 0.8 "
                        "--lower-is-better --metric fid --out synth-graph --overwrite"))
    synth.add_argument("--models", type=positive_int, default=40, help="number of models")
    synth.add_argument("--datasets", type=positive_int, default=30, help="number of datasets")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--density", type=density, default=1.0,
                       help="share of model–dataset pairs with a score (default 1)")
    synth.add_argument("--noise", type=float, default=0.1,
                       help="measurement noise next to the latent signal (default 0.1)")
    synth.add_argument("--metric", default="score", help="metric name (default 'score')")
    synth.add_argument("--lower-is-better", action="store_true",
                       help="FID-like scores where lower is better")
    synth.add_argument("--out", required=True, metavar="DIR")
    synth.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    synth.add_argument("--json", action="store_true", help="print the summary as JSON")
    synth.set_defaults(handler=_graph_synth)

    evaluate = commands.add_parser(
        "evaluate", help="leave-one-dataset-out evaluation of ranking methods",
        formatter_class=formatter,
        description=paragraph(
            "For each dataset: hide its scores, fit, rank the models, compare with what was "
            "measured. Reports top-1, top-3, mean regret, Pearson, Spearman, NDCG@3, best "
            "method first."),
        epilog=examples("mandc evaluate --methods mandc,nearest_dataset,best_average,random",
                        "mandc evaluate --graph synth-graph --json results.json",
                        "mandc evaluate --methods random --json - --no-progress"))
    evaluate.add_argument("--graph", metavar="GRAPH", help=f"graph directory or Hub repo "
                          f"(OWNER/NAME[@REV]; default: "
                          f"{DEFAULT_GRAPH_WHERE})")
    evaluate.add_argument("--methods", metavar="A,B,...",
                          help="comma-separated method names (default: all registered)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--metric", help="metric to evaluate on (default: the primary one)")
    evaluate.add_argument("--json", metavar="OUT", help="write the results as JSON ('-' = stdout)")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    evaluate.set_defaults(handler=_evaluate)

    recommend = commands.add_parser(
        "recommend", help="rank candidate models for a target dataset", formatter_class=formatter,
        description=paragraph(
            "Rank every candidate model of the graph for a target dataset, with the predicted "
            "quality and the profiled datasets that drove the prediction."),
        epilog=examples(
            "mandc recommend --example                             # a bundled flower dataset",
            "mandc recommend --dataset ./my-images --top 5         # needs mandc[data]",
            "mandc recommend --dataset ./my-images --probe --json  # needs mandc[profile]"))
    recommend.add_argument("--graph", metavar="GRAPH", help=f"graph directory or Hub "
                           f"repo (OWNER/NAME[@REV]; default: "
                           f"{DEFAULT_GRAPH_WHERE})")
    target = recommend.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", metavar="TARGET",
                        help="a dataset of the graph, or a folder, zip or Hub dataset id to "
                             "describe and place in the graph (needs a graph built from "
                             "described datasets)")
    target.add_argument("--example", action="store_true",
                        help="the example dataset that ships with M&C (20 flower images with "
                             "captions, a kind the default graph has never seen)")
    recommend.add_argument("--method", default="mandc", help="ranking method (default: mandc)")
    recommend.add_argument("--top", type=positive_int, default=None,
                           help=f"rows to show (default: {RECOMMEND_TOP} in the text, every "
                                "candidate in --json)")
    recommend.add_argument("--neighbours", type=positive_int, default=3,
                           help="similar profiled datasets to list (default 3)")
    recommend.add_argument("--metric", help="metric to rank by (default: the primary one)")
    recommend.add_argument("--hold-out", action="store_true",
                           help="ignore the target's own scores, as if it were new")
    recommend.add_argument("--probe", action="store_true",
                           help="probe a new target with every model of the graph first (a few "
                                "seconds per model on a CPU for the mini zoo; the models must "
                                "load here), so that the graph's probe metrics count")
    recommend.add_argument("--json", action="store_true",
                           help="print JSON: predicted, low, high in standard deviations above "
                                "the average candidate (higher is better); higher_is_better and "
                                "measured: the raw metric (predicted_scale says so)")
    add_loader_options(recommend)
    recommend.set_defaults(handler=_recommend)

    describe = commands.add_parser(
        "describe", help="describe an image–caption dataset with a featurizer",
        formatter_class=formatter,
        description=paragraph(
            "Load a dataset (Hub id, image folder, zip), sample it and print its descriptor: "
            "embedding statistics, caption and image statistics, fingerprint."),
        epilog=examples("mandc describe ./my-images                # needs mandc[data]",
                        "mandc describe ./my-images.zip --samples 64 --json"))
    describe.add_argument("dataset", metavar="DATASET", help="Hub dataset id, folder or zip")
    describe.add_argument("--featurizer", help="featurizer name (default: $MANDC_FEATURIZER or "
                          "effnet-minilm)")
    describe.add_argument("--json", action="store_true", help="print JSON")
    add_loader_options(describe)
    describe.set_defaults(handler=_describe)
    _add_profiling_commands(commands, graph_commands, formatter)
    add_hub_commands(commands, graph_commands, formatter)
    add_catalog_commands(commands, formatter)
    add_suggest_command(commands, formatter)
    return parser


def _add_profiling_commands(commands, graph_commands, formatter) -> None:
    from . import zoo as cli_zoo

    cli_zoo.add_commands(commands, formatter)
    cli_zoo.add_graph_commands(graph_commands, formatter)


# ---------------------------------------------------------------------------------- running
LIBRARY_NAMES = {"max_samples": "samples", "n_neighbors": "neighbours"}
"""Library parameters that a flag spells differently (parameter → the flag's dest)."""

_PARAMETER = re.compile(r"(?<![\w\-/.'\"])([a-z][a-z0-9_]*=True|[a-z][a-z0-9]*(?:_[a-z0-9]+)+)"
                        r"(?![\w\-/.'\"])")
"""A parameter as the library's messages name it, bare: ``lower_is_better``, ``overwrite=True``
(quoted values, file names and paths are left alone)."""


def command_parser(parser: argparse.ArgumentParser, args) -> tuple[argparse.ArgumentParser, str]:
    """The (sub)parser that parsed ``args``, and its command line (``mandc graph import``)."""
    words = [parser.prog]
    while True:
        chosen = [action for action in parser._actions
                  if isinstance(action, argparse._SubParsersAction)]
        if not chosen or getattr(args, chosen[0].dest, None) is None:
            return parser, " ".join(words)
        words.append(getattr(args, chosen[0].dest))
        parser = chosen[0].choices[words[-1]]


def in_flags(message: str, parser: argparse.ArgumentParser) -> str:
    """``message`` with the library's parameter names (``lower_is_better``, ``overwrite=True``)
    written as the flags of ``parser`` that set them (``--lower-is-better``, ``--overwrite``)."""
    flags = {action.dest: action.option_strings[0] for action in parser._actions
             if action.option_strings and action.option_strings[0].startswith("--")}

    def flag(match: re.Match) -> str:
        name = match.group(1).removesuffix("=True")
        return flags.get(LIBRARY_NAMES.get(name, name), match.group(1))

    return _PARAMETER.sub(flag, message)


def _machine_output(args) -> bool:
    """The command prints JSON on stdout (its --json flag, or ``--json -``)."""
    return getattr(args, "json", None) in (True, "-")


def _is_terminal(stream) -> bool:
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def main(argv: list[str] | None = None) -> int:
    """Run the ``mandc`` command; returns the exit status (2 for a usage or input error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already printed
        return int(stop.code or 0)
    active, command = command_parser(parser, args)
    from ..optional import quiet_library_logs

    quiet_library_logs()
    if _machine_output(args) or not _is_terminal(sys.stderr):
        from ..optional import silence_library_progress_bars

        silence_library_progress_bars()
    try:
        return args.handler(args)
    except MandcError as error:
        return _fail(in_flags(str(error), active))
    except ModuleNotFoundError as error:  # an optional package imported deep inside
        from ..optional import missing_dependency

        missing = missing_dependency(error, purpose=command)
        if missing is None:
            raise
        return _fail(str(missing))
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except OSError as error:  # the environment, not the input: unwritable --out, full disk...
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.splitlines())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
