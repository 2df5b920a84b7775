"""Pull and push a matching graph kept in a Hub dataset repo (compaction: :mod:`.compact`).

- :func:`pull_graph` downloads only the graph's files (``snapshot_download`` with
  ``allow_patterns``) into the Hugging Face cache; ``HF_HUB_OFFLINE=1`` reads the cache.
- :func:`push_graph` adds a local graph's new rows to the repo as new shards in **one** commit,
  after validating them against the repo's ``graph.json``; rows the repo has add nothing.
  A push never rewrites a file, so concurrent pushers need no lock; only a push that must
  change ``graph.json`` (a new metric, or the first push) commits with ``parent_commit``.
  The same commit carries the run records and sample grids of the pushed pairs that the repo
  lacks (:mod:`.pair_files`: scrubbed of local paths, never overwriting a repo file); as their
  names are not digests, a push that sends any also commits with ``parent_commit``.
- :func:`~.compact.compact_graph` folds the shards into one file per table in one commit made with
  ``parent_commit``, deleting exactly the shards it read; a push that lands meanwhile moves the
  head (HTTP 412), and the compaction re-reads and retries, so no row is lost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from huggingface_hub import CommitOperationAdd, get_token, snapshot_download
from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

from .. import __version__
from ..errors import HubError, ValidationError
from ..graph.matching_graph import SCORE_COLUMNS, SIMILARITY_COLUMNS, MatchingGraph
from ..graph.store import NODE_TABLES as NODE_KEYS
from ..graph.store import differing_columns
from ..settings import get_settings
from .layout import (
    GRAPH_PATTERNS,
    RepoGraph,
    card_text,
    contributors,
    read_repo_graph,
    shard_path,
    table_bytes,
)
from .pair_files import FOLDERS as FILE_FOLDERS
from .pair_files import FilePlan, RemoteFile, plan_files
from .repo_id import GraphRepo, parse_repo
from .session import (
    api_with_timeout,
    describe,
    is_transient,
    require_online,
    require_token,
    status_of,
    whoami,
    with_retries,
)

log = logging.getLogger(__name__)

REPO_TYPE = "dataset"
METRIC_CONVENTIONS = ("higher_is_better", "log_scale", "probe")


# ------------------------------------------------------------------------------------- pull
@dataclass
class Pulled:
    """A graph read from a repo, and where it came from."""

    graph: MatchingGraph
    repo: GraphRepo
    commit: str
    folder: Path
    """the snapshot folder in the Hugging Face cache (read-only)."""
    conflicts: list[str] = field(default_factory=list)
    contributors: list[dict] = field(default_factory=list)
    """per author: files, rows, last push time and mandc versions (from shard provenance)."""

    def recipes(self) -> list[dict]:
        """Each recipe hash of the score rows with its row count, most used first."""
        counts = self.graph.scores["recipe_hash"].astype(str).value_counts()
        return [{"recipe_hash": h, "rows": int(n)} for h, n in counts.items()]


def snapshot(repo: GraphRepo, *, token: str | bool | None = None,
             revision: str | None = None) -> Path:
    """The graph's files at a revision, from the cache or downloaded into it."""
    return Path(snapshot_download(repo.repo_id, repo_type=REPO_TYPE,
                                  revision=revision or repo.revision,
                                  allow_patterns=GRAPH_PATTERNS, token=token))


def pull_graph(repo: str | GraphRepo, *, revision: str | None = None) -> Pulled:
    """Download (or read from the cache) the graph of ``repo`` at ``revision``."""
    ref = parse_repo(repo).at(revision)
    api_with_timeout()

    def attempt(_: int) -> Path:
        try:
            return snapshot(ref)
        except LocalEntryNotFoundError as error:
            if get_settings().hub_offline:
                raise HubError(f"{ref} is not in the Hugging Face cache and HF_HUB_OFFLINE=1 "
                               f"forbids downloading it; run `mandc pull {ref}` once online") \
                    from None
            cause = error.__cause__
            reason = describe(cause, "reaching the Hub") if cause else "no cached copy"
            raise HubError(f"cannot read {ref}: {reason}, and it is not in the Hugging Face "
                           f"cache") from None

    folder = with_retries(attempt, action=f"pulling {ref}", token=None, repo=ref.repo_id)
    if not (folder / "graph.json").is_file():
        raise ValidationError(f"{ref} is not a matching graph (no graph.json)")
    read = read_repo_graph(folder, label=f"{ref.repo_id}@{folder.name[:8]}")
    return Pulled(read.graph, ref, folder.name, folder, read.conflicts,
                  contributors(folder, read.files))


