"""From a target to a ranked answer: the one call the CLI and the app share.

``advise`` resolves the target (a dataset of the graph, or a folder, zip, upload or Hub id that is
described and placed in the graph), fits the chosen method and returns a JSON-ready dict: the
ranking, the measured scores where the target has them, and the profiled datasets that drove the
prediction — the reasons shown to the user.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from .errors import ConfigError, HubError, MandcError
from .graph.matching_graph import MatchingGraph
from .graph.views import score_matrix, without_scores_of
from .ranking.methods import make_method

PREDICTED_SCALE = ("predicted, low and high: standard deviations above the average candidate on "
                   "this dataset, higher is better whatever the metric; higher_is_better and "
                   "measured are the raw metric's")
"""The result's ``predicted_scale``: a reader of the JSON sees ``higher_is_better: false`` beside
``predicted`` and needs telling that the two are on different scales."""


def advise(graph: MatchingGraph, target, *, method: str = "mandc", metric: str | None = None,
           top: int | None = 10, neighbours: int = 3, hold_out: bool = False, seed: int = 0,
           samples: int | None = None, graph_source: str | None = None,
           probe: bool = False, load_options=None,
           candidates: pd.DataFrame | None = None, fitted: dict | None = None,
           base: MatchingGraph | None = None) -> dict:
    """Rank every model of ``graph`` for ``target`` (see the module docstring). ``probe``: a new
    target is first probed by every model of the graph (:mod:`mandc.profile.probe`; the models
    must load on this machine), so that a graph with probe metrics can use them. ``top=None``
    keeps every candidate in the ranking. ``load_options`` (:class:`mandc.data.LoadOptions`)
    says how to read a new target (``samples`` overrides its ``max_samples``); the result's
    ``load_report`` says what was read and what was left out, and why (``None`` for a dataset
    of the graph). ``candidates`` (catalogue rows, see :func:`load_candidates`): rank these
    instead, the graph's models among them as usual and the others as models the graph never
    profiled (:mod:`mandc.ranking.cold_models`). ``fitted``: a dict the caller keeps for one
    unchanged ``graph`` (a server answering many requests); methods fitted for a dataset of that
    graph are kept there and reused instead of refitted. ``base``: the graph ``fitted``
    belongs to, when ``graph`` is ``base`` with the new ``target`` placed in it
    (:func:`mandc.graph.placement.add_target`): a method that places new datasets out of sample
    ranks it with the fit kept for ``base`` (see :func:`fitted_for_new_targets`), no refit."""
    from .graph.defaults import place_target

    if top is not None and top < 1:
        raise ConfigError(f"top must be at least 1, got {top}")
    source, given = target, graph
    graph, target, sample = place_target(graph, target, samples=samples, options=load_options,
                                         seed=None if load_options else seed)
    if hold_out and sample is not None:
        raise ConfigError(f"hold_out hides the scores of a dataset of the graph; {target!r} is "
                          "new, so it has none to hide")
    if probe and not graph.probe_metrics:
        raise ConfigError("--probe needs a graph with probe metrics (`mandc probe`)")
    if probe and not _has_probes(graph, target):
        from .profile.probe import probe_dataset

        graph = graph.add_scores(probe_dataset(graph.model_ids, source, name=target,
                                                 load_options=load_options))
    metric = graph._metric(metric)
    measured = score_matrix(graph, metric)[target]
    fit_on = without_scores_of(graph, target) if hold_out else graph
    key = (method, metric, seed, target if hold_out else None)
    # the target was already in the graph ``fitted`` belongs to
    reusable = fitted is not None and graph is given and base is None
    method_ = fitted.get(key) if reusable else None
    if fitted is not None and base is not None and measured.isna().all() \
            and not (graph.probe_metrics and _has_probes(graph, target)):
        kept = fitted_for_new_targets(base, method, metric=metric, seed=seed, fitted=fitted)
        method_ = None if kept is None else kept.with_targets(graph)
    if method_ is None:
        method_ = make_method(method, metric=metric, seed=seed).fit(fit_on)
        if reusable:
            fitted[key] = method_
    ranking = method_.rank(target)
    answer = {
        "target": target, "method": method, "metric": metric,
        "higher_is_better": graph.higher_is_better(metric), "predicted_scale": PREDICTED_SCALE,
        "held_out": hold_out,
        "graph": graph_source, "candidates": len(ranking),
        "interval_level": ranking.attrs.get("interval_level"),
        "ranking": ranking_rows(ranking if top is None else ranking.head(top),
                                None if measured.isna().all() else measured),
        "neighbours": similar_profiled_datasets(method_, fit_on, target, neighbours),
        "probe_metrics": list(getattr(method_, "probe_metrics_", [])),
        "load_report": sample.report.to_dict() if sample is not None and sample.report else None,
        "load_notes": list(sample.notes) if sample is not None else [],
    }
    if candidates is not None:
        rows = candidate_rows(fit_on, ranking, candidates, metric=metric,
                              measured=None if measured.isna().all() else measured)
        answer.update({
            "candidates": len(rows), "candidates_source": candidates.attrs.get("source", "table"),
            "notice": candidates.attrs.get("notice"),
            "not_profiled": sum(not row["profiled"] for row in rows),
            "unreachable": list(candidates.attrs.get("unreachable", [])),
            "ranking": rows if top is None else rows[:top],
        })
    return answer


def fitted_for_new_targets(graph: MatchingGraph, method: str = "mandc", *,
                           metric: str | None = None, seed: int = 0, fitted: dict):
    """``method`` fitted once on ``graph`` to rank datasets placed in it later (uploads)
    without a refit (``transductive=False``), kept in ``fitted``; ``None`` for a method that
    cannot place a dataset out of sample (it is refitted per target). Fitted without probes: a
    target placed without being probed has none (a probed one is refitted, to use them)."""
    from .ranking.methods import METHODS
    from .ranking.recommend import Recommender

    if not issubclass(METHODS.get(method), Recommender):
        return None
    metric = graph._metric(metric)
    key = (method, metric, seed, "new targets")
    method_ = fitted.get(key)
    if method_ is None:
        method_ = make_method(method, metric=metric, seed=seed, transductive=False,
                              use_probe=False).fit(graph)
        fitted[key] = method_
    return method_


def similar_profiled_datasets(method, graph: MatchingGraph, target: str, n: int) -> list[dict]:
    """The profiled datasets most similar to ``target``, with the weight they had in the prediction
    when the method explains itself (``explain(dataset)``), else the graph's dataset similarity."""
    if hasattr(method, "explain"):
        table = method.explain(target).head(n)
        return [{"dataset": str(row["dataset"]), "similarity": float(row["similarity"]),
                 "weight": float(row["weight"])} for row in table.to_dict(orient="records")]
    if hasattr(method, "neighbours"):
        near = method.neighbours(target, n)
    else:
        from .graph.similarity import dataset_similarity

        profiled = set(graph.measured_scores["dataset"].astype(str)) - {target}
        row = dataset_similarity(graph).loc[target]
        near = row[row.index.isin(profiled)].dropna().sort_values(ascending=False,
                                                                   kind="stable").head(n)
    return [{"dataset": str(d), "similarity": float(s)} for d, s in near.items()]


