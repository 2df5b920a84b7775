"""The app's callbacks on the default (shipped mini-zoo) graph, what the page shows, and how
visitor input is checked; the launched app is tested through gradio_client in
``test_app_upload.py`` and in a real browser in ``test_browser.py``."""

import logging
import os
import socket
import zipfile
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pandas as pd
import pytest
from datafactory import caption, solid, write_caption_folder, write_metadata

from mandc.advise import advise
from mandc.errors import HubError, ValidationError
from mandc.graph.defaults import (
    example_dir,
    place_target,
    resolve_graph,
    resolve_target,
    shipped_graph_dir,
)
from mandc.graph.views import score_matrix
from mandc.settings import get_settings
from mandc.ui.app import build_app
from mandc.ui.callbacks import datasets_callback, preview_callback, recommend_callback
from mandc.ui.candidates import candidate_filters, candidate_table
from mandc.ui.inputs import StagedUpload, hub_dataset_id, hub_graph_repo, public_text
from mandc.ui.preview import PREVIEW_RECIPE, preview_finetunes
from mandc.ui.service import GraphServer


@pytest.fixture(scope="module")
def server():
    return GraphServer()


def _rank(server, dataset=None, hub=None, files=None, top=3, method="mandc", probe=False,
          graph=None, example=None):
    return recommend_callback(server, dataset, hub, files, top, method, probe, graph, example)


def test_a_profiled_dataset_is_ranked_held_out_beside_its_measured_figures(server):
    (verdict, table, legend, plot, yours, reasons, neighbours, load_report, result,
     downloads) = _rank(server, "scenes-day")
    assert list(table["rank"]) == [1, 2, 3]
    assert list(table.columns) == ["rank", "model", "predicted (80% interval)", "measured FID ↓",
                                   "measured rank", "fine-tune (s)", "params (M)",
                                   "resolution (px)"]
    # the prediction shown is the leave-one-dataset-out one, not a fit on the measured scores
    held = advise(resolve_graph(), "scenes-day", top=None, hold_out=True)
    assert list(table["model"]) == [row["model"] for row in held["ranking"][:3]]
    assert list(table["predicted (80% interval)"]) == [
        f"{row['predicted']:.2f} [{row['low']:.2f}, {row['high']:.2f}]"
        for row in held["ranking"][:3]]
    assert result["ranking"][0]["low"] < result["ranking"][0]["predicted"] < \
        result["ranking"][0]["high"] and result["interval_level"] == 0.8
    assert load_report == ""  # nothing was read: a dataset of the graph
    fitted = advise(resolve_graph(), "scenes-day", top=None, hold_out=False)
    assert [row["predicted"] for row in fitted["ranking"]] != \
        [row["predicted"] for row in held["ranking"]]
    fid = score_matrix(resolve_graph(), "fid")["scenes-day"]
    first = table["model"].iloc[0]
    assert table["measured FID ↓"].iloc[0] == float(f"{fid[first]:.4g}")
    assert table["measured rank"].iloc[0] == int(fid.rank(method="first")[first])
    assert f"Fine-tune **{first}**" in verdict and "without this dataset's own scores" in verdict
    top = held["ranking"][0]
    close = [r["model"] for r in held["ranking"][1:] if r["high"] >= top["low"]]
    assert close and f"Its 80% interval overlaps those of **{close[0]}**" in verdict
    assert "z-score of FID" in legend and "(lower is better)" in legend
    assert "the 80% interval" in legend and "split conformal" in legend
    # every candidate is plotted, a dot and its band, best first
    assert plot.count('<g class="candidate">') == len(resolve_graph().model_ids)
    assert plot.count('class="band"') == len(resolve_graph().model_ids)
    assert "80% interval" in plot and "higher is better (FID itself: lower)" in plot
    assert len(yours) == 6 and len(neighbours) == 3
    assert "scenes-day" not in set(neighbours["dataset"])
    captions = [caption for _, caption in reasons]
    near = neighbours["dataset"].iloc[0]
    assert f"{near}: a real image" in captions
    assert any(c.startswith(f"{near}: ") and "after fine-tuning (FID" in c for c in captions)


