"""One recommendation for the app, in the stages a visitor sees progress for.

Load the target (uploads or a Hub id), describe it with the graph's featurizer, place it in the
graph, optionally probe it with every model, then rank with :func:`mandc.advise.advise`: an
unprobed upload by the method fitted once for the served graph, out of sample (no refit per
upload; :meth:`mandc.ranking.Recommender.with_targets`), a probed one by a fit of its own. A
dataset that is already in the graph skips straight to ranking, *held out*: its own scores are
taken out before fitting (as leave-one-dataset-out does), so the prediction shown beside its
measured figure is a real prediction, not the measurement read back.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from PIL import Image

from ..advise import advise
from ..data import LoadOptions
from ..errors import ConfigError, DatasetLoadError, ValidationError
from .service import Placed, ServedGraph

PROBE_SLOTS = threading.BoundedSemaphore(1)
"""Probing loads every model and runs it on the target (a minute or more on CPU): one at a time,
whatever the queue's concurrency, so probes cannot starve plain recommendations of cores."""
SHOWN_IMAGES = 6
EXAMPLES = {"flowers": "flowers: 20 drawn flowers with captions, a kind of image no graph "
                       "dataset shows"}
"""Bundled example sets a visitor can rank in one click (``mandc/examples/NAME``)."""


@dataclass
class Answer:
    """What the page shows: ``advise``'s result, the graph it ranked in, and a few images of the
    visitor's dataset (none for a dataset of the graph: the page draws those)."""

    result: dict
    graph: object
    images: list[Image.Image]
    sample: tuple[list, list[str]] | None = None
    """The target's sampled (images, captions), for a preview; None where they are not here."""


Report = Callable[[float, str], None]


def recommend(served: ServedGraph, *, profiled: str | None, hub_id: str | None,
              uploads: list[str] | None, method: str, probe: bool, example: str | None = None,
              load_options: LoadOptions | None = None, candidates: pd.DataFrame | None = None,
              report: Report = lambda share, text: None) -> Answer:
    """Rank every model of ``served`` for the visitor's target (one of them is used, first
    found: ``uploads``, ``example`` (a bundled example set, by name), ``hub_id``, ``profiled``).
    ``load_options``: how to read uploads or a Hub dataset (the result then carries their
    ``load_report`` and ``load_notes``); ``candidates``: catalogue rows to rank instead of the
    graph's models (see :func:`mandc.advise.load_candidates`)."""
    graph = served.graph
    ignored = _ignored_inputs(uploads, example, hub_id, profiled)
    if example and not uploads:
        uploads = [example_source(example)]
    if not uploads and not hub_id:
        if profiled not in set(graph.dataset_ids):
            raise ValidationError(f"{profiled!r} is not a dataset of this graph; pick one from "
                                  "the list", file="dataset")
        report(0.5, "ranking")
        result = advise(graph, profiled, method=method, top=None, hold_out=True,
                        fitted=served.fitted, candidates=candidates)
        return Answer(result, graph, [], _profiled_sample(profiled))
    from ..data import load_target
    from ..features import describe, get_featurizer
    from ..graph.placement import add_target

    featurizer = graph.meta.get("featurizer")
    if not featurizer:
        add_target(graph, None)  # raises the explanation for graphs without descriptors
    report(0.05, "loading your images")
    if uploads:
        sample = load_target(uploads, load_options)
    else:
        sample = _load_hub(hub_id, load_options or LoadOptions())
    report(0.25, f"describing {len(sample)} images")
    descriptor = describe(sample, get_featurizer(featurizer.split("@", 1)[0]))
    report(0.45, "placing them among the profiled datasets")
    key = (descriptor.fingerprint, descriptor.dataset)
    known = None if probe else served.placed(key)
    if known is None:
        placed, target = add_target(graph, descriptor)
        known = Placed(placed, target)
        if probe:
            known = Placed(_probed(placed, target, uploads or hub_id, report), target, None)
        elif placed is not graph:
            served.keep_placed(key, known)
    placed, target = known.graph, known.target
    report(0.85, "ranking")
    # a new target is ranked by the fit kept for the served graph, out of sample (no refit);
    # a probed one by a fit of its own, which uses its probes
    new = placed is not graph and not probe
    # hold out only a dataset the graph already has (the same images, found by fingerprint)
    result = advise(placed, target, method=method, top=None, hold_out=placed is graph,
                    fitted=served.fitted if placed is graph or new else known.fitted,
                    base=graph if new else None, candidates=candidates)
    # the target was loaded here, not by advise: its report is this load's
    result["load_report"] = sample.report.to_dict() if sample.report else None
    result["load_notes"] = list(sample.notes) + ignored
    return Answer(result, placed, list(sample.images[:SHOWN_IMAGES]),
                  (list(sample.images), list(sample.captions)))


