"""The Gradio Space: bring your images (or pick a profiled dataset), get the pretrained models
ranked for fine-tuning on them, with the reasons shown as images.

Layout and wiring only: inputs are checked in :mod:`.inputs`, the work is :mod:`.rank` (which
calls :func:`mandc.advise.advise`, as ``mandc recommend`` does), the page content is
:mod:`.present` (fine-tune costs: :mod:`.cost`; downloads: :mod:`.export`). Endpoints for
``gradio_client``: ``/recommend``, ``/preview`` and ``/datasets``.
"""

from __future__ import annotations

from ..data import DEFAULT_MAX_SAMPLES
from ..ranking.methods import METHODS
from .callbacks import datasets_callback, empty_outputs, preview_callback, recommend_callback
from .candidates import CATALOG_LIMIT, CHOICES
from .inputs import MAX_UPLOAD_FILES, MAX_UPLOAD_MB
from .present import PHONE_BREAK_ANYWHERE, PHONE_HIDDEN_COLUMNS
from .preview import MAX_PREVIEW_MODELS, PREVIEW_RECIPE, TIME_CAP_S
from .rank import EXAMPLES
from .service import GraphServer

CONCURRENCY = 2
"""Recommendations run at once (one per core of a basic Space); the rest wait in the queue."""
QUEUE_SIZE = 64
"""Requests waiting at most; more are turned away with Gradio's "queue is full" message."""

CAPTION_HELP = f"""**How to give captions** — any one of:
- a `.txt` file beside each image, with the same name (`cat.png` + `cat.txt`);
- a `metadata.jsonl` (`{{"file_name": "cat.png", "text": "a cat on a mat"}}` per line) or
  `metadata.csv` (columns `file_name`, `text`) with the images;
- one `.zip` holding either layout.

At most {MAX_UPLOAD_FILES} files and {MAX_UPLOAD_MB} MB; 256 images are sampled. Your files
are kept only while your request runs."""

PHONE_PX = 480
"""Screens at most this wide get the phone layout (a 390 px phone upright)."""


def _columns(names, inside: str = "", header: bool = True, most_columns: int = 12) -> str:
    """A selector of the ranking's columns titled ``names`` (body and sizing cells, the header
    cell too if ``header``, or what is ``inside`` them). A column is found by its header's title,
    wherever the result put it, since Gradio's body cells carry only an index."""
    return ",\n".join(
        f'  #ranking:has(th[data-heading="{i}"][title="{name}"]) :is('
        + (f'th[data-heading="{i}"], ' if header else "")
        + f'[role=gridcell][data-col="{i}"], .sizing-body td:nth-child({i + 1})){inside}'
        for name in names for i in range(most_columns))


def _phone_table_css(hidden=PHONE_HIDDEN_COLUMNS, names=PHONE_BREAK_ANYWHERE) -> str:
    """The ranking on a phone, without sideways scrolling: the table is held to the screen's
    width and Gradio's own column measuring (an auto table layout over the longest cells) then
    gives each column its share, cells wrapping between words, and the ``names`` columns (a Hub
    id such as ``stabilityai/stable-diffusion-xl-base-1.0``, a licence) anywhere, so that their
    longest word does not set the width; text in the sans font at 12 px (headers 11 px) with
    less padding; the ``hidden`` columns left out; and the table as tall as its rows, not a
    500 px box that scrolls (its last rows were hidden below). A browser without CSS ``:has()``
    shows every column, in the box that scrolls sideways."""
    return f"""@media (max-width: {PHONE_PX}px) {{
  #ranking .header-table {{ width: 100% !important; }}
  #ranking .header-table, #ranking .virtual-row {{ font-family: var(--font); font-size: 12px; }}
  #ranking thead {{ font-size: 11px; }}
  #ranking .prose {{ font-size: inherit; }}
  #ranking .cell-wrap {{ padding: 4px; }}
  #ranking .sizing-body td {{ white-space: normal; padding: 4px; }}
  #ranking .sizing-body td * {{ overflow-wrap: normal; word-break: normal; }}
  #ranking .virtual-table-viewport {{ max-height: none !important; }}
{_columns(names, header=False)},
{_columns(names, " *", header=False)} {{ overflow-wrap: anywhere; }}
{_columns(hidden)} {{ display: none; }}
  #legend :not(li) > p:last-child {{ display: block; }}
}}
"""


