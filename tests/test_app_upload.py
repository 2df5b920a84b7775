"""The app as a visitor reaches it: launched on a loopback port and called through gradio_client
with uploaded files, in each layout the upload box accepts, and with a bad upload."""

import json
import socket
from pathlib import Path

import pytest
from datafactory import (
    caption,
    solid,
    write_caption_folder,
    write_imagefolder,
    write_metadata,
    zip_folder,
)

from mandc.advise import advise
from mandc.graph.defaults import place_target, resolve_graph
from mandc.settings import get_settings

gradio_client = pytest.importorskip("gradio_client")

IMAGES = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    """A private MANDC_HOME and Gradio cache for the module's shared fixtures, which are set up
    before (and so outside) each test's own private home."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MANDC_HOME", str(tmp_path_factory.mktemp("mandc_home")))
        patch.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def client(module_home):
    """One launched app (default graph) and a client of it, shared by this module's tests."""
    from mandc.ui.app import build_app, launch_options

    app = build_app()
    app.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
               quiet=True, **launch_options())
    try:
        yield gradio_client.Client(app.local_url, verbose=False)
    finally:
        app.close()


def _rank_uploads(client, paths):
    """Press "Rank models" with ``paths`` uploaded, every model shown, no probe."""
    files = [gradio_client.handle_file(str(p)) for p in paths]
    models = len(resolve_graph().model_ids)
    return client.predict(hub_dataset="", files=files, top=models, api_name="/recommend")


def _ranked_models(result) -> list[str]:
    """The model column of the returned ranking, after checking it ranks every graph model."""
    status, ranking, _, plot, yours, reasons, neighbours, load_report, data, downloads = result
    header = ranking["headers"]
    rows = [dict(zip(header, row)) for row in ranking["data"]]
    graph_models = resolve_graph().model_ids
    assert [row["rank"] for row in rows] == list(range(1, len(graph_models) + 1))
    assert sorted(row["model"] for row in rows) == sorted(graph_models)
    assert status.startswith(f"### Fine-tune **{rows[0]['model']}**")
    assert neighbours["data"], "the reasons (most similar profiled datasets) are shown"
    assert yours and reasons, "the visitor's images and the similar datasets' images are shown"
    assert plot.count('class="band"') == len(graph_models)  # every candidate's interval
    assert load_report.startswith(f"**Your dataset:** {IMAGES} images described")
    assert [row["model"] for row in data["ranking"]] == [row["model"] for row in rows]
    assert [Path(path).suffix for path in downloads] == [".json", ".md"]
    return [row["model"] for row in rows]


@pytest.fixture(scope="module")
def expected_order(module_home, tmp_path_factory):
    """The ranking the library gives the same images and captions placed in the graph and
    ranked as the Space ranks an upload: by the method fitted once on the graph, out of sample
    (``advise(..., base=graph)``), not refitted per upload."""
    folder = write_caption_folder(tmp_path_factory.mktemp("local") / "set", IMAGES)
    graph = resolve_graph()
    placed, target, _ = place_target(graph, str(folder))
    result = advise(placed, target, top=None, fitted={}, base=graph)
    return [row["model"] for row in result["ranking"]]


@pytest.mark.slow
def test_uploaded_images_with_metadata_jsonl_are_ranked(client, expected_order, tmp_path):
    # the metadata names images/img_0000.png...; a browser uploads the files without folders
    folder = write_imagefolder(tmp_path / "set", IMAGES, subdir="images")
    result = _rank_uploads(client, [folder / "metadata.jsonl",
                                    *sorted((folder / "images").iterdir())])
    assert "for `upload`" in result[0]
    assert _ranked_models(result) == expected_order


@pytest.mark.slow
def test_uploaded_images_with_txt_captions_are_ranked(client, expected_order, tmp_path):
    folder = write_caption_folder(tmp_path / "set", IMAGES)
    assert _ranked_models(_rank_uploads(client, sorted(folder.iterdir()))) == expected_order


