"""A Hugging Face Hub stand-in on a loopback socket, for tests and benchmarks.

It speaks the part of the Hub API that ``huggingface_hub``'s own client (2.x, Xet disabled) uses
to read and write a repo, so the real client runs unpatched against it with ``HF_ENDPOINT``
pointing here and ``HF_HUB_DISABLE_XET=1``:

- ``GET /api/whoami-v2``; ``POST /api/repos/create``; ``GET /api/{type}s/{repo}[/revision/{rev}]``;
- ``POST /api/{type}s/{repo}/preupload/{rev}``, the LFS batch API
  (``POST /{prefix}{repo}.git/info/lfs/objects/batch``, then ``PUT`` and ``verify``), and
  ``POST /api/{type}s/{repo}/commit/{rev}`` (NDJSON: header, file, lfsFile, deletedFile,
  deletedFolder), with ``parentCommit`` checked (a moved head answers **412**) and a commit that
  arrives while another one to the same repo runs answered **409** "Another commit operation is
  in progress", as the Hub does; ``create_pr=1`` opens ``refs/pr/N``;
- ``GET /api/{type}s/{repo}/tree/{rev}[/{path}]`` (paginated with a ``Link`` header, 1,000
  entries a page) and ``POST …/paths-info/{rev}``;
- ``HEAD``/``GET /{prefix}{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag``
  (git blob id) or ``X-Linked-Etag``/``X-Linked-Size`` (sha256 of an LFS file), and ranges;
- ``POST /api/validate-yaml``; ``GET /api/models`` (``search``, ``author``, ``pipeline_tag``,
  ``filter``, ``gated``, ``sort``, ``limit``, ``expand``) and ``GET /api/models/{repo}`` (with
  ``expand``) from a catalogue given with ``--models FILE.json``: a list of model-info dicts
  (``cardData``, ``gated``, ``baseModels``, ``tags``, ``downloads``…). A catalogue entry whose id
  is also a stored repo answers with both: the repo's ``sha`` and ``siblings``, the entry's
  metadata. ``--model-repo OWNER/NAME=DIR`` stores a local folder (a saved diffusers pipeline) as a
  model repo at start, its weights as LFS files, so ``resolve`` and range requests (how
  ``parse_safetensors_file_metadata`` reads a header) serve real files. An entry with ``gated``
  ``"auto"``/``"manual"`` guards its files but README.md and .gitattributes: anonymous → 401,
  a token whose user is not in the entry's ``granted`` list → 403, both ``X-Error-Code: GatedRepo``;
- ``PUT /api/{type}s/{repo}/settings`` (``gated``: ``"auto"``/``"manual"``/false, ``private``): a
  gated repo's info stays public, but its files answer 401/403 ``X-Error-Code: GatedRepo`` to
  anyone outside the owner's namespaces (the stand-in has no access requests);
- Spaces: ``POST /api/repos/create`` with ``type: space`` needs an ``sdk`` (and takes
  ``hardware``, ``variables``); ``GET``/``POST /api/spaces/{repo}/variables`` lists or sets one
  variable; ``POST /api/spaces/{repo}/hardware`` requests a flavor (unknown ones are a 400) and
  ``GET /api/spaces/{repo}/runtime`` answers the runtime (stage ``BUILDING``, requested hardware).

Repos live under ``--root``: content-addressed objects (``objects/<sha256>``) and, per repo,
``repo.json`` (visibility, refs) and ``commits/<sha1>.json`` (parent, full tree, message); commit
ids are sha1 digests of the commit's content, so they look and behave like git's.

Authentication: ``--token TOKEN:USER[:read|write][:ORG,ORG]`` (repeatable). A request carrying an
unknown token is refused with 401 on every route, as on the Hub; writing needs a write token
whose user (or one of its orgs) owns the namespace, else 403.

Fault injection, at start (``--fault JSON``, repeatable) or at run time
(``POST /_stand_in/faults`` with a JSON list; ``GET`` returns the rules): each rule is
``{"route": NAME or "*", "method": "POST" (optional), "action": "status" | "delay" | "drop" |
"drop_after", "status": 503, "seconds": 1.5, "after": K, "times": N}`` — skip the first K
matching requests, then act N times (always when N is absent). ``drop`` closes the connection
before handling the request, ``drop_after`` handles it and closes without answering (the
response is lost but the effect stays), ``delay`` sleeps and then handles it. Route names:
whoami, repo_create, repo_info, preupload, commit, lfs_batch, lfs_upload, lfs_verify, tree,
paths_info, resolve, validate_yaml, models, model_info, repo_settings, space_variables,
space_hardware, space_runtime. ``GET /_stand_in/stats`` returns request
counts, answers by status and body bytes in and out per route (``POST /_stand_in/stats/reset``
clears them).

Run: ``python tests/hub_stand_in.py --root DIR --port PORT`` prints ``ready http://127.0.0.1:PORT``
once listening (``--port 0`` picks a free port) and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

TREE_PAGE = 1000
LFS_EXTENSIONS = (".parquet", ".arrow", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".zip",
                  ".gz", ".tar", ".png", ".jpg", ".jpeg", ".npy", ".npz", ".h5", ".onnx")
REGULAR_LIMIT = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"*{ext} filter=lfs diff=lfs merge=lfs -text\n" for ext in LFS_EXTENSIONS)
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
REPO = r"(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)"
TYPES = r"(?P<type>model|dataset|space)s"
SPACE_SDKS = ("gradio", "docker", "static", "streamlit")
SPACE_HARDWARE = ("cpu-basic", "cpu-upgrade", "zero-a10g", "t4-small", "t4-medium", "l4x1",
                  "l4x4", "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4",
                  "a100-large", "h100", "h100x8")


class HubHTTPError(Exception):
    """An answer other than 2xx, with the Hub's error headers."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
            .encode())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ------------------------------------------------------------------------------------- storage
