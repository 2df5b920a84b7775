"""The candidate catalogue: text-to-image base models a person could fine-tune, with their features.

Hub models come from ``HfApi.list_models(pipeline_tag="text-to-image", filter="diffusers",
sort="downloads", expand=[…])`` — downloads, likes, licence, gating and ``base_model`` lineage in
one listing — and their pipeline features from :mod:`.model_features` (configs and safetensors
headers, no weights). The mini zoo's models get the same features from their local folders, so
one schema (:data:`CATALOG_COLUMNS`) serves both.

Cached under ``MANDC_HOME/catalog``: the listing for ``MANDC_CATALOG_TTL`` seconds, each model's
features by commit (a commit never changes). Offline (``HF_HUB_OFFLINE=1``) or with the Hub
unreachable after bounded retries, the catalogue is the last cached listing, else the mini zoo
alone, and ``attrs["notice"]`` says so in one plain line (``attrs["hub_error"]``: why the Hub
failed, for the log).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, HubError, ValidationError
from ..settings import get_settings
from .model_features import NotAPipeline, Reader, folder_features, pipeline_features

CATALOG_COLUMNS = ["id", "source", "kind", "family", "pipeline_class", "denoiser_class",
                   "denoiser_params", "text_encoder_params", "params", "resolution", "licence",
                   "base_model", "base_model_relation", "downloads", "likes", "gated", "note"]
"""One row per candidate, Hub or mini zoo. ``kind``: ``pipeline`` or ``adapter``; ``family``: the
pipeline class on the Hub, the architecture label in the mini zoo (as the graph records it);
parameter counts from safetensors headers; ``resolution``: native side in pixels; ``note``: why a
feature is missing (a gated repo read without access)."""

LIST_EXPAND = ["cardData", "gated", "baseModels", "tags", "downloads", "likes", "siblings", "sha",
               "library_name", "pipeline_tag"]
ADAPTER_TAGS = {"lora", "adapter", "template:sd-lora", "peft", "textual_inversion"}
MINIZOO_LICENCE = "apache-2.0"
MAX_ATTEMPTS = 3
"""Tries of one catalogue request (fewer than a push's: a listing is cheap to give up on)."""


# ------------------------------------------------------------------------------- public
def candidate_catalog(search: str | None = None, limit: int = 20, min_downloads: int = 0,
                      licences: list[str] | None = None, max_params: float | None = None,
                      min_resolution: int | None = None, include_gated: bool = True,
                      include_adapters: bool = False, include_minizoo: bool = True,
                      refresh: bool = False) -> pd.DataFrame:
    """Candidates best-known first (mini zoo, then the Hub by downloads), filtered.

    ``search``: a substring of the id; ``limit``: Hub models listed at most — the ``limit`` most
    downloaded that pass every filter, so filters never leave fewer when more would pass (the
    mini zoo's models come besides: few, local, the graph's own); ``min_downloads``: Hub models
    only (local models have no downloads); ``licences``: licence ids, any of them (``other``
    licences match by their name too); ``max_params``: denoiser plus text encoders;
    ``min_resolution``: native side in pixels. A model whose feature a filter needs is unknown
    (gated without access) is kept, with its note. ``attrs``: ``notice`` (one line when the Hub
    was not used), ``hub_error`` (the failed request's own line, or ``None``), ``skipped`` (listed
    repos that are not diffusers pipelines), ``fetched_at``."""
    _check_filters(limit, min_downloads, max_params, min_resolution)
    wanted = {licence.lower() for licence in licences or []}
    rows = minizoo_rows() if include_minizoo else []
    rows = [r for r in rows if (not search or search.lower() in r["id"].lower())]
    listing, notice, fetched_at, hub_error = _listing(search, limit, refresh=refresh)
    skipped: list[str] = []
    hub_rows = 0
    for item in listing:  # most downloaded first; features are read only for rows still wanted
        if hub_rows == limit:
            break
        row = _listing_row(item)
        if row["kind"] == "adapter" and not include_adapters:
            continue
        if row["gated"] and not include_gated:
            continue
        if (row["downloads"] or 0) < min_downloads:
            continue
        if wanted and not _licence_matches(row, wanted):
            continue
        try:
            row.update(_hub_features(item, row["kind"], offline=notice is not None))
        except NotAPipeline:
            skipped.append(row["id"])
            continue
        except _FeaturesUnavailable as why:
            row["note"] = str(why)
        if _fits(row, max_params, min_resolution):
            rows.append(row)
            hub_rows += 1
    table = pd.DataFrame(rows, columns=CATALOG_COLUMNS)
    if wanted:
        table = table[[_licence_matches(r, wanted) for r in table.to_dict("records")]]
    table = table[[_fits(r, max_params, min_resolution) for r in table.to_dict("records")]]
    table = table.reset_index(drop=True)
    for column in ("denoiser_params", "text_encoder_params", "params", "resolution", "downloads",
                   "likes"):
        table[column] = table[column].astype("Int64")
    table.attrs.update(notice=notice, hub_error=hub_error, skipped=skipped,
                       fetched_at=fetched_at)
    return table


def model_features(model: str) -> dict:
    """One candidate's catalogue row: a mini-zoo name, a local pipeline folder or a Hub id.
    Errors are one line: an id the Hub does not know, a repo that is no diffusers pipeline, a
    gated repo without access."""
    from ..minizoo.models import ASSETS_DIR, ZOO

    if model in ZOO:
        return next(r for r in minizoo_rows() if r["id"] == model)
    folder = Path(model).expanduser()
    if folder.is_dir():
        try:
            features = folder_features(folder)
        except NotAPipeline:
            raise ValidationError(f"{model}: not a diffusers pipeline folder (no "
                                  f"model_index.json)") from None
        family = features["pipeline_class"]
        if (folder / "zoo_spec.json").is_file():  # a mini-zoo model: its architecture label
            from ..minizoo.models import ZooSpec

            family = ZooSpec.from_dict(json.loads((folder / "zoo_spec.json").read_text())) \
                .architecture
        return {**_empty_row(str(folder), "local"), **features, "family": family}
    if model.count("/") != 1 or folder.exists() or (ASSETS_DIR / model).exists():
        raise ValidationError(f"{model!r} is neither a mini-zoo model ({', '.join(ZOO)}), a "
                              f"pipeline folder nor a Hub model id (owner/name)")
    item = _with_retries(lambda: _api().model_info(model, expand=LIST_EXPAND), model,
                         f"reading {model}")
    row = _listing_row(_info_dict(item))
    try:
        row.update(_hub_features(_info_dict(item), row["kind"], offline=False, strict=True))
    except NotAPipeline:
        raise ValidationError(f"{model}: not a diffusers pipeline (the repo has no "
                              f"model_index.json)") from None
    return row


def minizoo_rows() -> list[dict]:
    """The mini zoo's pretrained models, read from their folders like any pipeline."""
    from ..minizoo.models import ASSETS_DIR, zoo_specs

    rows = []
    for spec in zoo_specs():
        folder = ASSETS_DIR / spec.name
        if not (folder / "model_index.json").is_file():
            continue
        rows.append({**_empty_row(spec.name, "minizoo"), **folder_features(folder),
                     "family": spec.architecture, "licence": MINIZOO_LICENCE, "gated": False})
    return rows


# ------------------------------------------------------------------------------- listing
def _check_filters(limit, min_downloads, max_params, min_resolution) -> None:
    if not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    if min_downloads is not None and min_downloads < 0:
        raise ConfigError(f"min_downloads must be 0 or more, got {min_downloads!r}")
    if max_params is not None and not max_params > 0:
        raise ConfigError(f"max_params must be positive, got {max_params!r}")
    if min_resolution is not None and min_resolution < 1:
        raise ConfigError(f"min_resolution must be positive, got {min_resolution!r}")


def _fits(row: dict, max_params: float | None, min_resolution: int | None) -> bool:
    """The feature filters; a feature that is unknown (gated, offline) does not exclude."""
    params, resolution = row.get("params"), row.get("resolution")
    if max_params is not None and _known(params) and params > max_params:
        return False
    return not (min_resolution is not None and _known(resolution) and resolution < min_resolution)


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _pool(limit: int) -> int:
    """Models listed for ``limit`` wanted: room for the listing filters to drop some."""
    return min(1000, max(100, 5 * limit))


def cache_dir() -> Path:
    return get_settings().home / "catalog"


def _listing(search: str | None, limit: int, *,
             refresh: bool) -> tuple[list, str | None, float, str | None]:
    """The Hub's listing for ``search`` (cached for the TTL), the notice when it is not fresh
    from the Hub, when it was fetched, and why the Hub failed (a request's line such as
    ``connection failed (gaierror: …)``: for the log, kept out of the notice people read)."""
    settings = get_settings()
    key = hashlib.sha256((search or "").lower().encode()).hexdigest()[:16]
    path = cache_dir() / f"listing-{key}.json"
    cached = _read_json(path)
    if cached and not refresh and cached["pool"] >= _pool(limit) and \
            time.time() - cached["fetched_at"] < settings.catalog_ttl:
        return cached["models"], None, cached["fetched_at"], None
    hub_error = None
    if settings.hub_offline:
        reason = "HF_HUB_OFFLINE=1"
    else:
        try:
            _with_retries(_probe, None, "reaching the Hub")
            models = _with_retries(lambda: [_info_dict(m) for m in _api().list_models(
                pipeline_tag="text-to-image", filter="diffusers", search=search or None,
                sort="downloads", limit=_pool(limit), expand=LIST_EXPAND)], None,
                "listing text-to-image models", attempts=1)
        except HubError as error:
            reason, hub_error = "the Hub could not be reached", str(error)
        else:
            fetched_at = time.time()
            _write_json(path, {"search": search, "pool": _pool(limit), "fetched_at": fetched_at,
                               "models": models})
            return models, None, fetched_at, None
    fallback = cached or _latest_listing()
    if fallback is None:
        return [], f"{reason}: no cached catalogue yet, showing the mini zoo only", None, \
            hub_error
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(fallback["fetched_at"]))
    other = "" if fallback is cached else (f" (for search {fallback['search']!r})"
                                           if fallback["search"] else " (no search)")
    return fallback["models"], f"{reason}: showing the catalogue cached {when}{other}", \
        fallback["fetched_at"], hub_error


