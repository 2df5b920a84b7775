"""The Gradio app that the Space serves (``app.build_app``)."""

from .app import build_app, launch_options

__all__ = ["build_app", "launch_options"]
