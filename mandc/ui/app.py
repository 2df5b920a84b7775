"""The Gradio Space: pick or bring a target dataset, get ranked models with their reasons.

Layout and callbacks only; the work is :func:`mandc.advise.advise`, the same call as
``mandc recommend``. A target is a dataset of the graph, a Hub dataset id / local folder, or
uploaded images with captions (``.txt`` beside each image, or a ``metadata.jsonl``/``.csv``),
or one uploaded zip of either.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

import pandas as pd

from ..advise import advise
from ..errors import DatasetLoadError, MandcError, ValidationError
from ..graph.defaults import default_graph_source, resolve_graph
from ..ranking.methods import METHODS

RANKING_COLUMNS = ["rank", "model", "predicted", "measured"]
NEIGHBOUR_COLUMNS = ["dataset", "similarity", "weight"]

UPLOAD_FOLDER = "upload"
"""Where a request's uploads are copied, inside its private temporary folder."""

logger = logging.getLogger(__name__)


def recommend_callback(graph_dir: str | None, profiled: str | None, source: str | None,
                       uploads: list | None, method: str, top: int, probe: bool = False):
    """One button press: returns (status markdown, ranking table, neighbour table). ``probe``:
    probe a new target with every model first (see ``mandc recommend --probe``).

    A visitor's mistake (bad upload, unknown dataset...) is raised as ``gr.Error`` carrying the
    library's message, which Gradio shows in the page; any other exception would show only
    "Error" there."""
    import gradio as gr

    typed = source.strip() if source and source.strip() else None
    if not uploads and not typed and not profiled:
        return ("Choose a profiled dataset, type a Hub dataset id or folder, or upload images "
                "with captions.", _empty(RANKING_COLUMNS), _empty(NEIGHBOUR_COLUMNS))
    staged = StagedUpload(uploads or [])
    try:
        with staged:
            graph = resolve_graph(graph_dir or None)
            result = advise(graph, staged.target or typed or profiled, method=method,
                            top=int(top), graph_source=graph_dir or default_graph_source(),
                            probe=bool(probe) and bool(graph.probe_metrics))
    except MandcError as error:
        message = html.escape(public_text(staged.hide_paths(str(error))), quote=False)
        raise gr.Error(message, duration=None, title="Could not rank models",
                       print_exception=False) from None
    except Exception:  # a bug, not the visitor's doing: the details stay in the server's log
        logger.exception("ranking failed")
        raise gr.Error("Something went wrong on the server while ranking; it was logged. "
                       "Please try again or report it.", duration=None,
                       title="Could not rank models", print_exception=False) from None
    ranking = pd.DataFrame(result["ranking"]).reindex(columns=RANKING_COLUMNS)
    neighbours = pd.DataFrame(result["neighbours"]).reindex(columns=NEIGHBOUR_COLUMNS)
    direction = "higher" if result["higher_is_better"] else "lower"
    best = result["ranking"][0]["model"]
    status = (f"**Fine-tune `{best}`** on `{result['target']}` — best of {result['candidates']} "
              f"candidates by `{result['method']}`. *predicted* is a within-dataset z-score of "
              f"`{result['metric']}` (higher is better); *measured* is the raw metric "
              f"({direction} is better) where the pair was profiled.")
    if result["probe_metrics"]:
        status += (" Each model's zero-shot denoising probe of the target counted too "
                   f"({len(result['probe_metrics'])} noise levels).")
    return status, ranking, neighbours


