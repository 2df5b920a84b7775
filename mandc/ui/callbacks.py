"""The app's callbacks: visitor input in, page content out, every failure a clear message.

A visitor's mistake (bad upload, a path typed where a Hub id goes, an unknown dataset) is raised
as ``gr.Error`` carrying the library's message, with no server path in it; any other exception
is logged and shown as a short apology (Gradio would show only "Error").
"""

from __future__ import annotations

import html
import logging

import pandas as pd

from ..errors import ConfigError, MandcError, ValidationError
from . import export, present
from .candidates import candidate_filters, candidate_table
from .inputs import StagedUpload, hub_dataset_id, hub_graph_repo, load_options, public_text
from .rank import SHOWN_IMAGES, recommend
from .service import GraphServer

ERROR_TITLE = "Could not rank models"
NO_TARGET = ("Choose a profiled dataset, type a Hub dataset id, upload images with captions, "
             "or try the bundled example.")

logger = logging.getLogger(__name__)


def recommend_callback(server: GraphServer, dataset: str | None, hub_dataset: str | None,
                       files: list | None, top: int = 10, method: str = "mandc",
                       probe: bool = False, graph: str | None = None,
                       example: str | None = None, progress=None, *,
                       caption_column: str | None = None, image_column: str | None = None,
                       split: str | None = None, max_images: float | None = None,
                       candidates: str | None = "graph", licences: str | None = None,
                       max_params: float | None = None, min_resolution: float | None = None,
                       catalog=None) -> tuple:
    """One press of "Rank models": (verdict, ranking, legend, plot (SVG), your images, reason
    images, similar datasets, load report, the result as JSON, download files: the JSON and the
    model-card section). ``progress``: Gradio's tracker (``gr.Progress``) or None. The keywords
    are the Advanced section: loader options for an upload or Hub dataset, and the candidates
    (``graph`` or ``catalog``, with its filters; ``catalog``: the catalogue's source, for
    tests)."""
    report = _reporter(progress)
    staged = StagedUpload(files or [])
    try:
        hub_id = hub_dataset_id(hub_dataset)
        repo = hub_graph_repo(graph)
        options = load_options(caption_column, image_column, split, max_images)
        filters = candidate_filters(licences, max_params, min_resolution)
        if not files and not hub_id and not dataset and not example:
            return (NO_TARGET, *empty_outputs()[1:])
        report(0.0, "reading the graph")
        served = server.get(repo)
        chosen, notice = candidate_table(candidates, filters, catalog)
        with staged:
            answer = recommend(served, profiled=dataset, hub_id=hub_id, uploads=staged.target,
                               method=method, probe=bool(probe), example=example or None,
                               load_options=options, candidates=chosen, report=report)
    except MandcError as error:
        raise _visitor_error(staged.hide_paths(str(error)), _given(error)) from None
    except Exception:  # a bug, not the visitor's doing: the details stay in the server's log
        logger.exception("ranking failed")
        raise _visitor_error("Something went wrong on the server while ranking; it was "
                             "logged. Please try again or report it.") from None
    report(0.95, "preparing the page")
    try:
        return _page(served, answer, dataset, profiled=not files and not hub_id and not example,
                     top=top, chosen=chosen, notice=notice)
    except Exception:  # a bug in showing the answer: logged, and said in words
        logger.exception("preparing the page failed")
        raise _visitor_error("Something went wrong on the server while preparing the page; it "
                             "was logged. Please try again or report it.") from None


def _page(served, answer, dataset: str | None, *, profiled: bool, top: int, chosen,
          notice: str | None) -> tuple:
    """The ten outputs of a ranked answer (see :func:`recommend_callback`)."""
    result, placed = answer.result, answer.graph
    costs = served.costs()
    table = present.ranking_table(result, placed, max(1, int(top)), candidates=chosen,
                                  costs=costs)
    yours = (present.real_images(served, dataset, SHOWN_IMAGES) if profiled
             else present.thumbnails(answer.images))
    text = "\n\n".join(part for part in (present.verdict(result, placed, profiled),
                                          notice and f"*{public_text(notice)}*") if part)
    payload = export.result_payload(result, served, costs,
                                    present.model_facts(placed, chosen))
    downloads = export.write_exports(payload, export.card_section(result, served))
    return (text, table, present.legend(result, table, costs),
            present.plot_html(result), yours,
            present.reason_gallery(served, result, placed), present.neighbour_table(result),
            present.load_summary(result), payload, downloads)