def _latest_listing() -> dict | None:
    listings = [_read_json(p) for p in cache_dir().glob("listing-*.json")]
    listings = [c for c in listings if c]
    return max(listings, key=lambda c: c["fetched_at"]) if listings else None


def _listing_row(item: dict) -> dict:
    """The catalogue fields a listing entry carries (no file is read)."""
    card = item.get("cardData") or item.get("card_data") or {}
    tags = {str(t).lower() for t in item.get("tags") or []}
    bases = item.get("baseModels") or {}
    relation = bases.get("relation") if isinstance(bases, dict) else None
    base_ids = [m["id"] for m in (bases.get("models") or [])] if isinstance(bases, dict) else []
    if not base_ids:
        declared = card.get("base_model")
        base_ids = [declared] if isinstance(declared, str) else list(declared or [])
        relation = relation or card.get("base_model_relation") or (
            "finetune" if base_ids else None)
    licence = card.get("license") or next((t.split(":", 1)[1] for t in tags
                                           if t.startswith("license:")), None)
    if licence == "other" and card.get("license_name"):
        licence = f"other:{card['license_name']}"
    kind = "adapter" if relation == "adapter" or tags & ADAPTER_TAGS else "pipeline"
    return {**_empty_row(item["id"], "hub"), "kind": kind, "licence": licence,
            "base_model": ";".join(base_ids) or None, "base_model_relation": relation,
            "downloads": item.get("downloads"), "likes": item.get("likes"),
            "gated": bool(item.get("gated"))}


