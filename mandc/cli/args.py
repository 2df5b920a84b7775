"""Building blocks shared by the ``mandc`` parsers (:mod:`mandc.cli.main`, :mod:`mandc.cli.zoo`,
:mod:`mandc.cli.hub`): the ``Examples:`` epilog every command ends its help with, and value types
whose errors argparse reports under the flag the user typed."""

from __future__ import annotations

import argparse
import textwrap


def examples(*lines: str, note: str = "") -> str:
    """An ``Examples:`` epilog: one runnable invocation per line, an optional note after."""
    text = "Examples:\n" + "\n".join(f"  {line}" for line in lines) + "\n"
    return text + (f"\n{textwrap.fill(note, 78, break_on_hyphens=False)}\n" if note else "")


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def density(text: str) -> float:
    """A share in (0, 1]."""
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def paragraph(text: str) -> str:
    """A description wrapped to the help's width (the raw formatter keeps text as given)."""
    return textwrap.fill(text, 78, break_on_hyphens=False)


def share(text: str) -> float:
    """A share in [0, 1]."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value


def add_loader_options(parser: argparse.ArgumentParser, *, sampling: bool = True,
                       split: bool = True, samples_default: int | None = None) -> None:
    """The flags of :class:`mandc.data.LoadOptions`, the same on every command that loads a
    target. ``sampling=False`` leaves ``--samples``/``--seed`` to a command that gives them
    another meaning; ``split=False`` to one that reads fixed splits (profile: train and test)."""
    from ..data.options import (
        DEFAULT_MAX_PIXELS,
        DEFAULT_MAX_SAMPLES,
        DEFAULT_MAX_UNREADABLE_SHARE,
    )

    group = parser.add_argument_group("reading the dataset")
    if split:
        group.add_argument("--split", default=None, help="split of a Hub dataset or of a folder "
                           "with split subfolders (default train)")
    group.add_argument("--image-column", metavar="C", help="image (file name) column of a "
                       "metadata file or Hub dataset (default: found by name)")
    group.add_argument("--caption-column", metavar="C", help="caption column (default: found "
                       "by name: text, caption, prompt, tags…)")
    if sampling:
        group.add_argument("--samples", type=positive_int, default=None,
                           help=f"images to describe at most (default "
                                f"{samples_default or DEFAULT_MAX_SAMPLES})")
        group.add_argument("--seed", type=int, default=0,
                           help="seed of the sample (and of any other random step; default 0)")
    group.add_argument("--max-pixels", type=positive_int, default=None, metavar="N",
                       help=f"pixels one image may decode to; larger ones are skipped and "
                            f"reported (default {DEFAULT_MAX_PIXELS:,}; JPEGs decode reduced)")
    group.add_argument("--max-unreadable-share", type=share, default=None, metavar="S",
                       help=f"share of sampled images that may be unreadable or too large "
                            f"before the dataset is refused (default "
                            f"{DEFAULT_MAX_UNREADABLE_SHARE})")


def loader_options(args: argparse.Namespace, **fixed):
    """The :class:`mandc.data.LoadOptions` the flags of :func:`add_loader_options` set;
    ``fixed`` fills fields a command decides itself (e.g. ``max_samples`` of a probe)."""
    from ..data.options import LoadOptions

    given = {"split": getattr(args, "split", None), "image_column": args.image_column,
             "caption_column": args.caption_column,
             "max_samples": getattr(args, "samples", None), "seed": getattr(args, "seed", None),
             "max_pixels": args.max_pixels, "max_unreadable_share": args.max_unreadable_share,
             **fixed}
    return LoadOptions(**{key: value for key, value in given.items() if value is not None})
