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
