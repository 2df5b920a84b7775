"""The Fréchet distance's fast path (each summary's side prepared once, one small eigenvalue
problem per pair) against closed forms and against the formula it replaced.

Placing a new dataset compares it with every profiled one; the distance used to orthonormalise
both eigenbases with an SVD per pair. These tests hold the fast path to the same values.
"""

from __future__ import annotations

import numpy as np
import pytest

from mandc.features import DatasetDescriptor, GaussianSummary, frechet_distance

D = 40


def _axis_summary(axes, variances, residual, mean, shrinkage=0.0) -> GaussianSummary:
    """A covariance diagonal in the standard basis: ``variances`` on ``axes``, ``residual``
    elsewhere."""
    vectors = np.zeros((len(axes), D), dtype=np.float32)
    vectors[np.arange(len(axes)), axes] = 1.0
    return GaussianSummary(mean=np.asarray(mean, dtype=np.float32),
                           eigvals=np.asarray(variances, dtype=np.float32), eigvecs=vectors,
                           residual=residual, shrinkage=shrinkage)


def _diagonal(summary: GaussianSummary, shrink: bool) -> np.ndarray:
    """The per-axis variances of an axis-aligned summary, shrunk as ``frechet_distance`` does."""
    eigvals, level = summary.shrunk(None if shrink else 0.0)
    diagonal = np.full(D, level)
    diagonal[np.argmax(summary.eigvecs, axis=1)] = eigvals
    return diagonal


def _previous_frechet(a: GaussianSummary, b: GaussianSummary, shrink: bool = True) -> float:
    """The formula the fast path replaced: an SVD basis of both eigenbases per pair, then the
    square root of one restricted covariance and the eigenvalues of the sandwich."""
    d = a.dim
    vals_a, level_a = a.shrunk(None if shrink else 0.0)
    vals_b, level_b = b.shrunk(None if shrink else 0.0)
    stacked = np.concatenate([a.eigvecs, b.eigvecs]).astype(np.float64).T
    basis, singular, _ = np.linalg.svd(stacked, full_matrices=False)
    basis = basis[:, singular > 1e-6 * max(singular.max(), 1e-30)]
    m = basis.shape[1]

    def restricted(vectors, vals, level):
        coords = basis.T @ vectors.astype(np.float64).T
        return level * np.eye(m) + coords @ np.diag(vals - level) @ coords.T

    w, v = np.linalg.eigh(restricted(a.eigvecs, vals_a, level_a))
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root @ restricted(b.eigvecs, vals_b, level_b) @ root)
    cross = float(np.sqrt(np.clip(inner, 0, None)).sum()) + (d - m) * np.sqrt(level_a * level_b)
    trace_a = float(vals_a.sum()) + (d - len(vals_a)) * level_a
    trace_b = float(vals_b.sum()) + (d - len(vals_b)) * level_b
    diff = a.mean.astype(np.float64) - b.mean.astype(np.float64)
    return max(float(diff @ diff) + trace_a + trace_b - 2 * cross, 0.0)


@pytest.mark.parametrize("shrink", [False, True])
def test_diagonal_covariances_give_the_closed_form(shrink):
    # overlapping axes (3, 4 in both), axes of one only, and the shared residual elsewhere
    a = _axis_summary([0, 1, 2, 3, 4], [9.0, 4.0, 2.5, 1.5, 0.9], 0.2,
                      np.linspace(0, 1, D), shrinkage=0.3)
    b = _axis_summary([3, 4, 5, 6, 7, 8], [6.0, 0.1, 3.0, 2.0, 1.0, 0.5], 0.05,
                      np.linspace(1, -1, D), shrinkage=0.1)
    va, vb = _diagonal(a, shrink), _diagonal(b, shrink)
    # both diagonal in one basis: ||Δμ||² + Σ (√va - √vb)²
    expected = (np.sum((np.linspace(0, 1, D) - np.linspace(1, -1, D)) ** 2)
                + np.sum((np.sqrt(va) - np.sqrt(vb)) ** 2))
    assert frechet_distance(a, b, shrink=shrink) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(b, a, shrink=shrink) == pytest.approx(expected, rel=1e-6)