def test_a_profiled_dataset_is_answered_from_the_cached_fit(server, monkeypatch):
    _rank(server, "scenes-night")
    calls = []
    import mandc.advise

    original = mandc.advise.make_method
    monkeypatch.setattr(mandc.advise, "make_method",
                        lambda *a, **k: calls.append(a) or original(*a, **k))
    _rank(server, "scenes-night")
    assert calls == []  # no refit for the second request
    _rank(server, "scenes-night", method="best_average")
    assert calls == [("best_average",)]  # one fit per method


def test_a_comparison_method_is_labelled_as_such(server):
    verdict, table, legend, plot, *_ = _rank(server, "scenes-day", method="nearest_dataset")
    assert "comparison method `nearest_dataset`, not M&C" in verdict
    # it gives no interval: a plain predicted column, dots without bands, and the legend says so
    assert "predicted" in table and 'class="band"' not in plot
    assert plot.count("<circle") == len(resolve_graph().model_ids)
    assert "This method gives no interval" in legend


def test_without_a_target_the_page_asks_for_one(server):
    verdict, table, *_ = _rank(server, None, "  ", [])
    assert verdict.startswith("Choose a profiled dataset") and table.empty


@pytest.mark.parametrize("typed", ["/etc", "/etc/passwd", "../secrets", "./mandc",
                                   "~/data", "mandc/../etc", "https://example.com/x",
                                   "C:\\data", "a/b/c", "hf://datasets/a/b"])
def test_a_typed_path_is_refused_before_anything_is_read(server, typed):
    with pytest.raises(gr.Error) as caught:
        _rank(server, hub=typed)
    assert caught.value.message.startswith(f"hub dataset: {typed!r} is not a Hub dataset id")
    assert "reads no server paths" in caught.value.message
    assert caught.value.title == "Could not rank models"


def test_a_hub_id_that_is_also_a_local_folder_is_read_from_the_hub_only(server, monkeypatch):
    """``mandc/graphs`` exists beside the app; typed in the Hub box it is a Hub id only."""
    monkeypatch.chdir(Path(shipped_graph_dir()).parents[2])
    assert Path("mandc/graphs").is_dir()
    with pytest.raises(gr.Error) as caught:
        _rank(server, hub="mandc/graphs")
    assert caught.value.message.startswith("could not read the Hub dataset 'mandc/graphs' from "
                                           "this Space: the Hub did not answer, or the dataset "
                                           "is private")


def test_the_graph_box_takes_only_hub_repo_ids():
    assert hub_graph_repo("") is None and hub_graph_repo(None) is None
    assert str(hub_graph_repo("user/graph@main")) == "user/graph@main"
    for typed in ("/srv/graph", "./graph", "~/graph", "..\\graph", "a/b/c"):
        with pytest.raises(ValidationError, match="graph: .* not a Hub"):
            hub_graph_repo(typed)
    assert hub_dataset_id(" user/my-set ") == "user/my-set" and hub_dataset_id("") is None


def test_a_dataset_that_is_not_in_the_graph_is_refused(server):
    """An API caller may send any text for the profiled dataset; a path is not looked up."""
    for name in ("no-such-dataset", "/etc"):
        with pytest.raises(gr.Error, match="is not a dataset of this graph"):
            _rank(server, name)


def test_a_bad_upload_is_the_loaders_message_without_the_request_folder(server, tmp_path):
    folder = write_caption_folder(tmp_path / "set", 2)
    (folder / "img_0001.txt").unlink()
    with pytest.raises(gr.Error) as caught:
        _rank(server, files=sorted(map(str, folder.iterdir())))
    assert caught.value.message == (
        "upload: 1 of 2 images (50%) are left out: no caption (no .txt or .caption beside the "
        "image) (first: img_0001.png); more than the 20% allowed for this reason; add a .txt "
        "caption beside each image, or list captions in a metadata.jsonl")


