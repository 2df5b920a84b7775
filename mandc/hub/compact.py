"""Compaction: fold a graph repo's shards into one file per table, losing no concurrent push.

One commit, made with ``parent_commit`` = the head it read: a push that lands meanwhile moves
the head, the Hub answers 412, and the compaction re-reads and tries again (409 and 5xx too,
with bounded backoff). It deletes exactly the shards it read, so rows pushed while it ran stay.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from .. import __version__
from .graph_repo import REPO_TYPE, recipes_of, retry_commit, snapshot
from .layout import card_text, read_repo_graph, shard_path, table_bytes
from .repo_id import GraphRepo, parse_repo
from .session import api_with_timeout, require_online, require_token, whoami, with_retries


@dataclass
class CompactResult:
    repo: str
    commit: str | None
    dry_run: bool
    folded: list[str]
    rows: dict[str, int]
    conflicts: list[str]
    attempts: int

    def to_dict(self) -> dict:
        return asdict(self)


def compact_graph(repo: str | GraphRepo, *, message: str | None = None,
                  dry_run: bool = False) -> CompactResult:
    """Fold every shard into one file per table, in one commit guarded by ``parent_commit``."""
    ref = parse_repo(repo)
    require_online(f"compacting {ref}")
    token = require_token()
    api = api_with_timeout()
    author = whoami(api, token)
    state = {"attempts": 0}

    def attempt(number: int):
        state["attempts"] = number
        head = api.repo_info(ref.repo_id, repo_type=REPO_TYPE, revision=ref.revision,
                             token=token).sha
        read = read_repo_graph(snapshot(ref, token=token, revision=head),
                               label=f"{ref.repo_id}@{head[:8]}")
        graph = read.graph
        shards = read.shards()
        score_files = read.files["scores"]
        stamp = {"author": author, "mandc_version": __version__, "compacted_from": len(shards),
                 "compacted_at": datetime.now(UTC).isoformat(timespec="seconds")}
        rows = {"models": len(graph.models), "datasets": len(graph.datasets),
                "scores": len(graph.scores), "similarity": len(graph.similarity)}
        folded = [p for p in shards if not (p.startswith("scores/") and len(score_files) == 1)]
        if not folded:
            return [], rows, read.conflicts, None
        files = {"README.md": card_text(graph).encode()}
        for table in ("models", "datasets", "similarity"):
            if any(p.startswith(f"{table}/") for p in folded) or not read.files[table]:
                files[f"{table}.parquet"] = table_bytes(getattr(graph, table), stamp)
        if len(score_files) > 1:
            merged = shard_path("scores", graph.scores)
            if merged in score_files:
                folded.remove(merged)
            else:
                files[merged] = table_bytes(graph.scores, {**stamp, "recipes": recipes_of(
                    graph.scores)})
        if dry_run:
            return folded, rows, read.conflicts, None
        operations = [CommitOperationAdd(path, content) for path, content in files.items()]
        operations += [CommitOperationDelete(path) for path in folded]
        commit = api.create_commit(
            ref.repo_id, operations, repo_type=REPO_TYPE, token=token, revision=ref.revision,
            commit_message=message or f"mandc compact: fold {len(folded)} shards",
            commit_description=f"Compacted by {author} with mandc {__version__}.",
            parent_commit=head)
        return folded, rows, read.conflicts, commit

    folded, rows, conflicts, commit = with_retries(
        attempt, action=f"compacting {ref}", token=token, repo=ref.repo_id,
        retry_if=retry_commit)
    return CompactResult(str(ref), commit.oid if commit else None, dry_run, folded, rows,
                         conflicts, state["attempts"])