def _licence_matches(row: dict, wanted: set[str]) -> bool:
    licence = (row.get("licence") or "").lower()
    return licence in wanted or licence.removeprefix("other:") in wanted


def _empty_row(model_id: str, source: str) -> dict:
    row = dict.fromkeys(CATALOG_COLUMNS)
    row.update(id=model_id, source=source, kind="pipeline", gated=False)
    return row


# ------------------------------------------------------------------------------- features
class _FeaturesUnavailable(Exception):
    """The repo's files cannot be read now (gated, offline); the row keeps its listing fields."""


def _hub_features(item: dict, kind: str, *, offline: bool, strict: bool = False) -> dict:
    """Pipeline features of a listed repo, from the feature cache (by commit) or the Hub."""
    key = f"{item['id']}@{item.get('sha')}:{kind}"
    path = cache_dir() / "features.json"
    cache = _read_json(path) or {}
    if key in cache:
        if cache[key] is None:
            raise NotAPipeline(item["id"])
        return cache[key]
    if offline:
        raise _FeaturesUnavailable("features not cached and the Hub is not reachable")
    files = [s["rfilename"] if isinstance(s, dict) else str(s) for s in item.get("siblings") or []]
    try:
        features = _with_retries(lambda: _read_features(item["id"], item.get("sha"), files, kind),
                                 item["id"], f"reading the features of {item['id']}")
    except NotAPipeline:
        cache[key] = None
        _write_json(path, cache)
        raise
    except _Gated as gated:
        if strict:
            raise HubError(str(gated)) from None
        raise _FeaturesUnavailable(str(gated)) from None
    except HubError as error:
        if strict:
            raise
        raise _FeaturesUnavailable(str(error)) from None
    cache[key] = features
    _write_json(path, cache)
    return features


