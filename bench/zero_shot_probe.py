"""Does the denoising probe (a zero-shot signal) help pick the model to fine-tune?

    python bench/zero_shot_probe.py [--json]

The shipped mini-zoo graphs hold the probe of every model on every domain as probe metrics
(``mandc probe`` measures them: :func:`mandc.profile.probe.denoising_error`, 32 train images per
domain, about 30 min for 11 models × 48 domains on this CPU). The bench compares,
leave-one-dataset-out over the profiled domains and on the held-out domains (each given its own
probes, as ``mandc recommend --probe`` gives a user's dataset):

- ``probe``: models ranked by the probe alone at ``alpha_bar`` 0.1 (no graph at all);
- ``nearest_dataset`` as it ships;
- ``mandc without probes``: ``mandc`` with ``use_probe=False``, as it shipped before the probes;
- ``mandc`` as it ships: with four more features per (model, dataset) row, the dataset's
  z-scored probe errors at the four levels (its own probe, never its fine-tuned score).
"""

from __future__ import annotations

import argparse
import json

import pandas as pd

from mandc.errors import ValidationError
from mandc.features import DatasetDescriptor
from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.placement import add_target
from mandc.graph.store import load_graph
from mandc.profile.probe import probe_metric
from mandc.ranking.baselines import NearestDataset
from mandc.ranking.evaluate import leave_one_dataset_out, ranking_metrics
from mandc.ranking.methods import RankingMethod
from mandc.ranking.recommend import Recommender

FIGURES = ["top1", "top3", "regret", "spearman"]


class ProbeOnly(RankingMethod):
    """Ranks models by one probe metric of the graph alone (no fine-tuned score is read)."""

    def __init__(self, level: str = probe_metric(0.1), metric=None, seed: int = 0):
        super().__init__(metric=metric, seed=seed)
        self.level = level

    def _fit(self, graph) -> None:
        self.probe_ = graph.normalized_score_matrix(self.level)

    def _predict(self, dataset: str) -> pd.Series:
        return self.probe_[dataset]


def held_out(graph, heldout, factories) -> pd.DataFrame:
    measured = heldout.score_matrix("fid")
    descriptors = heldout.datasets.set_index("dataset", drop=False)
    rows = []
    for domain in measured.columns:
        column = measured[domain].dropna()
        extended, target = add_target(graph, DatasetDescriptor.from_row(
            descriptors.loc[domain].to_dict()))
        if target != domain:
            raise ValidationError(f"held-out domain {domain!r} was placed as {target!r}")
        extended = extended.add_scores(heldout.probe_scores_of(domain))
        for name, factory in factories.items():
            predicted = factory().fit(extended).predict(target).reindex(column.index)
            rows.append({"method": name, "dataset": domain,
                         **ranking_metrics(predicted.to_numpy(), column.to_numpy(),
                                           higher_is_better=False,
                                           log_scale=heldout.log_scale("fid"))})
    return pd.DataFrame(rows).groupby("method", sort=False)[FIGURES].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    factories = {
        "probe": lambda: ProbeOnly(metric="fid"),
        "nearest_dataset": lambda: NearestDataset(metric="fid"),
        "mandc without probes": lambda: Recommender(metric="fid", use_probe=False),
        "mandc": lambda: Recommender(metric="fid"),
    }
    graph = load_graph(shipped_graph_dir())
    lodo = leave_one_dataset_out(graph, {name: f() for name, f in factories.items()},
                                 metric="fid").summary[FIGURES]
    held = held_out(graph, load_graph(shipped_graph_dir("minizoo-heldout")), factories)
    table = pd.concat({"lodo": lodo, "heldout": held}, axis=1)
    if args.json:
        print(json.dumps({f"{s}_{f}": table[s][f].round(4).to_dict()
                          for s, f in table.columns}, indent=2))
    else:
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
