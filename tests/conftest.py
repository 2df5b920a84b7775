"""Test configuration: no network, and nothing written outside temporary folders.

Before any test module is imported, every cache folder a library or M&C reads from the
environment is pointed at a folder of this session, and the person's own MANDC_* settings are
dropped: module-scoped fixtures run before the per-test fixture below, and libraries such as
huggingface_hub read their cache paths once, at import. Each test then gets its own empty
MANDC_HOME. The user's caches and the repository tree are recorded now and compared when the
session ends; anything that appeared or changed there fails the run, named path by path.
"""

import os
import shutil
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import pytest  # noqa: E402
import write_guard  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
_WATCHED = write_guard.watched_places()  # the user's caches: read before redirecting them
_BEFORE = write_guard.snapshot(*_WATCHED, REPOSITORY)
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="mandc-tests-"))
write_guard.redirect_caches(_SESSION_DIR)

from mandc.settings import get_settings  # noqa: E402

get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory, monkeypatch):
    """Every test sees an empty MANDC_HOME so no test reads another's graph or cache."""
    home = tmp_path_factory.mktemp("mandc_home")
    monkeypatch.setenv("MANDC_HOME", str(home))
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _nothing_written_to_home_or_repository():
    """Fails the session (an error at the last teardown) when the tests wrote to the user's
    caches or the repository tree; the message lists every such path."""
    yield
    found = write_guard.differences(_BEFORE, write_guard.snapshot(*_WATCHED, REPOSITORY))
    if found:
        shown = "\n  ".join(found[:40]) + (f"\n  … and {len(found) - 40} more"
                                            if len(found) > 40 else "")
        pytest.fail("the tests wrote outside their temporary folders, to the user's caches or "
                    "the repository (or another program wrote there meanwhile):"
                    f"\n  {shown}", pytrace=False)


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