CSS = """
.mandc-table { font-size: 0.9em; overflow-x: auto; }
.mandc-plot { overflow-x: auto; max-width: 100%; }
#legend :not(li) > p:last-child { display: none; }
.mandc-table [role=columnheader], .mandc-table [role=columnheader] * {
  word-break: keep-all; overflow-wrap: normal; hyphens: none;
}
#preview .grid-wrap, #reasons .grid-wrap, #yours .grid-wrap { max-height: none; }
#preview .caption-label, #reasons .caption-label {
  white-space: normal; overflow-wrap: anywhere; max-width: calc(100% - 8px); opacity: 0.9;
}
@media (max-width: 480px) {
  #preview .grid-container, #reasons .grid-container, #yours .grid-container {
    grid-template-columns: repeat(2, minmax(0, 1fr));
  }
}
""" + _phone_table_css()
"""Narrow screens scroll the other tables sideways inside their box; headers break between
words only. The ranking fits a phone (:func:`_phone_table_css`). The image galleries (preview,
reasons, the visitor's own) are never cut to a scrolling box (their second rows matter), and
wrap to two columns on a phone; the captions that say what an image is (real, or which model
generated it) wrap instead of being cut. The legend's last paragraph, the columns a phone leaves
out, shows on narrow screens only."""