def graph_from_repo(spec: str) -> MatchingGraph:
    """The graph of a repo named where a graph directory could be (``--graph``,
    ``$MANDC_GRAPH_REPO``); a plain ``OWNER/NAME`` that is neither says both."""
    return pulled_from_repo(spec).graph


def pulled_from_repo(spec: str) -> Pulled:
    """:func:`graph_from_repo` with where the graph came from (commit, contributors)."""
    try:
        pulled = pull_graph(spec)
    except HubError as error:
        if "@" in spec or spec.startswith("hf://"):
            raise
        raise HubError(f"{spec}: no such graph directory here, and as a Hub repo: {error}") \
            from None
    for line in pulled.conflicts:
        log.warning("%s: %s", spec, line)
    return pulled


# ------------------------------------------------------------------------------------- push
@dataclass
class PushPlan:
    """What a push would add: files (path → bytes) and row counts per table."""

    files: dict[str, bytes]
    added: dict[str, int]
    present: dict[str, int]
    conflicts: list[str] = field(default_factory=list)
    needs_parent: bool = False
    initial: bool = False
    extras: FilePlan = field(default_factory=FilePlan)
    """the run records and sample grids it sends (their bytes are in ``files`` too)."""

    @property
    def empty(self) -> bool:
        return not self.files


@dataclass
class PushResult:
    repo: str
    commit: str | None
    pr_url: str | None
    dry_run: bool
    created: bool
    added: dict[str, int]
    present: dict[str, int]
    files: list[str]
    bytes: int
    conflicts: list[str]
    attempts: int
    note: str = ""
    sent_files: dict[str, int] = field(default_factory=dict)
    """run records (``runs``) and sample grids (``samples``) in the commit."""
    files_present: dict[str, int] = field(default_factory=dict)
    """those the repo already held, byte for byte (not sent again)."""
    scrubbed: list[str] = field(default_factory=list)
    """run records sent with their local paths replaced."""

    def to_dict(self) -> dict:
        return asdict(self)


def load_source(source: str | Path) -> MatchingGraph:
    """A local graph directory (``mandc profile``'s output is one) with any node shards."""
    path = Path(source).expanduser()
    if not path.is_dir():
        raise ValidationError("not a directory", file=str(source))
    return read_repo_graph(path, label=str(source)).graph


