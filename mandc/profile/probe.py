"""The denoising probe: how well a pretrained model already denoises a dataset, without training.

A zero-shot signal far cheaper than sampling and FID: noise the dataset's images to a few fixed
noise levels (``alpha_bar``, the share of signal power, the same for every model whatever its
schedule), let the UNet predict, turn its prediction (noise or velocity) into a clean-image
estimate and measure the mean squared error against the real image in pixel space, [-1, 1].
A model that already knows a domain denoises it well. Because the levels are set by
``alpha_bar`` and the error is measured on the clean image, models with other schedules and
prediction types are compared on one scale; a latent pipeline's estimate is decoded by its VAE
first. It costs a few forward passes per image: on the mini zoo about 3 s per model and dataset
on one CPU thread (32 images, 4 levels), against about 80 s for a zero-shot FID.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..errors import ConfigError

PROBE_LEVELS = (0.9, 0.6, 0.3, 0.1)
"""Default ``alpha_bar`` levels: from light noise (0.9) to mostly noise (0.1)."""
PROBE_SAMPLES = 32
"""Images of the dataset's train split a probe uses (a seeded sample)."""
PROBE_SEED = 1234
"""Seed of the probe's noise; the shipped mini-zoo probes were measured with it."""


def probe_metric(level: float) -> str:
    """The score metric under which the probe at ``level`` is stored, e.g. ``probe_mse_0.1``."""
    return f"probe_mse_{level:g}"


def denoising_error(pipeline, images, captions, *, levels=PROBE_LEVELS, seed: int = PROBE_SEED,
                    batch_size: int = 32) -> dict[str, float]:
    """Mean squared clean-image error of ``pipeline``'s UNet at each noise level (lower = the
    model knows the data better), as ``{probe_metric(level): error}``.

    The noise comes from one seeded generator, so two models probed on the same images with the
    same seed see exactly the same noisy inputs. A latent pipeline is noised in its VAE's latent
    space (the posterior mean of each image), and its clean-latent estimate is decoded back to
    pixels, so its error, VAE reconstruction included, is on the same scale as any other model's.
    """
    import torch
    from diffusers import DDPMScheduler

    from .finetune import _validate

    _validate(images, captions, batch_size=batch_size)
    levels = tuple(float(level) for level in levels)
    if not levels or any(not 0.0 < level < 1.0 for level in levels):
        raise ConfigError(f"probe levels are alpha_bar values strictly between 0 and 1, "
                          f"got {levels!r}")
    schedule = DDPMScheduler.from_config(pipeline.scheduler.config)
    kind = schedule.config.prediction_type
    if kind not in ("epsilon", "v_prediction"):
        raise ConfigError(f"unsupported prediction_type {kind!r} (epsilon or v_prediction)")
    with torch.no_grad():
        return _errors(pipeline, images, captions, levels, seed, batch_size,
                       schedule.alphas_cumprod.double(), kind)


def _errors(pipeline, images, captions, levels, seed, batch_size, alpha_bar, kind):
    import torch

    from .finetune import _encode_captions, images_to_pixels, native_resolution

    unet, vae = pipeline.unet, getattr(pipeline, "vae", None)
    device = unet.device
    pixels = images_to_pixels(images, native_resolution(pipeline))
    text_states = _encode_captions(pipeline, list(captions), device)
    batches = [slice(start, start + batch_size) for start in range(0, len(pixels), batch_size)]
    clean = pixels if vae is None else torch.cat([_encode(vae, pixels[part]) for part in batches])
    generator = torch.Generator().manual_seed(seed)
    errors = {}
    for level in levels:
        timestep = int(torch.argmin((alpha_bar - level).abs()))
        signal = float(alpha_bar[timestep])
        noise = torch.randn(clean.shape, generator=generator)
        noisy = signal ** 0.5 * clean + (1.0 - signal) ** 0.5 * noise
        total = 0.0
        for part in batches:
            timesteps = torch.full((len(noisy[part]),), timestep, device=device)
            prediction = unet(noisy[part].to(device, unet.dtype), timesteps,
                              encoder_hidden_states=text_states[part]).sample.float().cpu()
            estimate = _clean_estimate(noisy[part], prediction, signal, kind)
            if vae is not None:
                estimate = _decode(vae, estimate)
            total += float(((estimate.clamp(-1.0, 1.0) - pixels[part]) ** 2).sum())
        errors[probe_metric(level)] = total / pixels.numel()
    return errors


def _encode(vae, pixels):
    """Scaled latents of a latent pipeline (the posterior mean: the probe draws no VAE noise)."""
    latents = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.mean
    return latents.float().cpu() * vae.config.scaling_factor


