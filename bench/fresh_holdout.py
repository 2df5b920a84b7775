"""The fresh held-out set of issue 20: predictions written down first, then judged once.

    python bench/fresh_holdout.py place --domains DIR [--graph G] [--out results/fresh]
    python bench/fresh_holdout.py predict [--graph G] [--out results/fresh]
    python bench/fresh_holdout.py judge --truth GRAPH_DIR [--out results/fresh] [--json]

The eight domains of :data:`mandc.minizoo.domains.FRESH_DOMAINS` were fixed before any of their
pairs was profiled: four mixtures of pretraining domains (the pretrained regime) and four graded
variants that no model saw. ``place`` describes each domain (the graph's featurizer, as ``mandc
graph describe`` does) and probes it with every model (zero-shot, as ``mandc recommend --probe``
does), and keeps both as a small graph without fine-tuned scores (``OUT/targets``). ``predict``
places each domain in the graph (default: the default graph) and writes every method's predicted
scores, ranks and ``mandc``'s 80% and 95% intervals to ``OUT/predictions.csv``, with what they
were made from in ``OUT/predictions.json``. Both are committed before the profiling results are
read. ``judge`` reads the written predictions, never the methods, and scores them against the
measured scores of a profiled graph (``mandc profile-grid`` over the same domains): top-1,
noise-aware top-1, top-3, mean and median regret, Spearman, per regime, the paired comparison of
``mandc`` with each baseline, and the interval coverage.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DEFAULT_METHODS, FIGURES, seed_spread  # noqa: E402

from mandc.graph.defaults import default_graph_source, resolve_graph, shipped_graph_dir  # noqa: E402
from mandc.graph.matching_graph import MatchingGraph  # noqa: E402
from mandc.graph.placement import add_target  # noqa: E402
from mandc.graph.store import load_graph, save_graph  # noqa: E402
from mandc.minizoo.domains import FRESH_DOMAINS, FRESH_PRETRAINED_REGIME  # noqa: E402
from mandc.ranking.evaluate import (  # noqa: E402
    normalized_score_matrix,
    paired_comparison,
    ranking_metrics,
)
from mandc.ranking.methods import make_method  # noqa: E402

LEVELS = (0.8, 0.95)
VARIANTS = {"mandc": ("mandc", {"probe_neighbours": False}),
            "mandc+probe_neighbours": ("mandc", {"probe_neighbours": True})}
"""Settings as judged (name → registered method, parameters): ``mandc`` was the default then,
without probe neighbours; ``mandc+probe_neighbours`` was chosen on the 72-domain graph and written
down beside it so that the fresh set judged both once (it is the default now)."""


def build_method(name: str, metric: str, seed: int):
    base, params = VARIANTS.get(name, (name, {}))
    method = make_method(base, metric=metric, seed=seed)
    return type(method)(**{**method.get_params(), **params})


def regime(domain: str) -> str:
    return "in_pretraining" if domain in FRESH_PRETRAINED_REGIME else "held_out"


def place(graph: MatchingGraph, domains_root: Path) -> MatchingGraph:
    """A graph of the fresh domains alone: their descriptors and zero-shot probes, no scores."""
    from mandc.data import LoadOptions, load_target
    from mandc.features import describe, get_featurizer
    from mandc.graph.placement import with_descriptors
    from mandc.profile.probe import probe_dataset, probe_metric_specs

    featurizer = get_featurizer(graph.meta["featurizer"].split("@", 1)[0])
    descriptors, probes = [], []
    for domain in FRESH_DOMAINS:
        started = time.perf_counter()
        folder = domains_root / domain
        descriptors.append(describe(load_target(folder, LoadOptions()), featurizer))
        probes.append(probe_dataset(graph.model_ids, folder, name=domain))
        print(f"placed {domain} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    scores = pd.concat(probes, ignore_index=True)
    targets = MatchingGraph(models=graph.models, datasets=pd.DataFrame({"dataset": FRESH_DOMAINS}),
                            scores=scores, meta={**graph.meta, "metrics": {
                                **graph.meta.get("metrics", {}), **probe_metric_specs()}})
    return with_descriptors(targets, descriptors)


def predict(graph: MatchingGraph, targets: MatchingGraph, methods, metric: str,
            seed: int) -> pd.DataFrame:
    """One row per (method, domain, model): predicted score, rank, and mandc's intervals."""
    descriptors = targets.datasets.set_index("dataset", drop=False)
    rows = []
    for domain in FRESH_DOMAINS:
        from mandc.features import DatasetDescriptor

        extended, target = add_target(graph, DatasetDescriptor.from_row(
            descriptors.loc[domain].to_dict()))
        probes = targets.probe_scores_of(domain)
        extended = extended.add_scores(probes.assign(dataset=target))
        for name in methods:
            method = build_method(name, metric, seed).fit(extended)
            if name.startswith("mandc"):
                tables = {level: method.rank(target, level=level) for level in LEVELS}
                table = tables[LEVELS[0]]
                for level in LEVELS:
                    bounds = tables[level].set_index("model")[["low", "high"]]
                    table = table.join(bounds.add_suffix(f"_{round(level * 100)}"), on="model")
            else:
                table = method.rank(target)
            rows.append(table.assign(method=name, dataset=domain, regime=regime(domain)))
    columns = ["method", "dataset", "regime", "model", "predicted", "rank"]
    table = pd.concat(rows, ignore_index=True)
    return table[columns + [c for c in table.columns if c not in columns]]