def push_graph(source: str | Path | MatchingGraph, repo: str | GraphRepo, *,
               create: bool = False, private: bool = False, message: str | None = None,
               create_pr: bool = False, dry_run: bool = False, files: bool = True,
               samples_dir: str | Path | None = None) -> PushResult:
    """Add the rows of ``source`` that ``repo`` lacks, as new files in one commit; with
    ``files`` (and a folder as ``source``) also its pairs' run records and sample grids (from
    ``samples_dir`` when the run wrote them there)."""
    ref = parse_repo(repo)
    local = source if isinstance(source, MatchingGraph) else load_source(source)
    folder = None if isinstance(source, MatchingGraph) or not files else Path(source).expanduser()
    pairs = set(zip(local.scores["model"].astype(str), local.scores["dataset"].astype(str),
                    strict=True))
    label = "the pushed graph" if isinstance(source, MatchingGraph) else str(source)
    require_online(f"pushing to {ref}")
    # a dry run only reads: a public repo needs no token, and none is asked for
    token = (get_token() or None) if dry_run else require_token()
    api = api_with_timeout()
    author = whoami(api, token) if token else "(no token: dry run)"
    provenance = {"author": author, "mandc_version": __version__,
                  "pushed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    state = {"created": False, "attempts": 0, "sent": None}

    def attempt(number: int):
        state["attempts"] = number
        try:
            info = api.repo_info(ref.repo_id, repo_type=REPO_TYPE, revision=ref.revision,
                                 token=token, files_metadata=folder is not None)
        except RepositoryNotFoundError as error:
            if status_of(error) not in (401, 404) or not create:
                if not create:
                    raise HubError(f"dataset repo {ref.repo_id} does not exist (or the token "
                                   f"cannot see it); add --create to create it") from None
                raise
            if dry_run:
                return _with_files(_plan_initial(local, provenance, label), folder, pairs, {},
                                   token, samples_dir), None
            check_score_rows(local.scores, label=label)  # refused before the repo is created
            api.create_repo(ref.repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True,
                            token=token)
            state["created"] = True
            info = api.repo_info(ref.repo_id, repo_type=REPO_TYPE, revision=ref.revision,
                                 token=token, files_metadata=folder is not None)
        names = {sibling.rfilename for sibling in info.siblings or []}
        if "graph.json" not in names:
            plan = _plan_initial(local, provenance, label)
        else:
            remote = read_repo_graph(snapshot(ref, token=token, revision=info.sha),
                                     label=f"{ref.repo_id}@{info.sha[:8]}")
            plan = plan_push(local, remote, provenance, label=label)
        plan = _with_files(plan, folder, pairs, _remote_files(info), token, samples_dir)
        if plan.empty or dry_run:
            return plan, None
        operations = [CommitOperationAdd(path, content) for path, content in plan.files.items()]
        state["sent"] = plan
        commit = api.create_commit(
            ref.repo_id, operations, repo_type=REPO_TYPE, token=token,
            revision=ref.revision, create_pr=create_pr,
            commit_message=message or _push_message(plan),
            commit_description=f"Pushed by {author} with mandc {__version__}.",
            parent_commit=info.sha if plan.needs_parent or plan.extras.files else None)
        return plan, commit

    plan, commit = with_retries(attempt, action=f"pushing to {ref}", token=token,
                                repo=ref.repo_id, retry_if=retry_commit)
    note = ""
    if plan.empty and state["sent"] is not None:  # a try's commit landed but its answer was lost
        plan = state["sent"]
        note = "an earlier try's commit landed though its answer was lost; nothing was doubled"
    return PushResult(repo=str(ref), commit=commit.oid if commit else None,
                      pr_url=commit.pr_url if commit else None, dry_run=dry_run,
                      created=state["created"], added=plan.added, present=plan.present,
                      files=sorted(plan.files), bytes=sum(map(len, plan.files.values())),
                      conflicts=plan.conflicts, attempts=state["attempts"], note=note,
                      sent_files=plan.extras.added, files_present=plan.extras.present,
                      scrubbed=plan.extras.scrubbed)


def _remote_files(info) -> dict[str, RemoteFile]:
    """The repo's run records and grids with their content ids (``files_metadata``)."""
    remote = {}
    for sibling in info.siblings or []:
        if sibling.rfilename.split("/", 1)[0] in FILE_FOLDERS:
            lfs = getattr(sibling, "lfs", None)
            sha256 = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
                      ) if lfs else None
            remote[sibling.rfilename] = RemoteFile(getattr(sibling, "blob_id", None), sha256)
    return remote


def _with_files(plan: PushPlan, folder: Path | None, pairs: set, remote: dict,
                token: str | None, samples_dir: str | Path | None = None) -> PushPlan:
    """``plan`` with the run records and grids of ``folder``'s pairs the repo lacks."""
    if folder is None:
        return plan
    extras = plan_files(folder, pairs, remote, token=token, samples_dir=samples_dir)
    plan.files.update(extras.files)
    plan.conflicts.extend(extras.conflicts)
    plan.extras = extras
    return plan


