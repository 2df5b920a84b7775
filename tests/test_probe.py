"""The denoising probe: exact clean-image algebra, seeding, input checks, and a zoo model that
denoises its own pretraining family far better than a foreign one."""

from __future__ import annotations

import types

import pytest
import torch
from PIL import Image

from mandc.errors import ConfigError
from mandc.minizoo.models import ZooSpec, build_pipeline
from mandc.profile.probe import _clean_estimate, denoising_error, probe_metric

MICRO = ZooSpec(
    "micro", {"shapes": 1.0}, block_out_channels=(8, 16), attention_head_dim=4,
    norm_num_groups=4, text_hidden_size=16, text_layers=1, text_heads=2, max_caption_tokens=24,
    resolution=16, seed=3,
)


@pytest.mark.parametrize("signal", [0.9, 0.3, 0.05])
def test_a_perfect_prediction_gives_back_the_clean_image(signal):
    generator = torch.Generator().manual_seed(0)
    clean, noise = torch.randn(2, 3, 4, 4, generator=generator).unbind(0)
    noisy = signal ** 0.5 * clean + (1 - signal) ** 0.5 * noise
    velocity = signal ** 0.5 * noise - (1 - signal) ** 0.5 * clean
    torch.testing.assert_close(_clean_estimate(noisy, noise, signal, "epsilon"), clean)
    torch.testing.assert_close(_clean_estimate(noisy, velocity, signal, "v_prediction"), clean)


def test_probe_is_seeded_and_checks_its_inputs():
    pipeline = build_pipeline(MICRO)
    images = [Image.new("RGB", (16, 16), colour) for colour in ((200, 20, 20), (20, 20, 200))]
    captions = ["a red square", "a blue square"]
    first = denoising_error(pipeline, images, captions, levels=(0.8, 0.2), seed=5)
    assert list(first) == [probe_metric(0.8), probe_metric(0.2)] == ["probe_mse_0.8",
                                                                     "probe_mse_0.2"]
    assert all(value > 0 for value in first.values())
    # batching does not change the result; another seed does
    assert denoising_error(pipeline, images, captions, levels=(0.8, 0.2), seed=5,
                           batch_size=1) == pytest.approx(first, rel=1e-5)
    assert denoising_error(pipeline, images, captions, levels=(0.8, 0.2), seed=6) != first
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        denoising_error(pipeline, images, captions, levels=(1.0,))
    with pytest.raises(ConfigError, match="2 images but 1 captions"):
        denoising_error(pipeline, images, captions[:1])


class _OracleUNet(torch.nn.Module):
    """Predicts the exact noise, given the clean latents and the schedule: a perfect denoiser."""

    def __init__(self, clean, alpha_bar):
        super().__init__()
        self.clean, self.alpha_bar = clean, alpha_bar
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the module a device and dtype

    @property
    def device(self):
        return self.anchor.device

    @property
    def dtype(self):
        return self.anchor.dtype

    def forward(self, noisy, timesteps, encoder_hidden_states):
        signal = float(self.alpha_bar[int(timesteps[0])])
        noise = (noisy - signal ** 0.5 * self.clean) / (1 - signal) ** 0.5
        return types.SimpleNamespace(sample=noise)


def test_a_latent_pipeline_is_scored_in_pixels_through_its_vae():
    """With a perfect denoiser, what is left at every level is the VAE's reconstruction error."""
    from diffusers import AutoencoderKL, DDPMScheduler

    from mandc.profile.finetune import images_to_pixels

    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 16), norm_num_groups=4, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, sample_size=16).eval()
    micro = build_pipeline(MICRO)
    images = [Image.new("RGB", (16, 16), colour) for colour in ((200, 20, 20), (20, 20, 200))]
    captions = ["a red square", "a blue square"]
    pixels = images_to_pixels(images, 16)
    with torch.no_grad():
        clean = vae.encode(pixels).latent_dist.mean * vae.config.scaling_factor
        reconstruction = vae.decode(clean / vae.config.scaling_factor).sample.clamp(-1, 1)
    scheduler = DDPMScheduler(prediction_type="epsilon")
    unet = _OracleUNet(clean, scheduler.alphas_cumprod.double())
    unet.config = types.SimpleNamespace(sample_size=8)
    pipeline = types.SimpleNamespace(unet=unet, vae=vae, scheduler=scheduler,
                                     tokenizer=micro.tokenizer, text_encoder=micro.text_encoder)
    errors = denoising_error(pipeline, images, captions, levels=(0.9, 0.1))
    expected = float(((reconstruction - pixels) ** 2).mean())
    assert expected > 0.01  # an untrained VAE reconstructs badly, so the check has teeth
    assert errors == {"probe_mse_0.9": pytest.approx(expected, rel=1e-3),
                      "probe_mse_0.1": pytest.approx(expected, rel=1e-3)}


def test_a_zoo_model_denoises_its_own_family_far_better(tmp_path):
    """``gradients-tiny`` was pretrained on gradients and colour fields, never on glyphs:
    measured on 32 images its error at alpha_bar 0.1 was 0.027 on gradients-vertical and 0.21
    on glyphs-digits-black."""
    from mandc.data import load_target
    from mandc.minizoo.export import write_imagefolder
    from mandc.minizoo.models import load_pipeline

    pipeline = load_pipeline("gradients-tiny", device="cpu")
    errors = {}
    for domain in ("gradients-vertical", "glyphs-digits-black"):
        folder = write_imagefolder(domain, tmp_path, n_train=16, n_test=2)
        sample = load_target(folder, split="train", max_samples=16, seed=0)
        errors[domain] = denoising_error(pipeline, sample.images, sample.captions,
                                         levels=(0.1,))[probe_metric(0.1)]
    assert errors["gradients-vertical"] < errors["glyphs-digits-black"] / 3