@pytest.mark.slow
def test_an_uploaded_zip_is_ranked(client, expected_order, tmp_path):
    folder = write_caption_folder(tmp_path / "set", IMAGES)
    archive = zip_folder(folder, tmp_path / "my-photos.zip", wrap="my-photos")
    result = _rank_uploads(client, [archive])
    assert "for `my-photos.zip`" in result[0]
    assert _ranked_models(result) == expected_order


@pytest.mark.slow
def test_a_caption_column_named_in_advanced_is_read_and_the_load_report_returned(client,
                                                                                 tmp_path):
    """metadata.csv with its captions under ``tags`` (and an empty ``text`` column the loader
    would pick by name), one caption empty: ranked once the caption column is given, and the
    answer says which file was left out and why."""
    folder = tmp_path / "set"
    folder.mkdir()
    rows = []
    for i in range(IMAGES):
        solid(i).save(folder / f"img_{i:04d}.png")
        rows.append({"file_name": f"img_{i:04d}.png", "text": "",
                     "tags": "" if i == IMAGES - 1 else caption(i)})
    write_metadata(folder, rows, fmt="csv")
    files = [gradio_client.handle_file(str(p)) for p in sorted(folder.iterdir())]
    with pytest.raises(gradio_client.exceptions.AppError, match="empty or whitespace-only"):
        client.predict(files=files, api_name="/recommend")
    verdict, ranking, *_, load_report, data, downloads = client.predict(
        files=files, caption_column="tags", top=3, api_name="/recommend")
    assert verdict.startswith("### Fine-tune **") and len(ranking["data"]) == 3
    assert load_report == (f"**Your dataset:** {IMAGES - 1} images described.\n- left out 1: "
                           f"empty or whitespace-only caption (first: img_{IMAGES - 1:04d}.png)")
    assert "Your dataset" not in verdict  # its own output, and its own field of the result
    assert data["load_report"]["read"] == IMAGES - 1
    assert data["load_report"]["left_out"]


@pytest.mark.slow
@pytest.mark.parametrize(("field", "message"), [
    ({"max_images": 2.5}, "max images must be a whole number from 1 to 256, not 2.5"),
    ({"candidates": "catalog", "min_resolution": 63.5},
     "min resolution must be a whole number of pixels, not 63.5")])
def test_a_fraction_in_a_whole_number_box_is_refused_not_rounded(client, field, message):
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        client.predict(dataset="scenes-day", top=3, api_name="/recommend", **field)
    assert caught.value.message == message


@pytest.mark.slow
def test_the_catalogue_offline_is_a_notice_in_the_page_not_an_error(client):
    """With the Hub offline (as in every test) and no cached listing, the catalogue is the mini
    zoo alone: the graph's models are ranked and the page says why, in one line."""
    verdict, ranking, *_ = client.predict(dataset="scenes-day", candidates="catalog",
                                          licences="apache-2.0", top=20, api_name="/recommend")
    assert verdict.endswith("*HF_HUB_OFFLINE=1: no cached catalogue yet, showing the mini zoo "
                            "only*")
    models = [row[1] for row in ranking["data"]]
    assert sorted(models) == sorted(resolve_graph().model_ids)


@pytest.mark.slow
def test_a_bad_upload_shows_the_loaders_message_without_server_paths(client, tmp_path):
    folder = write_caption_folder(tmp_path / "set", IMAGES)
    images = sorted(folder.glob("*.png"))  # the captions are left behind
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        _rank_uploads(client, images)
    message = str(caught.value.message)
    assert message.startswith(f"upload: no captions: none of the {IMAGES} images has a .txt "
                              "caption beside it (e.g. img_0000.txt)")
    assert "mandc-upload-" not in message and str(tmp_path) not in message
    assert caught.value.title == "Could not rank models"


@pytest.mark.slow
def test_a_mix_of_zip_and_images_is_refused_in_the_page(client, tmp_path):
    folder = write_caption_folder(tmp_path / "set", 2)
    archive = zip_folder(folder, tmp_path / "set.zip")
    with pytest.raises(gradio_client.exceptions.AppError,
                       match="upload either one .zip or image files with their captions"):
        _rank_uploads(client, [archive, folder / "img_0000.png"])