class StagedUpload:
    """One request's uploads copied together into a private folder, under their own names.

    Gradio keeps every uploaded file in a folder of its own (named by its content hash) and may
    clean its cache while other requests run. Copied side by side into a folder that lives as
    long as the request, the files are read by :func:`mandc.data.load_target` as an upload
    (known by base name, so a ``metadata.jsonl`` naming ``images/cat.png`` finds ``cat.png``;
    one zip is read as an archive), and the probe can read them again. ``target`` is the list of
    copied paths (``None`` without uploads). The folder is deleted when the ``with`` block ends;
    :meth:`hide_paths` takes its location out of messages shown to the visitor.
    """

    def __init__(self, files: list):
        self.files = list(files)
        self.target: list[str] | None = None
        self._scratch: str | None = None

    def __enter__(self) -> StagedUpload:
        if not self.files:
            return self
        self._scratch = tempfile.mkdtemp(prefix="mandc-upload-")
        try:
            self.target = self._stage(Path(self._scratch) / UPLOAD_FOLDER)
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._remove()

    def _stage(self, folder: Path) -> list[str]:
        folder.mkdir()
        copied, sources = [], {}
        for item in self.files:
            name, source = _upload_name(item), _upload_path(item)
            if sources.get(name) == source:  # one file added twice (Gradio's cache is by content)
                continue
            sources[name] = source
            destination = folder / name
            if destination.exists():
                raise ValidationError(f"two uploaded files are both named {name!r}; rename one",
                                      file="upload")
            try:
                shutil.copyfile(source, destination)
            except OSError as error:
                raise DatasetLoadError(f"upload:{name}: could not be read ({error.strerror})") \
                    from None
            copied.append(str(destination))
        return copied

    def hide_paths(self, message: str) -> str:
        """``message`` with the request folder's location removed (it names server paths)."""
        if self._scratch is None:
            return message
        for root in {self._scratch, os.path.realpath(self._scratch)}:
            message = message.replace(root + os.sep, "").replace(root, "")
        return message

    def _remove(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/[^\s()'\",;:]*")


def public_text(text: str) -> str:
    """``text`` with every absolute path cut to its last part: the page is public, and server
    paths (the graph's folder, a typed folder's files) are not the visitor's business."""
    return _ABSOLUTE_PATH.sub(lambda match: PurePosixPath(match.group()).name or "…", text)


def _upload_path(item: object) -> str:
    """Gradio hands over paths (``str`` subclasses); API callers may pass objects with ``.path``."""
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    value = getattr(item, "path", None)
    if isinstance(value, str):
        return value
    raise ValidationError(f"cannot read an uploaded item of type {type(item).__name__}",
                          file="upload")


def _upload_name(item: object) -> str:
    """The uploaded file's own base name; one that is not a plain file name (a folder part,
    ``..``, a control character) is refused rather than allowed to land outside the folder."""
    name = getattr(item, "orig_name", None) or os.path.basename(_upload_path(item))
    if (not name or name in {".", ".."} or "/" in name or "\\" in name
            or any(ord(c) < 32 for c in name)):
        raise ValidationError(f"uploaded file name {name!r} is not a plain file name",
                              file="upload")
    return name


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def build_app(graph_dir: str | None = None):
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    graph = resolve_graph(graph_dir)
    with gr.Blocks(title="M&C · Match & Choose") as app:
        gr.Markdown("# M&C · Match & Choose\nWhich pretrained text-to-image model should you "
                    "fine-tune on your images? Ranked from a matching graph of models and "
                    f"profiled datasets ({len(graph.models)} models, {len(graph.datasets)} "
                    f"datasets; graph: {public_text(graph_dir or default_graph_source())}).")
        graph_box = gr.Textbox(value=graph_dir or "", visible=False)
        with gr.Row():
            profiled = gr.Dropdown(graph.dataset_ids, label="A profiled dataset of the graph",
                                   value=None)
            source = gr.Textbox(label="…or a Hub dataset id, folder or zip",
                                placeholder="user/my-dataset")
        uploads = gr.File(label="…or upload images with captions (a .txt beside each image, or "
                                "a metadata.jsonl), or one zip of them", file_count="multiple")
        with gr.Row():
            method = gr.Dropdown(METHODS.names(), value="mandc", label="Method")
            top = gr.Slider(1, max(1, len(graph.models)), value=min(10, len(graph.models)),
                            step=1, label="Models to show")
            probe = gr.Checkbox(value=bool(graph.probe_metrics),
                                interactive=bool(graph.probe_metrics),
                                label="Probe a new dataset with every model first (seconds "
                                      "per model; needs the graph's probe metrics)")
        run = gr.Button("Rank models", variant="primary")
        status = gr.Markdown()
        ranking = gr.Dataframe(headers=RANKING_COLUMNS, label="Ranking", interactive=False)
        neighbours = gr.Dataframe(headers=NEIGHBOUR_COLUMNS, interactive=False,
                                  label="Most similar profiled datasets (the reasons)")
        outputs = [status, ranking, neighbours]
        event = run.click(recommend_callback,
                          [graph_box, profiled, source, uploads, method, top, probe], outputs,
                          api_name="rank", show_progress_on=[status])
        # the error itself is shown by Gradio (gr.Error); clear the previous answer under it
        event.failure(_after_failure, None, outputs, api_visibility="private")
    return app


def _after_failure():
    return ("**Could not rank models** (see the error message).", _empty(RANKING_COLUMNS),
            _empty(NEIGHBOUR_COLUMNS))