def _decode(vae, latents):
    """Pixels of scaled latents, so that models with different VAEs compare on one scale."""
    scaled = (latents / vae.config.scaling_factor).to(vae.device, vae.dtype)
    return vae.decode(scaled).sample.float().cpu()


def _clean_estimate(noisy, prediction, signal: float, kind: str):
    """x0 from the UNet's output: x_t = sqrt(a) x0 + sqrt(1 - a) eps, v = sqrt(a) eps -
    sqrt(1 - a) x0."""
    if kind == "epsilon":
        return (noisy - (1.0 - signal) ** 0.5 * prediction) / signal ** 0.5
    return signal ** 0.5 * noisy - (1.0 - signal) ** 0.5 * prediction


def probe_metric_specs(levels=PROBE_LEVELS) -> dict[str, dict]:
    """graph.json declarations of the probe metrics: lower is better, compared by ratios, and
    ``probe`` so that the recommender takes them as inputs and evaluation keeps them."""
    return {probe_metric(level): {"higher_is_better": False, "log_scale": True, "probe": True}
            for level in levels}


def probe_rows(model: str, dataset: str, errors: dict[str, float], *, samples: int,
               seed: int) -> pd.DataFrame:
    """Score rows of one probe, with its settings as the recipe."""
    from ..settings import get_settings

    recipe = json.dumps({"kind": "denoising_probe", "levels": [float(m.rsplit("_", 1)[1])
                                                               for m in errors],
                         "samples": samples, "seed": seed}, sort_keys=True)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return pd.DataFrame([{"model": model, "dataset": dataset, "metric": metric, "value": value,
                          "higher_is_better": False, "count": 1, "recipe": recipe,
                          "recipe_hash": hashlib.sha256(recipe.encode()).hexdigest(),
                          "created_at": created,
                          "author": get_settings().author} for metric, value in errors.items()])


def probe_sample(dataset, samples: int = PROBE_SAMPLES, options=None):
    """The images a probe of ``dataset`` uses: a seeded sample of its train split (or the split
    and columns ``options``, a :class:`mandc.data.LoadOptions`, name)."""
    from ..data import load_target

    return load_target(dataset, options, max_samples=samples, seed=0)


def probe_dataset(models: list[str], dataset, *, samples: int = PROBE_SAMPLES,
                  seed: int = PROBE_SEED, name: str | None = None,
                  progress: bool = False, load_options=None) -> pd.DataFrame:
    """Probe every model (zoo name, local folder or Hub id) on one dataset (anything
    :func:`mandc.data.load_target` reads, or an already loaded image set); score rows named
    ``name`` (default: the dataset's own name)."""
    from ..minizoo.models import load_pipeline
    from ..settings import get_settings

    sample = (dataset if hasattr(dataset, "images")
              else probe_sample(dataset, samples, load_options))
    rows = []
    for model in _progress(models, progress, "probe"):
        pipeline = load_pipeline(model, device=get_settings().device)
        errors = denoising_error(pipeline, sample.images, sample.captions, seed=seed)
        rows.append(probe_rows(str(model), name or sample.name, errors, samples=len(sample),
                               seed=seed))
    return pd.concat(rows, ignore_index=True)


def probe_graph(graph_dir: str | Path, *, models: list[str] | None = None,
                datasets: dict[str, str | Path], samples: int = PROBE_SAMPLES,
                seed: int = PROBE_SEED, progress: bool = True, load_options=None) -> int:
    """Probe ``models`` (default: all of the graph's) on ``datasets`` (graph dataset id →
    where to load it) and append the rows to the graph, one shard per dataset, so an
    interrupted run keeps what it finished; pairs the graph already has are skipped. Returns
    the number of pairs probed."""
    from ..graph.store import append_scores, declare_metrics, load_graph

    graph = load_graph(graph_dir)
    unknown = sorted(set(datasets) - set(graph.dataset_ids))
    if unknown:
        raise ConfigError(f"datasets not in the graph: {unknown[:5]}; profile or add them first")
    models = list(models or graph.model_ids)
    declare_metrics(graph_dir, probe_metric_specs())
    wanted = set(probe_metric_specs())
    have = graph.scores[graph.scores["metric"].isin(wanted)]
    complete = {pair for pair, group in have.groupby(["model", "dataset"])
                if set(group["metric"]) == wanted}
    probed = 0
    for dataset_id, source in _progress(list(datasets.items()), progress, "datasets"):
        todo = [m for m in models if (m, dataset_id) not in complete]
        if todo:
            append_scores(graph_dir, probe_dataset(todo, source, samples=samples, seed=seed,
                                                   name=dataset_id, load_options=load_options))
            probed += len(todo)
    return probed


def _progress(items, enabled: bool, label: str):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=label, unit="item", dynamic_ncols=True)
