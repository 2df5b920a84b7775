"""A visitor's Hub dataset id when the Hub cannot help: a bounded wait, then a message in the
visitor's terms. The Hub is the loopback stand-in (``tests/hub_stand_in.py``), reached by
huggingface_hub's own client in this process, or a closed local port."""

from __future__ import annotations

import socket
import time

import gradio as gr
import pytest
from huggingface_hub import constants
from test_hub import serve_stand_in

from mandc.errors import DatasetLoadError
from mandc.settings import get_settings
from mandc.ui.callbacks import recommend_callback
from mandc.ui.hub_check import check_hub_dataset, unreachable_message
from mandc.ui.service import GraphServer

WAIT_S = 2.0


@pytest.fixture
def hub(tmp_path):
    yield from serve_stand_in(tmp_path / "hub-root")


@pytest.fixture
def point_hub_at(monkeypatch):
    """This process's Hub client goes to ``url``, online (the suite runs offline otherwise),
    and the Space waits ``WAIT_S`` seconds for it."""
    def point(url: str) -> None:
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setenv("MANDC_APP_HUB_WAIT", str(WAIT_S))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", url)
        get_settings.cache_clear()
    return point


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _timed_rank(hub_id: str) -> tuple[gr.Error, float]:
    server = GraphServer()
    start = time.monotonic()
    with pytest.raises(gr.Error) as caught:
        recommend_callback(server, None, hub_id, None)
    return caught.value, time.monotonic() - start


def test_a_hub_that_does_not_answer_is_said_within_the_wait(hub, point_hub_at):
    hub.faults({"route": "repo_info", "action": "delay", "seconds": 30})
    point_hub_at(hub.url)
    error, waited = _timed_rank("someone/photos")
    assert error.message == unreachable_message("someone/photos")
    assert error.message == ("The Hub dataset 'someone/photos' could not be reached from this "
                             "Space; upload the images instead.")
    assert WAIT_S * 0.9 <= waited <= WAIT_S + 1.5  # both tries waited, and no longer
    assert [rule["fired"] for rule in hub.control("/_stand_in/faults")] == [2]  # two tries


def test_a_closed_port_is_said_at_once(point_hub_at):
    point_hub_at(f"http://127.0.0.1:{_closed_port()}")
    error, waited = _timed_rank("someone/photos")
    assert error.message == unreachable_message("someone/photos")
    assert waited <= WAIT_S + 1.5


def test_a_dataset_the_hub_does_not_have_is_named(hub, point_hub_at):
    point_hub_at(hub.url)
    start = time.monotonic()
    with pytest.raises(DatasetLoadError, match="There is no public Hub dataset 'someone/none'"):
        check_hub_dataset("someone/none")
    assert time.monotonic() - start <= WAIT_S


def test_offline_nothing_is_asked(point_hub_at, monkeypatch):
    point_hub_at(f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    assert check_hub_dataset("someone/photos") is None  # the datasets cache may hold it