def judge(predictions: pd.DataFrame, truth: MatchingGraph, metric: str, tolerance: float):
    """Per-domain figures of every method from the written predictions (higher predicted =
    better; equal predictions are a tie, scored by its expectation, which is how ``random``,
    which predicts nothing, gets the figures of a random pick)."""
    measured = truth.score_matrix(metric)
    higher = truth.higher_is_better(metric)
    rows = []
    for (name, domain), group in predictions.groupby(["method", "dataset"], sort=False):
        column = measured[domain].dropna() if domain in measured else measured.iloc[:0, 0]
        if len(column) < 2:  # not profiled yet
            continue
        predicted = group.set_index("model")["predicted"].reindex(column.index)
        figures = ranking_metrics(predicted.to_numpy(), column.to_numpy(), higher_is_better=higher,
                                  log_scale=truth.log_scale(metric), tie_tolerance=tolerance)
        rows.append({"method": name, "dataset": domain, "regime": regime(domain),
                     "models": len(column), **figures,
                     "pick": predicted.fillna(-np.inf).idxmax(),
                     "best": column.idxmax() if higher else column.idxmin()})
    return pd.DataFrame(rows)


def summarise(per_domain: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    grouped = per_domain.groupby(by, sort=False)
    table = grouped[[f for f in FIGURES if f in per_domain and f != "regret_median"]].mean()
    table["regret_median"] = grouped["regret"].median()
    table["domains"] = grouped["dataset"].nunique()
    return table[[f for f in FIGURES if f in table] + ["domains"]]


def coverage(predictions: pd.DataFrame, truth: MatchingGraph, metric: str) -> pd.DataFrame:
    """Share of the measured normalised scores inside mandc's written intervals."""
    normalised = normalized_score_matrix(truth, metric)
    mandc = predictions[predictions["method"].str.startswith("mandc")]
    rows = []
    for (name, domain), group in mandc.groupby(["method", "dataset"], sort=False):
        measured = normalised[domain].dropna() if domain in normalised else []
        if len(measured) < 2:
            continue
        table = group.set_index("model").loc[measured.index]
        for level in LEVELS:
            low, high = table[f"low_{round(level * 100)}"], table[f"high_{round(level * 100)}"]
            rows.append({"method": name, "dataset": domain, "level": level,
                         "coverage": float(((measured >= low) & (measured <= high)).mean())})
    return pd.DataFrame(rows).groupby(["method", "level"])[["coverage"]].mean()


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("place", "predict", "judge"))
    parser.add_argument("--graph", help="graph the predictions are made on (default: the default "
                        "graph)")
    parser.add_argument("--domains", help="place: folder of the fresh domains' imagefolders "
                        "(`mandc minizoo domains --write DIR`)")
    parser.add_argument("--truth", help="judge: the profiled graph of the fresh domains")
    parser.add_argument("--out", default="results/fresh")
    parser.add_argument("--metric", default="fid")
    parser.add_argument("--methods", nargs="+",
                        default=list(dict.fromkeys([*DEFAULT_METHODS, *VARIANTS])))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)

    if args.step == "place":
        if not args.domains:
            parser.error("place needs --domains DIR")
        save_graph(place(resolve_graph(args.graph), Path(args.domains)), out / "targets")
        print(f"wrote {out / 'targets'}")
    elif args.step == "predict":
        started, commit = time.perf_counter(), _git_commit()  # the code that makes them
        graph = resolve_graph(args.graph)
        table = predict(graph, load_graph(out / "targets"), args.methods, args.metric, args.seed)
        table.to_csv(out / "predictions.csv", index=False, float_format="%.6g")
        meta = {"graph": args.graph or default_graph_source(),
                "graph_datasets": len(graph.dataset_ids), "graph_models": len(graph.model_ids),
                "metric": args.metric, "methods": args.methods, "seed": args.seed,
                "domains": list(FRESH_DOMAINS), "pretrained_regime": list(FRESH_PRETRAINED_REGIME),
                "git_commit": commit,
                "written_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - started, 1)}
        (out / "predictions.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(f"wrote {out / 'predictions.csv'} ({len(table)} rows)")
    else:
        if not args.truth:
            parser.error("judge needs --truth GRAPH_DIR")
        predictions = pd.read_csv(out / "predictions.csv")
        truth = load_graph(args.truth)
        tolerance = seed_spread(load_graph(shipped_graph_dir()),
                                load_graph(shipped_graph_dir("minizoo-seed1")), args.metric)
        per_domain = judge(predictions, truth, args.metric, tolerance)
        overall = summarise(per_domain, ["method"])
        regimes = summarise(per_domain, ["regime", "method"])
        paired = paired_comparison(per_domain, "mandc", seed=args.seed)
        covered = coverage(predictions, truth, args.metric)
        if args.json:
            print(json.dumps({"overall": overall.round(4).to_dict(orient="index"),
                              "by_regime": {f"{r}/{m}": row for (r, m), row in
                                            regimes.round(4).to_dict(orient="index").items()},
                              "mandc_vs": paired.round(4).to_dict(orient="index"),
                              "coverage": {f"{m}/{level}": value for (m, level), value in
                                           covered["coverage"].round(4).items()},
                              "tie_tolerance": round(tolerance, 4)}, indent=1))
            return
        print(f"fresh held-out set: {per_domain['dataset'].nunique()} domains with measured "
              f"scores; noise tolerance {tolerance:.3f}; predictions written "
              f"{json.loads((out / 'predictions.json').read_text())['written_at']}")
        print(overall.round(3).to_string())
        print("\nby regime")
        print(regimes.round(3).to_string())
        print("\nmandc against each method, domain by domain (regret): gain = mean regret of the "
              "other minus mandc's, bootstrap 95% interval; p_sign = sign test")
        print(paired.round(3).to_string())
        print("\nmandc's interval coverage (nominal 80% and 95%)")
        print(covered.round(3).to_string())
        print("\nper domain")
        print(per_domain[["method", "dataset", "pick", "best", "regret"]].round(3).to_string())


if __name__ == "__main__":
    main()