class _Gated(Exception):
    """A gated repo the token may not read: its row is kept, with features empty and why."""


def _read_features(repo_id: str, sha: str | None, files: list[str], kind: str) -> dict:
    from huggingface_hub import hf_hub_download

    api = _api()

    def read_json(name: str) -> dict:
        return json.loads(Path(hf_hub_download(repo_id, name, revision=sha)).read_text())

    def parameters(name: str) -> int:
        metadata = api.parse_safetensors_file_metadata(repo_id, name, revision=sha)
        return int(sum(metadata.parameter_count.values()))

    if kind == "adapter":
        weights = [f for f in files if f.endswith(".safetensors") and "/" not in f]
        return {"params": sum(parameters(f) for f in weights) if weights else None}
    features = pipeline_features(Reader(files, read_json, parameters))
    return {**features, "family": features["pipeline_class"]}


# ------------------------------------------------------------------------------- plumbing
def _api():
    from .session import api_with_timeout

    return api_with_timeout()


def _probe() -> None:
    """One small listing request, under this module's bounded retries: ``list_models`` retries
    a refused connection itself for about 23 s, too long to learn that the Hub is away."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session, hf_raise_for_status

    _api()  # installs the request timeout
    answer = get_session().get(f"{constants.ENDPOINT}/api/models", params={"limit": 1},
                               timeout=get_settings().hub_timeout)
    hf_raise_for_status(answer)


def _with_retries(call, repo: str | None, action: str, attempts: int | None = None):
    """``call()`` with the Hub session's bounded retries; a missing repo is one clear line."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    from .session import with_retries

    def attempt(_: int):
        try:
            return call()
        except GatedRepoError:
            raise _Gated(f"{repo} is gated: accept its terms on the Hub and set HF_TOKEN (or "
                         f"`hf auth login`) to read its features") from None
        except RepositoryNotFoundError:
            raise HubError(f"{action}: model {repo} not found on the Hub (or private, and the "
                           f"token cannot read it)") from None

    attempts = attempts or min(get_settings().hub_attempts, MAX_ATTEMPTS)
    return with_retries(attempt, action=action, token=None, repo=repo or "", attempts=attempts)


def _info_dict(info) -> dict:
    """A ``ModelInfo`` as the JSON the cache keeps (the fields the catalogue reads)."""
    if isinstance(info, dict):
        return info
    siblings = [s.rfilename for s in info.siblings or []]
    bases = getattr(info, "base_models", None)
    return {"id": info.id, "sha": info.sha, "downloads": info.downloads, "likes": info.likes,
            "gated": info.gated, "tags": info.tags or [], "cardData": _card_dict(info.card_data),
            "baseModels": bases, "siblings": siblings, "pipeline_tag": info.pipeline_tag,
            "library_name": info.library_name}


def _card_dict(card) -> dict:
    if card is None:
        return {}
    return card.to_dict() if hasattr(card, "to_dict") else dict(card)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, payload) -> None:
    """Atomic: a reader never sees half a cache file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, default=_plain))
    temporary.replace(path)


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
