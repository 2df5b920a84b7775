"""Test configuration: no network, and a private MANDC_HOME per test session."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import pytest  # noqa: E402

from mandc.settings import get_settings  # noqa: E402


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory, monkeypatch):
    """Every test sees an empty MANDC_HOME so no test reads another's graph or cache."""
    home = tmp_path_factory.mktemp("mandc_home")
    monkeypatch.setenv("MANDC_HOME", str(home))
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
