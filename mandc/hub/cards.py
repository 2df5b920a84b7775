"""Recommendations written into model cards (``mandc card``) and cards for profiled adapters.

A fine-tuned model's card says which base model it came from and why: the card's metadata
gets ``base_model`` (and ``base_model_relation``), ``datasets`` and a ``mandc`` tag, and its
text a short "Why this base model" section with the top of M&C's ranking for the dataset, the
measured or predicted figures and the graph (repo and revision) they came from. Existing text
and metadata are kept: lists are merged, a value the card already has is never replaced, and
the section sits between two HTML comments, so running again updates it in place.
Cards are parsed and rendered with huggingface_hub's ``ModelCard`` / ``ModelCardData``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from huggingface_hub import ModelCard

from .. import __version__
from ..errors import ValidationError

SECTION_START = "<!-- mandc:why-base-model:start -->"
SECTION_END = "<!-- mandc:why-base-model:end -->"
ADAPTER_SECTION_START = "<!-- mandc:profiled-adapter:start -->"
ADAPTER_SECTION_END = "<!-- mandc:profiled-adapter:end -->"
TAG = "mandc"
RELATIONS = ("finetune", "adapter", "merge", "quantized")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors",
                 "pytorch_lora_weights.safetensors")
"""Files that make a model folder or repo a LoRA/PEFT adapter (``base_model_relation: adapter``)."""
PAPER = "https://arxiv.org/abs/2508.10993"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|\Z)", re.S)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


def is_hub_id(text: str) -> bool:
    """``owner/name`` as a Hub repo id is spelled (a local path is not one)."""
    return bool(_HUB_ID.fullmatch(text)) and not Path(text).exists()


# ------------------------------------------------------------------------------ parsing
def parse_card(text: str, *, label: str) -> ModelCard:
    """A ``ModelCard`` of ``text``; malformed front matter is one clear error naming ``label``."""
    if text.startswith("---") and not _FRONT_MATTER.match(text):
        raise ValidationError("malformed front matter: the '---' block opened on line 1 is "
                              "never closed", file=label)
    if not _FRONT_MATTER.match(text):
        text = "---\n{}\n---\n" + text  # no metadata yet: an empty block keeps the text whole
    try:
        return ModelCard(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ValidationError(f"malformed front matter{line}: {problem}", file=label) from None
    except ValueError as error:
        raise ValidationError(f"malformed front matter: {error}", file=label) from None


def merge_metadata(card: ModelCard, updates: dict) -> list[str]:
    """Merge ``updates`` into the card's metadata: lists gain missing items, absent keys are set,
    values the card already holds are kept. Returns a note per value that was kept."""
    notes = []
    data = card.data
    for key, value in updates.items():
        if value is None or value == []:
            continue
        current = getattr(data, key, None)
        if current in (None, "", []):
            setattr(data, key, list(value) if isinstance(value, list) else value)
        elif isinstance(value, list):
            have = list(current) if isinstance(current, list) else [current]
            setattr(data, key, have + [item for item in value if item not in have])
        elif current != value and not (isinstance(current, list) and value in current):
            notes.append(f"the card's {key} is {current!r}; kept (M&C would write {value!r})")
    return notes


def with_section(body: str, section: str, start: str = SECTION_START,
                 end: str = SECTION_END) -> str:
    """``body`` with the marked section replaced, or appended when it has none."""
    block = f"{start}\n{section.strip()}\n{end}\n"
    first, last = body.find(start), body.find(end)
    if first != -1 and last > first:
        tail = body[last + len(end):]
        return body[:first] + block + tail.lstrip("\r\n")
    if first != -1 or last != -1:
        raise ValidationError(f"the card has only one of the markers {start} and {end}; fix or "
                              f"remove it", file="README.md")
    return (body.rstrip() + "\n\n" if body.strip() else "") + block


def card_diff(before: str, after: str, label: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        f"a/{label}", f"b/{label}"))


# ------------------------------------------------------------------------------ sections
@dataclass
class GraphSource:
    """Where a ranking's graph came from, as a card cites it."""

    repo: str | None = None
    revision: str | None = None
    name: str = ""

    def markdown(self) -> str:
        if self.repo:
            link = f"[`{self.repo}`](https://huggingface.co/datasets/{self.repo})"
            return f"{link} at revision `{(self.revision or 'main')[:12]}`"
        return self.name


def _figure(value) -> str:
    return "–" if value is None else f"{value:.4g}"


def _score(value) -> str:
    """A predicted score, signed with two decimals: a bare ``1`` beside the rank reads as one."""
    return "–" if value is None else f"{value:+.2f}"


CARD_FOOTER = "Written by `mandc card`; rerun it to update this section."


