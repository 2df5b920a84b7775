"""Does profiling the pairs `mandc suggest` names lower regret faster than profiling random ones?

    python bench/suggest_curve.py [--graph DIR] [--start 0.3] [--batch 16] [--steps 8]
                                  [--subsets 3] [--first-subset 0] [--random-seeds 3]
                                  [--regressor linear]
                                  [--committee 4] [--arms suggest random] [--json]

A simulation on a dense graph (default: the shipped mini-zoo graph, every model measured on
every dataset). For each of ``--subsets`` seeded sparse starts, a share ``--start`` of the
(model, dataset) pairs is kept (every dataset keeps at least one; zero-shot probes all stay, as
they cost no fine-tuning), then ``--steps`` times ``--batch`` more pairs are "profiled" (their
scores copied back from the dense graph), chosen by:

- ``suggest``: the first ``--batch`` rows of :func:`mandc.ranking.suggest.suggest` on the
  current sparse graph;
- ``suggest_constant``: the same with ``committee=0`` (one sd for every pair; an ablation);
- ``random``: uniformly among the unmeasured pairs, ``--random-seeds`` seeds per start.

After each step the mean leave-one-dataset-out regret of the recommender is measured: each
dataset in turn loses its scores in the *sparse* graph, the recommender is fitted on the rest
and ranks the models for it, and the ranking is scored against that dataset's full, dense ground
truth (every model), which no fit ever sees. Regret is as :mod:`mandc.ranking.evaluate`
defines it (for FID the log ratio ``log(pick / best)``).

The recommender runs with ``--regressor linear`` by default: a leave-one-dataset-out pass is
32 fits, and the simulation needs a few hundred passes; the ridge fits in about 0.1 s where the
default forest takes 3-5 s on this 2-core machine. ``--regressor auto`` runs the default
recommender (budget about 2 minutes per pass).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph
from mandc.graph.views import without_scores_of
from mandc.ranking.evaluate import ranking_metrics
from mandc.ranking.recommend import Recommender
from mandc.ranking.suggest import suggest

ARMS = ("suggest", "suggest_constant", "random")


def measured_pairs(graph: MatchingGraph) -> list[tuple[str, str]]:
    """The (model, dataset) pairs with a fine-tuned (non-probe) score, sorted."""
    rows = graph.measured_scores[["model", "dataset"]].astype(str).drop_duplicates()
    return sorted(zip(rows["model"], rows["dataset"]))


def sparse_start(pairs: list[tuple[str, str]], share: float, seed: int) -> set[tuple[str, str]]:
    """A seeded ``share`` of ``pairs``, one pair of every dataset first."""
    rng = np.random.default_rng(seed)
    by_dataset: dict[str, list] = {}
    for pair in pairs:
        by_dataset.setdefault(pair[1], []).append(pair)
    chosen = {group[rng.integers(len(group))] for group in by_dataset.values()}
    rest = [p for p in pairs if p not in chosen]
    extra = max(0, round(share * len(pairs)) - len(chosen))
    chosen.update(rest[i] for i in rng.choice(len(rest), size=min(extra, len(rest)),
                                              replace=False))
    return chosen


def restrict(graph: MatchingGraph, keep: set[tuple[str, str]]) -> MatchingGraph:
    """``graph`` with the fine-tuned scores of the ``keep`` pairs only (every probe stays)."""
    scores = graph.scores
    pair = list(zip(scores["model"].astype(str), scores["dataset"].astype(str)))
    mask = scores["metric"].isin(graph.probe_metrics).to_numpy() | np.fromiter(
        (p in keep for p in pair), dtype=bool, count=len(pair))
    return MatchingGraph(graph.models, graph.datasets, scores[mask].reset_index(drop=True),
                         graph.similarity, dict(graph.meta))


def lodo_regret(sparse: MatchingGraph, truth: pd.DataFrame, settings: dict, *,
                higher_is_better: bool, log_scale: bool) -> tuple[float, float]:
    """Mean regret and top-1 over every dataset: fitted on the sparse graph without the target's
    scores, scored against the target's dense column ``truth[target]``."""
    regrets, top1 = [], []
    for target in truth.columns:
        column = truth[target].dropna()
        method = Recommender(**settings).fit(without_scores_of(sparse, target))
        predicted = method.predict(target).reindex(column.index).to_numpy()
        figures = ranking_metrics(predicted, column.to_numpy(),
                                  higher_is_better=higher_is_better, log_scale=log_scale)
        regrets.append(figures["regret"])
        top1.append(figures["top1"])
    return float(np.mean(regrets)), float(np.mean(top1))


