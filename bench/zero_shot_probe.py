"""Does the denoising probe (a zero-shot signal) help pick the model to fine-tune?

    python bench/zero_shot_probe.py [--table results/zero-shot-probe/probe.csv] [--json]
    python bench/zero_shot_probe.py --compute --datasets-root DIR [--samples 32] [--models a,b]

``--compute`` measures :func:`mandc.profile.probe.denoising_error` for every zoo model × domain of
``DIR`` (as ``mandc minizoo domains --write DIR`` makes it; train split, ``--samples`` images),
appending to the table after each model, so a rerun resumes (about 30 min for 11 × 48 on this
CPU, two processes at once with ``--models``). Without it, the shipped table is read.

Then it compares, leave-one-dataset-out over the profiled domains and on the held-out domains:

- ``probe``: models ranked by the probe alone at ``alpha_bar`` 0.1 (no graph at all);
- ``nearest_dataset`` and ``mandc`` as they ship;
- ``mandc+probe``: ``mandc`` with four more features per (model, dataset) row, the dataset's
  z-scored probe errors at the four levels (the target's own probe, never its fine-tuned score).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mandc.baselines import NearestDataset
from mandc.defaults import shipped_graph_dir
from mandc.errors import ValidationError
from mandc.evaluate import leave_one_dataset_out, ranking_metrics
from mandc.features import DatasetDescriptor
from mandc.methods import RankingMethod
from mandc.placement import add_target
from mandc.profile.probe import PROBE_LEVELS, denoising_error, probe_metric
from mandc.recommend import Recommender
from mandc.store import load_graph

TABLE = Path(__file__).resolve().parents[1] / "results" / "zero-shot-probe" / "probe.csv"
FIGURES = ["top1", "top3", "regret", "spearman"]
SEED = 1234  # the seed the shipped table was measured with
METRICS = [probe_metric(level) for level in PROBE_LEVELS]


def compute(table: Path, root: Path, models: list[str], samples: int) -> None:
    from mandc.data import load_target
    from mandc.minizoo.models import load_pipeline, zoo_specs

    torch.set_num_threads(1)
    rows = pd.read_csv(table).to_dict("records") if table.exists() else []
    done = {(row["model"], row["dataset"]) for row in rows}
    domains = sorted(path.name for path in root.iterdir() if path.is_dir())
    data = {d: load_target(root / d, split="train", max_samples=samples, seed=0) for d in domains}
    for model in models or [spec.name for spec in zoo_specs()]:
        started = time.perf_counter()
        pipeline = load_pipeline(model, device="cpu")
        for domain in domains:
            if (model, domain) not in done:
                errors = denoising_error(pipeline, data[domain].images, data[domain].captions,
                                         seed=SEED)
                rows.append({"model": model, "dataset": domain, **errors})
        table.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(table, index=False, float_format="%.6g")
        print(f"{model}: {time.perf_counter() - started:.0f} s", flush=True)


def standardised_probe(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per level, models × datasets of ``-log(error)`` z-scored within each dataset."""
    out = {}
    for metric in METRICS:
        values = -np.log(table.pivot(index="model", columns="dataset", values=metric))
        out[metric] = (values - values.mean()) / values.std()
    return out


class ProbeOnly(RankingMethod):
    """Ranks models by one probe level alone."""

    def __init__(self, probe: dict, level: str = probe_metric(0.1), metric=None, seed: int = 0):
        super().__init__(metric=metric, seed=seed)
        self.probe, self.level = probe, level

    def _fit(self, graph) -> None:
        self.models_ = graph.model_ids

    def _predict(self, dataset: str) -> pd.Series:
        return self.probe[self.level][dataset].reindex(self.models_)


class RecommenderWithProbe(Recommender):
    """``mandc`` whose rows also carry the dataset's probe errors for that model."""

    def __init__(self, probe: dict, **kwargs):
        super().__init__(**kwargs)
        self.probe = probe

    def _design(self, models, datasets, graph_block):
        design = super()._design(models, datasets, graph_block)
        model_ids = np.asarray(self.view_.model_ids)[models]
        dataset_ids = np.asarray(self.view_.dataset_ids)[datasets]
        missing = set(dataset_ids) - set(self.probe[METRICS[0]].columns)
        if missing:
            raise ValidationError(f"no probe for datasets {sorted(missing)[:3]}")
        extra = [[table.at[m, d] for m, d in zip(model_ids, dataset_ids)]
                 for table in self.probe.values()]
        return np.hstack([design, np.column_stack(extra)])


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
        for name, factory in factories.items():
            predicted = factory().fit(extended).predict(target).reindex(column.index)
            rows.append({"method": name, "dataset": domain,
                         **ranking_metrics(predicted.to_numpy(), column.to_numpy(),
                                           higher_is_better=False)})
    return pd.DataFrame(rows).groupby("method", sort=False)[FIGURES].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--compute", action="store_true", help="measure missing probes first")
    parser.add_argument("--datasets-root", type=Path, help="domains folder (with --compute)")
    parser.add_argument("--models", default="", help="zoo models to probe (default: all)")
    parser.add_argument("--samples", type=int, default=32, help="images per domain")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.compute:
        if not args.datasets_root:
            parser.error("--compute needs --datasets-root")
        compute(args.table, args.datasets_root, [m for m in args.models.split(",") if m],
                args.samples)
    probe = standardised_probe(pd.read_csv(args.table))
    factories = {
        "probe": lambda: ProbeOnly(probe, metric="fid"),
        "nearest_dataset": lambda: NearestDataset(metric="fid"),
        "mandc": lambda: Recommender(metric="fid"),
        "mandc+probe": lambda: RecommenderWithProbe(probe, metric="fid"),
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
