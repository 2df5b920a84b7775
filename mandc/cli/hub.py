"""``mandc pull``, ``mandc push`` and ``mandc graph compact``: the graph's home on the Hub.

Kept apart from :mod:`mandc.cli.main`; handlers import huggingface_hub only when they run. The token
is huggingface_hub's (``HF_TOKEN`` or ``hf auth login``) and is never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..graph.defaults import DEFAULT_GRAPH_WHERE
from . import report
from .args import examples, paragraph, positive_int

PULL_EXAMPLES = """\
Examples:
  mandc pull alice/t2i-graph                       # into the Hugging Face cache; prints a summary
  mandc pull alice/t2i-graph@v1 --out my-graph     # a tag or commit, as a local graph directory
  mandc pull hf://datasets/alice/t2i-graph --json

Only the graph's files are downloaded (graph.json, README.md, the tables and their shards).
With HF_HUB_OFFLINE=1 a pulled graph is read from the cache, without the network.
"""

PUSH_EXAMPLES = """\
Examples:
  mandc push runs/my-profile --repo alice/t2i-graph --create      # first push creates the repo
  mandc push runs/my-profile --repo alice/t2i-graph --dry-run     # what would be added, no write
  mandc push my-graph --repo org/t2i-graph --create-pr --no-files  # a PR of the tables only

The push is checked against the repo's graph.json first (schema, metric conventions,
featurizer, every row's model, dataset, recipe and recipe hash); a refused push writes nothing.
New rows go in as new files in one commit; rows the repo has add nothing, so a push can be
rerun safely. Needs a write token: HF_TOKEN, or `hf auth login`.