def build_app(graph_dir: str | None = None, *, warm: bool = False):
    """The Gradio Blocks app (not launched). ``graph_dir``: the server's graph (a folder or Hub
    repo id from the server's settings; visitors cannot set it). ``warm``: fit M&C for every
    profiled dataset in the background from the start (what the Space does)."""
    import gradio as gr

    server = GraphServer(graph_dir)
    if warm:
        server.warm()
    graph = server.default.graph
    probe_ready = bool(graph.probe_metrics)
    with gr.Blocks(title="M&C · Match & Choose") as app:
        gr.Markdown("# M&C · Match & Choose\nWhich pretrained text-to-image model should you "
                    "fine-tune on your images? M&C predicts it from a matching graph of models "
                    "and profiled datasets, without fine-tuning them all "
                    f"([paper](https://arxiv.org/abs/2508.10993)). This Space's graph: "
                    f"{server.default.label}, {len(graph.models)} models, "
                    f"{len(graph.datasets)} datasets.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                files = gr.File(label="Upload images with captions, or one zip",
                                file_count="multiple",
                                file_types=["image", ".txt", ".jsonl", ".csv", ".zip"],
                                height=220, elem_id="files")
                gr.Markdown(CAPTION_HELP)
                example = gr.Dropdown([(text, name) for name, text in EXAMPLES.items()],
                                      value=None, label="…or try a bundled example")
            with gr.Column(scale=2, min_width=280):
                dataset = gr.Dropdown(graph.dataset_ids, value=None,
                                      label="…or pick a profiled dataset of the graph")
                hub_dataset = gr.Textbox(label="…or a Hub dataset id",
                                         placeholder="OWNER/NAME", max_lines=1)
                top = gr.Slider(1, max(1, len(graph.models)) + CATALOG_LIMIT,
                                value=min(10, len(graph.models)),
                                step=1, label="Models to show",
                                info=f"the graph has {len(graph.models)}; the Hub catalogue adds "
                                     f"up to {CATALOG_LIMIT} more")
                probe = gr.Checkbox(
                    value=False, interactive=probe_ready,
                    label="Probe your images with every model first: a little more accurate "
                          "on this graph, but loads every model (a minute or more on CPU)"
                          if probe_ready else "Probing is not available for this graph")
                with gr.Accordion("Advanced", open=False):
                    method = gr.Dropdown(
                        METHODS.names(), value="mandc",
                        label="Method (mandc is M&C; the others are comparison methods from "
                              "the paper's evaluation, not advice)")
                    graph_repo = gr.Textbox(label="Graph: a Hub graph repo id (empty: this "
                                                  "Space's graph)",
                                            placeholder="OWNER/NAME", max_lines=1)
                    gr.Markdown("**Reading your dataset** (empty: found by name)")
                    with gr.Row():
                        caption_column = gr.Textbox(label="Caption column", max_lines=1,
                                                    placeholder="text")
                        image_column = gr.Textbox(label="Image column", max_lines=1,
                                                  placeholder="file_name / image")
                    with gr.Row():
                        split = gr.Textbox(label="Split", value="train", max_lines=1)
                        # no precision: Gradio would round 2.5 to 2 unsaid; load_options
                        # refuses a fraction in words
                        max_images = gr.Number(label="Images sampled", value=DEFAULT_MAX_SAMPLES,
                                               minimum=1, maximum=DEFAULT_MAX_SAMPLES)
                    candidates = gr.Radio([(text, key) for key, text in CHOICES.items()],
                                          value="graph", label="Candidates")
                    with gr.Row():
                        licences = gr.Textbox(label="Licences (comma-separated)",
                                              placeholder="apache-2.0, mit", max_lines=1)
                        max_params = gr.Number(label="Max params (M)", value=None, minimum=0)
                        min_resolution = gr.Number(label="Min resolution (px)", value=None,
                                                   minimum=0)
        run = gr.Button("Rank models", variant="primary")
        verdict = gr.Markdown()
        load_report = gr.Markdown(elem_id="load-report")
        ranking = gr.Dataframe(label="Ranking", interactive=False, wrap=True, elem_id="ranking",
                               elem_classes=["mandc-table"],
                               datatype=["number", "markdown", "str", "str", "str", "str",
                                         "str", "str", "str"])
        legend = gr.Markdown(elem_id="legend")
        gr.Markdown("**Predicted quality of every candidate**, with its interval")
        plot = gr.HTML(elem_id="plot")
        gr.Markdown("### Why: your images beside the most similar profiled datasets")
        with gr.Row():
            yours = gr.Gallery(label="Your images", columns=3, height="auto", elem_id="yours",
                               object_fit="contain")
            reasons = gr.Gallery(label="Similar profiled datasets: real images, and what the "
                                       "best models generated after fine-tuning on them",
                                 columns=4, height="auto", object_fit="contain",
                                 elem_id="reasons")
        neighbours = gr.Dataframe(label="Most similar profiled datasets (similarity; weight in "
                                        "the prediction)", interactive=False,
                                  elem_classes=["mandc-table"], elem_id="neighbours")
        gr.Markdown("### Take the answer with you")
        downloads = gr.File(label="The result as JSON, and a “Why this base model” section for "
                                  "your fine-tuned model's card (Markdown)",
                            file_count="multiple", interactive=False, elem_id="downloads")
        with gr.Accordion("The result as JSON", open=False):
            result_json = gr.JSON(elem_id="result-json")
        with gr.Accordion("Preview fine-tunes (slow: 10-30 s per model on CPU)",
                          open=False):
            gr.Markdown(f"The top models, each LoRA-fine-tuned for {PREVIEW_RECIPE.steps} steps "
                        "on your images and asked for a few of your captions, beside your real "
                        f"images. Previews run one at a time; new models stop starting after "
                        f"{TIME_CAP_S:.0f} s.")
            with gr.Row():
                k = gr.Slider(1, MAX_PREVIEW_MODELS, value=1, step=1, label="Models to preview")
                run_preview = gr.Button("Preview fine-tunes")
            preview_summary = gr.Markdown()
            preview_images = gr.Gallery(label="Your images, then each model's generations",
                                        columns=4, height="auto", object_fit="contain",
                                        elem_id="preview")
            preview_export = gr.JSON(label="The preview as JSON")

        tracker = gr.Progress()  # Gradio hands each request its own through this default

        def recommend(dataset: str | None = None, hub_dataset: str | None = None,
                      files: list | None = None, top: int = 10, method: str = "mandc",
                      probe: bool = False, graph: str | None = None,
                      example: str | None = None, caption_column: str | None = None,
                      image_column: str | None = None, split: str = "train",
                      max_images: float = DEFAULT_MAX_SAMPLES, candidates: str = "graph",
                      licences: str | None = None, max_params: float | None = None,
                      min_resolution: float | None = None, progress=tracker):
            """Rank the graph's models for fine-tuning on a dataset: ``dataset`` (a profiled
            dataset of the graph), ``hub_dataset`` (OWNER/NAME) or ``files`` (images with
            captions, or one zip) or ``example`` (a bundled set's name); ``graph``: a Hub graph
            repo id (empty: this Space's). ``caption_column``, ``image_column``, ``split``,
            ``max_images``: how to read the dataset (the load report then says what was read
            and left out); ``candidates``: ``graph`` or ``catalog`` (the Hub catalogue, filtered
            by ``licences``, ``max_params`` in millions and ``min_resolution`` in pixels).
            Returns (verdict, ranking, legend, plot as SVG, your images, reason images, similar
            datasets, load report, the result as JSON, [result .json, model-card section .md])."""
            return recommend_callback(
                server, dataset, hub_dataset, files, top, method, probe, graph, example,
                progress, caption_column=caption_column, image_column=image_column,
                split=split, max_images=max_images, candidates=candidates, licences=licences,
                max_params=max_params, min_resolution=min_resolution)

        def datasets(graph: str | None = None) -> dict:
            """The graph's datasets (and whether each was profiled) and its models."""
            return datasets_callback(server, graph)

        def preview(dataset: str | None = None, hub_dataset: str | None = None,
                    files: list | None = None, example: str | None = None, k: int = 1,
                    method: str = "mandc", graph: str | None = None,
                    caption_column: str | None = None, image_column: str | None = None,
                    split: str = "train", max_images: float = DEFAULT_MAX_SAMPLES,
                    progress=tracker):
            """Fine-tune the top ``k`` (1-3) models briefly on the dataset (given and read as
            for /recommend) and generate a few of its captions with each."""
            return preview_callback(server, dataset, hub_dataset, files, example, k, method,
                                    graph, progress, caption_column=caption_column,
                                    image_column=image_column, split=split,
                                    max_images=max_images)

        run_preview.click(preview, [dataset, hub_dataset, files, example, k, method, graph_repo,
                                    caption_column, image_column, split, max_images],
                          [preview_summary, preview_images, preview_export], api_name="preview",
                          concurrency_limit=1, concurrency_id="preview",
                          show_progress_on=[preview_summary])
        outputs = [verdict, ranking, legend, plot, yours, reasons, neighbours, load_report,
                   result_json, downloads]
        event = run.click(recommend, [dataset, hub_dataset, files, top, method, probe,
                                      graph_repo, example, caption_column, image_column, split,
                                      max_images, candidates, licences, max_params,
                                      min_resolution], outputs, api_name="recommend",
                          concurrency_limit=CONCURRENCY, concurrency_id="recommend",
                          show_progress_on=[verdict])
        # the error itself is shown by Gradio (gr.Error); clear the previous answer under it
        event.failure(_after_failure, None, outputs, api_visibility="private")
        gr.api(datasets, api_name="datasets", concurrency_limit=CONCURRENCY)
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return app


def launch_options() -> dict:
    """What ``launch`` needs besides the app: the page's style and the upload size limit (one
    file; the total is checked per request)."""
    return {"css": CSS, "max_file_size": f"{MAX_UPLOAD_MB}mb"}


def _after_failure():
    return ("**Could not rank models** (see the error message).", *empty_outputs()[1:])
