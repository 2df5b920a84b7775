"""The ``mandc`` command: argument parsing and dispatch (``main``), the zoo and profiling
commands (``zoo``) and the text output (``report``)."""

from .main import main

__all__ = ["main"]