def test_same_covariance_apart_by_the_mean_is_the_squared_mean_distance():
    a = _axis_summary([2, 7], [5.0, 1.0], 0.3, np.zeros(D))
    b = _axis_summary([2, 7], [5.0, 1.0], 0.3, np.full(D, 0.5))
    assert frechet_distance(a, b, shrink=False) == pytest.approx(D * 0.25, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_equals_the_previous_formula_on_fitted_summaries(seed):
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(3, D))  # some directions both samples spread along
    a = GaussianSummary.fit(rng.normal(size=(50, 3)) @ shared * 2
                            + rng.normal(size=(50, D)) * np.linspace(0.1, 1.5, D), rank=8)
    b = GaussianSummary.fit(rng.normal(size=(30, 3)) @ shared
                            + rng.normal(size=(30, D)) * 0.4 + 0.3, rank=12)
    for shrink in (False, True):
        old = _previous_frechet(a, b, shrink)
        assert frechet_distance(a, b, shrink=shrink) == pytest.approx(old, rel=1e-6)
        assert frechet_distance(b, a, shrink=shrink) == pytest.approx(old, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6 * a.total_variance)


def test_equals_the_shipped_graphs_stored_distances():
    """The shipped graph's Fréchet edges were computed by the previous formula: every pair,
    both modalities, must come out the same from the stored descriptors."""
    from mandc.graph.defaults import shipped_graph_dir
    from mandc.graph.store import load_graph

    graph = load_graph(shipped_graph_dir())
    described = {row["dataset"]: DatasetDescriptor.from_row(row)
                 for row in graph.datasets.to_dict(orient="records")}
    edges = graph.similarity[graph.similarity["measure"].isin(["image_frechet",
                                                                "caption_frechet"])]
    assert len(edges) == 2 * len(described) * (len(described) - 1) // 2
    for edge in edges.to_dict(orient="records"):
        modality = edge["measure"].split("_")[0]
        value = frechet_distance(described[edge["dataset_a"]].summary(modality),
                                 described[edge["dataset_b"]].summary(modality))
        assert value == pytest.approx(edge["value"], rel=1e-6), edge


def test_a_side_without_spread():
    flat = GaussianSummary.fit(np.ones((4, D)))
    spread = GaussianSummary.fit(np.random.default_rng(9).normal(size=(8, D)), rank=5)
    assert frechet_distance(flat, spread) == pytest.approx(_previous_frechet(flat, spread),
                                                           rel=1e-6)
    assert frechet_distance(spread, flat) == pytest.approx(_previous_frechet(flat, spread),
                                                           rel=1e-6)
    assert frechet_distance(flat, flat) == 0


def test_each_side_is_prepared_once():
    summary = GaussianSummary.fit(np.random.default_rng(2).normal(size=(10, D)), rank=4)
    assert summary.frechet_side() is summary.frechet_side()
    assert summary.frechet_side(False) is not summary.frechet_side(True)


def test_placing_targets_reuses_the_graphs_descriptors(monkeypatch):
    """A server places many targets in one graph: the profiled side is rebuilt once, and every
    placement's edges are still each pair's distance."""
    from mandc.features import descriptor as descriptor_module
    from mandc.graph.defaults import shipped_graph_dir
    from mandc.graph.placement import add_target
    from mandc.graph.store import load_graph

    graph = load_graph(shipped_graph_dir())
    rows = graph.datasets.to_dict(orient="records")
    rebuilt = []
    original = descriptor_module.DatasetDescriptor.from_row.__func__
    monkeypatch.setattr(descriptor_module.DatasetDescriptor, "from_row", classmethod(
        lambda cls, row: rebuilt.append(row["dataset"]) or original(cls, row)))
    for k, source in enumerate(rows[:2]):
        target = original(descriptor_module.DatasetDescriptor,
                          {**source, "dataset": f"new-{k}", "fingerprint": f"new-{k}"})
        target.image.mean = target.image.mean + 0.01 * (k + 1)  # not a copy of the source
        placed, name = add_target(graph, target)
        edges = placed.similarity[placed.similarity["dataset_b"] == name]
        assert len(edges) == 2 * len(rows)
        for edge in edges.to_dict(orient="records"):
            modality = edge["measure"].split("_")[0]
            other = original(descriptor_module.DatasetDescriptor,
                             next(r for r in rows if r["dataset"] == edge["dataset_a"]))
            assert edge["value"] == pytest.approx(
                frechet_distance(other.summary(modality), target.summary(modality)), rel=1e-9)
    assert sorted(rebuilt) == sorted(r["dataset"] for r in rows)  # once, not once per target