def test_an_upload_is_ranked_with_its_images_shown(server, tmp_path):
    folder = write_caption_folder(tmp_path / "set", 4)
    verdict, table, legend, plot, yours, reasons, neighbours, load_report, *_ = _rank(
        server, files=sorted(map(str, folder.iterdir())), top=11)
    assert load_report == "**Your dataset:** 4 images described."
    assert "Your dataset" not in verdict  # the load report is its own output
    expected = _as_an_upload(str(folder))
    assert list(table["model"]) == [row["model"] for row in expected["ranking"]]
    assert "measured FID ↓" not in table.columns  # nothing measured on a new dataset
    assert "for `upload`" in verdict and len(yours) == 4 and reasons


def test_the_bundled_example_is_ranked_as_its_folder_would_be(server):
    verdict, table, *_ = _rank(server, example="flowers", top=11)
    expected = _as_an_upload(str(example_dir("flowers")))
    assert list(table["model"]) == [row["model"] for row in expected["ranking"]]
    assert "for `flowers`" in verdict
    with pytest.raises(gr.Error, match="example: 'etc' is not a bundled example; choose one of"):
        _rank(server, example="/etc")


def test_with_two_inputs_the_page_says_which_one_was_ranked(server):
    verdict, *_, load_report, result, _ = _rank(server, example="flowers", dataset="scenes-day")
    assert "for `flowers`" in verdict
    assert ("ranked the example 'flowers'; the profiled dataset 'scenes-day' not used"
            in load_report)
    assert result["held_out"] is False  # a new dataset has no scores to hold out


def _as_an_upload(folder: str) -> dict:
    """The library's answer for a folder ranked as the Space ranks an upload: placed in the
    graph and ranked by the method fitted once on the graph, out of sample (no refit)."""
    graph = resolve_graph()
    placed, target, _ = place_target(graph, folder)
    return advise(placed, target, top=None, fitted={}, base=graph)


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return str(path)


def test_bad_archives_and_a_single_image_get_the_loaders_message(server, tmp_path):
    image = (example_dir("flowers") / "flower-00.png").read_bytes()
    cases = {
        _zip(tmp_path / "evil.zip", {"../evil.png": image, "../evil.txt": "a flower"}):
            "upload/evil.zip: entry '../evil.png' points outside the archive's folder",
        _zip(tmp_path / "abs.zip", {"/tmp/abs_evil.png": image, "/tmp/abs_evil.txt": "a"}):
            "upload/abs.zip: entry '/tmp/abs_evil.png' points outside the archive's folder "
            "(absolute path",
        _zip(tmp_path / "empty.zip", {}): "upload/empty.zip: no images: it holds no files",
    }
    for archive, message in cases.items():
        with pytest.raises(gr.Error) as caught:
            _rank(server, files=[archive])
        assert caught.value.message.startswith(message)
    (tmp_path / "one.png").write_bytes(image)
    (tmp_path / "one.txt").write_text("a red flower")
    with pytest.raises(gr.Error, match="need at least 2 image–caption pairs"):
        _rank(server, files=[str(tmp_path / "one.png"), str(tmp_path / "one.txt")])
    assert _rank(server, "scenes-day")[1]["rank"].tolist() == [1, 2, 3]  # still answering