# --------------------------------------------------------------------------- probes in the graph
def _graph_with_probe(*, informative: bool = True, drop=None):
    """A synthetic graph whose similarity is shuffled (useless) and whose probe metric is the
    noise-free truth (informative) or noise: only a recommender that reads probes can rank."""
    import numpy as np
    import pandas as pd

    from mandc.graph.matching_graph import MatchingGraph, complete_scores
    from mandc.graph.synth import synthetic_problem

    problem = synthetic_problem(8, 16, seed=0, noise=0.05)
    graph = problem.graph
    rng = np.random.default_rng(1)
    truth = problem.expected_scores
    values = truth.to_numpy() if informative else rng.normal(size=truth.shape)
    probe = pd.DataFrame(values, index=truth.index, columns=truth.columns).stack()
    rows = probe.rename("value").rename_axis(["model", "dataset"]).reset_index()
    rows = rows.assign(metric="probe_x", higher_is_better=True)
    if drop:
        rows = rows[~((rows["model"] == drop[0]) & (rows["dataset"] == drop[1]))]
    shuffled = graph.similarity.assign(value=rng.permutation(graph.similarity["value"].to_numpy()))
    meta = {**graph.meta, "metrics": {"score": {"higher_is_better": True},
                                      "probe_x": {"higher_is_better": True, "probe": True}}}
    scores = pd.concat([graph.scores, complete_scores(rows)])
    return MatchingGraph(graph.models, graph.datasets, scores, shuffled, meta)


def test_the_leave_one_out_cut_keeps_probe_edges():
    from mandc.graph.views import normalized_score_matrix, without_scores_of

    graph = _graph_with_probe()
    assert graph.probe_metrics == ["probe_x"]
    normalized_score_matrix(graph, "score"), normalized_score_matrix(graph, "probe_x")
    for cut in (graph.without_scores_of("d00"), without_scores_of(graph, "d00")):
        assert normalized_score_matrix(cut, "score")["d00"].isna().all()
        assert normalized_score_matrix(cut, "probe_x")["d00"].notna().all()
        assert set(cut.scores.loc[cut.scores["dataset"] == "d00", "metric"]) == {"probe_x"}


def test_the_recommender_reads_probes_only_when_every_pair_has_them():
    from mandc.ranking.evaluate import leave_one_dataset_out
    from mandc.ranking.recommend import Recommender

    graph = _graph_with_probe()
    methods = {"with": Recommender(regressor="linear"),
               "without": Recommender(regressor="linear", use_probe=False)}
    summary = leave_one_dataset_out(graph, methods).summary
    # the probe is the truth and the similarity is shuffled: measured 0.98 with, 0.78 without
    assert summary.loc["with", "spearman"] > 0.95
    assert summary.loc["with", "spearman"] > summary.loc["without", "spearman"] + 0.15
    assert Recommender(regressor="linear").fit(graph).probe_metrics_ == ["probe_x"]

    gappy = _graph_with_probe(drop=("m0", "d03"))
    assert Recommender(regressor="linear").fit(gappy).probe_metrics_ == []
    with pytest.raises(ConfigError, match=r"probe 'probe_x' is missing for datasets \['d03'\]"):
        Recommender(regressor="linear", use_probe=True).fit(gappy)
    with pytest.raises(ConfigError, match="use_probe must be"):
        Recommender(use_probe="yes").fit(graph)


def test_probe_graph_writes_resumable_probe_metrics(tmp_path):
    import pandas as pd
    from datafactory import write_imagefolder

    from mandc.cli.zoo import CLI_PROBE_SAMPLES, CLI_PROBE_SEED
    from mandc.graph.matching_graph import MatchingGraph
    from mandc.graph.store import load_graph, save_graph
    from mandc.profile.probe import PROBE_SAMPLES, PROBE_SEED, probe_graph

    assert (CLI_PROBE_SAMPLES, CLI_PROBE_SEED) == (PROBE_SAMPLES, PROBE_SEED)
    model_dir = tmp_path / "micro"
    build_pipeline(MICRO).save_pretrained(model_dir)
    data = write_imagefolder(tmp_path / "d1", 4)
    graph_dir = tmp_path / "graph"
    save_graph(MatchingGraph(pd.DataFrame({"model": [str(model_dir)]}),
                             pd.DataFrame({"dataset": ["d1"]})), graph_dir)
    assert probe_graph(graph_dir, datasets={"d1": data}, progress=False) == 1
    graph = load_graph(graph_dir)
    assert graph.probe_metrics == sorted(graph.probe_metrics) == [
        "probe_mse_0.1", "probe_mse_0.3", "probe_mse_0.6", "probe_mse_0.9"]
    assert graph.log_scale("probe_mse_0.1") and not graph.higher_is_better("probe_mse_0.1")
    assert len(graph.scores) == 4 and (graph.scores["value"] > 0).all()
    assert probe_graph(graph_dir, datasets={"d1": data}, progress=False) == 0  # resumed
    with pytest.raises(ConfigError, match="not in the graph"):
        probe_graph(graph_dir, datasets={"d2": data}, progress=False)