class Store:
    """Repos on disk: content-addressed objects and one JSON file per commit."""

    def __init__(self, root: Path):
        self.root = root
        (root / "objects").mkdir(parents=True, exist_ok=True)
        self._meta_lock = threading.Lock()
        self._commit_locks: dict[str, threading.Lock] = {}

    # objects
    def put_object(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        path = self.root / "objects" / digest
        if not path.exists():
            _atomic_write(path, content)
        return digest

    def has_object(self, sha256: str) -> bool:
        return (self.root / "objects" / sha256).is_file()

    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256

    # repos
    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        return self.root / f"{repo_type}s" / repo_id

    def repo(self, repo_type: str, repo_id: str) -> dict | None:
        path = self.repo_dir(repo_type, repo_id) / "repo.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def save_repo(self, repo_type: str, repo_id: str, repo: dict) -> None:
        _atomic_write(self.repo_dir(repo_type, repo_id) / "repo.json",
                      json.dumps(repo, indent=1).encode())

    def commit(self, repo_type: str, repo_id: str, sha: str) -> dict | None:
        path = self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def write_commit(self, repo_type: str, repo_id: str, commit: dict) -> str:
        body = json.dumps(commit, sort_keys=True).encode()
        sha = hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()
        _atomic_write(self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json", body)
        return sha

    def commit_lock(self, repo_type: str, repo_id: str) -> threading.Lock:
        with self._meta_lock:
            return self._commit_locks.setdefault(f"{repo_type}:{repo_id}", threading.Lock())

    def create_repo(self, repo_type: str, repo_id: str, private: bool,
                    space: dict | None = None) -> None:
        tree = {".gitattributes": self.tree_entry(GITATTRIBUTES.encode(), lfs=False)}
        sha = self.write_commit(repo_type, repo_id, {
            "parents": [], "tree": tree, "summary": "initial commit", "description": "",
            "author": "stand-in", "date": _now()})
        repo = {"private": private, "created_at": _now(), "refs": {"main": sha}, "prs": 0}
        if space is not None:
            repo["space"] = space
        self.save_repo(repo_type, repo_id, repo)

    def tree_entry(self, content: bytes, *, lfs: bool) -> dict:
        sha256 = self.put_object(content)
        entry = {"sha256": sha256, "size": len(content), "lfs": lfs,
                 "oid": git_blob_id(lfs_pointer(sha256, len(content)) if lfs else content)}
        return entry

    def resolve(self, repo_type: str, repo_id: str, repo: dict, revision: str) -> str:
        """A branch, ``refs/pr/N`` or a (short) commit id → the full commit id."""
        if revision in repo["refs"]:
            return repo["refs"][revision]
        if re.fullmatch(r"[0-9a-f]{7,40}", revision):
            commits = self.repo_dir(repo_type, repo_id) / "commits"
            found = sorted(commits.glob(f"{revision}*.json"))
            if len(found) == 1:
                return found[0].stem
        raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def _atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)


# ------------------------------------------------------------------------------------- faults
@dataclass
class FaultRule:
    route: str
    action: str
    method: str | None = None
    status: int = 503
    seconds: float = 1.0
    after: int = 0
    times: int | None = None
    seen: int = 0
    fired: int = 0

    @classmethod
    def parse(cls, spec: dict) -> FaultRule:
        if spec.get("action") not in {"status", "delay", "drop", "drop_after"}:
            raise ValueError(f"fault rule {spec}: action must be status, delay, drop or drop_after")
        known = {"route", "action", "method", "status", "seconds", "after", "times"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"fault rule {spec}: unknown keys {sorted(unknown)}")
        return cls(route=spec.get("route", "*"), action=spec["action"], method=spec.get("method"),
                   status=int(spec.get("status", 503)), seconds=float(spec.get("seconds", 1.0)),
                   after=int(spec.get("after", 0)), times=spec.get("times"))

    def to_dict(self) -> dict:
        return {"route": self.route, "action": self.action, "method": self.method,
                "status": self.status, "seconds": self.seconds, "after": self.after,
                "times": self.times, "seen": self.seen, "fired": self.fired}


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, route: str, method: str) -> FaultRule | None:
        """The first rule that acts on this request; every matching rule counts it."""
        chosen = None
        with self.lock:
            for rule in self.rules:
                if rule.route not in ("*", route) or (rule.method and rule.method != method):
                    continue
                rule.seen += 1
                if chosen is not None or rule.seen <= rule.after or (
                        rule.times is not None and rule.fired >= rule.times):
                    continue
                rule.fired += 1
                chosen = rule
        return chosen


