"""Which models the app ranks: the graph's own (the default), or the candidate catalogue filtered
by the visitor, where models the graph never profiled are predicted from their features.

The catalogue needs the Hub for anything beyond the mini zoo; offline it is the last cached
listing or the mini zoo alone, and a Hub failure falls back to the graph's models. Either way the
page says so in one line (a notice), never an error: the ranking itself does not need the Hub.
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from ..errors import ConfigError, MandcError

CATALOG_LIMIT = 20
"""Hub models the catalogue lists at most (the most downloaded that pass the filters)."""
CHOICES = {"graph": "the graph's models", "catalog": "the Hub catalogue (with the graph's models)"}

logger = logging.getLogger(__name__)


def candidate_filters(licences: str | None, max_params_m: float | None,
                      min_resolution: float | None) -> dict:
    """The Advanced section's catalogue filters as :func:`mandc.hub.catalog.candidate_catalog`
    takes them: licence ids (comma-separated), parameters in millions, native side in pixels."""
    names = [name.strip() for name in (licences or "").split(",") if name.strip()]
    filters = {"licences": names or None, "max_params": None, "min_resolution": None,
               "limit": CATALOG_LIMIT}
    if max_params_m not in (None, "") and float(max_params_m) > 0:
        filters["max_params"] = float(max_params_m) * 1e6
    elif max_params_m not in (None, "") and float(max_params_m) < 0:
        raise ConfigError(f"max params must be positive millions, not {max_params_m}")
    if min_resolution not in (None, ""):
        pixels = float(min_resolution)
        if not math.isfinite(pixels) or pixels != int(pixels):
            raise ConfigError(f"min resolution must be a whole number of pixels, not "
                              f"{min_resolution}")
        if pixels < 0:
            raise ConfigError(f"min resolution must be positive pixels, not {min_resolution}")
        if pixels > 0:
            filters["min_resolution"] = int(pixels)
    return filters


def candidate_table(choice: str | None, filters: dict, catalog=None) -> tuple[pd.DataFrame | None,
                                                                            str | None]:
    """(catalogue rows or ``None`` for the graph's models, a notice for the page or ``None``).
    ``catalog``: the function listing the catalogue (:func:`candidate_catalog`, or a table
    for tests)."""
    choice = choice or "graph"
    if choice not in CHOICES:
        raise ConfigError(f"candidates must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "graph":
        return None, None
    if catalog is None:
        from ..hub.catalog import candidate_catalog as catalog
    try:
        table = catalog(**filters) if callable(catalog) else catalog
    except MandcError as error:  # the Hub failed in a way the catalogue does not absorb
        logger.warning("catalogue unavailable: %s", error)
        return None, ("The Hub catalogue could not be read, so the graph's models are ranked "
                      "instead.")
    table = table.copy()
    table.attrs.update(source="catalog", with_graph=True)
    if table.attrs.get("hub_error"):  # the cause is the server's business; the page says it plainly
        logger.warning("catalogue: %s", table.attrs["hub_error"])
    return table, table.attrs.get("notice")