@pytest.mark.slow
def test_the_api_has_named_endpoints_and_no_server_folder_parameter(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(api) == {"/recommend", "/datasets", "/preview"}
    preview = [p["parameter_name"] for p in api["/preview"]["parameters"]]
    assert preview == ["dataset", "hub_dataset", "files", "example", "k", "method", "graph",
                       "caption_column", "image_column", "split", "max_images"]
    names = [p["parameter_name"] for p in api["/recommend"]["parameters"]]
    assert names == ["dataset", "hub_dataset", "files", "top", "method", "probe", "graph",
                     "example", "caption_column", "image_column", "split", "max_images",
                     "candidates", "licences", "max_params", "min_resolution"]
    optional = {p["parameter_name"] for p in api["/recommend"]["parameters"]
                if p["parameter_has_default"]}
    assert optional == set(names)  # one of dataset, hub_dataset, files, example is enough
    assert len(api["/recommend"]["returns"]) == 10  # …, load report, result JSON, downloads
    listing = client.predict(api_name="/datasets")
    assert listing["models"] == list(resolve_graph().model_ids)


@pytest.mark.slow
def test_a_profiled_dataset_is_answered_with_its_measured_figures(client):
    (verdict, ranking, legend, plot, yours, reasons, neighbours, load_report, data,
     downloads) = client.predict(dataset="scenes-day", top=3, api_name="/recommend")
    assert ranking["headers"][:6] == ["rank", "model", "predicted (80% interval)",
                                      "measured FID ↓", "measured rank", "fine-tune (s)"]
    assert len(ranking["data"]) == 3 and len(yours) == 6 and reasons
    assert "held out" in legend and "80% interval" in legend and "fine-tune (s)" in legend
    assert load_report == "" and data["target"] == "scenes-day" and data["held_out"]
    first = data["ranking"][0]
    assert first["low"] < first["predicted"] < first["high"]
    assert first["finetune_cost"]["measured"] and first["finetune_cost"]["runs"] == 32
    assert ranking["data"][0][2] == (f"{first['predicted']:.2f} [{first['low']:.2f}, "
                                     f"{first['high']:.2f}]")
    card = Path(downloads[1]).read_text()
    assert card.startswith("<!-- mandc:why-base-model:start -->\n## Why this base model")
    assert f"`{first['model']}` ranks **#1**" in card
    assert json.loads(Path(downloads[0]).read_text())["ranking"] == data["ranking"]


@pytest.mark.slow
@pytest.mark.parametrize("graph", ["/etc", "../", "mandc/graphs/minizoo"])
def test_a_server_folder_cannot_be_chosen_as_graph(client, graph):
    with pytest.raises(gradio_client.exceptions.AppError, match="not a Hub graph repo id"):
        client.predict(dataset="scenes-day", graph=graph, api_name="/recommend")


@pytest.mark.slow
def test_a_server_file_cannot_be_passed_as_an_upload(client):
    """Gradio hands the app only files uploaded to it: a server path sent as a file (raw HTTP,
    since gradio_client would upload a local file first) is refused before the app runs."""
    import httpx

    from mandc.graph.defaults import example_dir

    server_file = str(sorted(example_dir("flowers").glob("*.png"))[0])
    base = client.src.rstrip("/") + "/gradio_api/call/recommend"
    sent = httpx.post(base, json={"data": [None, None, [
        {"path": server_file, "meta": {"_type": "gradio.FileData"}, "orig_name": "a.png"}],
        3, "mandc", False, None, None, None, None, "train", 256, "graph", None, None, None]})
    events = httpx.get(f"{base}/{sent.json()['event_id']}", timeout=60).text
    assert "event: error" in events and "Fine-tune" not in events and "no captions" not in events
    assert client.predict(dataset="scenes-day", top=1, api_name="/recommend")[1]["data"]


@pytest.mark.slow
def test_the_page_config_shows_no_server_path(client):
    import httpx

    from mandc.graph.defaults import shipped_graph_dir

    base = client.src.rstrip("/")
    config = httpx.get(base + "/config").text
    repository = str(shipped_graph_dir().parents[2])
    assert "minizoo" in config and repository not in config
    api = httpx.get(base + "/gradio_api/info").text
    assert "/recommend" in api and repository not in api
