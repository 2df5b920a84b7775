"""LoRA fine-tuning and seeded generation, the same for the mini zoo and for Hub pipelines.

The fine-tune follows the diffusers ``train_text_to_image_lora`` recipe (LoRA: Hu et al., 2021):
the base model (UNet, text encoder, VAE if any) is frozen; a rank-r adapter with Gaussian init is
added with peft to the UNet attention projections ``to_q``, ``to_k``, ``to_v``, ``to_out.0``; each
step draws a batch, Gaussian noise and uniform timesteps, noises the image (or its VAE latent) and
regresses the UNet output onto the scheduler's prediction target (noise or velocity) with MSE.
All randomness comes from one seeded generator, so a (pipeline, data, recipe) triple always gives
the same adapter and the same images.
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path

import torch

from ..errors import ConfigError
from ..settings import get_settings

LORA_TARGET_MODULES = ("to_q", "to_k", "to_v", "to_out.0")
LORA_WEIGHT_NAME = "pytorch_lora_weights.safetensors"
"""diffusers' file name for LoRA weights, the one ``load_lora_weights`` looks for."""


def _validate(images, captions, **positive) -> None:
    if len(images) != len(captions):
        raise ConfigError(f"got {len(images)} images but {len(captions)} captions; "
                          f"each image needs exactly one caption")
    if not images:
        raise ConfigError("no training images: give at least one image with its caption")
    for name, value in positive.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{name} must be positive, got {value!r}")


def native_resolution(pipeline) -> int:
    """Pixel resolution the pipeline generates at: UNet sample size × VAE downscale, if any."""
    size = int(pipeline.unet.config.sample_size)
    vae = getattr(pipeline, "vae", None)
    if vae is not None:
        size *= 2 ** (len(vae.config.block_out_channels) - 1)
    return size


def images_to_pixels(images, resolution: int) -> torch.Tensor:
    """Resize (shorter side, bilinear), centre-crop and scale to [-1, 1], as the recipe does."""
    import numpy as np
    from PIL import Image

    arrays = []
    for image in images:
        image = image.convert("RGB")
        scale = resolution / min(image.size)
        if image.size != (resolution, resolution):
            width = max(resolution, round(image.size[0] * scale))
            height = max(resolution, round(image.size[1] * scale))
            image = image.resize((width, height), Image.BILINEAR)
            left, top = (width - resolution) // 2, (height - resolution) // 2
            image = image.crop((left, top, left + resolution, top + resolution))
        arrays.append(np.asarray(image, dtype=np.float32))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0


@torch.no_grad()
def _encode_captions(pipeline, captions: list[str], device) -> torch.Tensor:
    tokenizer = pipeline.tokenizer
    ids = tokenizer(list(captions), padding="max_length", truncation=True,
                    max_length=tokenizer.model_max_length, return_tensors="pt").input_ids
    return pipeline.text_encoder(ids.to(device))[0]


@torch.no_grad()
def _to_model_space(pipeline, pixels: torch.Tensor, generator) -> torch.Tensor:
    """Pixels for pixel-space pipelines; scaled VAE latents (sampled) for latent ones."""
    vae = getattr(pipeline, "vae", None)
    if vae is None:
        return pixels
    latents = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.sample(generator=generator)
    return latents * vae.config.scaling_factor


def lora_parameters(unet) -> list[torch.nn.Parameter]:
    return [p for name, p in unet.named_parameters() if "lora_" in name]