The same commit carries the run records (runs/*.json) and sample grids (samples/*.png, .webp,
.jpg) of the graph's profiled pairs that the repo lacks: the Space shows the grids and reads
the fine-tune cost from the records. A file the repo holds with the same bytes is skipped; one
with other bytes is never overwritten (the repo's is kept, a warning names it). Absolute local
paths in a record (dataset_source, ...) are replaced by <local>/NAME; a record holding a token
refuses the push. Limits: 1 MiB a record, 16 MiB a grid (larger ones are not sent, with a
warning), 5,000 files and 2 GiB a push. --no-files sends the tables only.
"""

COMPACT_EXAMPLES = """\
Examples:
  mandc graph compact --repo alice/t2i-graph
  mandc graph compact --repo alice/t2i-graph --dry-run --json

Folds every shard into one file per table in one commit made with parent_commit; pushes that
land meanwhile make it re-read and retry, and it deletes only the shards it folded.
"""


CARD_EXAMPLES = examples(
    "mandc card alice/sd-cats --dataset alice/cats --graph org/t2i-graph    # print the diff",
    "mandc card alice/sd-cats --dataset alice/cats --graph org/t2i-graph --apply",
    "mandc card ./my-finetune --dataset shapes-red-circles --direct",
    note="Metadata is merged, never overwritten: base_model (and base_model_relation), "
         "datasets and a mandc tag are added where the card lacks them, and the section "
         "'Why this base model' sits between HTML comments, so a rerun updates it in place. "
         "--apply opens a pull request on the repo, --direct commits (or writes a folder's "
         "README.md); without them nothing is written.")
RELATIONS = ("finetune", "adapter", "merge", "quantized")

DEPLOY_EXAMPLES = examples(
    "mandc space deploy --space alice/mandc --graph-repo alice/t2i-graph --dry-run",
    "mandc space deploy --space alice/mandc --graph-repo alice/t2i-graph",
    "mandc space deploy --space org/mandc --graph-repo org/t2i-graph --hardware t4-small "
    "--private",
    note="Sends app.py, requirements.txt, the Space card of space_config/ and the mandc package "
         "source (with the shipped graph, the examples and the mini-zoo weights; no sample "
         "grids or run records) in one commit, deleting files the app no longer has; sets "
         "MANDC_GRAPH_REPO as a Space variable (default: $MANDC_GRAPH_REPO) and prints the "
         "Space's URL. Runs from a checkout of M&C; needs a write token.")


def add_hub_commands(commands, graph_commands, formatter) -> None:
    """Register ``pull``, ``push``, ``card`` and ``graph compact`` on the ``mandc`` parser."""
    pull = commands.add_parser(
        "pull", help="download a matching graph from a Hub dataset repo",
        formatter_class=formatter, epilog=PULL_EXAMPLES,
        description="Bring a graph down from a Hub dataset repo (OWNER/NAME, OWNER/NAME@REV or "
                    "hf://datasets/OWNER/NAME), cached for offline use.")
    pull.add_argument("repo", metavar="REPO", help="OWNER/NAME[@REV] or hf://datasets/OWNER/NAME")
    pull.add_argument("--revision", metavar="R", help="branch, tag or commit (default main)")
    pull.add_argument("--out", metavar="DIR", help="also write it as a local graph directory")
    pull.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    pull.add_argument("--json", action="store_true", help="print the summary as JSON")
    pull.set_defaults(handler=_pull)

    push = commands.add_parser(
        "push", help="add a local graph's new rows to a Hub graph repo",
        formatter_class=formatter, epilog=PUSH_EXAMPLES,
        description="Push the score rows, models and datasets of a local graph (or of a "
                    "`mandc profile` output folder) that a Hub dataset repo lacks, with their "
                    "run records and sample grids, in one commit.")
    push.add_argument("source", metavar="SOURCE",
                      help="local graph directory (a `mandc profile --graph` output folder is one)")
    push.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the graph repo")
    push.add_argument("--create", action="store_true", help="create the repo if it is missing")
    push.add_argument("--private", action="store_true", help="with --create: a private repo")
    push.add_argument("--message", metavar="M", help="commit message")
    push.add_argument("--create-pr", action="store_true",
                      help="open a pull request instead of committing to the branch")
    push.add_argument("--files", action=argparse.BooleanOptionalAction, default=True,
                      help="also send the pairs' run records and sample grids the repo lacks "
                           "(default; --no-files: the tables only)")
    push.add_argument("--dry-run", action="store_true", help="validate and list; write nothing")
    push.add_argument("--json", action="store_true", help="print the result as JSON")
    push.set_defaults(handler=_push)

    card = commands.add_parser(
        "card", help="write M&C's recommendation into a model card", formatter_class=formatter,
        epilog=CARD_EXAMPLES,
        description=paragraph(
            "Add to the card of a fine-tuned model (a Hub repo, or a local folder before its "
            "upload) which base model it came from and why: base_model, datasets, a mandc tag "
            "and a short section with the top of M&C's ranking for the dataset, the measured "
            "or predicted figures and the graph repo and revision they came from."))
    card.add_argument("model", metavar="MODEL", help="Hub model repo (OWNER/NAME) or a local "
                      "model folder")
    card.add_argument("--dataset", required=True, metavar="D",
                      help="the dataset it was fine-tuned on: a dataset of the graph, or a Hub "
                           "dataset id, folder or zip to place in the graph")
    card.add_argument("--graph", metavar="GRAPH", help=f"graph directory or Hub repo "
                      f"(OWNER/NAME[@REV]; default: {DEFAULT_GRAPH_WHERE})")
    card.add_argument("--base", metavar="MODEL", help="the base model it was fine-tuned from "
                      "(default: the top-ranked one)")
    card.add_argument("--relation", choices=RELATIONS, help="base_model_relation (default: "
                      "adapter when MODEL holds adapter weights, else finetune)")
    card.add_argument("--top", type=positive_int, default=3,
                      help="ranked models the section lists (default 3)")
    card.add_argument("--method", default="mandc", help="ranking method (default: mandc)")
    mode = card.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="print the card diff and write nothing (the default)")
    mode.add_argument("--apply", action="store_true",
                      help="open a pull request on the model repo")
    mode.add_argument("--direct", action="store_true",
                      help="commit to the repo's main branch (a folder: write README.md)")
    card.add_argument("--json", action="store_true", help="print the result as JSON")
    card.set_defaults(handler=_card)

    space = commands.add_parser(
        "space", help="deploy the M&C app as a Hugging Face Space", formatter_class=formatter,
        epilog=examples("mandc space deploy --space alice/mandc --graph-repo alice/t2i-graph"))
    space_commands = space.add_subparsers(dest="space_command", required=True, metavar="ACTION")
    deploy = space_commands.add_parser(
        "deploy", help="create or update the Space in one commit", formatter_class=formatter,
        epilog=DEPLOY_EXAMPLES,
        description=paragraph("Create or update a Gradio Space that serves M&C's app on a Hub "
                              "graph repo."))
    deploy.add_argument("--space", required=True, metavar="OWNER/NAME", help="the Space")
    deploy.add_argument("--graph-repo", metavar="OWNER/NAME",
                        help="graph repo the app serves (default: $MANDC_GRAPH_REPO; without "
                             "one the app serves the graph shipped with mandc)")
    deploy.add_argument("--hardware", metavar="H", help="request this hardware (cpu-basic, "
                        "t4-small, a10g-small, …; default: leave it as it is)")
    deploy.add_argument("--private", action="store_true", help="create the Space private")
    deploy.add_argument("--message", metavar="M", help="commit message")
    deploy.add_argument("--dry-run", action="store_true",
                        help="check and list what would be sent; send nothing")
    deploy.add_argument("--json", action="store_true", help="print the result as JSON")
    deploy.set_defaults(handler=_space_deploy)

    compact = graph_commands.add_parser(
        "compact", help="fold a Hub graph repo's shards into one file per table",
        formatter_class=formatter, epilog=COMPACT_EXAMPLES)
    compact.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the graph repo")
    compact.add_argument("--message", metavar="M", help="commit message")
    compact.add_argument("--dry-run", action="store_true", help="list what would be folded")
    compact.add_argument("--json", action="store_true", help="print the result as JSON")
    compact.set_defaults(handler=_compact)


def _quiet_downloads(as_json: bool) -> None:
    if as_json or not sys.stderr.isatty():
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


def _warn(conflicts: list[str]) -> None:
    for line in conflicts:
        print(f"warning: {line}", file=sys.stderr)


def _pull(args) -> int:
    from ..hub.graph_repo import pull_graph

    _quiet_downloads(args.json)
    pulled = pull_graph(args.repo, revision=args.revision)
    prefix = ""
    if args.out:
        from ..graph.importer import write_graph

        out = write_graph(pulled.graph, args.out, overwrite=args.overwrite)
        prefix = f"pulled {pulled.repo.repo_id}@{pulled.commit[:12]} into {out}\n"
    _warn(pulled.conflicts)
    return _summarise(pulled, as_json=args.json, prefix=prefix, out=args.out)


def show_repo(spec: str, *, as_json: bool) -> int:
    """``mandc graph show REPO``: the summary of ``graph show`` with who contributed the rows
    and which recipes produced them (read from each shard's provenance)."""
    from ..hub.graph_repo import pulled_from_repo

    _quiet_downloads(as_json)
    return _summarise(pulled_from_repo(spec), as_json=as_json)


def _summarise(pulled, *, as_json: bool, prefix: str = "", out: str | None = None) -> int:
    source = f"{pulled.repo.repo_id}@{pulled.commit[:12]}"
    graph = pulled.graph
    summary = {**graph.summary(), "graph": source, "commit": pulled.commit, "out": out,
               "contributors": pulled.contributors, "recipes": pulled.recipes()}
    if as_json:
        print(report.to_json(summary))
        return 0
    print(prefix + report.graph_summary_text(summary, source))
    people = ", ".join(f"{p['author']} ({p['rows']:,} rows in {p['files']} files, last "
                       f"{p['last'] or 'unknown'})" for p in pulled.contributors)
    print(f"contributors {people or 'none recorded'}")
    recipes = summary["recipes"]
    shown = ", ".join(f"{r['recipe_hash'][:12]} ({r['rows']:,} rows)" for r in recipes[:5])
    print(f"recipes     {len(recipes)}" + (f": {shown}" if shown else "")
          + (" …" if len(recipes) > 5 else ""))
    return 0


def _push(args) -> int:
    from ..hub.graph_repo import push_graph

    _quiet_downloads(args.json)
    result = push_graph(args.source, args.repo, create=args.create, private=args.private,
                        message=args.message, create_pr=args.create_pr, dry_run=args.dry_run,
                        files=args.files)
    _warn(result.conflicts)
    if args.json:
        print(report.to_json(result.to_dict()))
        return 0
    added = _counts({**result.added, **result.sent_files})
    present = _counts({**result.present, **result.files_present})
    if not result.files:
        print(f"nothing to push: {result.repo} already has every row of {args.source}"
              + (" and its files" if args.files else "") + (f" ({present})" if present else ""))
        return 0
    verb = "would add" if result.dry_run else "added"
    if result.dry_run:
        where = "dry run, nothing written"
    elif result.pr_url:
        where = f"pull request {result.pr_url}"
    else:
        where = f"commit {result.commit[:12]}" if result.commit else "committed on an earlier try"
    print(f"{result.repo}: {verb} {added} in 1 commit ({len(result.files)} files, "
          f"{result.bytes:,} bytes) — {where}")
    if present:
        print(f"already in the repo: {present}")
    if result.scrubbed:
        print(f"local paths replaced by <local>/NAME in {len(result.scrubbed)} run records "
              f"(e.g. {result.scrubbed[0]})")
    if result.note:
        print(f"note: {result.note}")
    return 0


def _card(args) -> int:
    from ..advise import advise
    from ..hub.model_card import card_graph, plan_card, read_target, write_card

    _quiet_downloads(args.json)
    target = read_target(args.model)  # a wrong model id fails before any ranking
    graph, source = card_graph(args.graph)
    advice = advise(graph, args.dataset, method=args.method, top=None)
    update = plan_card(target, advice, graph, source, dataset=args.dataset, base=args.base,
                       relation=args.relation, top=args.top)
    writing = args.apply or args.direct
    result = write_card(target, update, create_pr=args.apply) if writing else {"written": False}
    if args.json:
        print(report.to_json({"model": args.model, "changed": update.changed,
                              "dry_run": not writing, "metadata": update.metadata,
                              "notes": update.notes, "diff": update.diff(), **result}))
        return 0
    for note in update.notes:
        print(f"note: {note}", file=sys.stderr)
    if not update.changed:
        print(f"{args.model}: the card already carries this recommendation; nothing to write")
    elif not writing:
        print(update.diff(), end="")
        print("dry run: nothing written (--apply opens a pull request, --direct commits)",
              file=sys.stderr)
    elif result.get("pr_url"):
        print(f"{args.model}: opened pull request {result['pr_url']}")
    elif result.get("path"):
        print(f"{args.model}: wrote {Path(result['path']).name}")
    else:
        print(f"{args.model}: committed the card ({(result.get('commit') or '')[:12]})")
    return 0


def _space_deploy(args) -> int:
    from ..hub.space import deploy_space, plan_deploy
    from ..settings import get_settings

    _quiet_downloads(args.json)
    graph_repo = args.graph_repo or get_settings().graph_repo
    plan = plan_deploy(args.space, graph_repo=graph_repo, hardware=args.hardware,
                       private=args.private)
    result = deploy_space(plan, dry_run=args.dry_run, message=args.message)
    if args.json:
        print(report.to_json(result.to_dict()))
        return 0
    if not graph_repo:
        print("note: no --graph-repo and no $MANDC_GRAPH_REPO: the Space serves the graph "
              "shipped with mandc", file=sys.stderr)
    size = f"{result.files} files, {result.bytes / 1e6:.1f} MB"
    if result.dry_run:
        print(f"{result.space}: would send {size} in one commit (dry run, nothing sent)")
        return 0
    verb = "created" if result.created else "updated"
    extra = [f"MANDC_GRAPH_REPO={result.graph_repo}"] if result.graph_repo else []
    extra += [f"hardware {result.hardware} requested"] if result.hardware else []
    deleted = f", {len(result.deleted)} stale files deleted" if result.deleted else ""
    print(f"{result.space}: {verb} with {size}{deleted} in commit {result.commit[:12]}"
          + (f"; {'; '.join(extra)}" if extra else ""))
    print(result.url)
    return 0


def _compact(args) -> int:
    from ..hub.compact import compact_graph

    _quiet_downloads(args.json)
    result = compact_graph(args.repo, message=args.message, dry_run=args.dry_run)
    _warn(result.conflicts)
    if args.json:
        print(report.to_json(result.to_dict()))
    elif not result.folded:
        print(f"{result.repo} is already compact ({_counts(result.rows)})")
    else:
        verb = "would fold" if result.dry_run else "folded"
        tail = f" — commit {result.commit[:12]}" if result.commit else ""
        print(f"{result.repo}: {verb} {len(result.folded)} shards into one file per table "
              f"({_counts(result.rows)}){tail}")
    return 0


def _counts(counts: dict[str, int]) -> str:
    names = {"scores": "score rows", "models": "models", "datasets": "datasets",
             "similarity": "similarity rows", "runs": "run records", "samples": "sample grids"}
    return ", ".join(f"{counts[k]} {names[k]}" for k in names if counts.get(k))
