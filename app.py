"""Hugging Face Space entry point: build the M&C app and launch it."""

from mandc.settings import get_settings
from mandc.ui.app import build_app, launch_options

if __name__ == "__main__":
    build_app(get_settings().space_graph, warm=True).launch(**launch_options())