def _has_probes(graph: MatchingGraph, target: str) -> bool:
    rows = graph.probe_scores_of(target).drop_duplicates(["model", "metric"])
    return len(rows) == len(graph.model_ids) * len(graph.probe_metrics)


def ranking_rows(ranking: pd.DataFrame, measured: pd.Series | None) -> list[dict]:
    """Rows of a ranking (``model``, ``predicted``, ``rank``; ``low``, ``high``: the prediction
    interval, when the method gives one) with the measured score if any."""
    rows = []
    for record in ranking.to_dict(orient="records"):
        row = {"rank": int(record["rank"]), "model": str(record["model"]),
               "predicted": _finite(record["predicted"])}
        if "low" in record:
            row["low"], row["high"] = _finite(record["low"]), _finite(record["high"])
        if measured is not None:
            row["measured"] = _finite(measured.get(record["model"]))
        rows.append(row)
    return rows


def _finite(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------- candidates
def candidate_rows(graph: MatchingGraph, ranking: pd.DataFrame, candidates: pd.DataFrame, *,
                   metric: str, measured: pd.Series | None = None) -> list[dict]:
    """Profiled and never-profiled candidates ranked together: the graph's models keep the
    method's prediction (and its interval, ``low``/``high``, when it gives one); the others are
    predicted from their features and lineage, with a wider uncertainty, and marked
    ``profiled: false``, ``note: "not profiled"``. A never-profiled model's interval is the
    profiled one widened by the ratio of the two uncertainties (its own error is not
    conformally calibrated: no held-out cold model measures it)."""
    from .ranking.cold_models import ColdModelRanker

    profiled = ranking.set_index("model")["predicted"]
    bands = ranking.set_index("model")[["low", "high"]] if "low" in ranking else None
    ranker = ColdModelRanker(metric=metric).fit(graph)
    ids = candidates["id"].astype(str)
    cold = candidates[~ids.isin(profiled.index)]
    table = ranker.predict(cold, profiled) if len(cold) else None

    def warm(model: str) -> dict:
        row = {"model": model, "predicted": _finite(profiled[model]),
               "uncertainty": round(ranker.profiled_error_, 4), "profiled": True}
        if bands is not None:
            row["low"], row["high"] = (_finite(v) for v in bands.loc[model])
        return row

    rows = [warm(m) for m in ids if m in profiled.index]
    if candidates.attrs.get("with_graph"):
        rows += [warm(m) for m in profiled.index if m not in set(ids)]
    halfwidth = (float((bands["high"] - profiled).abs().median())
                 if bands is not None and len(bands) else math.nan)
    for record in ([] if table is None else table.to_dict("records")):
        row = {"model": record["model"], "predicted": _finite(record["predicted"]),
               "uncertainty": round(record["uncertainty"], 4), "profiled": False,
               "note": "not profiled", "lineage": record["lineage"],
               "closest_profiled": record["closest"]}
        if bands is not None:
            wider = halfwidth * record["uncertainty"] / ranker.profiled_error_ \
                if ranker.profiled_error_ > 0 else math.nan
            row["low"] = _finite(record["predicted"] - wider)
            row["high"] = _finite(record["predicted"] + wider)
        rows.append(row)
    rows.sort(key=lambda row: -np.inf if row["predicted"] is None else -row["predicted"])
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        if measured is not None:
            row["measured"] = _finite(measured.get(row["model"]))
    order = ["rank", "model", "predicted", "low", "high", "uncertainty", "profiled", "measured",
             "note"]
    return [{**{k: row[k] for k in order if k in row},
             **{k: v for k, v in row.items() if k not in order}} for row in rows]


UNREACHABLE = "not reachable — features unknown"
"""The mark of a listed Hub model whose features could not be read (offline, unknown, gated)."""


def load_candidates(spec: str, graph: MatchingGraph) -> pd.DataFrame:
    """``catalog``: the graph's models and the candidate catalogue (:mod:`mandc.hub.catalog`);
    else a file: one model id a line (``#`` comments), a CSV with an ``id`` or ``model``
    column, or the JSON ``mandc catalog --json`` prints. Each id is a graph model, a mini-zoo
    name, a pipeline folder or a Hub id (read as the catalogue reads it).

    A Hub id whose features cannot be read (Hub unreachable, no such repo, gated) is not
    ranked: it is listed in ``attrs["unreachable"]`` (model, row, note, reason) and named in
    ``attrs["notice"]``, and the others are ranked; a file where no id can be read is an
    error. A malformed id or a repo that is no diffusers pipeline is an error, as before."""
    from pathlib import Path

    from .errors import ValidationError
    from .hub.catalog import CATALOG_COLUMNS, candidate_catalog, model_features

    if spec == "catalog":
        table = candidate_catalog()
        table.attrs.update(source="catalog", with_graph=True)
        return table
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(f"--candidates {spec}: expected graph, catalog or a file of model ids")
    text = path.read_text()
    if path.suffix == ".json":
        try:
            rows = json.loads(text)
        except ValueError as error:
            raise ValidationError(f"not JSON ({error})", file=spec) from None
        rows = rows.get("models", []) if isinstance(rows, dict) else rows
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r
                                                 for r in rows):
            raise ValidationError("expected a list of models with an 'id' each (mandc catalog "
                                  "--json)", file=spec)
        table = pd.DataFrame(rows)
        table = table.reindex(columns=CATALOG_COLUMNS + [c for c in table.columns
                                                         if c not in CATALOG_COLUMNS])
    else:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str)
            column = "id" if "id" in frame else "model" if "model" in frame else None
            if column is None:
                raise ValidationError("needs an 'id' or 'model' column", file=spec)
            ids = [(i + 2, v) for i, v in enumerate(frame[column].fillna(""))]
        else:
            ids = [(i + 1, line.split("#")[0].strip()) for i, line in
                   enumerate(text.splitlines())]
        known = set(graph.model_ids)
        records, unreachable = [], []
        for row, model in ids:
            if not model:
                continue
            if model in known:
                records.append({"id": model, "source": "graph"})
                continue
            try:
                records.append(model_features(model))
            except HubError as error:  # the Hub did not give its features: rank the others
                unreachable.append({"model": model, "row": row, "note": UNREACHABLE,
                                    "reason": " ".join(str(error).split())})
            except MandcError as error:
                raise type(error)(f"{spec}, row {row}: {error}") from None
        if not records and unreachable:
            first = unreachable[0]
            raise HubError(f"{spec}: no candidate could be read from the Hub, so none can be "
                           f"ranked (row {first['row']}, {first['model']}: {first['reason']})")
        if not records:
            raise ValidationError("names no model", file=spec)
        table = pd.DataFrame(records).reindex(columns=CATALOG_COLUMNS)
        table.attrs["unreachable"] = unreachable
        if unreachable:
            names = ", ".join(item["model"] for item in unreachable)
            table.attrs["notice"] = (f"{len(unreachable)} of the candidates in {spec} could not "
                                     f"be read from the Hub and are not ranked ({names}): "
                                     f"{unreachable[0]['reason']}")
    table.attrs.update(source=spec, with_graph=False)
    return table
