"""Where a test run must not write, and what it wrote there.

The suite must leave the user's caches (M&C's home, the Hugging Face, torch and matplotlib
caches) and the repository tree as it found them. :func:`redirect_caches` points every cache a
library reads from the environment at a folder of the session; :func:`snapshot` records the
watched places before and after the session and :func:`differences` names what changed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IGNORED_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache"}
"""Folders Python and pytest write next to the code on every run; not the tests' doing."""

CACHE_VARIABLES = {
    "HF_HOME": "hf", "HF_HUB_CACHE": "hf/hub", "HF_ASSETS_CACHE": "hf/assets",
    "HF_DATASETS_CACHE": "hf/datasets", "HF_XET_CACHE": "hf/xet", "TORCH_HOME": "torch",
    "SENTENCE_TRANSFORMERS_HOME": "sentence-transformers", "XDG_CACHE_HOME": "xdg-cache",
    "MPLCONFIGDIR": "matplotlib", "GRADIO_TEMP_DIR": "gradio", "MANDC_HOME": "mandc-home",
}
"""Environment variables naming a cache or config folder, and their folder in the session's."""

DROPPED_VARIABLES = ("TRANSFORMERS_CACHE", "PYTORCH_PRETRAINED_BERT_CACHE")
"""Older cache variables that would outrank HF_HOME when the user has them set."""


def watched_places() -> tuple[list[Path], list[Path]]:
    """(folders watched file by file, folders whose direct entries are watched).

    Read from the environment as it is now; call it before :func:`redirect_caches`, so that it
    names where the caches of the person running the tests are.
    """
    from mandc.settings import get_settings

    def path_of(name: str, default: Path) -> Path:
        value = os.environ.get(name)
        return Path(value).expanduser() if value else default

    mandc = get_settings.__wrapped__()  # read afresh, without filling the settings cache
    cache = path_of("XDG_CACHE_HOME", Path.home() / ".cache")
    deep = [mandc.home, mandc.cache_dir, path_of("HF_HOME", cache / "huggingface"),
            path_of("TORCH_HOME", cache / "torch"), cache / "matplotlib",
            path_of("MPLCONFIGDIR", Path.home() / ".config" / "matplotlib")]
    deep += [Path(os.environ[name]).expanduser() for name in CACHE_VARIABLES.keys()
             | set(DROPPED_VARIABLES) if name != "XDG_CACHE_HOME" and os.environ.get(name)]
    deep = {path.resolve() for path in deep}
    outermost = sorted(path for path in deep if not any(other in path.parents for other in deep))
    return outermost, [cache.resolve()]


def redirect_caches(session_dir: Path, environ=os.environ) -> None:
    """Point every cache variable at ``session_dir`` and drop the user's M&C settings."""
    for name, folder in CACHE_VARIABLES.items():
        path = session_dir / folder
        path.mkdir(parents=True, exist_ok=True)
        environ[name] = str(path)
    for name in [name for name in environ if name.startswith("MANDC_") and name != "MANDC_HOME"]:
        del environ[name]
    for name in DROPPED_VARIABLES:
        environ.pop(name, None)


GIT_STATES = {"??": "untracked", "!!": "ignored by git", " M": "modified", "M ": "modified",
              "MM": "modified", " D": "deleted", "D ": "deleted", "A ": "added"}
"""Words for git's status codes, as the guard's message shows them."""


def _ignored(path: Path) -> bool:
    return any(part in IGNORED_NAMES for part in path.parts) or path.suffix == ".pyc"


def _files_below(root: Path) -> dict[str, object]:
    """Every entry below ``root`` (and ``root`` itself): files with size and mtime."""
    if not root.exists():
        return {}
    entries: dict[str, object] = {str(root): "folder"}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in IGNORED_NAMES]
        for name in subfolders:
            entries[os.path.join(folder, name)] = "folder"
        for name in files:
            path = os.path.join(folder, name)
            try:
                stat = os.lstat(path)
            except OSError:  # gone while walking
                continue
            entries[path] = (stat.st_size, stat.st_mtime_ns)
    return entries


def _entries_in(folder: Path) -> dict[str, object]:
    if not folder.is_dir():
        return {}
    return {str(folder / name): "entry" for name in os.listdir(folder)}


def repository_state(root: Path) -> dict[str, object]:
    """Untracked, modified and ignored entries of the git checkout at ``root`` (its status
    codes), without Python's and pytest's own caches; empty when ``root`` is not a checkout."""
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "-C", top, "status", "--porcelain=v1", "-z",
             "--untracked-files=all", "--ignored=matching", "--", str(root)],
            capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    entries, records = {}, iter(status.split("\0"))
    for record in records:
        if not record:
            continue
        code, name = record[:2], record[3:]
        if code[0] in "RC":
            next(records, None)  # a rename also names its source
        path = Path(top) / name
        if not _ignored(path):
            entries[str(path)] = GIT_STATES.get(code, f"git {code.strip()}")
    return entries


def snapshot(deep: list[Path], shallow: list[Path], repository: Path | None) -> dict[str, object]:
    """What the watched places hold now: path → (size, mtime), an entry marker or git's state."""
    state: dict[str, object] = {}
    for folder in shallow:
        state.update(_entries_in(folder))
    for folder in deep:
        state.update(_files_below(folder))
    if repository is not None:
        state.update(repository_state(repository))
    return state


def differences(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """One line per path that appeared, changed or disappeared between two snapshots."""
    lines = [f"{after[path] if after[path] in GIT_STATES.values() else 'new'}: {path}"
             for path in after if path not in before]
    lines += [f"changed: {path}" for path in after
              if path in before and after[path] != before[path]]
    lines += [f"removed: {path}" for path in before if path not in after]
    return sorted(lines, key=lambda line: line.split(": ", 1)[1])