def test_a_bug_is_not_shown_to_the_visitor(server, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("/srv/secret/path")

    monkeypatch.setattr("mandc.ui.callbacks.recommend", broken)
    with pytest.raises(gr.Error) as caught:
        _rank(server, "scenes-day")
    assert caught.value.message.startswith("Something went wrong on the server")
    assert "secret" not in caught.value.message
    # a failure while showing the answer (here, writing the downloads) is said in words too
    monkeypatch.undo()
    monkeypatch.setattr("mandc.ui.export.write_exports", broken)
    with pytest.raises(gr.Error) as caught:
        _rank(server, "scenes-day")
    assert caught.value.message.startswith("Something went wrong on the server while preparing")
    assert "secret" not in caught.value.message


def test_a_preview_is_bounded_in_models_and_time(server):
    with pytest.raises(gr.Error, match="preview 1 to 3 models, not 4"):
        preview_callback(server, "scenes-day", None, None, k=4)
    with pytest.raises(gr.Error, match="Choose a profiled dataset"):
        preview_callback(server, None, None, None, k=1)
    # past the time cap no model is started (nothing is loaded)
    assert preview_finetunes(["scenes-v", "shapes-v"], [], [], time_cap_s=-1) == [
        {"model": "scenes-v", "skipped": "time cap of -1 s"},
        {"model": "shapes-v", "skipped": "time cap of -1 s"}]


@pytest.mark.slow
def test_a_preview_fine_tunes_the_top_model_and_shows_its_generations(server):
    summary, gallery, export = preview_callback(server, None, None, None, example="flowers",
                                                k=1)
    top = advise(resolve_graph(), str(example_dir("flowers")), top=1)["ranking"][0]["model"]
    assert export["models"][0]["model"] == top and export["models"][0]["seconds"] > 0
    assert export["recipe"] == PREVIEW_RECIPE.to_dict() and f"- {top}: " in summary
    captions = [caption for _, caption in gallery]
    assert len(gallery) == 8 and captions[0].startswith("your image: ")
    assert all(c.startswith(f"{top}: ") for c in captions[4:])
    assert captions[4][len(top) + 2:] == captions[0][len("your image: "):]
    assert gallery[4][0].size == (32, 32)  # the mini-zoo models' native resolution


def test_datasets_lists_the_graphs_datasets_and_models(server):
    listing = datasets_callback(server, "")
    graph = resolve_graph()
    assert listing["models"] == list(graph.model_ids) and listing["metric"] == "fid"
    assert [d["id"] for d in listing["datasets"]] == list(graph.dataset_ids)
    assert all(d["profiled"] for d in listing["datasets"])
    with pytest.raises(gr.Error, match="not a Hub graph repo id"):
        datasets_callback(server, "/etc")


def test_uploads_are_copied_side_by_side_and_removed_after_the_request(tmp_path):
    image, caption = tmp_path / "a" / "cat.png", tmp_path / "b" / "cat.txt"
    for path in (image, caption):  # gradio keeps each upload in a folder of its own
        path.parent.mkdir()
        path.write_bytes(b"x")
    with StagedUpload([str(image), SimpleNamespace(path=str(caption))]) as staged:
        copied = [Path(p) for p in staged.target]
        assert [p.name for p in copied] == ["cat.png", "cat.txt"]
        assert copied[0].parent == copied[1].parent and copied[0].read_bytes() == b"x"
        assert staged.hide_paths(f"{copied[0]}: unreadable") == "upload/cat.png: unreadable"
        assert staged.hide_paths(f"{os.path.realpath(copied[0])}: x") == "upload/cat.png: x"
    assert not copied[0].parent.exists()
    with StagedUpload([]) as staged:
        assert staged.target is None and staged.hide_paths("as is") == "as is"


def test_upload_limits_are_enforced(tmp_path):
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.png")
        files[-1].write_bytes(b"x" * 600_000)
    with pytest.raises(ValidationError, match="3 files uploaded; the limit is 2"):
        with StagedUpload(files, max_files=2):
            pass
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        with StagedUpload(files, max_mb=1):
            pass


@pytest.mark.parametrize("name", ["../cat.png", "a/cat.png", "a\\cat.png", "..", "cat\x00.png"])
def test_an_upload_name_that_would_leave_the_folder_is_refused(tmp_path, name):
    file = tmp_path / "cat.png"
    file.write_bytes(b"x")
    with pytest.raises(ValidationError, match="is not a plain file name"):
        with StagedUpload([SimpleNamespace(path=str(file), orig_name=name)]):
            pass


def test_one_file_added_twice_is_one_upload(tmp_path):
    """Gradio keeps uploads by content, so adding a file again hands over the same path."""
    file = tmp_path / "cat.png"
    file.write_bytes(b"x")
    with StagedUpload([str(file), str(file)]) as staged:
        assert [Path(p).name for p in staged.target] == ["cat.png"]


def test_two_uploads_with_one_name_are_refused_and_the_folder_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "cat.png").write_bytes(b"x")
    with pytest.raises(ValidationError, match="two uploaded files are both named 'cat.png'"):
        with StagedUpload([str(tmp_path / "a" / "cat.png"), str(tmp_path / "b" / "cat.png")]):
            pass
    assert not list(tmp_path.glob("mandc-upload-*"))


