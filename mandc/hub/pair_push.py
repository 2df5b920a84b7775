"""Push a profiling run's graph to a Hub graph repo while it runs (``--push REPO``).

A long GPU run feeds the shared graph as it goes: after each finished pair (or every N), the
run's graph directory is pushed with :func:`~.graph_repo.push_graph`, which adds only the rows
the repo lacks, so pushing the whole directory again is cheap and idempotent. A push that fails
is logged in one line and retried at the next one and at the end; the pair is never lost,
since the local graph directory holds every finished pair whatever the Hub answers. Each push
also sends the finished pairs' run records and sample grids (``graph_dir/runs``, and
``graph_dir/samples`` or the run's ``--samples-dir``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .graph_repo import push_graph
from .repo_id import parse_repo
from .session import api_with_timeout, require_online, require_token, whoami

log = logging.getLogger(__name__)


@dataclass
class PairPusher:
    """A finished-pair callback for :func:`mandc.profile.runner.run_grid` (``on_pair``)."""

    graph_dir: Path
    repo: str
    every: int = 1
    samples_dir: Path | None = None
    """where the run writes its sample grids, when not ``graph_dir/samples``."""
    pending: int = 0
    """finished pairs whose rows have not reached the repo yet."""
    commits: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    added_scores: int = 0
    added_files: int = 0
    """run records and sample grids sent (:mod:`.pair_files`)."""
    warned: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.graph_dir = Path(self.graph_dir)
        self.repo = str(parse_repo(self.repo))
        if self.every < 1:
            raise ValueError(f"every must be at least 1, got {self.every}")

    def check(self) -> None:
        """Fail before a long run starts: offline, no token or a refused token."""
        require_online(f"--push {self.repo}")
        whoami(api_with_timeout(), require_token())

    def __call__(self, record: dict) -> None:
        self.pending += 1
        if self.pending >= self.every:
            self.push(f"{record.get('model')} × {record.get('dataset')}")

    def push(self, what: str = "") -> bool:
        """Push the graph directory now; False (and one logged line) when it failed."""
        try:
            result = push_graph(self.graph_dir, self.repo, create=True,
                                message=f"mandc profile: {what}" if what else None,
                                samples_dir=self.samples_dir)
        except Exception as error:  # noqa: BLE001 - the run goes on; the rows stay local
            line = " ".join(str(error).split()) or type(error).__name__
            self.failures.append(line)
            log.warning("push to %s failed (%d finished pairs wait; retried at the next push "
                        "and at the end): %s", self.repo, self.pending, line)
            return False
        for line in result.conflicts:
            if line not in self.warned:  # each push re-lists the same kept repo files
                self.warned.add(line)
                log.warning("%s: %s", self.repo, line)
        self.pending = 0
        self.added_scores += result.added.get("scores", 0)
        self.added_files += sum(result.sent_files.values())
        if result.commit:
            self.commits.append(result.commit)
        return True

    def close(self) -> dict:
        """Push what has not been pushed yet; a summary for the run's report."""
        if self.pending:
            self.push("the rest of the run")
        return self.summary()

    def summary(self) -> dict:
        return {"repo": self.repo, "commits": len(self.commits),
                "last_commit": self.commits[-1] if self.commits else None,
                "added_scores": self.added_scores, "added_files": self.added_files,
                "failed_pushes": len(self.failures),
                "unpushed_pairs": self.pending,
                "last_error": self.failures[-1] if self.failures and self.pending else None}