def _ignored_inputs(uploads, example, hub_id, profiled) -> list[str]:
    """A note naming the inputs left unused when a visitor filled more than one (the first of
    upload, example, Hub id, profiled dataset is ranked), so the answer is not mistaken for
    theirs."""
    given = [(bool(uploads), "your upload"), (bool(example), f"the example {example!r}"),
             (bool(hub_id), f"the Hub dataset {hub_id!r}"),
             (bool(profiled), f"the profiled dataset {profiled!r}")]
    named = [text for present, text in given if present]
    if len(named) < 2:
        return []
    return [f"ranked {named[0]}; {' and '.join(named[1:])} not used (clear {named[0]} to rank "
            "another)"]


def _profiled_sample(dataset: str, n: int = 64) -> tuple[list, list[str]] | None:
    """Training images and captions of a profiled dataset when it is a mini-zoo domain."""
    from ..minizoo.domains import DOMAINS, sample

    if dataset not in set(DOMAINS.names()):
        return None
    return sample(dataset, n)


def example_source(name: str) -> str:
    """The folder of a bundled example set: a name from :data:`EXAMPLES`, nothing else."""
    from ..graph.defaults import example_dir

    if name not in EXAMPLES:
        raise ValidationError(f"{name!r} is not a bundled example; choose one of "
                              f"{', '.join(EXAMPLES)}", file="example")
    return str(example_dir(name))


def _load_hub(hub_id: str, options: LoadOptions):
    """A Hub dataset, read as one and never as a local path: ``load_target`` and
    ``datasets.load_dataset`` both try a folder of that name (relative to the server's working
    directory) before the Hub, so an id that names something here is refused unread."""
    import os

    from ..data.hub import load_hub
    from .hub_check import check_hub_dataset

    unread = DatasetLoadError(f"could not read the Hub dataset {hub_id!r} from this Space: "
                              "the Hub did not answer, or the dataset is private, gated or "
                              "misspelled; check the id, or upload the images")
    if any(os.path.lexists(hub_id + suffix) for suffix in ("", ".py")):
        raise unread
    check_hub_dataset(hub_id)  # a Hub that does not answer is said within a few seconds
    try:
        return load_hub(hub_id, dataclasses.replace(options, streaming=True))
    except DatasetLoadError:  # its advice (go online, pass a folder) is not a visitor's
        raise unread from None


def _probed(graph, target: str, source, report: Report):
    """``graph`` with the target's zero-shot probe scores, one model at a time."""
    from ..profile.probe import PROBE_SAMPLES, probe_dataset, probe_sample

    if not graph.probe_metrics:
        raise ConfigError("this graph has no probe metrics, so probing cannot help; untick "
                          "the probe box")
    with PROBE_SLOTS:
        sample = probe_sample(source, PROBE_SAMPLES)
        models = graph.model_ids
        for k, model in enumerate(models):
            report(0.45 + 0.4 * k / len(models), f"probing model {k + 1} of {len(models)}")
            graph = graph.add_scores(probe_dataset([model], sample, name=target))
    return graph
