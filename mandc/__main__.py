"""``python -m mandc`` runs the ``mandc`` command."""

import sys

from .cli import main

sys.exit(main())
