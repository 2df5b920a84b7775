"""Image–caption sets on the Hugging Face Hub, read through ``datasets.load_dataset``.

Streaming (the default) downloads only what is sampled: a seeded shuffle of the shard order and a
bounded buffer of examples, then the first ``max_samples``. Offline, a dataset that is not in the
local ``datasets`` cache fails with a :class:`DatasetLoadError` saying so; nothing is skipped.
"""

from __future__ import annotations

import os
import re

from ..errors import DatasetLoadError, ValidationError
from ..settings import get_settings
from .columns import CAPTION_COLUMN_NAMES, IMAGE_COLUMN_NAMES, caption_text, pick_column
from .imageset import ImageCaptionSet
from .options import LoadOptions
from .sampling import SampleCollector, sample_indices

SHUFFLE_BUFFER_FACTOR = 4
"""A streamed sample is drawn from a buffer of this many times ``max_samples`` examples."""

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def looks_like_hub_id(text: str) -> bool:
    """``name`` or ``owner/name`` as the Hub spells dataset ids (not a path like ``./x``)."""
    return bool(_HUB_ID.match(text)) and not text.lower().endswith(".zip")


def load_hub(repo_id: str, options: LoadOptions) -> ImageCaptionSet:
    """Sample ``repo_id``'s ``options.split`` from the Hub (or the local ``datasets`` cache)."""
    try:
        import datasets
    except ImportError:
        raise DatasetLoadError(
            f"reading the Hub dataset {repo_id!r} needs the 'datasets' package: "
            "pip install 'mandc[data]'") from None
    with _hub_errors(repo_id, options.split):
        dataset = datasets.load_dataset(repo_id, split=options.split,
                                        streaming=options.streaming)
    with _hub_errors(repo_id, options.split):
        return _sample(dataset, repo_id, options)


def _sample(dataset, repo_id: str, options: LoadOptions) -> ImageCaptionSet:
    import datasets

    where = f"{repo_id} [{options.split}]"
    features = dataset.features
    if features is None:  # some streamed datasets only know their columns once read
        columns = list(next(iter(dataset)).keys())
        typed_images: list[str] = []
    else:
        columns = list(features)
        typed_images = [c for c, f in features.items() if isinstance(f, datasets.Image)]
    image_column = pick_column(columns, kind="image", given=options.image_column,
                               candidates=IMAGE_COLUMN_NAMES, where=where, preferred=typed_images)
    caption_column = pick_column(columns, kind="caption", given=options.caption_column,
                                 candidates=CAPTION_COLUMN_NAMES, where=where)
    if image_column == caption_column:
        raise ValidationError(f"column {image_column!r} cannot be both the image and the caption",
                              file=where)
    if image_column in typed_images:  # decode ourselves: a corrupt file is counted, not fatal
        dataset = dataset.cast_column(image_column, datasets.Image(decode=False))
    dataset = dataset.select_columns([image_column, caption_column])
    collector = SampleCollector(name=repo_id, source=repo_id, options=options)
    if options.streaming:
        total = _known_total(dataset, options.split)
        buffer = SHUFFLE_BUFFER_FACTOR * options.max_samples
        rows = dataset.shuffle(seed=options.seed, buffer_size=buffer).take(options.max_samples)
        collector.notes.append(
            f"streamed: sampled by a seeded shuffle of shard order and a {buffer}-example buffer, "
            "not uniformly over the whole split")
    else:
        total = len(dataset)
        rows = dataset.select(sample_indices(total, options.max_samples, options.seed))
    for number, row in enumerate(rows, start=1):
        caption = caption_text(row[caption_column], where=where, row=number,
                               column=caption_column)
        label = f"{where} example {number}"
        if not caption.strip():
            collector.leave_out(label, "empty_caption")
            continue
        _add_value(collector, row[image_column], caption, label, image_column, where)
    return collector.finish(total, where=where)


def _add_value(collector: SampleCollector, value, caption: str, label: str, column: str,
               where: str) -> None:
    from PIL import Image

    if isinstance(value, dict):  # datasets.Image(decode=False): {"bytes": ..., "path": ...}
        data = value.get("bytes") or value.get("path")
        if data is None:
            collector.leave_out(label, "unreadable", "no image bytes or path")
            return
        if isinstance(data, str) and not os.path.isfile(data):
            collector.leave_out(label, "missing_file", f"image path {data!r} is not a local file")
            return
        collector.add(data, caption, label)
    elif isinstance(value, Image.Image):
        collector.add(value, caption, label)
    elif isinstance(value, bytes):
        collector.add(value, caption, label)
    else:
        raise ValidationError(
            f"holds {type(value).__name__} values, not images; name the image column with "
            "image_column", file=where, column=column)


def _known_total(dataset, split: str) -> int | None:
    try:
        return int(dataset.info.splits[split].num_examples)
    except (AttributeError, KeyError, TypeError):
        return None


class _hub_errors:
    """Translate ``datasets``/Hub failures into one :class:`DatasetLoadError` each."""

    def __init__(self, repo_id: str, split: str):
        self.repo_id, self.split = repo_id, split

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, (ValidationError, DatasetLoadError)):
            return False
        from datasets.exceptions import DatasetNotFoundError
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        repo = self.repo_id
        if isinstance(error, ConnectionError):
            why = ("HF_HUB_OFFLINE=1 is set" if get_settings().hub_offline
                   else "the network is unreachable")
            raise DatasetLoadError(
                f"cannot reach the Hugging Face Hub for dataset {repo!r} ({why}) and it is not in "
                "the local datasets cache; load it once online, or pass a local folder or zip"
            ) from error
        if isinstance(error, (DatasetNotFoundError, RepositoryNotFoundError)):
            if isinstance(error, GatedRepoError) or "gated" in str(error).lower():
                raise DatasetLoadError(
                    f"{repo!r} is a gated dataset: accept its terms at "
                    f"https://huggingface.co/datasets/{repo} and log in (hf auth login)"
                ) from error
            raise DatasetLoadError(
                f"no dataset {repo!r} on the Hub (or it is private), and no local folder or file "
                "by that name") from error
        if isinstance(error, ValueError) and "split" in str(error).lower():
            raise DatasetLoadError(f"{repo!r} has no split {self.split!r}: {error}") from error
        if isinstance(error, (OSError, ValueError, RuntimeError)):
            raise DatasetLoadError(f"could not load {repo!r} from the Hub: {error}") from error
        return False