# ------------------------------------------------------------------------------------- the Hub
class StandIn:
    """Routes, authentication, statistics and faults around a :class:`Store`."""

    def __init__(self, root: Path, tokens: dict[str, dict], *, commit_hold: float = 0.0,
                 models: list[dict] | None = None, faults: list[FaultRule] | None = None):
        self.store = Store(root)
        self.tokens = tokens
        self.commit_hold = commit_hold
        self.models = models or []
        self.faults = Faults(list(faults or []))
        self.stats: dict[str, dict[str, int]] = {}
        self.stats_lock = threading.Lock()
        self.uploads: dict[str, str] = {}  # pending LFS upload id → sha256 (unused ids expire)
        self.routes = [
            ("GET", r"/api/whoami-v2", "whoami", self.whoami),
            ("POST", r"/api/repos/create", "repo_create", self.repo_create),
            ("POST", r"/api/validate-yaml", "validate_yaml", self.validate_yaml),
            ("GET", r"/api/models", "models", self.list_models),
            ("GET", rf"/api/{TYPES}/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree",
             self.tree),
            ("POST", rf"/api/{TYPES}/{REPO}/paths-info/(?P<rev>[^/]+)", "paths_info",
             self.paths_info),
            ("POST", rf"/api/{TYPES}/{REPO}/preupload/(?P<rev>[^/]+)", "preupload",
             self.preupload),
            ("POST", rf"/api/{TYPES}/{REPO}/commit/(?P<rev>[^/]+)", "commit", self.commit),
            ("GET", rf"/api/spaces/{REPO}/variables", "space_variables", self.space_variables),
            ("POST", rf"/api/spaces/{REPO}/variables", "space_variables", self.space_variables),
            ("PUT", rf"/api/{TYPES}/{REPO}/settings", "repo_settings", self.repo_settings),
            ("POST", rf"/api/spaces/{REPO}/hardware", "space_hardware", self.space_hardware),
            ("GET", rf"/api/spaces/{REPO}/runtime", "space_runtime", self.space_runtime),
            ("GET", rf"/api/{TYPES}/{REPO}(?:/revision/(?P<rev>[^/]+))?", "repo_info",
             self.repo_info),
            ("POST", rf"/(?P<prefix>datasets/|spaces/)?{REPO}\.git/info/lfs/objects/batch",
             "lfs_batch", self.lfs_batch),
            ("PUT", r"/_lfs/(?P<upload>[0-9a-f]{32})", "lfs_upload", self.lfs_upload),
            ("POST", r"/_lfs/verify/(?P<sha>[0-9a-f]{64})", "lfs_verify", self.lfs_verify),
            ("GET", rf"/(?P<prefix>datasets/|spaces/)?{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)",
             "resolve", self.resolve),
            ("HEAD", rf"/(?P<prefix>datasets/|spaces/)?{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)",
             "resolve", self.resolve),
        ]
        self.routes = [(m, re.compile(p), n, h) for m, p, n, h in self.routes]

    # ---------------------------------------------------------------------------- plumbing
    def route(self, method: str, path: str):
        for route_method, pattern, name, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                groups = {k: unquote(v) if v is not None else None
                          for k, v in match.groupdict().items()}
                if name == "repo_info" and groups["type"] == "model":
                    name = "model_info"
                return name, handler, groups
        return None, None, {}

    def count(self, route: str, received: int, sent: int, status: int | None = None) -> None:
        with self.stats_lock:
            entry = self.stats.setdefault(route, {"requests": 0, "bytes_in": 0, "bytes_out": 0,
                                                  "status": {}})
            entry["requests"] += 1
            entry["bytes_in"] += received
            entry["bytes_out"] += sent
            key = str(status) if status is not None else "dropped"
            entry["status"][key] = entry["status"].get(key, 0) + 1

    def user_of(self, request) -> dict | None:
        """The caller's account, None when anonymous; an unknown token is a 401."""
        header = request.headers.get("authorization") or ""
        if not header:
            return None
        token = header.removeprefix("Bearer ").strip()
        account = self.tokens.get(token)
        if account is None:
            raise HubHTTPError(401, "Invalid credentials in Authorization header")
        return account

    def repo_for(self, request, groups: dict, *, write: bool) -> tuple[str, str, dict]:
        repo_type = groups.get("type") or {"datasets/": "dataset", "spaces/": "space"}.get(
            groups.get("prefix") or "", "model")
        repo_id = f"{groups['owner']}/{groups['name']}"
        account = self.user_of(request)
        repo = self.store.repo(repo_type, repo_id)
        can_read = repo is not None and (not repo["private"] or (
            account is not None and groups["owner"] in account["namespaces"]))
        if not can_read:
            raise HubHTTPError(404 if account else 401, "Repository not found", "RepoNotFound")
        if write:
            if account is None:
                raise HubHTTPError(401, "You must be authenticated to write to a repo")
            if groups["owner"] not in account["namespaces"] or account["role"] != "write":
                raise HubHTTPError(403, f"You don't have the rights to write to {repo_id}")
        return repo_type, repo_id, repo

    # ---------------------------------------------------------------------------- account
    def whoami(self, request, groups, body):
        account = self.user_of(request)
        if account is None:
            raise HubHTTPError(401, "Invalid credentials in Authorization header")
        return 200, {"type": "user", "id": hashlib.sha1(account["name"].encode()).hexdigest()[:24],
                     "name": account["name"], "fullname": account["name"], "email": None,
                     "orgs": [{"name": org, "type": "org"} for org in account["orgs"]],
                     "auth": {"type": "access_token", "accessToken": {
                         "displayName": "stand-in", "role": account["role"]}}}, {}

    def repo_create(self, request, groups, body):
        account = self.user_of(request)
        if account is None:
            raise HubHTTPError(401, "You must be authenticated to create a repo")
        payload = json.loads(body or b"{}")
        repo_type = payload.get("type") or "model"
        namespace = payload.get("organization") or account["name"]
        name = payload.get("name") or ""
        if not re.fullmatch(r"[\w.-]{1,96}", name) or repo_type not in TYPE_PREFIX:
            raise HubHTTPError(400, f"Invalid repo name or type: {name!r} ({repo_type})")
        if namespace not in account["namespaces"] or account["role"] != "write":
            raise HubHTTPError(403, f"You don't have the rights to create a repo in {namespace}")
        repo_id = f"{namespace}/{name}"
        url = f"{request.endpoint}/{TYPE_PREFIX[repo_type]}{repo_id}"
        space = None
        if repo_type == "space":
            space = self._new_space(payload)
        with self.store.commit_lock(repo_type, repo_id):
            if self.store.repo(repo_type, repo_id) is not None:
                raise HubHTTPError(409, "You already created this repo", None)
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            self.store.create_repo(repo_type, repo_id, private, space)
        return 200, {"url": url, "name": repo_id, "id": repo_id}, {}

    def repo_settings(self, request, groups, body):
        repo_type, repo_id, _ = self.repo_for(request, groups, write=True)
        payload = json.loads(body or b"{}")
        if payload.get("gated") not in (None, False, "auto", "manual"):
            raise HubHTTPError(400, f"gated must be auto, manual or false, not "
                                    f"{payload['gated']!r}")
        with self.store.commit_lock(repo_type, repo_id):
            repo = self.store.repo(repo_type, repo_id)
            if "gated" in payload:
                repo["gated"] = payload["gated"] or False
            if "private" in payload:
                repo["private"] = bool(payload["private"])
            self.store.save_repo(repo_type, repo_id, repo)
        return 200, {}, {}

    @staticmethod
    def _new_space(payload: dict) -> dict:
        """A Space's settings at creation: an SDK is required, as on the Hub."""
        if payload.get("sdk") not in SPACE_SDKS:
            raise HubHTTPError(400, f"a Space needs an sdk, one of {', '.join(SPACE_SDKS)}")
        hardware = payload.get("hardware") or "cpu-basic"
        if hardware not in SPACE_HARDWARE:
            raise HubHTTPError(400, f"unknown hardware flavor {hardware!r}")
        variables = {item["key"]: {"value": item["value"], "updatedAt": _now(),
                                   **({"description": item["description"]}
                                      if item.get("description") else {})}
                     for item in payload.get("variables") or []}
        return {"sdk": payload["sdk"], "hardware": hardware, "variables": variables,
                "sleep_time": payload.get("sleepTimeSeconds")}

    def _space(self, request, groups, *, write: bool) -> tuple[str, dict]:
        groups = {**groups, "type": "space"}
        _, repo_id, repo = self.repo_for(request, groups, write=write)
        return repo_id, repo

    def space_variables(self, request, groups, body):
        """``GET`` lists a Space's variables, ``POST`` sets one; both answer them all."""
        repo_id, repo = self._space(request, groups, write=request.command == "POST")
        if request.command == "POST":
            item = json.loads(body or b"{}")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(item.get("key", ""))):
                raise HubHTTPError(400, f"invalid variable key {item.get('key')!r}")
            with self.store.commit_lock("space", repo_id):
                repo = self.store.repo("space", repo_id)
                repo["space"]["variables"][item["key"]] = {
                    "value": str(item.get("value", "")), "updatedAt": _now(),
                    **({"description": item["description"]} if item.get("description")
                       else {})}
                self.store.save_repo("space", repo_id, repo)
        return 200, repo["space"]["variables"], {}

    def space_hardware(self, request, groups, body):
        repo_id, _ = self._space(request, groups, write=True)
        payload = json.loads(body or b"{}")
        if payload.get("flavor") not in SPACE_HARDWARE:
            raise HubHTTPError(400, f"unknown hardware flavor {payload.get('flavor')!r}")
        with self.store.commit_lock("space", repo_id):
            repo = self.store.repo("space", repo_id)
            repo["space"]["hardware"] = payload["flavor"]
            if payload.get("sleepTimeSeconds") is not None:
                repo["space"]["sleep_time"] = payload["sleepTimeSeconds"]
            self.store.save_repo("space", repo_id, repo)
        return 200, self._runtime(repo), {}

    def space_runtime(self, request, groups, body):
        _, repo = self._space(request, groups, write=False)
        return 200, self._runtime(repo), {}

    @staticmethod
    def _runtime(repo: dict) -> dict:
        space = repo["space"]
        return {"stage": "BUILDING", "hardware": {"current": None, "requested": space["hardware"]},
                "gcTimeout": space.get("sleep_time"), "storage": None, "devMode": False}

    def validate_yaml(self, request, groups, body):
        import yaml

        content = json.loads(body or b"{}").get("content", "")
        match = re.match(r"^---\n(.*?)\n---", content, re.S)
        try:
            if match:
                yaml.safe_load(match.group(1))
        except yaml.YAMLError as error:
            return 400, {"errors": [{"message": f"invalid YAML: {error}"}], "warnings": []}, {}
        return 200, {"errors": [], "warnings": []}, {}

    # ---------------------------------------------------------------------------- reading
    def _tree(self, request, groups) -> tuple[str, str, dict, str, dict]:
        repo_type, repo_id, repo = self.repo_for(request, groups, write=False)
        sha = self.store.resolve(repo_type, repo_id, repo, groups.get("rev") or "main")
        return repo_type, repo_id, repo, sha, self.store.commit(repo_type, repo_id, sha)

    def repo_info(self, request, groups, body):
        entry = self._entry(groups)
        stored = self.store.repo(groups.get("type") or "model", f"{groups['owner']}/"
                                 f"{groups['name']}") is not None
        if entry is not None and not stored:
            return 200, _expanded(self._public(entry), parse_qs(request.query)), {}
        status, info, headers = self._stored_info(request, groups)
        if entry is not None:
            info = {**info, **{k: v for k, v in self._public(entry).items()
                               if k not in ("sha", "siblings")}}
        return status, _expanded(info, parse_qs(request.query)), headers

    def _stored_info(self, request, groups):
        repo_type, repo_id, repo, sha, commit = self._tree(request, groups)
        query = parse_qs(request.query)
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for path, entry in sorted(commit["tree"].items()):
            sibling = {"rfilename": path}
            if blobs:
                sibling.update(size=entry["size"], blobId=entry["oid"])
                if entry["lfs"]:
                    sibling["lfs"] = {"size": entry["size"], "sha256": entry["sha256"],
                                      "pointerSize": len(lfs_pointer(entry["sha256"],
                                                                     entry["size"]))}
            siblings.append(sibling)
        info = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id,
                "author": repo_id.split("/")[0], "sha": sha, "private": repo["private"],
                "gated": repo.get("gated", False), "disabled": False,
                "createdAt": repo["created_at"], "lastModified": commit["date"],
                "downloads": 0, "likes": 0, "tags": [],
                "siblings": siblings, "cardData": {}}
        if repo_type == "model":
            info["modelId"] = repo_id
        if repo_type == "space":
            info.update(sdk=repo["space"]["sdk"], runtime=self._runtime(repo))
        return 200, info, {}

    def _entries(self, tree: dict, prefix: str, recursive: bool) -> list[dict]:
        prefix = prefix.strip("/")
        base = f"{prefix}/" if prefix else ""
        files, folders = [], {}
        for path, entry in tree.items():
            if not path.startswith(base):
                continue
            rest = path[len(base):]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                if depth > 1 and not recursive:
                    break
                folder = base + "/".join(parts[:depth])
                folders.setdefault(folder, hashlib.sha1(folder.encode()).hexdigest())
            if recursive or len(parts) == 1:
                files.append(self._file_info(path, entry))
        listed = files + [{"type": "directory", "oid": oid, "size": 0, "path": path}
                          for path, oid in folders.items()]
        return sorted(listed, key=lambda item: item["path"])

    @staticmethod
    def _file_info(path: str, entry: dict) -> dict:
        info = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
        if entry["lfs"]:
            info["lfs"] = {"oid": entry["sha256"], "size": entry["size"],
                           "pointerSize": len(lfs_pointer(entry["sha256"], entry["size"]))}
        return info

    def tree(self, request, groups, body):
        repo_type, repo_id, repo, sha, commit = self._tree(request, groups)
        path = (groups.get("path") or "").strip("/")
        if path and path in commit["tree"]:
            raise HubHTTPError(404, f"{path} is a file, not a folder", "EntryNotFound")
        query = parse_qs(request.query)
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        entries = self._entries(commit["tree"], path, recursive)
        if path and not entries:
            raise HubHTTPError(404, f"Entry not found: {path}", "EntryNotFound")
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start:start + TREE_PAGE]
        headers = {}
        if start + TREE_PAGE < len(entries):
            nxt = (f"{request.endpoint}{request.path}?recursive={str(recursive).lower()}"
                   f"&expand=false&cursor={start + TREE_PAGE}")
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, page, headers

    def paths_info(self, request, groups, body):
        repo_type, repo_id, repo, sha, commit = self._tree(request, groups)
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            paths = json.loads(body or b"{}").get("paths", [])
        else:
            paths = parse_qs(body.decode()).get("paths", [])
        out = []
        for path in paths:
            path = path.strip("/")
            if path in commit["tree"]:
                out.append(self._file_info(path, commit["tree"][path]))
            elif any(p.startswith(path + "/") for p in commit["tree"]):
                out.append({"type": "directory", "path": path, "size": 0,
                            "oid": hashlib.sha1(path.encode()).hexdigest()})
        return 200, out, {}

    def resolve(self, request, groups, body):
        repo_type, repo_id, repo, sha, commit = self._tree(request, groups)
        if repo.get("gated"):
            account = self.user_of(request)
            if account is None or groups["owner"] not in account["namespaces"]:
                raise HubHTTPError(401 if account is None else 403,
                                   f"Access to {repo_type} {repo_id} is restricted. You must "
                                   f"have access to it and be authenticated to access it.",
                                   "GatedRepo")
        path = groups["path"]
        if repo_type == "model" and path not in ("README.md", ".gitattributes"):
            self._check_gate(request, repo_id)
        entry = commit["tree"].get(path)
        headers = {"X-Repo-Commit": sha}
        if entry is None:
            raise _NotFound(headers, path)
        if entry["lfs"]:
            headers.update({"X-Linked-Etag": f'"{entry["sha256"]}"',
                            "X-Linked-Size": str(entry["size"]), "ETag": f'"{entry["sha256"]}"'})
        else:
            headers["ETag"] = f'"{entry["oid"]}"'
        return 200, _File(self.store.object_path(entry["sha256"]), entry["size"]), headers

    # ---------------------------------------------------------------------------- writing
    def preupload(self, request, groups, body):
        repo_type, repo_id, repo = self.repo_for(request, groups, write=True)
        revision = groups["rev"]
        commit = None
        if revision in repo["refs"] or re.fullmatch(r"[0-9a-f]{7,40}", revision):
            sha = self.store.resolve(repo_type, repo_id, repo, revision)
            commit = self.store.commit(repo_type, repo_id, sha)
        files = []
        for item in json.loads(body or b"{}").get("files", []):
            sample = base64.b64decode(item.get("sample", ""))
            lfs = (item["path"].lower().endswith(LFS_EXTENSIONS) or b"\0" in sample
                   or int(item.get("size", 0)) > REGULAR_LIMIT)
            existing = commit["tree"].get(item["path"]) if commit else None
            oid = None
            if existing is not None:
                oid = existing["sha256"] if existing["lfs"] else existing["oid"]
            files.append({"path": item["path"], "uploadMode": "lfs" if lfs else "regular",
                          "shouldIgnore": False, "oid": oid})
        return 200, {"files": files, "commitOid": commit and sha}, {}

    def lfs_batch(self, request, groups, body):
        self.repo_for(request, groups, write=True)
        payload = json.loads(body or b"{}")
        if payload.get("operation") != "upload":
            raise HubHTTPError(400, "only uploads are served by the stand-in")
        objects = []
        for item in payload.get("objects", []):
            sha256, size = item["oid"], int(item["size"])
            answer = {"oid": sha256, "size": size, "authenticated": True}
            if not self.store.has_object(sha256):
                upload = os.urandom(16).hex()
                with self.stats_lock:
                    self.uploads[upload] = sha256
                answer["actions"] = {
                    "upload": {"href": f"{request.endpoint}/_lfs/{upload}"},
                    "verify": {"href": f"{request.endpoint}/_lfs/verify/{sha256}"}}
            objects.append(answer)
        return 200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, {}

    def lfs_upload(self, request, groups, body):
        with self.stats_lock:
            expected = self.uploads.get(groups["upload"])
        if expected is None:
            raise HubHTTPError(403, "unknown or expired upload url")
        if hashlib.sha256(body).hexdigest() != expected:
            raise HubHTTPError(400, "uploaded content does not match its sha256")
        self.store.put_object(body)
        with self.stats_lock:
            self.uploads.pop(groups["upload"], None)
        return 200, {}, {}

    def lfs_verify(self, request, groups, body):
        if not self.store.has_object(groups["sha"]):
            raise HubHTTPError(404, "object not uploaded")
        return 200, {}, {}

    def commit(self, request, groups, body):
        repo_type, repo_id, _ = self.repo_for(request, groups, write=True)
        account = self.user_of(request)
        lock = self.store.commit_lock(repo_type, repo_id)
        if not lock.acquire(blocking=False):
            raise HubHTTPError(409, "Another commit operation is in progress, please retry later")
        try:
            if self.commit_hold:
                time.sleep(self.commit_hold)
            return self._commit_locked(request, repo_type, repo_id, groups["rev"], account, body)
        finally:
            lock.release()

    def _commit_locked(self, request, repo_type, repo_id, revision, account, body):
        repo = self.store.repo(repo_type, repo_id)
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubHTTPError(400, "the commit payload must start with a header line")
        header = lines[0]["value"]
        create_pr = parse_qs(request.query).get("create_pr", ["0"])[0] in ("1", "true")
        if revision not in repo["refs"] and not create_pr:
            raise HubHTTPError(400, f"Invalid rev id: {revision} is not a branch",
                               "RevisionNotFound")
        head = self.store.resolve(repo_type, repo_id, repo, revision)
        parent = header.get("parentCommit")
        if parent:
            if not head.startswith(parent.lower()):
                if not create_pr:
                    raise HubHTTPError(412, "A commit has happened since. Please refresh and try "
                                            "again.")
            base = self.store.resolve(repo_type, repo_id, repo, parent) if create_pr else head
        else:
            base = head
        tree = dict(self.store.commit(repo_type, repo_id, base)["tree"])
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = str(value.get("path", "")).strip("/")
            if not path or ".." in path.split("/"):
                raise HubHTTPError(400, f"invalid path in commit: {path!r}")
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise HubHTTPError(400, f"unsupported encoding for {path}")
                content = base64.b64decode(value["content"])
                tree[path] = self.store.tree_entry(content, lfs=False)
            elif key == "lfsFile":
                sha256 = value["oid"]
                if not self.store.has_object(sha256):
                    raise HubHTTPError(422, f"LFS object {sha256} of {path} was not uploaded")
                size = self.store.object_path(sha256).stat().st_size
                tree[path] = {"sha256": sha256, "size": size, "lfs": True,
                              "oid": git_blob_id(lfs_pointer(sha256, size))}
            elif key == "deletedFile":
                if path not in tree:
                    raise HubHTTPError(404, f"A file with this name doesn't exist: {path}",
                                       "EntryNotFound")
                del tree[path]
            elif key == "deletedFolder":
                doomed = [p for p in tree if p.startswith(path + "/")]
                if not doomed:
                    raise HubHTTPError(404, f"A folder with this name doesn't exist: {path}",
                                       "EntryNotFound")
                for p in doomed:
                    del tree[p]
            else:
                raise HubHTTPError(400, f"unknown commit operation {key!r}")
        sha = self.store.write_commit(repo_type, repo_id, {
            "parents": [base], "tree": tree, "summary": header.get("summary", ""),
            "description": header.get("description", ""), "author": account["name"],
            "date": _now()})
        pr_url = None
        repo = self.store.repo(repo_type, repo_id)
        if create_pr:
            repo["prs"] += 1
            repo["refs"][f"refs/pr/{repo['prs']}"] = sha
            pr_url = (f"{request.endpoint}/{TYPE_PREFIX[repo_type]}{repo_id}/discussions/"
                      f"{repo['prs']}")
        else:
            repo["refs"][revision] = sha
        self.store.save_repo(repo_type, repo_id, repo)
        return 200, {"success": True, "commitOid": sha, "pullRequestUrl": pr_url,
                     "commitUrl": f"{request.endpoint}/{TYPE_PREFIX[repo_type]}{repo_id}/commit/"
                                  f"{sha}"}, {}

    # ---------------------------------------------------------------------------- models
    def list_models(self, request, groups, body):
        """``GET /api/models`` over the ``--models`` catalogue: ``search``, ``author``,
        ``pipeline_tag``, ``filter`` (tags or library, all must match), ``gated``, ``sort``
        (descending), ``limit`` and ``expand`` (keeps only the named properties and the id)."""
        query = parse_qs(request.query)
        rows = [self._public(m) for m in self.models]
        if "search" in query:
            rows = [m for m in rows if query["search"][0].lower() in m["id"].lower()]
        if "author" in query:
            rows = [m for m in rows if m["id"].split("/")[0] == query["author"][0]]
        if "pipeline_tag" in query:
            rows = [m for m in rows if m.get("pipeline_tag") == query["pipeline_tag"][0]]
        for tag in query.get("filter", []):
            rows = [m for m in rows if tag in m.get("tags", []) or m.get("library_name") == tag]
        if "gated" in query:
            wanted = query["gated"][0].lower() == "true"
            rows = [m for m in rows if bool(m.get("gated")) == wanted]
        if "sort" in query:
            key = query["sort"][0]
            rows.sort(key=lambda m: m.get(key) or 0, reverse=True)
        if "limit" in query:
            rows = rows[:int(query["limit"][0])]
        return 200, [_expanded(m, query) for m in rows], {}

    def _entry(self, groups) -> dict | None:
        """The ``--models`` entry of ``/api/models/{repo}``, if any."""
        if groups.get("type") != "model":
            return None
        repo_id = f"{groups['owner']}/{groups['name']}"
        return next((m for m in self.models if m["id"] == repo_id), None)

    def _public(self, entry: dict) -> dict:
        """An entry as the Hub shows it (the stand-in's own keys, such as ``granted``, left out);
        a stored repo of that id gives its head commit and files."""
        repo_id = entry["id"]
        shown = {k: v for k, v in entry.items() if k != "granted"}
        repo = self.store.repo("model", repo_id)
        sha = repo["refs"]["main"] if repo else hashlib.sha1(repo_id.encode()).hexdigest()
        return {"modelId": repo_id, "_id": repo_id, "sha": sha, "private": False,
                "gated": False, "siblings": self._siblings(repo_id), **shown}

    def _siblings(self, repo_id: str) -> list[dict]:
        repo = self.store.repo("model", repo_id)
        if repo is None:
            return []
        commit = self.store.commit("model", repo_id, repo["refs"]["main"])
        return [{"rfilename": path} for path in sorted(commit["tree"])]

    def _check_gate(self, request, repo_id: str) -> None:
        """A gated catalogue entry's files need a token its owner granted (see the docstring)."""
        entry = next((m for m in self.models if m["id"] == repo_id), None)
        if entry is None or not entry.get("gated"):
            return
        account = self.user_of(request)
        if account is None:
            raise HubHTTPError(401, f"Access to model {repo_id} is restricted. You must have "
                                    f"access to it and be authenticated to access it.",
                               "GatedRepo")
        if account["name"] not in entry.get("granted", []):
            raise HubHTTPError(403, f"Access to model {repo_id} is restricted and you are not "
                                    f"in the authorized list.", "GatedRepo")

    def store_folder(self, repo_id: str, folder: Path) -> None:
        """A local folder as a model repo's first commit (``--model-repo``)."""
        if self.store.repo("model", repo_id) is None:
            self.store.create_repo("model", repo_id, private=False)
        repo = self.store.repo("model", repo_id)
        tree = dict(self.store.commit("model", repo_id, repo["refs"]["main"])["tree"])
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            tree[name] = self.store.tree_entry(path.read_bytes(),
                                               lfs=name.lower().endswith(LFS_EXTENSIONS))
        repo["refs"]["main"] = self.store.write_commit("model", repo_id, {
            "parents": [repo["refs"]["main"]], "tree": tree, "summary": f"upload {folder.name}",
            "description": "", "author": "stand-in", "date": _now()})
        self.store.save_repo("model", repo_id, repo)


