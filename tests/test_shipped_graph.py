"""The shipped mini-zoo results: a ground truth that is neither trivial nor noise.

These tests read the measured graphs under ``mandc/graphs/`` (built by scripts/build_on_gpu.sh and
scripts/ship_graph.py), so they check the results that users get, not a fixture.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from mandc.graph.defaults import (
    DEFAULT_GRAPH,
    DEFAULT_GRAPH_PARTS,
    default_graph_source,
    resolve_graph,
    shipped_graph_dir,
)
from mandc.graph.store import load_graph
from mandc.minizoo.domains import (
    EXTRA_DOMAINS,
    FAMILIES,
    HELD_OUT_DOMAINS,
    PROFILED_DOMAINS,
    family_of,
)
from mandc.minizoo.models import get_spec, zoo_specs
from mandc.minizoo.pretrain import mixture_domains


@pytest.fixture(scope="module")
def graph():
    return load_graph(shipped_graph_dir())


@pytest.fixture(scope="module")
def fid(graph):
    return graph.score_matrix("fid")


def test_the_default_graph_is_the_measured_mini_zoo_graph_with_every_profiled_domain():
    graph = resolve_graph(None)  # conftest gives each test an empty MANDC_HOME
    assert sorted(graph.model_ids) == sorted(spec.name for spec in zoo_specs())
    assert len(graph.model_ids) >= 10
    every = [*PROFILED_DOMAINS, *HELD_OUT_DOMAINS, *EXTRA_DOMAINS]
    assert sorted(graph.dataset_ids) == sorted(every) and len(every) == 72  # both regimes
    assert graph.primary_metric == "fid"
    assert graph.meta["featurizer"]  # described, so new datasets can be placed in it
    assert "shipped mini-zoo graph" in default_graph_source()
    assert DEFAULT_GRAPH in default_graph_source()


def test_the_default_graph_holds_exactly_its_parts():
    """``minizoo-all`` is merged from the shipped sub-graphs (scripts/merge_graphs.py): same
    models, the union of their datasets, every score row with its value, so neither can drift."""
    merged = load_graph(shipped_graph_dir(DEFAULT_GRAPH))
    parts = [load_graph(shipped_graph_dir(name)) for name in DEFAULT_GRAPH_PARTS]
    for part in parts:
        assert sorted(part.model_ids) == sorted(merged.model_ids)
        assert part.meta["featurizer"] == merged.meta["featurizer"]
        assert part.meta["metrics"].items() <= merged.meta["metrics"].items()
    assert sorted(merged.dataset_ids) == sorted(d for part in parts for d in part.dataset_ids)
    assert len(merged.scores) == sum(len(part.scores) for part in parts)
    key = ["model", "dataset", "metric", "recipe_hash"]
    every = merged.scores.set_index(key)["value"].sort_index()
    assert every.index.is_unique
    for part in parts:
        mine = part.scores.set_index(key)["value"].sort_index()
        assert every.loc[mine.index].to_numpy() == pytest.approx(mine.to_numpy(), rel=1e-12,
                                                             nan_ok=True)
    fid = merged.score_matrix("fid")
    assert fid.notna().all().all() and fid.shape == (11, 72)


@pytest.mark.parametrize("name", ["minizoo", "minizoo-heldout", "minizoo-extra",
                                  "minizoo-seed1"])
def test_model_nodes_describe_the_models_as_they_are(name):
    # a node written before a model changed (its sampler, say) would teach the recommender
    # features the profiled model no longer has
    models = load_graph(shipped_graph_dir(name), with_scores=False).models.set_index("model")
    for model, row in models.iterrows():
        spec = get_spec(model)
        assert row["scheduler"] == spec.scheduler, model
        assert row["prediction_type"] == spec.prediction_type, model
        assert json.loads(row["pretraining_mixture"]) == pytest.approx(spec.mixture_weights())


def test_every_pair_is_measured_under_one_recipe_and_no_held_out_domain_leaks(graph, fid):
    assert fid.notna().all().all()
    probes = graph.scores["metric"].isin(graph.probe_metrics)
    assert graph.scores.loc[~probes, "recipe_hash"].nunique() == 1
    assert graph.scores.loc[probes, "recipe_hash"].nunique() == 1  # the zero-shot probes
    assert probes.sum() == 4 * fid.size
    assert not set(HELD_OUT_DOMAINS) & set(graph.dataset_ids)
    assert (fid > 0).all().all()


def test_no_model_is_the_best_on_more_than_half_of_the_domains(fid):
    wins = fid.idxmin().value_counts()
    assert wins.max() <= len(fid.columns) / 2
    assert len(wins) >= 5  # the answer depends on the domain


def test_the_best_model_follows_the_domain_family(fid):
    best = fid.idxmin()
    # the winner was pretrained on the domain's family ...
    pretrained_on_family = [get_spec(best[d]).mixture_weights().get(family_of(d), 0.0) > 0
                            for d in best.index]
    assert np.mean(pretrained_on_family) >= 0.8
    # ... each family has a usual winner, and the usual winner changes with the family
    usual = {}
    for family in FAMILIES:
        winners = best[[d for d in best.index if family_of(d) == family]].value_counts()
        assert winners.iloc[0] / winners.sum() >= 0.5, (family, winners.to_dict())
        usual[family] = winners.index[0]
    assert len(set(usual.values())) >= 4, usual


def test_zoo_models_generate_their_pretraining_domains(graph):
    """Zero-shot KID of each model is lower on its pretraining families than on unseen ones.

    Measured ratios (median KID on families with mixture weight ≥ 0.2 / on families never seen)
    run from 0.22 (gradients-tiny) to 0.76 (scenes-xattn2, the weakest generator).
    """
    kid = graph.score_matrix("zero_shot_kid")
    ratios = {}
    for model in kid.index:
        measured = kid.loc[model].dropna()
        weights = get_spec(model).mixture_weights()
        seen = [d for d in measured.index if weights.get(family_of(d), 0.0) >= 0.2]
        unseen = [d for d in measured.index if weights.get(family_of(d), 0.0) == 0.0]
        if seen and unseen:
            ratios[model] = measured[seen].median() / measured[unseen].median()
    assert len(ratios) >= 6
    assert max(ratios.values()) < 0.8, ratios
    assert np.median(list(ratios.values())) <= 0.55, ratios


def test_two_profiling_seeds_agree():
    """The issue's stability check, on the domains profiled a second time (seed 1, on the CPU;
    seed 0 of 8 of the models ran on a GPU). Measured over all 11 models: Spearman 0.99, 0.93,
    0.71, 0.98; the same best model in all four domains."""
    first = load_graph(shipped_graph_dir()).score_matrix("fid")
    second = load_graph(shipped_graph_dir("minizoo-seed1")).score_matrix("fid")
    correlations, same_best = [], []
    for domain in second.columns:
        both = first[domain].to_frame("a").join(second[domain].rename("b")).dropna()
        assert len(both) == len(first.index), domain  # every zoo model, both seeds
        correlations.append(spearmanr(both["a"], both["b"]).statistic)
        same_best.append(both["a"].idxmin() == both["b"].idxmin())
    assert len(correlations) >= 4
    assert np.mean(correlations) >= 0.8, correlations
    assert np.mean(same_best) >= 0.8, same_best


@pytest.mark.parametrize(("name", "domains"), [("minizoo-heldout", HELD_OUT_DOMAINS),
                                               ("minizoo-extra", EXTRA_DOMAINS)])
def test_ground_truth_outside_the_graph_is_complete_and_comparable(name, domains):
    outside = load_graph(shipped_graph_dir(name))
    shipped = load_graph(shipped_graph_dir())
    assert sorted(outside.dataset_ids) == sorted(domains)
    measured = outside.score_matrix("fid").notna().sum()
    assert (measured == len(shipped.model_ids)).all(), measured[measured != len(shipped.model_ids)]
    recipes = [set(g.scores.query("metric == 'fid'")["recipe_hash"]) for g in (outside, shipped)]
    assert recipes[0] == recipes[1]  # scored under the shipped graph's recipe
    assert outside.meta["featurizer"] == shipped.meta["featurizer"]
    probes = outside.scores["metric"].isin(outside.probe_metrics)
    assert probes.sum() == 4 * len(shipped.model_ids) * len(domains)  # placed as users' data is


def test_held_out_domains_are_in_no_pretraining_and_extra_ones_in_some():
    pretrained = {name for spec in zoo_specs() for name in mixture_domains(spec)}
    assert not pretrained & set(HELD_OUT_DOMAINS)
    assert set(EXTRA_DOMAINS) <= pretrained
    assert set(PROFILED_DOMAINS) <= pretrained