def choose(arm: str, sparse: MatchingGraph, unmeasured: list[tuple[str, str]], batch: int,
           settings: dict, committee: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """The next ``batch`` pairs to profile under ``arm``."""
    if arm == "random":
        picks = rng.choice(len(unmeasured), size=min(batch, len(unmeasured)), replace=False)
        return [unmeasured[i] for i in picks]
    table = suggest(sparse, budget=batch, method=Recommender(**settings),
                    committee=0 if arm == "suggest_constant" else committee,
                    seed=settings["seed"])
    return list(zip(table["model"], table["dataset"]))


def run_arm(graph, truth, start, arm, args, settings, seed, direction) -> list[dict]:
    """One curve: regret after 0, 1, ..., ``--steps`` batches."""
    rng = np.random.default_rng(seed)
    known = set(start)
    everything = measured_pairs(graph)
    curve = []
    for step in range(args.steps + 1):
        sparse = restrict(graph, known)
        regret, top1 = lodo_regret(sparse, truth, settings, **direction)
        curve.append({"step": step, "pairs": len(known), "added": len(known) - len(start),
                      "regret": regret, "top1": top1})
        if step == args.steps:
            break
        unmeasured = [p for p in everything if p not in known]
        if not unmeasured:
            break
        known.update(choose(arm, sparse, unmeasured, args.batch, settings, args.committee, rng))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="dense graph (default: the shipped mini-zoo graph)")
    parser.add_argument("--metric", default=None, help="default: the graph's primary metric")
    parser.add_argument("--start", type=float, default=0.3, help="share of pairs kept at first")
    parser.add_argument("--batch", type=int, default=16, help="pairs profiled per step")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--subsets", type=int, default=3, help="seeded sparse starts")
    parser.add_argument("--first-subset", type=int, default=0, help="seed of the first start "
                        "(runs of disjoint starts can be pooled: --json, then concatenate)")
    parser.add_argument("--random-seeds", type=int, default=3, help="random curves per start")
    parser.add_argument("--regressor", default="linear", help="the recommender's regressor")
    parser.add_argument("--committee", type=int, default=4, help="suggest's committee size")
    parser.add_argument("--arms", nargs="+", default=["suggest", "random"], choices=ARMS)
    parser.add_argument("--json", action="store_true", help="print every curve as JSON")
    parser.add_argument("--pool", nargs="+", metavar="JSON", help="print the table of curves "
                        "saved by earlier --json runs (disjoint starts or arms), run nothing")
    parser.add_argument("--png", metavar="PATH", help="also draw the curves (mean ± sd) there")
    args = parser.parse_args()
    if args.pool:
        curves = pd.concat([pd.DataFrame(json.loads(open(path).read())["curves"])
                            for path in args.pool], ignore_index=True)
        print_table(curves)
        if args.png:
            draw(curves, args.png)
        return

    graph = load_graph(args.graph or shipped_graph_dir())
    metric = graph._metric(args.metric)
    truth = graph.score_matrix(metric)
    truth = truth.loc[:, truth.notna().sum() >= 2]
    direction = {"higher_is_better": graph.higher_is_better(metric),
                 "log_scale": graph.log_scale(metric)}
    # probe neighbours off, as the curves in the README were measured (before they became the
    # default)
    settings = {"regressor": args.regressor, "metric": metric, "seed": 0,
                "probe_neighbours": False}
    started = time.perf_counter()
    rows = []
    for subset in range(args.first_subset, args.first_subset + args.subsets):
        start = sparse_start(measured_pairs(graph), args.start, seed=subset)
        for arm in args.arms:
            seeds = range(args.random_seeds) if arm == "random" else [0]
            for seed in seeds:
                for point in run_arm(graph, truth, start, arm, args, settings,
                                     seed=1000 * subset + seed, direction=direction):
                    rows.append({"subset": subset, "arm": arm, "seed": seed, **point})
                print(f"# subset {subset} {arm} seed {seed} done "
                      f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    curves = pd.DataFrame(rows)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"metric": metric, "seconds": round(seconds, 1), "settings": vars(args),
                          "curves": curves.round(5).to_dict(orient="records")}, indent=1))
        return
    print(f"metric {metric}; {len(graph.model_ids)} models × {truth.shape[1]} datasets; start "
          f"{args.start:.0%} of the pairs; {args.subsets} starts; batch {args.batch}; regressor "
          f"{args.regressor}; committee {args.committee}; {seconds:.0f} s")
    print_table(curves)
    if args.png:
        draw(curves, args.png)