def test_resolve_target_reads_a_list_of_uploaded_files(tmp_path):
    """It once failed with ``TypeError: unhashable type: 'list'`` before reading anything."""
    folder = write_caption_folder(tmp_path / "set", 2)
    with pytest.raises(ValidationError, match="^upload: no captions: none of the 2 images"):
        resolve_target(resolve_graph(), sorted(map(str, folder.glob("*.png"))))


def test_models_to_show_says_where_its_end_comes_from():
    """The slider ends at the graph's models + the catalogue's 20 (an API call for the catalogue
    may ask that many), so it says so instead of leaving 31 unexplained on an 11-model graph."""
    models = len(resolve_graph().model_ids)
    (top,) = [block for block in build_app().blocks.values()
              if isinstance(block, gr.Slider) and block.label == "Models to show"]
    assert top.maximum == models + 20
    assert top.info == f"the graph has {models}; the Hub catalogue adds up to 20 more"


def test_app_builds_without_server_paths_in_the_page():
    app = build_app()
    assert app.title == "M&C · Match & Choose"
    texts = [block.value or "" for block in app.blocks.values() if isinstance(block, gr.Markdown)]
    assert any("This Space's graph: shipped mini-zoo graph (minizoo-all)" in t for t in texts)
    assert not any(str(shipped_graph_dir()) in text for text in texts)


def test_public_text_cuts_absolute_paths_to_their_last_part():
    assert public_text("no such folder or file: '/srv/data/cats' (nor is it a Hub id like "
                       "'owner/name')") == ("no such folder or file: 'cats' (nor is it a Hub id "
                                            "like 'owner/name')")
    assert public_text("/srv/x/set.zip:train/a.png: bad") == "set.zip:train/a.png: bad"
    kept = "upload/cat.png: 1 of 2 images (train/, test/...) in images/"
    assert public_text(kept) == kept
    # what the visitor gave is quoted as given, server paths beside it are still cut
    assert public_text("entry '/tmp/a.png' is absolute; /srv/app/x failed",
                       given=("'/tmp/a.png'",)) == "entry '/tmp/a.png' is absolute; x failed"


# ---------------------------------------------------------------- Advanced: loader, candidates
def _tagged_upload(root):
    """Four images whose captions are in a ``tags`` column of metadata.csv (the ``text``
    column beside it is empty), the last one's empty."""
    root.mkdir()
    rows = []
    for i in range(4):
        solid(i).save(root / f"img_{i:04d}.png")
        rows.append({"file_name": f"img_{i:04d}.png", "text": "",
                     "tags": "" if i == 3 else caption(i)})
    write_metadata(root, rows, fmt="csv")
    return sorted(map(str, root.iterdir()))


