"""How far a cheaper profiling recipe moves the ground truth, next to a second seed.

    python bench/recipe_agreement.py results/light-recipe [--reference DIR] [--seed-graph DIR]

For every domain the candidate graph measured for all of the reference's models: Spearman between
the candidate's and the reference's FIDs over the models, whether the best model is the same, and
the same Spearman for the second-seed graph (its models only) as the noise floor. Then the median
per-pair timings of the candidate's runs (``runs/*.json``). Defaults: the shipped graphs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from mandc.graph.defaults import shipped_graph_dir
from mandc.graph.store import load_graph


def agreement(candidate: pd.DataFrame, reference: pd.DataFrame,
              seeded: pd.DataFrame | None) -> pd.DataFrame:
    """One row per complete domain of ``candidate`` (FID matrices, models × domains)."""
    rows = []
    for domain in candidate.columns:
        ours = candidate[domain].dropna()
        if domain not in reference.columns or set(ours.index) != set(reference.index):
            continue
        theirs = reference.loc[ours.index, domain]
        row = {"domain": domain, "spearman": spearmanr(ours, theirs)[0],
               "best": theirs.idxmin(), "candidate_best": ours.idxmin()}
        if seeded is not None and domain in seeded.columns:
            other = seeded[domain].dropna()
            row["seed_spearman"] = spearmanr(other, reference.loc[other.index, domain])[0]
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--reference", type=Path, default=shipped_graph_dir())
    parser.add_argument("--seed-graph", type=Path, default=shipped_graph_dir("minizoo-seed1"))
    args = parser.parse_args()

    seeded = load_graph(args.seed_graph).score_matrix("fid") if args.seed_graph else None
    table = agreement(load_graph(args.candidate).score_matrix("fid"),
                      load_graph(args.reference).score_matrix("fid"), seeded)
    print(table.round(2).to_string(index=False))
    print(f"\nmean Spearman {table['spearman'].mean():.2f}; same best model in "
          f"{(table['best'] == table['candidate_best']).sum()} of {len(table)} domains")
    timings = pd.DataFrame([json.loads(p.read_text())["timings_s"]
                            for p in sorted((args.candidate / "runs").glob("*.json"))])
    if len(timings):
        print(f"median seconds per pair over {len(timings)} runs: "
              f"{timings.median().round(1).to_dict()}")


if __name__ == "__main__":
    main()