def preview_callback(server: GraphServer, dataset: str | None, hub_dataset: str | None,
                     files: list | None, example: str | None = None, k: int = 1,
                     method: str = "mandc", graph: str | None = None, progress=None, *,
                     caption_column: str | None = None, image_column: str | None = None,
                     split: str | None = None, max_images: float | None = None) -> tuple:
    """One press of "Preview fine-tunes": rank, then briefly fine-tune the top ``k`` models on
    the visitor's images (read with the Advanced section's loader options). Returns (summary,
    gallery of real and generated images, JSON)."""
    from .preview import MAX_PREVIEW_MODELS, PREVIEW_RECIPE, preview_finetunes

    report = _reporter(progress)
    staged = StagedUpload(files or [])
    try:
        k = int(k)
        if not 1 <= k <= MAX_PREVIEW_MODELS:
            raise ConfigError(f"preview 1 to {MAX_PREVIEW_MODELS} models, not {k}")
        hub_id = hub_dataset_id(hub_dataset)
        repo = hub_graph_repo(graph)
        options = load_options(caption_column, image_column, split, max_images)
        if not files and not hub_id and not dataset and not example:
            raise ValidationError(NO_TARGET)
        served = server.get(repo)
        with staged:
            answer = recommend(served, profiled=dataset, hub_id=hub_id, uploads=staged.target,
                               method=method, probe=False, example=example or None,
                               load_options=options,
                               report=lambda share, text: report(share * 0.2, text))
        if answer.sample is None:
            raise ValidationError("a preview needs the dataset's images, and this graph "
                                  "dataset's images are not on this server; upload them")
        models = [row["model"] for row in answer.result["ranking"][:k]]
        images, captions = answer.sample
        results = preview_finetunes(models, images, captions,
                                    report=lambda share, text: report(0.2 + 0.8 * share, text))
    except MandcError as error:
        raise _visitor_error(staged.hide_paths(str(error)), _given(error)) from None
    except Exception:
        logger.exception("preview failed")
        raise _visitor_error("Something went wrong on the server while previewing; it was "
                             "logged. Please try again or report it.") from None
    shown = PREVIEW_RECIPE.eval_samples
    gallery = [(image, f"your image: {caption}")
               for image, caption in zip(present.thumbnails(images[:shown]), captions[:shown])]
    trained = min(len(images), PREVIEW_RECIPE.train_samples)
    lines = [f"**Preview fine-tunes** on `{answer.result['target']}`: each model LoRA-fine-"
             f"tuned for {PREVIEW_RECIPE.steps} steps on {trained} of your images (the "
             "profiling recipe, shortened), then asked for your first "
             f"{shown} captions."]
    export = {"target": answer.result["target"], "recipe": PREVIEW_RECIPE.to_dict(),
              "models": []}
    for result in results:
        model = result["model"]
        if "skipped" in result:
            lines.append(f"- {model}: skipped ({result['skipped']})")
            export["models"].append({"model": model, "skipped": result["skipped"]})
            continue
        lines.append(f"- {model}: {result['seconds']} s")
        gallery += [(image, f"{model}: {caption}")
                    for image, caption in zip(result["images"], captions[:shown])]
        export["models"].append({"model": model, "seconds": result["seconds"]})
    return "\n".join(lines), gallery, export


def datasets_callback(server: GraphServer, graph: str | None = None) -> dict:
    """The graph's datasets (profiled or not) and models, for API clients."""
    try:
        served = server.get(hub_graph_repo(graph))
    except MandcError as error:
        raise _visitor_error(str(error), _given(error)) from None
    profiled = set(served.graph.measured_scores["dataset"].astype(str))
    return {"graph": served.label, "metric": served.graph._metric(None),
            "datasets": [{"id": d, "profiled": d in profiled} for d in served.graph.dataset_ids],
            "models": list(served.graph.model_ids)}


def empty_outputs() -> tuple:
    """The page with no answer (before the first request, or after a failed one)."""
    return ("", pd.DataFrame(columns=["rank", "model", "predicted"]), "", "", [], [],
            pd.DataFrame(columns=present.NEIGHBOUR_COLUMNS), "", None, None)


def _visitor_error(message: str, given: tuple[str, ...] = ()):
    """The error the page shows: server paths hidden, the visitor's own ``given`` texts kept."""
    import gradio as gr

    return gr.Error(html.escape(public_text(message, given), quote=False), duration=None,
                    title=ERROR_TITLE, print_exception=False)


def _given(error: Exception) -> tuple[str, ...]:
    return getattr(error, "given", ())


def _reporter(progress):
    if progress is None:
        return lambda share, text: None
    return lambda share, text: progress(share, desc=text)