def test_the_caption_column_is_read_and_the_load_report_shown(server, tmp_path):
    files = _tagged_upload(tmp_path / "set")
    with pytest.raises(gr.Error) as caught:  # found by name: the empty `text` column
        _rank(server, files=files)
    assert "4 of 4 images (all) are left out: empty or whitespace-only caption" in \
        caught.value.message
    verdict, table, *_, load_report, result, downloads = recommend_callback(
        server, None, None, files, 11, "mandc", False, None, None, caption_column="tags")
    three = write_caption_folder(tmp_path / "three", 3)  # the three captioned images alone
    expected = advise(resolve_graph(), str(three), top=None)
    assert list(table["model"]) == [row["model"] for row in expected["ranking"]]
    assert load_report == ("**Your dataset:** 3 images described.\n- left out 1: empty or "
                           "whitespace-only caption (first: img_0003.png)")
    assert result["load_report"]["read"] == 3


def test_max_images_samples_fewer_and_bad_loader_options_are_refused(server, tmp_path):
    folder = write_caption_folder(tmp_path / "set", 4)
    files = sorted(map(str, folder.iterdir()))
    load_report = recommend_callback(server, None, None, files, 3, "mandc", False, None, None,
                                     max_images=2)[7]
    assert load_report == "**Your dataset:** 2 images described, 2 not sampled."
    for bad in ({"max_images": 0}, {"max_images": 1.5}, {"max_images": 10_000},
                {"max_images": float("nan")},  # an API call may send NaN: Gradio's bounds pass it
                {"caption_column": "  ", "split": "a b", "max_images": -1}):
        with pytest.raises(gr.Error, match="max images must be a whole number from 1 to 256"):
            recommend_callback(server, None, None, files, 3, "mandc", False, None, None, **bad)
    with pytest.raises(gr.Error, match="max params must be positive millions"):
        recommend_callback(server, None, None, files, 3, "mandc", False, None, None,
                           candidates="catalog", max_params=-5)
    # 'Min resolution' has no maximum, so Gradio lets an API call's Infinity through
    for bad in (float("inf"), float("nan")):
        with pytest.raises(gr.Error, match="min resolution must be a whole number of pixels"):
            recommend_callback(server, None, None, files, 3, "mandc", False, None, None,
                               candidates="catalog", min_resolution=bad)


def _catalogue():
    """A catalogue with a never-profiled fine-tune of glyphs-deep (its features, its lineage)
    beside a graph model, as ``mandc catalog`` lists them; no Hub needed."""
    row = resolve_graph().models.set_index("model").loc["glyphs-deep"].to_dict()
    tuned = {"id": "alice/glyphs-deep-ft", **row, "source": "hub", "base_model": "glyphs-deep",
             "base_model_relation": "finetune"}
    return pd.DataFrame([tuned, {"id": "glyphs-deep", "source": "minizoo"}])