def print_table(curves: pd.DataFrame) -> None:
    print(summary(curves).to_string(float_format=lambda v: f"{v:.4f}"))
    for arm, (wins, points) in paired_wins(curves).items():
        print(f"{arm}: below the mean random curve of the same start at {wins} of {points} "
              "(start, step) points after the first step")


def summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd of regret per arm and number of pairs added (over starts and seeds), and each
    arm's mean paired difference from the random curves of the same start (``_vs_random``)."""
    grouped = curves.groupby(["added", "arm"])["regret"].agg(["mean", "std"]).unstack("arm")
    table = pd.DataFrame(index=grouped.index)
    for arm in curves["arm"].unique():
        table[f"{arm}_mean"] = grouped[("mean", arm)]
        table[f"{arm}_sd"] = grouped[("std", arm)]
    per_start = curves.groupby(["subset", "added", "arm"])["regret"].mean().unstack("arm")
    if "random" in per_start:
        for arm in [a for a in per_start.columns if a != "random"]:
            difference = (per_start[arm] - per_start["random"]).groupby("added")
            table[f"{arm}_vs_random"] = difference.mean()
    table["pairs"] = curves.groupby("added")["pairs"].first()
    return table


def paired_wins(curves: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """For each arm but random: at how many (start, step ≥ 1) points its regret is below the
    mean regret of the random curves from the same start."""
    if "random" not in set(curves["arm"]):
        return {}
    table = curves[curves["added"] > 0].groupby(["subset", "added", "arm"])["regret"].mean()
    table = table.unstack("arm")
    return {arm: (int((table[arm] < table["random"]).sum()), int(table[arm].notna().sum()))
            for arm in table.columns if arm != "random"}


COLOURS = {"suggest": (31, 119, 180), "suggest_constant": (44, 160, 44), "random": (214, 39, 40)}


def draw(curves: pd.DataFrame, path: str, size: tuple[int, int] = (720, 440)) -> None:
    """Mean regret against pairs added, one line per arm with a band of ± 1 sd (Pillow only)."""
    from PIL import Image, ImageDraw, ImageFont

    stats = curves.groupby(["arm", "added"])["regret"].agg(["mean", "std"]).fillna(0.0)
    image = Image.new("RGB", size, "white")
    pen = ImageDraw.Draw(image, "RGBA")
    font = ImageFont.load_default(size=14)
    left, top, right, bottom = 70, 40, size[0] - 20, size[1] - 60
    added = sorted(curves["added"].unique())
    high = float((stats["mean"] + stats["std"]).max()) * 1.05
    low = max(0.0, float((stats["mean"] - stats["std"]).min()) * 0.95)

    def point(x: float, y: float) -> tuple[float, float]:
        return (left + (right - left) * x / max(added[-1], 1),
                bottom - (bottom - top) * (y - low) / (high - low))

    pen.line([(left, top), (left, bottom), (right, bottom)], fill="black", width=1)
    for x in added:
        px, _ = point(x, low)
        pen.text((px, bottom + 6), str(x), fill="black", font=font, anchor="mt")
    for tick in np.linspace(low, high, 5):
        _, py = point(0, tick)
        pen.line([(left - 4, py), (left, py)], fill="black")
        pen.text((left - 8, py), f"{tick:.2f}", fill="black", font=font, anchor="rm")
    pen.text(((left + right) / 2, size[1] - 22), "pairs profiled after the sparse start",
             fill="black", font=font, anchor="mm")
    pen.text((left, 14), "leave-one-dataset-out mean regret (log FID ratio), mean ± sd",
             fill="black", font=font)
    for rank, arm in enumerate(a for a in COLOURS if a in stats.index.get_level_values(0)):
        rows = stats.loc[arm]
        colour = COLOURS[arm]
        band = [point(x, m + s) for x, m, s in zip(rows.index, rows["mean"], rows["std"])]
        band += [point(x, m - s) for x, m, s in
                 zip(rows.index[::-1], rows["mean"][::-1], rows["std"][::-1])]
        pen.polygon(band, fill=(*colour, 40))
        pen.line([point(x, m) for x, m in zip(rows.index, rows["mean"])], fill=colour, width=3)
        pen.text((right - 170, top + 10 + 20 * rank), arm, fill=colour, font=font)
    image.save(path)


if __name__ == "__main__":
    main()
