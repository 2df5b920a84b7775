"""Every environment variable and default M&C reads, in one place.

Read lazily through :func:`get_settings` so tests can change the environment and call
``get_settings.cache_clear()``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_positive_int(name: str, default: int) -> int:
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return number


def _env_positive_float(name: str, default: float) -> float:
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
    return number


def default_home() -> Path:
    """``$XDG_CACHE_HOME/mandc``, else ``~/.cache/mandc``: where MANDC_HOME points when unset."""
    return _env_path("XDG_CACHE_HOME", Path.home() / ".cache") / "mandc"


@dataclass(frozen=True)
class Settings:
    home: Path
    """MANDC_HOME: where graphs, caches and runs live by default (``default_home()``)."""
    cache_dir: Path
    """MANDC_CACHE: feature cache (MANDC_HOME/cache)."""
    hub_offline: bool
    """HF_HUB_OFFLINE: never touch the network."""
    default_featurizer: str
    """MANDC_FEATURIZER: featurizer used when none is named."""
    device: str
    """MANDC_DEVICE: torch device for encoders and fine-tunes ('cpu', 'cuda'...)."""
    graph_repo: str | None
    """MANDC_GRAPH_REPO: Hub dataset repo id of the shared graph, if any."""
    space_graph: str | None
    """MANDC_SPACE_GRAPH: graph directory the app serves (default graph when unset)."""
    author: str = "mandc"
    """MANDC_AUTHOR: recorded as the author of the score rows this machine profiles."""
    hub_timeout: float = 60.0
    """MANDC_HUB_TIMEOUT: seconds a graph-repo request may wait for the Hub before it is retried."""
    hub_attempts: int = 5
    """MANDC_HUB_ATTEMPTS: tries of a push or compaction before it gives up (conflicts, 5xx)."""
    hub_backoff: float = 1.0
    """MANDC_HUB_BACKOFF: first wait between tries in seconds; doubles up to 16× (jittered)."""
    app_hub_wait: float = 6.0
    """MANDC_APP_HUB_WAIT: seconds the Space waits in all (two tries) for the Hub to answer about a
    visitor's Hub dataset before saying it could not be reached; the CLI's reads keep the
    ``datasets`` library's own retries (about 25 s when the Hub is away)."""
    catalog_ttl: float = 86_400.0
    """MANDC_CATALOG_TTL: seconds a cached candidate catalogue (``mandc catalog``) stays fresh;
    after that it is read again from the Hub, and kept as the fallback when the Hub is away."""
    threads: int = 1
    """MANDC_THREADS: torch CPU threads of each profiled pair, alone or in a grid worker.

    The thread count sets the order of float sums in torch's CPU kernels, so a pair's scores
    depend on it (a micro pair: KID 0.432689 on 1 thread, 0.432736 on 2). One count for every
    pair, whatever ``--workers`` is, keeps scores independent of how a grid is laid out; grids
    gain speed from ``--workers`` (the shipped graphs: one thread a pair, two pairs at once).
    """

    @property
    def default_graph_dir(self) -> Path:
        return self.home / "graph"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    home = _env_path("MANDC_HOME", default_home())
    return Settings(
        home=home,
        cache_dir=_env_path("MANDC_CACHE", home / "cache"),
        hub_offline=_truthy(os.environ.get("HF_HUB_OFFLINE")),
        default_featurizer=os.environ.get("MANDC_FEATURIZER", "effnet-minilm"),
        device=os.environ.get("MANDC_DEVICE", "cpu"),
        graph_repo=os.environ.get("MANDC_GRAPH_REPO") or None,
        space_graph=os.environ.get("MANDC_SPACE_GRAPH") or None,
        author=os.environ.get("MANDC_AUTHOR") or "mandc",
        hub_timeout=_env_positive_float("MANDC_HUB_TIMEOUT", 60.0),
        hub_attempts=_env_positive_int("MANDC_HUB_ATTEMPTS", 5),
        hub_backoff=_env_positive_float("MANDC_HUB_BACKOFF", 1.0),
        app_hub_wait=_env_positive_float("MANDC_APP_HUB_WAIT", 6.0),
        catalog_ttl=_env_positive_float("MANDC_CATALOG_TTL", 86_400.0),
        threads=_env_positive_int("MANDC_THREADS", 1),
    )
