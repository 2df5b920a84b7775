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

from dataclasses import dataclass, field

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
    _sides: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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

    def frechet_side(self, shrink: bool = True) -> FrechetSide:
        """This covariance prepared for :func:`frechet_distance`, made once per ``shrink``
        (treat a summary as immutable once compared)."""
        side = self._sides.get(shrink)
        if side is None:
            side = self._sides[shrink] = FrechetSide.of(self, shrink)
        return side

    def covariance(self, shrinkage: float | None = 0.0) -> np.ndarray:
        """The dense ``d × d`` covariance this summary stands for (for checks; costs d²)."""
        eigvals, residual = self.shrunk(shrinkage)
        vectors = self.eigvecs.astype(np.float64)
        return residual * np.eye(self.dim) + vectors.T @ np.diag(eigvals - residual) @ vectors


def frechet_distance(a: GaussianSummary, b: GaussianSummary, *, shrink: bool = True) -> float:
    """``||μa - μb||² + tr Σa + tr Σb - 2 tr (Σa^½ Σb Σa^½)^½`` between two summaries.

    With ``shrink`` each covariance is first shrunk by its own Ledoit–Wolf intensity. The work
    is a few ``k × d`` products and one eigenvalue problem of size ``ka + kb`` (see
    :class:`FrechetSide`); each summary's side is prepared once and kept on it, so comparing
    one new dataset with every profiled one reuses their factorisations.
    """
    if a.dim != b.dim:
        raise ValidationError(f"cannot compare embeddings of dimension {a.dim} and {b.dim}")
    return a.frechet_side(shrink).distance(b.frechet_side(shrink))


@dataclass(frozen=True)
class FrechetSide:
    """One covariance ``s I + U diag(c - s) Uᵀ`` in float64, ready for Fréchet distances.

    In the basis made of its own eigenvectors ``U`` and the part of the other summary's
    eigenvectors orthogonal to them, this covariance is diagonal, so its square root is the
    square root of its eigenvalues and the cross term ``tr (Σa^½ Σb Σa^½)^½`` needs only the
    eigenvalues of one symmetric matrix of size ``ka + kb`` at most; on the complement of
    that span both covariances are scalar.
    """

    mean: np.ndarray
    eigvecs: np.ndarray
    eigvals: np.ndarray
    level: float
    trace: float

    @classmethod
    def of(cls, summary: GaussianSummary, shrink: bool = True) -> FrechetSide:
        eigvals, level = summary.shrunk(None if shrink else 0.0)
        trace = float(eigvals.sum()) + (summary.dim - len(eigvals)) * level
        return cls(mean=summary.mean.astype(np.float64), eigvecs=summary.eigvecs.astype(np.float64),
                   eigvals=eigvals, level=float(level), trace=trace)

    def distance(self, other: FrechetSide) -> float:
        """The Fréchet distance between this covariance's Gaussian and ``other``'s."""
        d = len(self.mean)
        ua, ub = self.eigvecs, other.eigvecs  # (ka, d), (kb, d): orthonormal rows
        overlap = ua @ ub.T  # (ka, kb): ub's coordinates along ua
        rest = ub - overlap.T @ ua  # ub's part orthogonal to span(ua), one row per vector
        gram = rest @ rest.T
        if len(gram):
            spread, turn = np.linalg.eigh(gram)
            keep = spread > 1e-12 * max(float(spread.max()), 1.0)
            # orthonormal rows completing span(ua) to span(ua, ub), and ub's coordinates on them
            extra = (turn[:, keep] / np.sqrt(spread[keep])).T @ rest
            coords = np.concatenate([overlap, extra @ ub.T])  # (m, kb)
        else:
            extra = np.zeros((0, d))
            coords = overlap
        m = len(ua) + len(extra)
        # Σa^½ is diagonal in this basis: sqrt of a's eigenvalues, then of its level
        root_a = np.sqrt(np.clip(np.concatenate([self.eigvals, np.full(len(extra), self.level)]),
                                 0, None))
        scaled = root_a[:, None] * coords
        inner = (other.level * np.diag(root_a ** 2)
                 + (scaled * (other.eigvals - other.level)) @ scaled.T)
        values = np.linalg.eigvalsh(inner) if m else np.zeros(0)
        cross = (float(np.sqrt(np.clip(values, 0, None)).sum())
                 + (d - m) * np.sqrt(max(self.level * other.level, 0.0)))
        diff = self.mean - other.mean
        return max(float(diff @ diff) + self.trace + other.trace - 2 * cross, 0.0)
