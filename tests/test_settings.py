"""Settings read from the environment, in one place."""

from pathlib import Path

import pytest

from mandc.errors import ConfigError
from mandc.settings import default_home, get_settings


@pytest.fixture
def fresh(monkeypatch):
    """Settings read afresh after the test changed the environment."""
    def read():
        get_settings.cache_clear()
        return get_settings()
    return read


def test_threads_per_pair_default_to_one_and_follow_mandc_threads(monkeypatch, fresh):
    monkeypatch.delenv("MANDC_THREADS", raising=False)
    assert fresh().threads == 1
    monkeypatch.setenv("MANDC_THREADS", " 4 ")
    assert fresh().threads == 4


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_names_the_variable(monkeypatch, fresh, value):
    monkeypatch.setenv("MANDC_THREADS", value)
    with pytest.raises(ConfigError) as raised:
        fresh()
    assert str(raised.value) == f"MANDC_THREADS must be a positive integer, got '{value}'"


def test_home_defaults_to_the_xdg_cache_and_the_cache_lives_in_it(monkeypatch, fresh, tmp_path):
    monkeypatch.delenv("MANDC_HOME")
    monkeypatch.delenv("MANDC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "mandc"
    assert (fresh().home, fresh().cache_dir) == (tmp_path / "xdg" / "mandc",
                                                 tmp_path / "xdg" / "mandc" / "cache")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert default_home() == Path(tmp_path / "me" / ".cache" / "mandc")
    monkeypatch.setenv("MANDC_CACHE", str(tmp_path / "elsewhere"))
    assert fresh().cache_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(("name", "value"), [("MANDC_HUB_ATTEMPTS", "0"),
                                             ("MANDC_HUB_TIMEOUT", "-1"),
                                             ("MANDC_HUB_BACKOFF", "soon")])
def test_a_bad_hub_setting_names_the_variable(monkeypatch, fresh, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        fresh()


def test_hub_settings_follow_the_environment(monkeypatch, fresh):
    monkeypatch.setenv("MANDC_HUB_ATTEMPTS", "3")
    monkeypatch.setenv("MANDC_HUB_TIMEOUT", "2.5")
    settings = fresh()
    assert (settings.hub_attempts, settings.hub_timeout, settings.hub_backoff) == (3, 2.5, 1.0)