def _expanded(info: dict, query: dict) -> dict:
    """``expand``: only the named properties (and the ids) of a model info, as the Hub answers."""
    expand = query.get("expand[]", []) + query.get("expand", [])
    if not expand:
        return info
    return {"id": info["id"], "_id": info.get("_id", info["id"]),
            **{k: info[k] for k in expand if k in info}}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _File:
    """A file body to stream from disk."""

    def __init__(self, path: Path, size: int):
        self.path, self.size = path, size


class _NotFound(HubHTTPError):
    def __init__(self, headers: dict, path: str):
        super().__init__(404, f"Entry not found: {path}", "EntryNotFound")
        self.headers = headers


# ------------------------------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hub-stand-in"
    hub: StandIn  # set on the subclass built by make_server

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's name
        pass  # quiet: tests read stdout

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = parts.query
        self.endpoint = f"http://{self.headers.get('host') or '127.0.0.1'}"
        hub = self.hub
        if parts.path.startswith("/_stand_in/"):
            return self._control(method, parts.path)
        name, handler, groups = hub.route(method, parts.path)
        body = self._read_body()
        rule = hub.faults.pick(name or "unknown", method)
        if rule is not None:
            if rule.action == "drop":
                return self._drop()
            if rule.action == "delay":
                time.sleep(rule.seconds)
            if rule.action == "status":
                hub.count(name, len(body), 0, rule.status)
                return self._send(rule.status, {"error": f"injected {rule.status}"}, {}, method)
        if handler is None:
            return self._send(404, {"error": f"no route for {method} {parts.path}"}, {}, method)
        try:
            status, payload, headers = handler(self, groups, body)
        except _NotFound as error:
            status, payload, headers = error.status, {"error": error.message}, {
                **error.headers, "X-Error-Code": error.code, "X-Error-Message": error.message}
        except HubHTTPError as error:
            status, payload = error.status, {"error": error.message}
            headers = {"X-Error-Message": error.message}
            if error.code:
                headers["X-Error-Code"] = error.code
        except (ValueError, KeyError, json.JSONDecodeError) as error:
            status, payload, headers = 400, {"error": f"bad request: {error}"}, {}
        if rule is not None and rule.action == "drop_after":
            hub.count(name, len(body), 0)
            return self._drop()
        sent = self._send(status, payload, headers, method)
        hub.count(name, len(body), sent, status)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, status: int, payload, headers: dict, method: str) -> int:
        if isinstance(payload, _File):
            return self._send_file(status, payload, headers, method)
        data = json.dumps(payload).encode()
        self.send_response(status, _phrase(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)
            return len(data)
        return 0

    def _send_file(self, status: int, file: _File, headers: dict, method: str) -> int:
        start, end = 0, file.size - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("range") or "")
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)), end) if match.group(2) else end
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{file.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 0
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{file.size}")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method == "HEAD":
            return 0
        with open(file.path, "rb") as handle:
            handle.seek(start)
            self.wfile.write(handle.read(length))
        return length

    def _control(self, method: str, path: str) -> None:
        hub = self.hub
        body = self._read_body()
        if path == "/_stand_in/faults" and method == "POST":
            try:
                rules = [FaultRule.parse(spec) for spec in json.loads(body or b"[]")]
            except (ValueError, TypeError) as error:
                return self._send(400, {"error": str(error)}, {}, method)
            with hub.faults.lock:
                hub.faults.rules = rules
            return self._send(200, [r.to_dict() for r in rules], {}, method)
        if path == "/_stand_in/faults" and method == "GET":
            with hub.faults.lock:
                return self._send(200, [r.to_dict() for r in hub.faults.rules], {}, method)
        if path == "/_stand_in/stats" and method == "GET":
            with hub.stats_lock:
                return self._send(200, json.loads(json.dumps(hub.stats)), {}, method)
        if path == "/_stand_in/stats/reset" and method == "POST":
            with hub.stats_lock:
                hub.stats.clear()
            return self._send(200, {}, {}, method)
        return self._send(404, {"error": f"no control route {method} {path}"}, {}, method)


def parse_tokens(specs: list[str]) -> dict[str, dict]:
    """``TOKEN:USER[:read|write][:ORG,ORG]`` → token → account."""
    tokens = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise SystemExit(f"--token {parts[0][:4]}…: expected TOKEN:USER[:read|write][:ORGS]")
        role = parts[2] if len(parts) > 2 and parts[2] else "write"
        orgs = [o for o in (parts[3].split(",") if len(parts) > 3 else []) if o]
        tokens[parts[0]] = {"name": parts[1], "role": role, "orgs": orgs,
                            "namespaces": {parts[1], *orgs}}
    return tokens


def make_server(root: Path, port: int = 0, **options) -> ThreadingHTTPServer:
    hub = StandIn(root, **options)
    handler = type("BoundHandler", (Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.hub = hub
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="where repos are stored")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", default=[],
                        metavar="TOKEN:USER[:read|write][:ORGS]", help="an accepted token")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON",
                        help="a fault rule (see the module docstring)")
    parser.add_argument("--commit-hold", type=float, default=0.0, metavar="S",
                        help="seconds a commit holds its repo's lock (the Hub takes ~1 s)")
    parser.add_argument("--models", type=Path, metavar="JSON",
                        help="model catalogue for /api/models (a list of model-info dicts)")
    parser.add_argument("--model-repo", action="append", default=[], metavar="OWNER/NAME=DIR",
                        help="store a local folder as a model repo at start (repeatable)")
    args = parser.parse_args(argv)
    faults = [FaultRule.parse(json.loads(spec)) for spec in args.fault]
    models = json.loads(args.models.read_text()) if args.models else None
    server = make_server(args.root, args.port, tokens=parse_tokens(args.token),
                         commit_hold=args.commit_hold, models=models, faults=faults)
    for spec in args.model_repo:
        repo_id, _, folder = spec.partition("=")
        if not re.fullmatch(REPO, repo_id) or not Path(folder).is_dir():
            raise SystemExit(f"--model-repo {spec}: expected OWNER/NAME=DIR with DIR a folder")
        server.hub.store_folder(repo_id, Path(folder))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"ready http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
