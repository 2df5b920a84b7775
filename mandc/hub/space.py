"""``mandc space deploy``: the M&C app as a Hugging Face Space, in one commit.

The Space gets exactly what the app needs: ``app.py``, ``requirements.txt`` (and
``pyproject.toml`` when the requirements install the package from ``.``), the Space card from
``space_config/README.md`` as its ``README.md``, and the ``mandc`` package source with the data
the app reads (the shipped graph's tables, the examples, the mini-zoo weights the probe loads) —
not the profiling artefacts (sample grids, run records) nor the benchmarks' extra graphs. Files
the Space holds beyond these are deleted in the same commit, so an update leaves no stale code.
``MANDC_GRAPH_REPO`` is set as a Space variable: the app then serves that shared graph.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, SpaceCard
from huggingface_hub.errors import RepositoryNotFoundError

from ..errors import ConfigError, HubError, ValidationError
from ..graph.defaults import DEFAULT_GRAPH
from .cards import is_hub_id
from .repo_id import parse_repo
from .session import api_with_timeout, require_online, require_token, with_retries

REPO_TYPE = "space"
SDK = "gradio"
VARIABLE = "MANDC_GRAPH_REPO"
ROOT_FILES = ("app.py", "requirements.txt")
CARD_SOURCE = "space_config/README.md"
PACKAGE_EXCLUDES = ("*/__pycache__/*", "*.pyc", "graphs/*/samples/*", "graphs/*/runs/*")
"""Package paths (relative to ``mandc/``) the app never reads; nor does it read any shipped
graph but the default one (:data:`mandc.graph.defaults.DEFAULT_GRAPH`)."""
KEPT = (".gitattributes",)
"""Files of the Space repo that a deploy never deletes."""


@dataclass
class SpacePlan:
    """What a deploy sends: path in the Space → local file (or bytes for the card)."""

    space: str
    files: dict[str, Path | bytes]
    graph_repo: str | None
    hardware: str | None
    private: bool

    @property
    def size(self) -> int:
        return sum(len(v) if isinstance(v, bytes) else v.stat().st_size
                   for v in self.files.values())


@dataclass
class SpaceResult:
    space: str
    url: str
    dry_run: bool
    files: int
    bytes: int
    deleted: list[str] = field(default_factory=list)
    commit: str | None = None
    created: bool = False
    graph_repo: str | None = None
    hardware: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def project_root() -> Path:
    """The checkout that holds the app beside the ``mandc`` package."""
    import mandc

    root = Path(mandc.__file__).resolve().parent.parent
    missing = [name for name in (*ROOT_FILES, CARD_SOURCE) if not (root / name).is_file()]
    if missing:
        raise ConfigError(f"mandc space deploy runs from a checkout of M&C: {', '.join(missing)} "
                          f"not found beside the mandc package")
    return root


def space_files(root: Path) -> dict[str, Path | bytes]:
    """Every file the Space needs, by its path in the Space."""
    files: dict[str, Path | bytes] = {name: root / name for name in ROOT_FILES}
    requirements = (root / "requirements.txt").read_text().splitlines()
    if any(line.strip() in (".", "-e .") for line in requirements):
        if not (root / "pyproject.toml").is_file():
            raise ConfigError("requirements.txt installs '.', but there is no pyproject.toml")
        files["pyproject.toml"] = root / "pyproject.toml"
    package = root / "mandc"
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package).as_posix()
        other_graph = (relative.startswith("graphs/")
                       and not relative.startswith(f"graphs/{DEFAULT_GRAPH}/"))
        if path.is_file() and not other_graph and not any(fnmatch.fnmatch(relative, pattern)
                                                          for pattern in PACKAGE_EXCLUDES):
            files[f"mandc/{relative}"] = path
    return files


def space_card(root: Path, graph_repo: str | None) -> bytes:
    """The Space card of ``space_config/``; with a graph repo, the card also lists it under
    ``datasets`` (the Hub then links the Space and the graph)."""
    source = root / CARD_SOURCE
    try:
        card = SpaceCard(source.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValidationError(f"malformed front matter: {error}", file=CARD_SOURCE) from None
    if card.data.get("sdk") != SDK:
        raise ValidationError(f"the Space card must say sdk: {SDK}", file=CARD_SOURCE)
    if graph_repo:
        listed = list(card.data.get("datasets") or [])
        if graph_repo not in listed:
            card.data.datasets = [*listed, graph_repo]
    return str(card).encode()


def plan_deploy(space: str, *, graph_repo: str | None = None, hardware: str | None = None,
                private: bool = False) -> SpacePlan:
    """Check every input and list the files; nothing is sent."""
    if not is_hub_id(space):
        raise ConfigError(f"--space: {space!r} is not a Space id; expected OWNER/NAME")
    if graph_repo:
        graph_repo = str(parse_repo(graph_repo))
    if hardware is not None:
        from huggingface_hub import SpaceHardware

        flavors = [flavor.value for flavor in SpaceHardware]
        if hardware not in flavors:
            raise ConfigError(f"--hardware: unknown Space hardware {hardware!r}; one of "
                              f"{', '.join(flavors)}")
    root = project_root()
    files = space_files(root)
    files["README.md"] = space_card(root, graph_repo)
    return SpacePlan(space, files, graph_repo, hardware, private)


def deploy_space(plan: SpacePlan, *, dry_run: bool = False,
                 message: str | None = None) -> SpaceResult:
    """Create or update the Space in one commit, set its variable and hardware."""
    from huggingface_hub import constants

    url = f"{constants.ENDPOINT}/spaces/{plan.space}"
    result = SpaceResult(plan.space, url, dry_run, len(plan.files), plan.size,
                         graph_repo=plan.graph_repo, hardware=plan.hardware)
    if dry_run:
        return result
    require_online(f"deploying the Space {plan.space}")
    token = require_token()
    api = api_with_timeout()

    def attempt(_: int) -> SpaceResult:
        try:
            existing = api.list_repo_files(plan.space, repo_type=REPO_TYPE, token=token)
        except RepositoryNotFoundError:
            api.create_repo(plan.space, repo_type=REPO_TYPE, space_sdk=SDK,
                            private=plan.private, exist_ok=True, token=token)
            result.created = True
            existing = api.list_repo_files(plan.space, repo_type=REPO_TYPE, token=token)
        result.deleted = sorted(path for path in existing
                                if path not in plan.files and path not in KEPT)
        operations = [CommitOperationAdd(path, content if isinstance(content, bytes)
                                         else str(content))
                      for path, content in plan.files.items()]
        operations += [CommitOperationDelete(path) for path in result.deleted]
        commit = api.create_commit(plan.space, operations, repo_type=REPO_TYPE, token=token,
                                   commit_message=message or "mandc space deploy")
        result.commit = commit.oid
        if plan.graph_repo:
            api.add_space_variable(plan.space, VARIABLE, plan.graph_repo, token=token,
                                   description="the Hub graph repo the M&C app serves")
        if plan.hardware:
            api.request_space_hardware(plan.space, plan.hardware, token=token)
        return result

    try:
        return with_retries(attempt, action=f"deploying the Space {plan.space}", token=token,
                            repo=plan.space)
    except HubError as error:
        raise HubError(str(error).replace("dataset repo", "Space")) from None