def test_catalogue_candidates_are_ranked_with_never_profiled_ones_marked(server):
    asked = {}

    def catalog(**filters):
        asked.update(filters)
        return _catalogue()

    verdict, table, legend, plot, *_, result, downloads = recommend_callback(
        server, "glyphs-digits-black", None, None, 20, "mandc", False, None, None,
        candidates="catalog", licences="apache-2.0, mit", max_params=300, min_resolution=64,
        catalog=catalog)
    assert asked == {"licences": ["apache-2.0", "mit"], "max_params": 300e6,
                     "min_resolution": 64, "limit": 20}
    graph_models = resolve_graph().model_ids
    assert len(table) == len(graph_models) + 1 == plot.count('<g class="candidate">')
    assert plot.count('stroke-dasharray="5 3"') == 1 and plot.count('fill="white"') == 1
    rows = {row["model"]: row for row in result["ranking"]}
    cold, warm = rows["alice/glyphs-deep-ft"], rows["glyphs-deep"]
    width = {m: rows[m]["high"] - rows[m]["low"] for m in rows}
    assert width[cold["model"]] > width["glyphs-deep"] > 0  # the never-profiled band is wider
    assert width["glyphs-deep"] == pytest.approx(width["scenes-v"])
    assert cold["high"] - cold["predicted"] == pytest.approx(cold["predicted"] - cold["low"])
    # its cost is estimated from its size (it has no runs); a profiled model's is measured
    assert cold["finetune_cost"]["measured"] is False and cold["finetune_cost"]["runs"] == 0
    assert warm["finetune_cost"] == {"seconds": pytest.approx(31.2, abs=0.1),
                                     "device": "CPU, 1 thread (2 pairs at once on 2 cores)",
                                     "measured": True, "runs": 32}
    marked = [cell for cell in table["model"] if "not profiled" in cell]
    assert marked == ["[alice/glyphs-deep-ft](https://huggingface.co/alice/glyphs-deep-ft) "
                      "*(not profiled)*"]
    row = table[table["model"] == marked[0]].iloc[0]
    deep = table[table["model"] == "glyphs-deep"].iloc[0]
    assert row["params (M)"] == deep["params (M)"]  # its facts come from the catalogue
    assert row["measured FID ↓"] == "not profiled"
    assert row["fine-tune (s)"].startswith("≈") and row["fine-tune (s)"].endswith(" (H200, est.)")
    assert deep["fine-tune (s)"] == "31 (CPU)"
    assert "“est.”: no run here; estimated from the parameter count" in legend
    assert "the graph never profiled it" in legend
    # the graph's own models keep the ranking they get without a catalogue
    plain = advise(resolve_graph(), "glyphs-digits-black", top=None, hold_out=True)
    profiled = [m for m in table["model"] if m in graph_models]
    assert profiled == [r["model"] for r in plain["ranking"]][:len(profiled)]


def test_an_offline_catalogue_is_a_notice_and_the_graphs_models_are_ranked(server):
    offline = _catalogue().iloc[1:]
    offline.attrs["notice"] = "The Hub is offline: the catalogue is the mini zoo alone."
    verdict, table, *_ = recommend_callback(
        server, "scenes-day", None, None, 20, "mandc", False, None, None,
        candidates="catalog", catalog=offline)
    assert verdict.endswith("\n\n*The Hub is offline: the catalogue is the mini zoo alone.*")
    assert sorted(table["model"]) == sorted(resolve_graph().model_ids)

    def unreachable(**filters):
        raise HubError("the Hub did not answer")

    verdict, table, *_ = recommend_callback(
        server, "scenes-day", None, None, 20, "mandc", False, None, None,
        candidates="catalog", catalog=unreachable)
    assert "could not be read, so the graph's models are ranked instead" in verdict
    assert sorted(table["model"]) == sorted(resolve_graph().model_ids)
    assert not any("not profiled" in m for m in table["model"])


def test_a_preview_reads_the_upload_with_the_loader_options(server, tmp_path):
    files = _tagged_upload(tmp_path / "set")
    with pytest.raises(gr.Error, match="max images must be a whole number"):
        preview_callback(server, None, None, files, k=1, max_images=0)
    # by name the empty `text` column is the caption: refused before any fine-tune
    with pytest.raises(gr.Error, match="4 of 4 images .all. are left out: empty"):
        preview_callback(server, None, None, files, k=1)


def test_an_unreachable_hub_is_said_plainly_and_its_cause_only_logged(monkeypatch, caplog):
    """The catalogue's Hub refuses the connection: the page's notice says so in words (no
    ``ConnectionRefusedError: [Errno 111]``); the request's own line goes to the server's log."""
    import huggingface_hub.constants as hub_constants

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(hub_constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    for name, value in {"HF_HUB_OFFLINE": "0", "MANDC_HUB_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with caplog.at_level(logging.WARNING, logger="mandc.ui.candidates"):
        table, notice = candidate_table("catalog", candidate_filters(None, None, None))
    assert notice == ("the Hub could not be reached: no cached catalogue yet, showing the mini "
                      "zoo only")
    assert set(table["source"]) == {"minizoo"}
    assert ("catalogue: reaching the Hub: connection failed (ConnectionRefusedError: [Errno 111]"
            in caplog.text)
