"""What happened to every file the loader saw: read, or left out with a reason, and when to refuse.

A recommendation is about the dataset that was described; if part of the dataset is quietly left
out, it is about a different dataset than the one the person will fine-tune on. So every file (or
Hub row) ends in exactly one outcome, counted here with its first few names, carried on the
:class:`~mandc.data.imageset.ImageCaptionSet` and shown by ``describe``, ``recommend`` and the app.

When to refuse the whole dataset (one place, :data:`REFUSE_ABOVE`):

- reasons found while listing (unsupported format, no caption, empty caption, no metadata row,
  file missing) are judged over every example of the split: more than their share, and the rest
  would describe a different dataset;
- reasons found while decoding the sample (unreadable, too large) are judged over the sampled
  examples against the ``max_unreadable_share`` option (default 10%), the skip budget;
- files that are not examples at all (notes, latents caches, configs) are reported, never refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import DatasetLoadError, ValidationError

FIRST_NAMES = 3
"""Names kept per reason, so a message can point at real files."""

# outcomes that are not problems
READ, NOT_SAMPLED, COMPANION = "read", "not_sampled", "companion"

REASONS = {
    "unsupported_format": "image format that cannot be decoded here",
    "no_caption": "no caption (no .txt or .caption beside the image)",
    "empty_caption": "empty or whitespace-only caption",
    "no_metadata_row": "image not listed in the metadata file",
    "missing_file": "listed in the metadata, but no such file",
    "unreadable": "could not be decoded (truncated or corrupt)",
    "too_large": "more pixels than max_pixels even when decoded reduced",
    "duplicate_row": "a further metadata row for an image already listed (the first is used)",
    "other_file": "not an image, caption or metadata file",
}
"""Every reason a file or row can be left out, as the report names and describes it."""

REFUSE_ABOVE = {
    "unsupported_format": 0.2,
    "no_caption": 0.2,
    "empty_caption": 0.5,
    "no_metadata_row": 0.5,
    "missing_file": 0.1,
}
"""Share of the split's examples above which a listing reason refuses the dataset.

A trainer fine-tunes on every image, so images it would use but M&C cannot describe (a format
not decoded here, no caption file) may be a fifth at most. Empty captions are legitimate
training data (trainers use them for caption dropout), and images beside a curated metadata file
are often deliberate leftovers: up to half. A metadata file that names more than a tenth of its
files wrongly is more likely wrong than incomplete."""

MAX_LEFT_OUT_SHARE = 0.5
"""All listing reasons together may leave out at most this share of the examples."""

DECODE_REASONS = ("unreadable", "too_large")
"""Judged over the sampled examples against ``max_unreadable_share`` (the skip budget)."""

NEVER_REFUSED = ("duplicate_row", "other_file")

ADVICE = {
    "unsupported_format": "convert them to JPEG or PNG (HEIC/HEIF is read once pillow-heif is "
                          "installed: pip install 'mandc[data]')",
    "no_caption": "add a .txt caption beside each image, or list captions in a metadata.jsonl",
    "empty_caption": "write the missing captions or remove those images",
    "no_metadata_row": "add a row for each image to the metadata file, or move the others out",
    "missing_file": "check the file names in the metadata (relative to the metadata file)",
    "unreadable": "re-export or remove those files, or raise max_unreadable_share",
    "too_large": "downscale those files, or raise max_pixels",
}


@dataclass
class LoadReport:
    """The outcome of every file (or Hub row) seen: ``outcomes`` maps its name to ``read``,
    ``not_sampled``, ``companion`` (a caption or metadata file read as text) or a reason of
    :data:`REASONS`."""

    outcomes: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)

    def mark(self, name: str, outcome: str, detail: str | None = None) -> None:
        """Record ``name``'s outcome (each name ends in exactly one) and why, in a few words."""
        if outcome not in REASONS and outcome not in (READ, NOT_SAMPLED, COMPANION):
            raise ValueError(f"unknown outcome {outcome!r}")
        self.outcomes[name] = outcome
        if detail:
            self.details[name] = detail

    def counts(self) -> Counter:
        return Counter(self.outcomes.values())

    def names(self, outcome: str, n: int = FIRST_NAMES) -> list[str]:
        """The first ``n`` names (in listing order) with ``outcome``."""
        found = [name for name, o in self.outcomes.items() if o == outcome][:n]
        return [f"{name} ({self.details[name]})" if name in self.details else name
                for name in found]

    @property
    def examples(self) -> int:
        """Images or rows that could have been examples (not companions or other files)."""
        counts = self.counts()
        return sum(c for o, c in counts.items() if o not in (COMPANION, *NEVER_REFUSED))

    def to_dict(self) -> dict:
        """JSON-ready: files seen, read, not sampled, and per reason its count and first names."""
        counts = self.counts()
        return {
            "seen": len(self.outcomes), "read": counts[READ], "not_sampled": counts[NOT_SAMPLED],
            "companion_files": counts[COMPANION],
            "left_out": {reason: {"count": counts[reason], "first": self.names(reason),
                                  "why": REASONS[reason]}
                         for reason in REASONS if counts[reason]},
        }

    def lines(self) -> list[str]:
        """One line per reason, for the text output."""
        counts = self.counts()
        return [f"left out {counts[r]}: {REASONS[r]} (first: {', '.join(self.names(r))})"
                for r in REASONS if counts[r]]

    def check(self, where: str, *, max_unreadable_share: float) -> None:
        """Refuse the dataset when a reason's share is above its limit (see the module doc)."""
        counts, examples = self.counts(), self.examples
        if examples == 0:
            raise ValidationError("no images to sample", file=where)
        for reason, limit in REFUSE_ABOVE.items():
            self._refuse_if(reason, counts[reason], examples, limit, where)
        left_out = sum(counts[r] for r in REFUSE_ABOVE)
        if left_out / examples > MAX_LEFT_OUT_SHARE:
            detail = "; ".join(f"{counts[r]} {REASONS[r]}" for r in REFUSE_ABOVE if counts[r])
            raise ValidationError(
                f"{left_out} of {examples} images ({left_out / examples:.0%}) are left out, more "
                f"than the {MAX_LEFT_OUT_SHARE:.0%} allowed in all: {detail}", file=where)
        attempted = counts[READ] + sum(counts[r] for r in DECODE_REASONS)
        failed = sum(counts[r] for r in DECODE_REASONS)
        if attempted and failed == attempted:
            first = "; ".join(n for r in DECODE_REASONS for n in self.names(r))
            raise DatasetLoadError(
                f"{where}: none of the {attempted} sampled images could be read (first: {first})")
        if attempted and failed / attempted > max_unreadable_share:
            first = "; ".join(n for r in DECODE_REASONS for n in self.names(r))
            raise DatasetLoadError(
                f"{where}: {failed} of {attempted} sampled images ({failed / attempted:.0%}) "
                f"could not be read, more than the allowed {max_unreadable_share:.0%} "
                f"(max_unreadable_share); first: {first}; {ADVICE['unreadable']}")

    def _refuse_if(self, reason: str, count: int, examples: int, limit: float,
                   where: str) -> None:
        if count / examples <= limit:
            return
        share = "all" if count == examples else f"{count / examples:.0%}"
        raise ValidationError(
            f"{count} of {examples} images ({share}) are left out: {REASONS[reason]} "
            f"(first: {', '.join(self.names(reason))}); more than the {limit:.0%} allowed for "
            f"this reason; {ADVICE[reason]}", file=where)