def retry_commit(error: BaseException) -> bool:
    """Retry what may pass on a second try: 5xx, timeouts, 409 and, for a push that changes
    ``graph.json``, a moved head (412): the next try re-reads the repo first."""
    return is_transient(error) or status_of(error) == 412


def _push_message(plan: PushPlan) -> str:
    parts = [f"{plan.added.get(t, 0)} {t}" for t in ("scores", "models", "datasets",
                                                      "similarity") if plan.added.get(t)]
    sent = plan.extras.added
    parts += [f"{sent[k]} {name}" for k, name in (("runs", "run records"),
                                                   ("samples", "sample grids")) if sent.get(k)]
    return f"mandc push: {', '.join(parts) or 'graph metadata'}"


def _plan_initial(local: MatchingGraph, provenance: dict,
                  label: str = "the pushed graph") -> PushPlan:
    """The first push: the whole graph in the compacted layout."""
    check_score_rows(local.scores, label=label)
    stamp = {**provenance, "recipes": recipes_of(local.scores)}
    files = {"graph.json": (json.dumps(local.meta, indent=2, sort_keys=True) + "\n").encode(),
             "README.md": card_text(local).encode(),
             "models.parquet": table_bytes(local.models, stamp),
             "datasets.parquet": table_bytes(local.datasets, stamp),
             "similarity.parquet": table_bytes(local.similarity, stamp)}
    if len(local.scores):
        files[shard_path("scores", local.scores)] = table_bytes(local.scores, stamp)
    added = {"models": len(local.models), "datasets": len(local.datasets),
             "scores": len(local.scores), "similarity": len(local.similarity)}
    return PushPlan(files, added, {}, needs_parent=True, initial=True)


def plan_push(local: MatchingGraph, remote: RepoGraph, provenance: dict, *,
              label: str = "the pushed graph") -> PushPlan:
    """Validate ``local`` against the repo's graph and list the shards that add its new rows.

    Refuses (``ValidationError``, nothing written) a newer schema, a metric declared with other
    conventions, another featurizer, a score row without recipe or recipe hash, or one naming
    a model or dataset that neither the repo nor the push has.
    """
    meta, meta_changed = merge_meta(remote.graph.meta, local.meta)
    files: dict[str, bytes] = {}
    added: dict[str, int] = {}
    present: dict[str, int] = {}
    conflicts: list[str] = []
    new_nodes = {}
    for table, key in NODE_KEYS.items():
        ours, theirs = getattr(local, table), getattr(remote.graph, table)
        known = theirs.assign(**{key: theirs[key].astype(str)}).set_index(key)
        is_new = ~ours[key].astype(str).isin(known.index)
        for _, row in ours[~is_new].iterrows():
            differing = differing_columns(known.loc[str(row[key])], row)
            if differing:
                conflicts.append(f"{table} {row[key]!r}: the push differs from the repo on "
                                 f"{', '.join(differing)}; the repo's row is kept")
        new_nodes[table] = ours[is_new]
        present[table] = int((~is_new).sum())
    _check_featurizer(new_nodes["datasets"], meta.get("featurizer"), label)
    scores = _new_rows(local.scores, remote.graph.scores, SCORE_COLUMNS)
    similarity = _new_rows(local.similarity, remote.graph.similarity, SIMILARITY_COLUMNS)
    check_score_rows(scores, label=label)
    models = set(remote.graph.model_ids) | set(new_nodes["models"]["model"].astype(str))
    datasets = set(remote.graph.dataset_ids) | set(new_nodes["datasets"]["dataset"].astype(str))
    for number, row in scores.iterrows():
        for column, ids in (("model", models), ("dataset", datasets)):
            if str(row[column]) not in ids:
                raise ValidationError(f"{column} {row[column]!r} is neither in the repo nor in "
                                      f"the push", file=f"{label}/scores", row=number + 1,
                                      column=column)
    present["scores"] = len(local.scores) - len(scores)
    present["similarity"] = len(local.similarity) - len(similarity)
    for table, rows in (("models", new_nodes["models"]), ("datasets", new_nodes["datasets"]),
                        ("scores", scores), ("similarity", similarity)):
        added[table] = len(rows)
        if len(rows):
            rows = rows.reset_index(drop=True)
            stamp = {**provenance, "table": table, "rows": len(rows)}
            if table == "scores":
                stamp["recipes"] = recipes_of(rows)
            files[shard_path(table, rows)] = table_bytes(rows, stamp)
    if meta_changed:
        files["graph.json"] = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
    return PushPlan(files, added, present, conflicts, needs_parent=meta_changed)