def finetune_lora(pipeline, images, captions, *, steps: int, rank: int = 4, lr: float = 1e-3,
                  seed: int = 0, batch_size: int = 16, progress: bool = False,
                  resolution: int | None = None, max_grad_norm: float = 1.0,
                  losses: list[float] | None = None, inplace: bool = False,
                  device: str | None = None):
    """LoRA fine-tune ``pipeline`` on (images, captions); returns the pipeline with the adapter.

    The input pipeline is left untouched unless ``inplace``. ``losses``, when given, receives the
    training loss of every step. ``resolution`` defaults to the pipeline's native resolution.
    """
    from diffusers import DDPMScheduler
    from peft import LoraConfig

    _validate(images, captions, steps=steps, rank=rank, lr=lr, batch_size=batch_size)
    if not inplace:
        pipeline = copy.deepcopy(pipeline)
    device = torch.device(device or get_settings().device)
    pipeline.to(device)
    resolution = resolution or native_resolution(pipeline)
    unet = pipeline.unet
    for module in (unet, pipeline.text_encoder, getattr(pipeline, "vae", None)):
        if module is not None:
            module.requires_grad_(False)
            module.eval()

    with torch.random.fork_rng(devices=[]):  # seed the adapter's init without touching the
        torch.manual_seed(seed)               # caller's global RNG
        unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                    target_modules=list(LORA_TARGET_MODULES)))
    trainable = lora_parameters(unet)
    for parameter in trainable:
        parameter.data = parameter.data.float()
    optimizer = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.999), weight_decay=1e-2,
                                  eps=1e-8)
    noise_scheduler = DDPMScheduler.from_config(pipeline.scheduler.config)
    kind = noise_scheduler.config.prediction_type
    if kind not in ("epsilon", "v_prediction"):
        raise ConfigError(f"unsupported prediction_type {kind!r} (epsilon or v_prediction)")

    generator = torch.Generator().manual_seed(seed)
    pixels = images_to_pixels(images, resolution)
    text_states = _encode_captions(pipeline, captions, device)
    order: list[int] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="LoRA fine-tune", unit="step", dynamic_ncols=True)
    unet.train()
    for _ in range(steps):
        if len(order) < batch_size:  # reshuffle each epoch, as the recipe's dataloader does
            order += torch.randperm(len(pixels), generator=generator).tolist()
        index, order = order[:batch_size], order[batch_size:]
        index = torch.tensor(index)
        clean = _to_model_space(pipeline, pixels[index].to(device), generator)
        noise = torch.randn(clean.shape, generator=generator).to(device, clean.dtype)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(index),),
                                  generator=generator).to(device)
        noisy = noise_scheduler.add_noise(clean, noise, timesteps)
        target = noise if kind == "epsilon" else noise_scheduler.get_velocity(clean, noise,
                                                                              timesteps)
        prediction = unet(noisy.to(unet.dtype), timesteps,
                          encoder_hidden_states=text_states[index.to(device)]).sample
        loss = torch.nn.functional.mse_loss(prediction.float(), target.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm)
        optimizer.step()
        if losses is not None:
            losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
    if bar is not None:
        bar.close()
    unet.eval()
    return pipeline


def save_adapter(pipeline, folder: str | Path) -> Path:
    """Save the UNet's LoRA adapter as the recipe's script does: diffusers' key names under
    ``unet.``, weights only, as ``pytorch_lora_weights.safetensors`` (with the LoRA config in its
    metadata where diffusers supports it). A Stable Diffusion pipeline reads it back with
    ``load_lora_weights``; :func:`load_adapter` reads it onto any pipeline this module tunes."""
    from diffusers.loaders import StableDiffusionLoraLoaderMixin
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    unet = pipeline.unet
    config = (getattr(unet, "peft_config", None) or {}).get("default")
    if config is None:
        raise ConfigError("the pipeline carries no LoRA adapter to save; fine-tune it first")
    save = getattr(type(pipeline), "save_lora_weights",
                   StableDiffusionLoraLoaderMixin.save_lora_weights)
    options = {}
    if "unet_lora_adapter_metadata" in inspect.signature(save).parameters:
        options["unet_lora_adapter_metadata"] = config.to_dict()
    folder = Path(folder)
    save(folder, unet_lora_layers=convert_state_dict_to_diffusers(get_peft_model_state_dict(unet)),
         weight_name=LORA_WEIGHT_NAME, safe_serialization=True, **options)
    return folder / LORA_WEIGHT_NAME


def load_adapter(pipeline, folder: str | Path):
    """Put the adapter :func:`save_adapter` wrote onto ``pipeline`` (in place; returned): with
    the pipeline's own ``load_lora_weights`` where it has one (Stable Diffusion and kin), else
    onto its UNet directly (the mini zoo's pipeline)."""
    options = dict(weight_name=LORA_WEIGHT_NAME, use_safetensors=True)
    if hasattr(pipeline, "load_lora_weights"):
        pipeline.load_lora_weights(str(folder), **options)
    else:
        pipeline.unet.load_lora_adapter(str(folder), prefix="unet", **options)
    return pipeline


@torch.no_grad()
def generate(pipeline, captions, *, seed: int = 0, num_inference_steps: int = 25,
             guidance_scale: float = 3.0, batch_size: int = 32) -> list:
    """One PIL image per caption. Image i uses generator seed ``seed + i``, so the result does
    not depend on ``batch_size`` and is identical for identical inputs."""
    captions = list(captions)
    if not captions:
        raise ConfigError("no captions to generate from")
    _validate(captions, captions, num_inference_steps=num_inference_steps,
              batch_size=batch_size)
    pipeline.set_progress_bar_config(disable=True)
    device = pipeline.unet.device
    images = []
    for start in range(0, len(captions), batch_size):
        chunk = captions[start:start + batch_size]
        generators = [torch.Generator(device).manual_seed(seed + start + i)
                      for i in range(len(chunk))]
        output = pipeline(chunk, num_inference_steps=num_inference_steps,
                          guidance_scale=guidance_scale, generator=generators)
        images += list(output.images)
    return images
