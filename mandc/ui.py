"""The Gradio Space: pick or bring a target dataset, get ranked models with their reasons.

Layout and callbacks only; the work is :func:`mandc.advise.advise`, the same call as
``mandc recommend``. A target is a dataset of the graph, a Hub dataset id / local folder, or
uploaded images with captions (``.txt`` beside each image, or a ``metadata.jsonl``/``.csv``).
"""

from __future__ import annotations

import pandas as pd

from .advise import advise
from .defaults import default_graph_source, resolve_graph
from .errors import MandcError
from .methods import METHODS, load_builtin_methods

RANKING_COLUMNS = ["rank", "model", "predicted", "measured"]
NEIGHBOUR_COLUMNS = ["dataset", "similarity", "weight"]


def recommend_callback(graph_dir: str | None, profiled: str | None, source: str | None,
                       uploads: list | None, method: str, top: int, probe: bool = False):
    """One button press: returns (status markdown, ranking table, neighbour table). ``probe``:
    probe a new target with every model first (see ``mandc recommend --probe``)."""
    target = _pick_target(profiled, source, uploads)
    if target is None:
        return ("Choose a profiled dataset, type a Hub dataset id or folder, or upload images "
                "with captions.", _empty(RANKING_COLUMNS), _empty(NEIGHBOUR_COLUMNS))
    try:
        graph = resolve_graph(graph_dir or None)
        result = advise(graph, target, method=method, top=int(top),
                        graph_source=graph_dir or default_graph_source(),
                        probe=bool(probe) and bool(graph.probe_metrics))
    except MandcError as error:
        return f"**Could not rank models:** {error}", _empty(RANKING_COLUMNS), _empty(
            NEIGHBOUR_COLUMNS)
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


def _pick_target(profiled, source, uploads):
    if uploads:
        return [getattr(f, "name", f) for f in uploads]
    if source and source.strip():
        return source.strip()
    return profiled or None


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def build_app(graph_dir: str | None = None):
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    load_builtin_methods()
    graph = resolve_graph(graph_dir)
    with gr.Blocks(title="M&C · Match & Choose") as app:
        gr.Markdown("# M&C · Match & Choose\nWhich pretrained text-to-image model should you "
                    "fine-tune on your images? Ranked from a matching graph of models and "
                    f"profiled datasets ({len(graph.models)} models, {len(graph.datasets)} "
                    f"datasets; graph: {graph_dir or default_graph_source()}).")
        graph_box = gr.Textbox(value=graph_dir or "", visible=False)
        with gr.Row():
            profiled = gr.Dropdown(graph.dataset_ids, label="A profiled dataset of the graph",
                                   value=None)
            source = gr.Textbox(label="…or a Hub dataset id, folder or zip",
                                placeholder="user/my-dataset")
        uploads = gr.File(label="…or upload images with captions", file_count="multiple")
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
        run.click(recommend_callback, [graph_box, profiled, source, uploads, method, top, probe],
                  [status, ranking, neighbours])
    return app
