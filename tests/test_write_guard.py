"""The guard that keeps the suite out of the user's caches and the repository tree."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import write_guard

from mandc.features.cache import cache_path
from mandc.settings import get_settings


@pytest.fixture(scope="module")
def settings_seen_by_a_module_fixture():
    """Module fixtures run before the per-test MANDC_HOME: they must still see a private one."""
    return get_settings.__wrapped__()


def test_module_fixtures_get_a_private_home_not_the_users(settings_seen_by_a_module_fixture):
    session_home = Path(os.environ["XDG_CACHE_HOME"]).parent / "mandc-home"
    assert settings_seen_by_a_module_fixture.home == session_home
    assert settings_seen_by_a_module_fixture.cache_dir == session_home / "cache"


def test_each_test_caches_features_in_its_own_home(_private_home):
    assert cache_path("abc", "effnet-minilm@1").parent == (_private_home / "cache" / "features"
                                                           / "effnet-minilm_1")


def test_libraries_read_the_session_cache_folders():
    import huggingface_hub.constants

    session = Path(os.environ["XDG_CACHE_HOME"]).parent
    assert session.name.startswith("mandc-tests-")
    assert Path(huggingface_hub.constants.HF_HOME) == session / "hf"
    assert Path(huggingface_hub.constants.HF_HUB_CACHE) == session / "hf" / "hub"
    for name, folder in write_guard.CACHE_VARIABLES.items():
        if name != "MANDC_HOME":  # each test has its own
            assert Path(os.environ[name]) == session / folder


def test_redirect_points_every_cache_at_the_session_and_drops_user_settings(tmp_path):
    environ = {"MANDC_CACHE": "/home/me/cache", "MANDC_FEATURIZER": "clip:x", "PATH": "/bin",
               "TRANSFORMERS_CACHE": "/home/me/tf", "HF_HOME": "/home/me/hf"}
    write_guard.redirect_caches(tmp_path, environ)
    assert environ["HF_HOME"] == str(tmp_path / "hf") and (tmp_path / "hf").is_dir()
    assert environ["MANDC_HOME"] == str(tmp_path / "mandc-home")
    assert environ["PATH"] == "/bin"
    assert not {"MANDC_CACHE", "MANDC_FEATURIZER", "TRANSFORMERS_CACHE"} & environ.keys()


def test_watched_places_follow_the_users_environment(tmp_path, monkeypatch):
    for name in (*write_guard.CACHE_VARIABLES, "MANDC_CACHE", *write_guard.DROPPED_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("MANDC_CACHE", str(tmp_path / "xdg" / "mandc" / "features-here"))
    deep, shallow = write_guard.watched_places()
    xdg = tmp_path / "xdg"
    assert deep == sorted([xdg / "mandc", tmp_path / "hf", xdg / "torch", xdg / "matplotlib",
                           tmp_path / "me" / ".config" / "matplotlib"])  # nested ones merged
    assert shallow == [xdg]


def test_a_write_to_a_watched_folder_is_named(tmp_path):
    cache, home = tmp_path / "cache", tmp_path / "home"
    (cache / "mandc" / "__pycache__").mkdir(parents=True)
    (cache / "mandc" / "old.npz").write_bytes(b"1")
    before = write_guard.snapshot([cache / "mandc", home / "torch"], [cache], None)
    assert write_guard.differences(before, before) == []

    (cache / "mandc" / "old.npz").write_bytes(b"12")
    (cache / "mandc" / "cache" / "features").mkdir(parents=True)
    (cache / "mandc" / "cache" / "features" / "x.npz").write_bytes(b"")
    (cache / "mandc" / "__pycache__" / "m.pyc").write_bytes(b"")  # Python's, not the tests'
    (cache / "gradio").mkdir()  # a new cache folder of some library
    (home / "torch").mkdir(parents=True)
    after = write_guard.snapshot([cache / "mandc", home / "torch"], [cache], None)
    assert write_guard.differences(before, after) == [
        f"new: {cache / 'gradio'}", f"new: {cache / 'mandc' / 'cache'}",
        f"new: {cache / 'mandc' / 'cache' / 'features'}",
        f"new: {cache / 'mandc' / 'cache' / 'features' / 'x.npz'}",
        f"changed: {cache / 'mandc' / 'old.npz'}", f"new: {home / 'torch'}"]
    shutil.rmtree(cache / "mandc")
    gone = write_guard.differences(after, write_guard.snapshot([cache / "mandc"], [cache], None))
    assert f"removed: {cache / 'mandc' / 'old.npz'}" in gone


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_file_written_into_the_repository_is_named(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / ".gitignore").write_text("/runs/\n")
    (repo / "pkg" / "code.py").write_text("x = 1\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], check=True)
    before = write_guard.snapshot([], [], repo)
    assert before == {}

    (repo / "pkg" / "code.py").write_text("x = 2\n")
    (repo / "pkg" / "graph.parquet").write_bytes(b"")
    (repo / "runs").mkdir()
    (repo / "runs" / "record.json").write_text("{}")  # ignored by git, still the repo's tree
    (repo / "pkg" / "__pycache__").mkdir()
    (repo / "pkg" / "__pycache__" / "code.cpython-311.pyc").write_bytes(b"")
    (repo / ".pytest_cache").mkdir()
    (repo / ".pytest_cache" / "README.md").write_text("")
    found = write_guard.differences(before, write_guard.snapshot([], [], repo))
    assert found == [f"modified: {repo / 'pkg' / 'code.py'}",
                     f"untracked: {repo / 'pkg' / 'graph.parquet'}",
                     f"ignored by git: {repo / 'runs'}"]
