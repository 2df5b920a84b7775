"""Synthetic matching graphs with a known structure, for tests and benchmarks.

Scores follow a low-rank model, as in collaborative filtering and in the latent-factor view of
model zoos used by TransferGraph (ICDE 2024)::

    z[m, d]     = <u_m, v_d> + b_m + a_m + noise * e[m, d]  (e ~ N(0, 1))
    score[m, d] = offset_d + scale_d * z[m, d]              (higher is better)
    score[m, d] = offset_d - scale_d * z[m, d]              (lower is better, FID-like)

Dataset factors ``v_d`` cluster around one centroid per dataset *family*, so similar datasets
share a best model while different families have different ones: the best model varies by
dataset, and only a method that uses dataset similarity can find it. Model biases ``b_m`` are kept
small next to the interaction, so "the best model on average" is a weak answer. Real zoos are
often the other way round (a few models better almost everywhere): ``main_effect`` adds a
per-model shift ``a_m = main_effect * max(g_m, 0)``, ``g_m ~ N(0, 1)``, shared by every dataset,
which lifts about half the models, a few of them far; it is drawn from its own seeded stream, so
graphs without it are unchanged. Each dataset gets
its own offset and scale, so raw scores must be normalised within a dataset before comparing.

Node features are noisy views of the factors (``view_0`` ... ``view_{k-1}``) plus a categorical
model ``family`` and a couple of nuisance columns; the similarity table is the cosine of the
dataset factors (measure ``latent_cosine``). With ``n_communities > 1`` the models and datasets
split into disconnected communities: no score and no similarity edge crosses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .matching_graph import MatchingGraph

SIMILARITY_MEASURE = "latent_cosine"


@dataclass(frozen=True)
class SyntheticProblem:
    """A synthetic graph and the hidden truth it was drawn from (for tests with known answers)."""

    graph: MatchingGraph
    model_factors: np.ndarray
    """n_models × n_factors."""
    dataset_factors: np.ndarray
    """n_datasets × n_factors."""
    model_bias: np.ndarray
    dataset_family: np.ndarray
    """family index of each dataset (families never span communities)."""
    model_family: np.ndarray
    model_community: np.ndarray
    dataset_community: np.ndarray
    expected_scores: pd.DataFrame
    """models × datasets noise-free scores in raw units (also where no edge was kept)."""


def synthetic_graph(n_models: int = 40, n_datasets: int = 30, **options) -> MatchingGraph:
    """A synthetic :class:`MatchingGraph`; see :func:`synthetic_problem` for the options."""
    return synthetic_problem(n_models, n_datasets, **options).graph


def synthetic_problem(n_models: int = 40, n_datasets: int = 30, *, seed: int = 0,
                      n_factors: int = 4, noise: float = 0.1, density: float = 1.0,
                      n_families: int = 4, n_model_families: int = 3,
                      family_spread: float = 0.35, bias_scale: float = 0.25,
                      feature_noise: float = 0.3, n_communities: int = 1,
                      main_effect: float = 0.0, similarity_noise: float = 0.0,
                      metric: str = "score",
                      higher_is_better: bool = True) -> SyntheticProblem:
    """Draw a synthetic graph (deterministic per ``seed``) and keep the truth behind it.

    ``density`` is the share of model–data edges kept (each dataset keeps at least two, so every
    dataset can be evaluated); ``n_families`` dataset families (per community) decide which model
    wins where; ``n_communities`` splits models and datasets into disconnected groups;
    ``main_effect`` is the scale of the per-model shift shared by every dataset (0: none);
    ``similarity_noise`` blurs the similarity table (the cosine of factors plus that much
    Gaussian noise per factor, its own seeded stream), as real similarities are weak proxies.
    """
    _check_options(n_models, n_datasets, n_factors, noise, density, n_families, n_model_families,
                   n_communities)
    if main_effect < 0 or similarity_noise < 0:
        raise ConfigError(f"main_effect and similarity_noise must be non-negative, got "
                          f"{main_effect} and {similarity_noise}")
    rng = np.random.default_rng(seed)

    model_community = np.arange(n_models) * n_communities // n_models
    dataset_community = np.arange(n_datasets) * n_communities // n_datasets

    family_centroids = _unit_rows(rng.normal(size=(n_families * n_communities, n_factors)))
    dataset_family = dataset_community * n_families + rng.integers(0, n_families, n_datasets)
    dataset_factors = family_centroids[dataset_family] + \
        family_spread * rng.normal(size=(n_datasets, n_factors)) / np.sqrt(n_factors)

    model_family = rng.integers(0, n_model_families, n_models)
    model_centroids = rng.normal(size=(n_model_families, n_factors))
    model_factors = 0.6 * model_centroids[model_family] + 0.8 * rng.normal(size=(n_models,
                                                                                  n_factors))
    model_bias = bias_scale * rng.normal(size=n_models)
    if main_effect:
        shift = np.random.default_rng([seed, 1]).normal(size=n_models)
        model_bias = model_bias + main_effect * np.clip(shift, 0.0, None)

    offset = rng.uniform(8.0, 12.0, n_datasets) if higher_is_better \
        else rng.uniform(20.0, 40.0, n_datasets)
    scale = rng.uniform(0.5, 1.5, n_datasets)
    sign = 1.0 if higher_is_better else -1.0
    latent = model_factors @ dataset_factors.T + model_bias[:, None]
    observed = latent + noise * rng.normal(size=latent.shape)
    expected_raw = offset + sign * scale * latent
    observed_raw = offset + sign * scale * observed

    keep = _edge_mask(rng, density, model_community, dataset_community)
    model_ids = [f"m{i:0{_width(n_models)}d}" for i in range(n_models)]
    dataset_ids = [f"d{j:0{_width(n_datasets)}d}" for j in range(n_datasets)]
    rows, cols = np.nonzero(keep)
    scores = pd.DataFrame({
        "model": np.asarray(model_ids, dtype=object)[rows],
        "dataset": np.asarray(dataset_ids, dtype=object)[cols],
        "metric": metric,
        "value": observed_raw[rows, cols],
        "higher_is_better": higher_is_better,
    })

    models = pd.DataFrame({
        "model": model_ids,
        "source": "synthetic",
        "family": [f"family-{chr(ord('a') + f % 26)}{f // 26 or ''}" for f in model_family],
        "log_params": np.round(8.0 + 0.5 * rng.normal(size=n_models), 3),
        **_views(rng, model_factors, feature_noise),
    })
    datasets = pd.DataFrame({
        "dataset": dataset_ids,
        "n_images": rng.integers(50, 2000, n_datasets),
        **_views(rng, dataset_factors, feature_noise),
    })
    seen_factors = dataset_factors
    if similarity_noise:
        blur = np.random.default_rng([seed, 2]).normal(size=dataset_factors.shape)
        seen_factors = dataset_factors + similarity_noise * blur
    similarity = _similarity_table(seen_factors, dataset_ids, dataset_community)
    meta = {"featurizer": "synthetic", "primary_metric": metric,
            "synthetic": {"seed": seed, "n_factors": n_factors, "noise": noise,
                          "density": density, "n_families": n_families,
                          "n_communities": n_communities, "main_effect": main_effect,
                          "similarity_noise": similarity_noise}}
    graph = MatchingGraph(models, datasets, scores, similarity, meta)
    return SyntheticProblem(
        graph=graph, model_factors=model_factors, dataset_factors=dataset_factors,
        model_bias=model_bias, dataset_family=dataset_family, model_family=model_family,
        model_community=model_community, dataset_community=dataset_community,
        expected_scores=pd.DataFrame(expected_raw, index=model_ids, columns=dataset_ids))


def _check_options(n_models, n_datasets, n_factors, noise, density, n_families, n_model_families,
                   n_communities) -> None:
    if n_communities < 1:
        raise ConfigError(f"n_communities must be at least 1, got {n_communities}")
    if n_models < 2 * n_communities or n_datasets < 2 * n_communities:
        raise ConfigError(f"need at least two models and two datasets per community; got "
                          f"{n_models} models, {n_datasets} datasets, {n_communities} communities")
    if min(n_factors, n_families, n_model_families) < 1:
        raise ConfigError("n_factors, n_families and n_model_families must be at least 1")
    if not 0.0 < density <= 1.0:
        raise ConfigError(f"density must be in (0, 1], got {density}")
    if noise < 0:
        raise ConfigError(f"noise must be non-negative, got {noise}")


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _width(n: int) -> int:
    return len(str(max(n - 1, 0)))


def _edge_mask(rng, density, model_community, dataset_community) -> np.ndarray:
    """Keep each in-community edge with probability ``density``, at least two per dataset."""
    allowed = model_community[:, None] == dataset_community[None, :]
    keep = allowed & (rng.random(allowed.shape) < density)
    for j in np.nonzero(keep.sum(axis=0) < 2)[0]:
        candidates = np.nonzero(allowed[:, j])[0]
        keep[rng.choice(candidates, size=2, replace=False), j] = True
    return keep


def _views(rng, factors: np.ndarray, feature_noise: float) -> dict[str, np.ndarray]:
    """Noisy copies of the factors, noise relative to each factor's spread."""
    spread = factors.std(axis=0, keepdims=True) + 1e-12
    noisy = factors + feature_noise * spread * rng.normal(size=factors.shape)
    return {f"view_{i}": np.round(noisy[:, i], 6) for i in range(factors.shape[1])}


def _similarity_table(factors, dataset_ids, community) -> pd.DataFrame:
    """Cosine of the dataset factors for every pair inside one community (long form)."""
    unit = _unit_rows(factors)
    cosine = unit @ unit.T
    a, b = np.triu_indices(len(dataset_ids), k=1)
    same = community[a] == community[b]
    a, b = a[same], b[same]
    ids = np.asarray(dataset_ids, dtype=object)
    return pd.DataFrame({"dataset_a": ids[a], "dataset_b": ids[b], "measure": SIMILARITY_MEASURE,
                         "value": np.round(cosine[a, b], 6), "is_distance": False})
