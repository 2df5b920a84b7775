"""The app's callback on the default (shipped mini-zoo) graph, and how it stages uploads; the
launched app is tested through gradio_client in ``test_app_upload.py``."""

import os
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from datafactory import write_caption_folder

from mandc.errors import ValidationError
from mandc.graph.defaults import resolve_graph, resolve_target, shipped_graph_dir
from mandc.ui.app import StagedUpload, build_app, public_text, recommend_callback


def test_callback_ranks_a_profiled_dataset_and_explains_it():
    status, ranking, neighbours = recommend_callback(None, "scenes-day", None, None, "mandc", 3)
    assert "Fine-tune" in status and "scenes-day" in status
    assert list(ranking["rank"]) == [1, 2, 3]
    assert ranking["model"].iloc[0] in status
    assert len(neighbours) >= 1 and "scenes-day" not in set(neighbours["dataset"])
    # a profiled dataset of the shipped graph already has its probes: mandc reads them
    assert "zero-shot denoising probe of the target counted too (4 noise levels)" in status
    status, _, _ = recommend_callback(None, "scenes-day", None, None, "nearest_dataset", 3,
                                      True)
    assert "Fine-tune" in status and "probe" not in status  # the baseline reads no probes


def test_callback_without_a_target_asks_for_one():
    status, ranking, _ = recommend_callback(None, None, "  ", [], "mandc", 3)
    assert "Choose a profiled dataset" in status and ranking.empty


def test_callback_raises_the_libraries_message_as_a_gradio_error():
    """Gradio shows a bare "Error" for any other exception; gr.Error carries the message."""
    with pytest.raises(gr.Error) as caught:
        recommend_callback(None, None, "no-such-dataset", None, "mandc", 3)
    assert caught.value.title == "Could not rank models"
    assert caught.value.message.startswith("dataset 'no-such-dataset' is not in the graph")


def test_a_bad_upload_is_the_loaders_message_without_the_request_folder(tmp_path):
    folder = write_caption_folder(tmp_path / "set", 2)
    (folder / "img_0001.txt").unlink()
    with pytest.raises(gr.Error) as caught:
        recommend_callback(None, None, None, sorted(map(str, folder.iterdir())), "mandc", 3)
    assert caught.value.message == (
        "upload: 1 of 2 images (50%) are left out: no caption (no .txt or .caption beside the "
        "image) (first: img_0001.png); more than the 20% allowed for this reason; add a .txt "
        "caption beside each image, or list captions in a metadata.jsonl")


def test_a_bug_is_not_shown_to_the_visitor(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("/srv/secret/path")

    monkeypatch.setattr("mandc.ui.app.advise", broken)
    with pytest.raises(gr.Error) as caught:
        recommend_callback(None, "scenes-day", None, None, "mandc", 3)
    assert caught.value.message.startswith("Something went wrong on the server")
    assert "secret" not in caught.value.message


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


def test_app_builds_without_server_paths_in_the_page():
    app = build_app()
    assert app.title == "M&C · Match & Choose"
    texts = [block.value or "" for block in app.blocks.values() if isinstance(block, gr.Markdown)]
    assert any("graph: shipped mini-zoo graph (minizoo)" in text for text in texts)
    assert not any(str(shipped_graph_dir()) in text for text in texts)


def test_public_text_cuts_absolute_paths_to_their_last_part():
    assert public_text("no such folder or file: '/srv/data/cats' (nor is it a Hub id like "
                       "'owner/name')") == ("no such folder or file: 'cats' (nor is it a Hub id "
                                            "like 'owner/name')")
    assert public_text("/srv/x/set.zip:train/a.png: bad") == "set.zip:train/a.png: bad"
    kept = "upload/cat.png: 1 of 2 images (train/, test/...) in images/"
    assert public_text(kept) == kept
