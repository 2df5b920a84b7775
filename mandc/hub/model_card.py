"""``mandc card``: read a model's card (Hub repo or local folder), add M&C's recommendation,
show the diff, open a pull request or commit it.

The ranking itself comes from :func:`mandc.advise.advise` (the caller runs it, so this layer
stays below the one that ranks); here the card is read, merged (:mod:`.cards`) and written.
Nothing is written before every input has been read and checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import ModelCard, hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from .. import __version__
from ..errors import ConfigError, HubError, ValidationError
from ..graph.matching_graph import MatchingGraph
from .cards import (
    ADAPTER_FILES,
    RELATIONS,
    CardUpdate,
    GraphSource,
    card_metadata,
    is_hub_id,
    updated_card,
    why_section,
)
from .session import api_with_timeout, require_online, require_token, status_of, with_retries

CARD_MESSAGE = "mandc card: why this base model"


@dataclass
class ModelTarget:
    """The model whose card is written: a local folder or a Hub model repo at a commit."""

    model: str
    readme: str
    files: list[str] = field(default_factory=list)
    folder: Path | None = None
    sha: str | None = None

    @property
    def is_adapter(self) -> bool:
        return any(Path(name).name in ADAPTER_FILES for name in self.files)

    @property
    def label(self) -> str:
        return "README.md" if self.folder is None else f"{self.folder.name}/README.md"


def read_target(model: str) -> ModelTarget:
    """The model's files and current card; a missing or unreadable model is one clear error."""
    path = Path(model).expanduser()
    if path.is_dir():
        readme = path / "README.md"
        return ModelTarget(model, readme.read_text(encoding="utf-8") if readme.is_file() else "",
                           [p.relative_to(path).as_posix() for p in path.rglob("*")
                            if p.is_file()], folder=path)
    if not is_hub_id(model):
        raise ValidationError(f"{model!r} is neither a model folder here nor a Hub model id "
                              f"(OWNER/NAME)")
    api = api_with_timeout()

    def attempt(_: int) -> ModelTarget:
        try:
            info = api.model_info(model)
            names = [s.rfilename for s in info.siblings or []]
            readme = ""
            if "README.md" in names:
                local = hf_hub_download(model, "README.md", revision=info.sha)
                readme = Path(local).read_text(encoding="utf-8")
        except GatedRepoError:
            raise HubError(f"model repo {model} is gated: accept its conditions on the Hub and "
                           f"use a token that may read it (HF_TOKEN or `hf auth login`)") from None
        except RepositoryNotFoundError as error:
            if status_of(error) not in (401, 404):
                raise
            raise HubError(f"model repo {model} not found on the Hub, or private and the token "
                           f"cannot read it") from None
        return ModelTarget(model, readme, names, sha=info.sha)

    return with_retries(attempt, action=f"reading model {model}", token=None, repo=model)


def card_graph(spec: str | None) -> tuple[MatchingGraph, GraphSource]:
    """The graph to rank with (as ``--graph`` resolves it) and how the card cites it."""
    from ..graph.defaults import DEFAULT_GRAPH, resolve_graph
    from ..settings import get_settings
    from .graph_repo import pulled_from_repo
    from .repo_id import looks_like_repo

    repo = get_settings().graph_repo if spec is None else (
        spec if looks_like_repo(spec) else None)
    if repo:
        pulled = pulled_from_repo(repo)
        return pulled.graph, GraphSource(repo=pulled.repo.repo_id, revision=pulled.commit)
    graph = resolve_graph(spec)
    if spec is not None:
        return graph, GraphSource(name=f"the graph `{Path(spec).name}`")
    home = get_settings().default_graph_dir / "graph.json"
    name = ("a local graph" if home.is_file() else
            f"the {DEFAULT_GRAPH} graph shipped with mandc")
    return graph, GraphSource(name=name)


def plan_card(target: ModelTarget, advice: dict, graph: MatchingGraph, source: GraphSource, *,
              dataset: str, base: str | None = None, relation: str | None = None,
              top: int = 3) -> CardUpdate:
    """The card with the recommendation of ``advice`` (:func:`mandc.advise.advise` with
    ``top=None``) merged in; ``base`` defaults to the top-ranked model."""
    rows = advice["ranking"]
    if not rows:
        raise ValidationError(f"the graph ranks no model for {dataset!r}")
    base = base or rows[0]["model"]
    if base not in {row["model"] for row in rows}:
        shown = ", ".join(row["model"] for row in rows[:10])
        raise ConfigError(f"--base: base model {base!r} is not among the {len(rows)} models the "
                          f"graph ranks ({shown}{' …' if len(rows) > 10 else ''}); M&C cannot "
                          f"say why it was chosen")
    if relation is not None and relation not in RELATIONS:
        raise ConfigError(f"--relation: {relation!r} is not one of {', '.join(RELATIONS)}")
    relation = relation or ("adapter" if target.is_adapter else "finetune")
    metadata, notes = card_metadata(base, relation, dataset)
    section = why_section({**advice, "ranking": rows[:top], "all": rows}, base, source,
                          {"models": len(graph.models), "datasets": len(graph.datasets),
                           "scores": len(graph.scores)})
    update = updated_card(target.readme, metadata, section, label=target.label)
    update.notes = notes + update.notes
    return update


def write_card(target: ModelTarget, update: CardUpdate, *, create_pr: bool) -> dict:
    """Write the card: a folder's ``README.md``, or one commit (or pull request) on the repo,
    made on the commit the card was read from, so that an edit meanwhile is not overwritten."""
    if not update.changed:
        return {"written": False}
    if target.folder is not None:
        if create_pr:
            raise ConfigError("--apply: a pull request needs a Hub repo; for a local folder use "
                              "--direct to write its README.md")
        path = target.folder / "README.md"
        path.write_text(update.after, encoding="utf-8")
        return {"written": True, "path": str(path)}
    require_online(f"writing the card of {target.model}")
    token = require_token()
    api_with_timeout()  # installs the request timeout ModelCard's upload runs under
    card = ModelCard(update.after)

    def attempt(_: int):
        return card.push_to_hub(target.model, token=token, commit_message=CARD_MESSAGE,
                                commit_description=f"Written by mandc {__version__}.",
                                create_pr=create_pr, parent_commit=target.sha)

    try:
        commit = with_retries(attempt, action=f"writing the card of {target.model}",
                              token=token, repo=target.model)
    except HubError as error:
        if "HTTP 412" in str(error):
            raise HubError(f"the card of {target.model} changed since it was read; run "
                           f"`mandc card` again") from None
        raise
    return {"written": True, "commit": getattr(commit, "oid", None),
            "pr_url": getattr(commit, "pr_url", None), "url": str(commit)}
