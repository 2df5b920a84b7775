"""A compact Gaussian summary of an embedding sample, and the Fréchet distance between two.

Storing a full 1280 × 1280 covariance per dataset would cost 6.5 MB a row, so a summary keeps
the mean, the top-``k`` eigenpairs of the sample covariance and one isotropic variance for the
remaining directions (probabilistic PCA's form: Tipping & Bishop, 1999). It also records the
Ledoit–Wolf shrinkage intensity toward a scaled identity (Ledoit & Wolf, "A well-conditioned
estimator for large-dimensional covariance matrices", J. Multivariate Analysis 2004), which
keeps the covariance of a few hundred samples in 1280 dimensions well conditioned.

Every covariance of this form is ``s I + U diag(c) Uᵀ``, so the Fréchet distance between two of
them (Dowson & Landau, 1982; the FID of Heusel et al., NeurIPS 2017) is exact and cheap: the span
of both eigenbases is invariant under both matrices, and on its complement both act as a scalar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ValidationError


def ledoit_wolf_shrinkage(centred: np.ndarray, gram: np.ndarray | None = None) -> float:
    """Ledoit–Wolf intensity ``α`` of ``(1 - α) S + α (tr S / d) I`` for centred rows.

    Works on the ``n × n`` Gram matrix ``X Xᵀ`` (pass it if already computed), so it costs
    ``O(n² d)`` even when ``d`` is large.
    """
    n, d = centred.shape
    if gram is None:
        gram = centred @ centred.T
    gram_sq = float(np.sum(gram * gram))
    trace = float(np.trace(gram)) / n
    mu = trace / d
    # ||S - mu I||_F^2 / d, with S = X'X / n
    delta = (gram_sq / n**2 - 2 * mu * trace + mu**2 * d) / d
    # mean squared distance of x x' from S, divided by n (the estimator's variance)
    beta = (float(np.sum(np.diag(gram) ** 2)) - gram_sq / n) / (n**2 * d)
    if delta <= 0:
        return 1.0
    return float(min(max(beta, 0.0), delta) / delta)


@dataclass
class GaussianSummary:
    """Mean, top eigenpairs and isotropic residual of an embedding sample's covariance.

    ``eigvecs`` is ``(k, d)`` (one orthonormal direction per row); ``residual`` is the mean
    variance of the ``d - k`` other directions; ``shrinkage`` the Ledoit–Wolf intensity.
    """

    mean: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray
    residual: float
    shrinkage: float

    @classmethod
    def fit(cls, samples: np.ndarray, rank: int = 16) -> GaussianSummary:
        """Summarise ``(n, d)`` samples (n ≥ 2) keeping ``min(rank, n - 1, d)`` eigenpairs."""
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or len(samples) < 2:
            raise ValidationError(f"need at least 2 embeddings as an (n, d) array, got shape "
                                  f"{samples.shape}")
        n, d = samples.shape
        mean = samples.mean(axis=0)
        centred = samples - mean
        k = max(0, min(rank, n - 1, d))
        # eigenpairs of S = X'X / n through the n × n Gram matrix: cheap when n << d
        gram = centred @ centred.T
        gram_vals, gram_vecs = np.linalg.eigh(gram)
        top = np.argsort(gram_vals)[::-1][:k]
        top = top[gram_vals[top] > 1e-9 * max(float(gram_vals.max()), 1e-30)]  # drop null ones
        variances = np.clip(gram_vals[top], 0, None) / n
        directions = (centred.T @ gram_vecs[:, top]).T
        directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-30)
        total = float(np.trace(gram)) / n
        kept = len(top)
        residual = (total - float(variances.sum())) / (d - kept) if d > kept else 0.0
        return cls(mean=mean.astype(np.float32), eigvals=variances.astype(np.float32),
                   eigvecs=directions.astype(np.float32), residual=max(residual, 0.0),
                   shrinkage=ledoit_wolf_shrinkage(centred, gram))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def total_variance(self) -> float:
        """Trace of the (unshrunk) covariance."""
        return float(self.eigvals.sum()) + (self.dim - len(self.eigvals)) * self.residual

    def shrunk(self, shrinkage: float | None = None) -> tuple[np.ndarray, float]:
        """``(eigvals, residual)`` of ``(1 - α) Σ + α (tr Σ / d) I`` (α: own intensity)."""
        alpha = self.shrinkage if shrinkage is None else shrinkage
        level = self.total_variance / self.dim
        eigvals = (1 - alpha) * self.eigvals.astype(np.float64) + alpha * level
        return eigvals, (1 - alpha) * self.residual + alpha * level

    def covariance(self, shrinkage: float | None = 0.0) -> np.ndarray:
        """The dense ``d × d`` covariance this summary stands for (for checks; costs d²)."""
        eigvals, residual = self.shrunk(shrinkage)
        vectors = self.eigvecs.astype(np.float64)
        return residual * np.eye(self.dim) + vectors.T @ np.diag(eigvals - residual) @ vectors


def frechet_distance(a: GaussianSummary, b: GaussianSummary, *, shrink: bool = True) -> float:
    """``||μa - μb||² + tr Σa + tr Σb - 2 tr (Σa^½ Σb Σa^½)^½`` between two summaries.

    With ``shrink`` each covariance is first shrunk by its own Ledoit–Wolf intensity.
    """
    if a.dim != b.dim:
        raise ValidationError(f"cannot compare embeddings of dimension {a.dim} and {b.dim}")
    d = a.dim
    vals_a, level_a = a.shrunk(None if shrink else 0.0)
    vals_b, level_b = b.shrunk(None if shrink else 0.0)
    # an orthonormal basis Q of span(Ua, Ub); both covariances map it into itself
    stacked = np.concatenate([a.eigvecs, b.eigvecs]).astype(np.float64).T
    if stacked.shape[1]:
        basis, singular, _ = np.linalg.svd(stacked, full_matrices=False)
        basis = basis[:, singular > 1e-6 * max(singular.max(), 1e-30)]
    else:  # both samples without spread
        basis = np.zeros((d, 0))
    m = basis.shape[1]

    def restricted(vectors, vals, level):
        coords = basis.T @ vectors.astype(np.float64).T  # (m, k)
        return level * np.eye(m) + coords @ np.diag(vals - level) @ coords.T

    cov_a = restricted(a.eigvecs, vals_a, level_a)
    cov_b = restricted(b.eigvecs, vals_b, level_b)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    cross = float(np.sqrt(np.clip(inner, 0, None)).sum()) + (d - m) * np.sqrt(level_a * level_b)
    trace_a = float(vals_a.sum()) + (d - len(vals_a)) * level_a
    trace_b = float(vals_b.sum()) + (d - len(vals_b)) * level_b
    diff = a.mean.astype(np.float64) - b.mean.astype(np.float64)
    return max(float(diff @ diff) + trace_a + trace_b - 2 * cross, 0.0)