def merge_meta(remote: dict, local: dict) -> tuple[dict, bool]:
    """The repo's ``graph.json`` with the push's new metric declarations, and whether it
    changed; conflicting conventions or featurizers are refused."""
    merged = json.loads(json.dumps(remote))
    changed = False
    ours, theirs = local.get("featurizer"), remote.get("featurizer")
    if ours and theirs and ours != theirs:
        raise ValidationError(f"the push's featurizer is {ours!r}, the repo's {theirs!r}; "
                              f"features of different featurizers never mix",
                              file="graph.json", column="featurizer")
    if ours and not theirs:
        merged["featurizer"], changed = ours, True
    declared = merged.setdefault("metrics", {})
    for metric, spec in (local.get("metrics") or {}).items():
        if metric not in declared:
            declared[metric], changed = dict(spec), True
            continue
        for convention in METRIC_CONVENTIONS:
            pushed = bool(spec.get(convention, False))
            stored = bool(declared[metric].get(convention, False))
            if pushed != stored:
                raise ValidationError(f"metric {metric!r} has {convention}={pushed} in the push "
                                      f"but {convention}={stored} in the repo",
                                      file="graph.json", column=convention)
    if not merged.get("primary_metric") and local.get("primary_metric"):
        merged["primary_metric"], changed = local["primary_metric"], True
    return merged, changed


def _check_featurizer(datasets: pd.DataFrame, featurizer: str | None, label: str) -> None:
    if "featurizer" not in datasets.columns or not featurizer:
        return
    for number, (_, row) in enumerate(datasets.iterrows(), start=1):
        value = row["featurizer"]
        if isinstance(value, str) and value and value.split("@")[0] != featurizer.split("@")[0]:
            raise ValidationError(f"dataset {row['dataset']!r} was described with {value!r}, "
                                  f"the repo's graph with {featurizer!r}",
                                  file=f"{label}/datasets", row=number, column="featurizer")


def check_score_rows(scores: pd.DataFrame, *, label: str) -> None:
    """Every pushed score row carries its recipe (a JSON object) and the recipe's hash."""
    if scores.empty:
        return
    hashes = scores["recipe_hash"].astype("string").fillna("").str.strip()
    recipes = scores["recipe"].astype("string").fillna("")
    parsed = {text: _is_recipe(text) for text in recipes.unique()}
    for column, bad in (("recipe_hash", hashes == ""), ("recipe", ~recipes.map(parsed))):
        if bad.any():
            number = bad.to_numpy().nonzero()[0][0]
            row = scores.iloc[number]
            what = ("has no recipe_hash; every pushed score must say which recipe produced it"
                    if column == "recipe_hash" else
                    "has no recipe (a non-empty JSON object of the fine-tune settings)")
            raise ValidationError(f"({row['model']} × {row['dataset']}, {row['metric']}) {what}",
                                  file=f"{label}/scores", row=int(scores.index[number]) + 1,
                                  column=column)


def _is_recipe(text: str) -> bool:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and bool(parsed)


def _new_rows(ours: pd.DataFrame, theirs: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows of ``ours`` that ``theirs`` lacks (exact match on every column), index kept."""
    if ours.empty or theirs.empty:
        return ours
    marked = ours.reset_index().merge(theirs[columns].drop_duplicates(), on=columns,
                                      how="left", indicator=True)
    return (marked[marked["_merge"] == "left_only"].set_index("index")[columns]
            .rename_axis(None))


def recipes_of(scores: pd.DataFrame) -> list[str]:
    return sorted(set(scores["recipe_hash"].astype(str))) if len(scores) else []
