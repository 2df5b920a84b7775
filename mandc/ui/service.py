"""The graphs a running Space serves, each read once and kept with its fitted methods.

The server's own graph (its settings: ``$MANDC_SPACE_GRAPH``, ``$MANDC_GRAPH_REPO``, or the
shipped mini-zoo graph) is read at start-up; a Hub graph repo a visitor names is pulled on first
use and kept (a few at most). Each graph carries a dict of fitted methods that
:func:`mandc.advise.advise` fills and reuses, so a dataset of the graph is ranked without a
refit after its first request, and every upload by one fit made for new targets.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..graph.defaults import DEFAULT_GRAPH, default_graph_source, default_shipped_dir, resolve_graph
from ..graph.matching_graph import MatchingGraph
from ..hub.repo_id import GraphRepo
from .graph_files import GraphFiles
from .inputs import public_text

MAX_HUB_GRAPHS = 4
"""Visitor-named Hub graphs kept in memory at once (least recently used dropped first)."""
MAX_PLACED = 8
"""Uploads kept placed in a graph with their fitted methods (least recently used dropped
first), so ranking the same images again (another method, more rows, other candidates)
skips placing and fitting."""


class ImageFiles:
    """Images the page shows again and again (a dataset's real images, sample grids), written
    once to a private temporary folder and handed to Gradio as files: re-encoding them for every
    request costed more than the ranking itself."""

    def __init__(self):
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._paths: dict[str, str] = {}

    def path(self, key: str, make: Callable[[], Image.Image]) -> str:
        """The file of image ``key`` (a name made of ids), drawn by ``make`` the first time."""
        with self._lock:
            if key in self._paths:
                return self._paths[key]
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="mandc-images-"))
        file = self._folder / f"{len(self._paths):05d}.png"
        make().save(file)
        with self._lock:
            return self._paths.setdefault(key, str(file))


@dataclass
class Placed:
    """A visitor's target placed in a served graph, and the methods fitted for it there."""

    graph: MatchingGraph
    target: str
    fitted: dict = field(default_factory=dict)


@dataclass
class ServedGraph:
    """One graph as the app uses it: the graph, its name for the page (no server path), the
    local folder of its files (``None`` when it has none here), its sample grids and run records
    (``files``: from that folder, or from the Hub repo it was read from) and its fitted
    methods."""

    graph: MatchingGraph
    label: str
    folder: Path | None
    fitted: dict = field(default_factory=dict)
    images: ImageFiles = field(default_factory=ImageFiles)
    files: GraphFiles | None = None
    source: dict = field(default_factory=dict)
    """Where the graph came from, as a model card cites it: ``repo`` and ``revision``, or
    ``name``."""
    _costs: object = field(default=None, repr=False)
    _placed: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        if self.files is None:
            self.files = GraphFiles(self.folder)

    def placed(self, key: tuple) -> Placed | None:
        """The graph a target (``key``: its fingerprint and name) was placed in before, if kept."""
        with self._lock:
            if key in self._placed:
                self._placed.move_to_end(key)
                return self._placed[key]
        return None

    def keep_placed(self, key: tuple, placed: Placed) -> None:
        with self._lock:
            self._placed[key] = placed
            while len(self._placed) > MAX_PLACED:
                self._placed.popitem(last=False)

    def sample_grid(self, model: str, dataset: str) -> Path | None:
        """The grid of images ``model`` generated after its fine-tune on ``dataset``, if kept."""
        return self.files.sample_grid(model, dataset)

    def costs(self):
        """The fine-tune cost of the graph's models (:class:`.cost.FinetuneCosts`), from its
        run records, read once."""
        if self._costs is None:
            from .cost import FinetuneCosts

            self._costs = FinetuneCosts.from_runs(self.files.runs(), self.graph.models)
        return self._costs


class GraphServer:
    """The server's graph and visitor-named Hub graphs (see the module docstring)."""

    def __init__(self, graph_dir: str | None = None):
        _small_algebra_single_threaded()
        self._lock = threading.Lock()
        self._hub: OrderedDict[str, ServedGraph] = OrderedDict()
        self.default = _server_graph(graph_dir)

    def warm(self, method: str = "mandc") -> threading.Thread:
        """Load the graph's encoders and fit ``method`` for new targets (uploads: ranked out
        of sample, no refit), then fit it held out for every profiled dataset of the server's
        graph, in a background thread, so that the first upload waits neither for the encoders
        nor for a fit and the first visitor of each dataset is answered from the cache too."""
        from ..advise import advise, fitted_for_new_targets

        def fit_all():
            self.default.costs()  # reads the run records (fetched, for a Hub graph)
            graph = self.default.graph
            _load_encoders(graph)
            if graph.meta.get("featurizer"):  # uploads can be placed in it
                fitted_for_new_targets(graph, method, fitted=self.default.fitted)
            for dataset in sorted(set(graph.measured_scores["dataset"].astype(str))):
                advise(graph, dataset, method=method, top=1, hold_out=True,
                       fitted=self.default.fitted)
            _import_pipelines()

        thread = threading.Thread(target=fit_all, name="mandc-warm", daemon=True)
        thread.start()
        return thread

    def get(self, repo: GraphRepo | None) -> ServedGraph:
        """The server's graph (``repo`` None) or the Hub graph ``repo``, pulled once."""
        if repo is None:
            return self.default
        key = str(repo)
        with self._lock:
            if key in self._hub:
                self._hub.move_to_end(key)
                return self._hub[key]
        from ..hub.graph_repo import pull_graph

        pulled = pull_graph(repo)
        served = ServedGraph(pulled.graph, f"Hub graph {key}", None,
                             files=GraphFiles(None, pulled.repo, pulled.commit),
                             source={"repo": pulled.repo.repo_id, "revision": pulled.commit})
        with self._lock:
            self._hub[key] = served
            while len(self._hub) > MAX_HUB_GRAPHS:
                self._hub.popitem(last=False)
        return served


def _import_pipelines() -> None:
    """Import diffusers and the zoo's pipeline once, so that the first preview does not pay
    their 4-8 s of imports (a Space without the [profile] extra has no previews)."""
    with contextlib.suppress(ImportError):
        from ..minizoo import models, pipeline  # noqa: F401
        from ..profile import finetune  # noqa: F401


def _server_graph(graph_dir: str | None) -> ServedGraph:
    """The server's graph: a Hub repo (``graph_dir`` or ``$MANDC_GRAPH_REPO``) is pulled with
    its commit, so its sample grids and run records can be fetched from that commit later."""
    from ..hub.repo_id import looks_like_repo
    from ..settings import get_settings

    spec = graph_dir if graph_dir is not None else get_settings().graph_repo
    if spec and looks_like_repo(spec):
        from ..hub.graph_repo import pulled_from_repo

        pulled = pulled_from_repo(str(spec))
        return ServedGraph(pulled.graph, _label(graph_dir), None,
                           files=GraphFiles(None, pulled.repo, pulled.commit),
                           source={"repo": pulled.repo.repo_id, "revision": pulled.commit})
    folder = _folder(graph_dir)
    shipped = graph_dir is None and folder is not None and folder == default_shipped_dir()
    name = (f"the {DEFAULT_GRAPH} graph shipped with mandc" if shipped else
            f"the graph `{public_text(str(graph_dir or folder))}`" if graph_dir or folder else
            "the example graph shipped with mandc")
    return ServedGraph(resolve_graph(graph_dir), _label(graph_dir), folder,
                       source={"name": name})


def _load_encoders(graph: MatchingGraph) -> None:
    """The featurizer that describes uploads for ``graph``, loaded (seconds, once per process);
    nothing when the graph has none or its packages are missing (an upload then says so)."""
    from ..errors import ConfigError
    from ..features import get_featurizer

    featurizer = graph.meta.get("featurizer")
    if featurizer:
        try:
            get_featurizer(featurizer.split("@", 1)[0]).load()
        except ConfigError:
            pass


def _label(graph_dir: str | None) -> str:
    """The graph's name for the page: a repo id or a folder's last part, never a full path."""
    return public_text(graph_dir or default_graph_source())


def _folder(graph_dir: str | None) -> Path | None:
    """The local folder of the server's graph, where its sample grids are (if any)."""
    if graph_dir and Path(graph_dir).is_dir():
        return Path(graph_dir)
    if graph_dir:
        return None
    from ..settings import get_settings

    if get_settings().graph_repo:
        return None
    home = get_settings().default_graph_dir
    if (home / "graph.json").is_file():
        return home
    shipped = default_shipped_dir()
    return shipped if (shipped / "graph.json").is_file() else None


def _small_algebra_single_threaded() -> None:
    """numpy's BLAS on one thread for the serving process. A request's algebra is small
    (descriptors of ~100 images, matrices of a few dozen datasets), where BLAS threads cost more
    than they save, and concurrent requests would make them fight for the cores: summarising
    100 embeddings took 0.1–0.3 s on two threads, 0.02 s on one. Torch's threads (the encoders)
    are not BLAS's and keep their count."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