def why_section(advice: dict, base: str, source: GraphSource, graph_size: dict, *,
                footer: str = CARD_FOOTER) -> str:
    """The "Why this base model" section: the top of the ranking, the base model's place in it,
    the figures (measured where the graph has them, else predicted) and the graph cited;
    ``footer``: who wrote it and how to update it."""
    metric, rows = advice["metric"], advice["ranking"]
    better = "higher" if advice["higher_is_better"] else "lower"
    place = next((row for row in advice["all"] if row["model"] == base), None)
    measured = any(row.get("measured") is not None for row in rows)
    lines = ["## Why this base model", "",
             f"[M&C]({PAPER}) ranked {advice['candidates']} candidate base models by the quality "
             f"to expect after fine-tuning on the dataset `{advice['target']}`; "
             f"`{base}` ranks **#{place['rank']}**.", "",
             f"| rank | base model | predicted (SD) | measured {metric} |",
             "| ---: | --- | ---: | ---: |"]
    shown = rows if any(r["model"] == base for r in rows) else [*rows, place]
    for row in shown:
        name = f"**{row['model']}**" if row["model"] == base else row["model"]
        lines.append(f"| {row['rank']} | {name} | {_score(row['predicted'])} | "
                     f"{_figure(row.get('measured'))} |")
    lines += ["", "predicted: the quality to expect after fine-tuning, a score in standard "
                  "deviations (SD) above the average candidate on this dataset, not a rank "
                  "(higher is better)" + (f"; measured: the `{metric}` measured after "
                                          f"fine-tuning ({better} is better)" if measured
                                          else "") + "."]
    near = ", ".join(f"`{n['dataset']}` ({n['similarity']:.2f})" for n in advice["neighbours"])
    lines += ["", f"Graph: {source.markdown()} ({graph_size['models']} models, "
                  f"{graph_size['datasets']} datasets, {graph_size['scores']} scores); "
                  f"method `{advice['method']}`; mandc {__version__}."]
    if near:
        lines.append(f"Most similar profiled datasets: {near}.")
    lines += ["", footer]
    return "\n".join(lines)


def adapter_section(record: dict, source: GraphSource | None) -> str:
    """The section of a profiled LoRA adapter: its recipe and the scores profiling measured."""
    scores = record.get("scores") or {}
    lines = ["## Profiled with M&C", "",
             f"A LoRA adapter of `{record['model']}` fine-tuned on `{record['dataset']}` by "
             f"[M&C]({PAPER})'s profiling run (recipe `{record['recipe_hash'][:12]}`).", "",
             "| metric | value |", "| --- | ---: |"]
    lines += [f"| {name} | {_figure(value)} |" for name, value in sorted(scores.items())]
    recipe = record.get("recipe") or {}
    lines += ["", "Recipe: " + ", ".join(f"{k}={v}" for k, v in sorted(recipe.items())) + "."]
    if source is not None:
        lines.append(f"Scores recorded in {source.markdown()}.")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ whole cards
@dataclass
class CardUpdate:
    """A card before and after ``mandc card``, and what it decided along the way."""

    label: str
    before: str
    after: str
    metadata: dict
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return card_diff(self.before, self.after, self.label)


def updated_card(before: str, metadata: dict, section: str, *, label: str,
                 start: str = SECTION_START, end: str = SECTION_END) -> CardUpdate:
    """Merge ``metadata`` into the card ``before`` and put ``section`` in its marked place."""
    card = parse_card(before, label=label)
    notes = merge_metadata(card, metadata)
    card.text = with_section(card.text, section, start, end)
    after = str(card)
    if not after.endswith("\n"):
        after += "\n"
    return CardUpdate(label, before, after, metadata, notes)


def card_metadata(base: str, relation: str | None, dataset: str) -> tuple[dict, list[str]]:
    """The metadata ``mandc card`` writes: Hub ids only (a graph id or local path is no
    ``base_model`` or ``datasets`` entry the Hub could resolve), with a note for each skipped."""
    notes, metadata = [], {"tags": [TAG]}
    if is_hub_id(base):
        metadata["base_model"] = base
        if relation:
            metadata["base_model_relation"] = relation
    else:
        notes.append(f"base model {base!r} is not a Hub model id; base_model is not written")
    if is_hub_id(dataset):
        metadata["datasets"] = [dataset]
    else:
        notes.append(f"dataset {dataset!r} is not a Hub dataset id; datasets is not written")
    return metadata, notes


def adapter_card(record: dict, *, existing: str = "", source: GraphSource | None = None,
                 label: str = "README.md") -> CardUpdate:
    """The card of a LoRA adapter that profiling wrote (``record``: the runner's run record):
    ``base_model_relation: adapter``, the recipe and the measured scores."""
    metadata = {"tags": [TAG, "lora"], "library_name": "diffusers"}
    if is_hub_id(record["model"]):
        metadata.update(base_model=record["model"], base_model_relation="adapter")
    if is_hub_id(record["dataset"]):
        metadata["datasets"] = [record["dataset"]]
    return updated_card(existing, metadata, adapter_section(record, source), label=label,
                        start=ADAPTER_SECTION_START, end=ADAPTER_SECTION_END)


def write_adapter_card(folder: str | Path, record: dict, *,
                       source: GraphSource | None = None) -> Path:
    """Write (or update) ``README.md`` beside a saved adapter, keeping what it already says."""
    path = Path(folder) / "README.md"
    before = path.read_text(encoding="utf-8") if path.is_file() else ""
    update = adapter_card(record, existing=before, source=source, label=str(path))
    if update.changed:
        path.write_text(update.after, encoding="utf-8")
    return path
