"""Pretraining the mini zoo from the seed: resumable denoising training on a domain mixture.

Standard DDPM training (Ho et al., 2020): draw an image, a timestep and Gaussian noise, noise the
image, and regress the UNet's output onto the prediction target (the noise, or the velocity of
Salimans & Ho 2022 for v-prediction specs). Text encoder and UNet train together from scratch;
captions are dropped to "" with a small probability so classifier-free guidance works at inference
(Ho & Salimans, 2022). Small diffusion models learn faster with a high AdamW learning rate after a
short warmup, Min-SNR loss weighting (Hang et al., 2023) and an EMA of the weights, so all three
are on by default.

Every random draw comes from one seeded ``torch.Generator``. A checkpoint (weights, EMA, optimizer,
step, generator state) is written every ``checkpoint_every`` steps and when a run stops, so a killed
or time-limited run resumes to exactly the weights an uninterrupted run reaches.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..settings import get_settings
from .models import ASSETS_DIR, ZooSpec, build_pipeline, get_spec, save_pipeline, zoo_specs

PRETRAIN_SEED_OFFSET = 1_000_003
"""Pretraining images use their own seed stream, distinct from the images profiled later."""


# ---------------------------------------------------------------- data


@dataclass
class PretrainData:
    """An in-memory pool of images in [-1, 1] with captions, and a sampling weight per image."""

    images: torch.Tensor  # (N, 3, H, W)
    captions: list[str]
    weights: torch.Tensor  # (N,), sums to 1

    @classmethod
    def from_pairs(cls, images, captions, weights=None, *, resolution: int) -> PretrainData:
        if len(images) != len(captions) or not images:
            raise ConfigError(f"need as many captions as images (got {len(images)} images, "
                              f"{len(captions)} captions), and at least one")
        tensor = images_to_tensor(images, resolution)
        if weights is None:
            weights = torch.full((len(images),), 1.0)
        weights = torch.as_tensor(weights, dtype=torch.float64)
        return cls(tensor, list(captions), weights / weights.sum())


def images_to_tensor(images, resolution: int) -> torch.Tensor:
    """PIL images → float tensor (N, 3, r, r) in [-1, 1], resized with bicubic if needed."""
    from PIL import Image

    arrays = []
    for image in images:
        image = image.convert("RGB")
        if image.size != (resolution, resolution):
            image = image.resize((resolution, resolution), Image.BICUBIC)
        arrays.append(np.asarray(image, dtype=np.float32))
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return stacked / 127.5 - 1.0


def mixture_domains(spec: ZooSpec) -> dict[str, float]:
    """Domain name → sampling weight: a family's weight is split evenly over its domains.

    Held-out and fresh domains are never pretrained on, so the recommendation tests on them stay
    honest (a fresh mixture's images come from pretraining domains, which is its point).
    """
    from . import domains

    held_out = set(domains.HELD_OUT_DOMAINS) | set(domains.FRESH_DOMAINS)
    weights: dict[str, float] = {}
    for key, weight in spec.mixture_weights().items():
        if key in domains.FAMILIES:
            members = [d.name for d in domains.list_domains(key) if d.name not in held_out]
        elif key in domains.DOMAINS:
            members = [key]
        else:
            raise ConfigError(f"zoo spec {spec.name!r}: mixture key {key!r} is neither a domain "
                              f"family ({', '.join(domains.FAMILIES)}) nor a domain")
        for name in members:
            weights[name] = weights.get(name, 0.0) + weight / len(members)
    return weights


def mixture_data(spec: ZooSpec) -> PretrainData:
    """The spec's pretraining pool: ``images_per_domain`` examples of every mixture domain."""
    from . import domains

    images, captions, weights = [], [], []
    for name, weight in sorted(mixture_domains(spec).items()):
        some_images, some_captions = domains.sample(
            name, spec.images_per_domain, seed=PRETRAIN_SEED_OFFSET + spec.seed,
            size=spec.resolution, split="train")
        images += some_images
        captions += some_captions
        weights += [weight / len(some_images)] * len(some_images)
    return PretrainData.from_pairs(images, captions, weights, resolution=spec.resolution)


# ---------------------------------------------------------------- the training step


def prediction_target(scheduler, clean, noise, timesteps) -> torch.Tensor:
    """What the network regresses onto: the noise, or the velocity for v-prediction."""
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return scheduler.get_velocity(clean, noise, timesteps)
    raise ConfigError(f"unsupported prediction_type {kind!r} (epsilon or v_prediction)")


def min_snr_weights(scheduler, timesteps, gamma: float) -> torch.Tensor:
    """Min-SNR-γ loss weights (Hang et al., 2023) for the scheduler's prediction target."""
    alphas_cumprod = scheduler.alphas_cumprod.to(timesteps.device)[timesteps].float()
    snr = alphas_cumprod / (1 - alphas_cumprod)
    clipped = torch.clamp(snr, max=gamma)
    if scheduler.config.prediction_type == "v_prediction":
        return clipped / (snr + 1)
    return clipped / snr


class Trainer:
    """Holds the pipeline, optimizer, EMA and generator; ``step()`` runs one training step."""

    def __init__(self, spec: ZooSpec, data: PretrainData, *, total_steps: int, seed: int,
                 device: str | torch.device = "cpu"):
        from diffusers import DDPMScheduler

        self.spec, self.total_steps = spec, total_steps
        self.device = torch.device(device)
        # Random draws stay on a CPU generator (the same stream on every device); only the
        # tensors they index or shape move to the training device.
        self.data = replace(data, images=data.images.to(self.device))
        self.pipeline = build_pipeline(spec, seed=seed).to(self.device)
        self.noise_scheduler = DDPMScheduler.from_config(self.pipeline.scheduler.config)
        self.modules = torch.nn.ModuleDict({"unet": self.pipeline.unet,
                                            "text_encoder": self.pipeline.text_encoder})
        self.modules.train()
        self.optimizer = torch.optim.AdamW(self.modules.parameters(), lr=spec.lr,
                                           weight_decay=1e-2)
        self.ema = {k: v.detach().clone() for k, v in self.modules.state_dict().items()}
        self.generator = torch.Generator().manual_seed(seed)
        self.step_index = 0
        tokenizer = self.pipeline.tokenizer
        self.caption_ids = self._tokenize(tokenizer, data.captions).to(self.device)
        self.empty_ids = self._tokenize(tokenizer, [""])[0].to(self.device)
        self.last_loss = float("nan")

    @staticmethod
    def _tokenize(tokenizer, captions):
        return tokenizer(captions, padding="max_length", truncation=True,
                         max_length=tokenizer.model_max_length, return_tensors="pt").input_ids

    def learning_rate(self, step: int) -> float:
        """Linear warmup, then cosine decay to a tenth of the peak over the planned steps."""
        spec = self.spec
        if step < spec.warmup_steps:
            return spec.lr * (step + 1) / spec.warmup_steps
        progress = (step - spec.warmup_steps) / max(1, self.total_steps - spec.warmup_steps)
        return spec.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    def step(self) -> float:
        spec, gen = self.spec, self.generator
        batch = spec.batch_size
        device = self.device
        index = torch.multinomial(self.data.weights, batch, replacement=True,
                                  generator=gen).to(device)
        clean = self.data.images[index]
        ids = self.caption_ids[index].clone()
        dropped = (torch.rand(batch, generator=gen) < spec.caption_dropout).to(device)
        ids[dropped] = self.empty_ids
        noise = torch.randn(clean.shape, generator=gen).to(device)
        timesteps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (batch,),
                                  generator=gen).to(device)
        noisy = self.noise_scheduler.add_noise(clean, noise, timesteps)
        target = prediction_target(self.noise_scheduler, clean, noise, timesteps)

        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.step_index)
        text = self.pipeline.text_encoder(ids)[0]
        prediction = self.pipeline.unet(noisy, timesteps, encoder_hidden_states=text).sample
        per_sample = (prediction.float() - target.float()).pow(2).mean(dim=(1, 2, 3))
        if spec.snr_gamma:
            per_sample = per_sample * min_snr_weights(self.noise_scheduler, timesteps,
                                                      spec.snr_gamma)
        loss = per_sample.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.modules.parameters(), 1.0)
        self.optimizer.step()
        self._update_ema()
        self.step_index += 1
        self.last_loss = float(loss.detach())
        return self.last_loss

    @torch.no_grad()
    def _update_ema(self):
        decay = min(self.spec.ema_decay, (1 + self.step_index) / (10 + self.step_index))
        averaged, current = [], []
        for key, value in self.modules.state_dict().items():
            if value.dtype.is_floating_point:
                averaged.append(self.ema[key])
                current.append(value.detach())
            else:
                self.ema[key].copy_(value)
        # One fused lerp over all tensors: ema += (1 - decay) (value - ema). On a GPU a loop of
        # per-tensor updates costs more kernel launches than the training step itself.
        torch._foreach_lerp_(averaged, current, 1 - decay)

    # ------------------------------------------------------------ checkpoints

    def save_checkpoint(self, directory: Path) -> None:
        """Write weights, EMA (safetensors) and optimizer/step/RNG state; atomic via rename."""
        from safetensors.torch import save_file

        directory = Path(directory)
        scratch = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.modules.state_dict().items()},
                  str(scratch / "model.safetensors"))
        save_file({k: v.detach().cpu().contiguous() for k, v in self.ema.items()},
                  str(scratch / "ema.safetensors"))
        torch.save({"optimizer": self.optimizer.state_dict(), "step": self.step_index,
                    "generator": self.generator.get_state(), "total_steps": self.total_steps},
                   scratch / "state.pt")
        (scratch / "spec.json").write_text(json.dumps(self.spec.to_dict(), indent=1))
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(scratch, directory)
        shutil.rmtree(old, ignore_errors=True)

    def load_checkpoint(self, directory: Path) -> None:
        from safetensors.torch import load_file

        directory = Path(directory)
        saved_spec = json.loads((directory / "spec.json").read_text())
        if saved_spec != json.loads(json.dumps(self.spec.to_dict())):
            raise ConfigError(f"{directory}: checkpoint was made with another spec or recipe; "
                              f"delete it or pass resume=False")
        self.modules.load_state_dict(load_file(str(directory / "model.safetensors")))
        self.ema = {key: value.to(self.device)
                    for key, value in load_file(str(directory / "ema.safetensors")).items()}
        state = torch.load(directory / "state.pt", weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step_index = int(state["step"])
        self.generator.set_state(state["generator"])

    def ema_pipeline(self):
        """The pipeline carrying the EMA weights (the ones that are shipped)."""
        self.modules.load_state_dict(self.ema)
        self.modules.eval()
        return self.pipeline.to("cpu")


# ---------------------------------------------------------------- entry points


def default_checkpoint_dir(name: str) -> Path:
    return get_settings().home / "minizoo" / "checkpoints" / name


def checkpoint_pipeline(checkpoint_dir: str | Path, *, ema: bool = True):
    """The pipeline of a (possibly unfinished) checkpoint, to look at a run while it goes."""
    from safetensors.torch import load_file

    checkpoint_dir = Path(checkpoint_dir)
    spec = ZooSpec.from_dict(json.loads((checkpoint_dir / "spec.json").read_text()))
    pipeline = build_pipeline(spec)
    weights = load_file(str(checkpoint_dir / ("ema.safetensors" if ema else "model.safetensors")))
    torch.nn.ModuleDict({"unet": pipeline.unet, "text_encoder": pipeline.text_encoder}) \
        .load_state_dict(weights)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def pretrain(spec: ZooSpec | str, out_dir: str | Path, *, steps: int | None = None,
             batch_size: int | None = None, lr: float | None = None, seed: int | None = None,
             resume: bool = True, progress: bool = True, checkpoint_every: int = 250,
             checkpoint_dir: str | Path | None = None, stop_after: int | None = None,
             time_limit_s: float | None = None, data: PretrainData | None = None,
             sample_grid: bool = True, device: str | None = None) -> dict:
    """Pretrain one zoo model; write the final pipeline (EMA weights, safetensors) to ``out_dir``.

    ``steps``/``batch_size``/``lr``/``seed`` override the spec. A checkpoint is kept in
    ``checkpoint_dir`` (default: MANDC_HOME/minizoo/checkpoints/<name>) and resumed from when
    ``resume``. ``stop_after`` (steps in this call) and ``time_limit_s`` end the call early with a
    checkpoint, so long runs go in pieces. ``data`` replaces the spec's domain mixture (tests).
    A finished run also writes ``samples.png``: 16 pretraining captions, one image each.
    ``device`` (default: MANDC_DEVICE) is where training runs; the saved weights and the sample
    grid are made on the CPU either way.
    Returns a summary: name, step reached, whether finished, seconds, last loss.
    """
    if isinstance(spec, str):
        spec = get_spec(spec)
    overrides = {k: v for k, v in dict(steps=steps, batch_size=batch_size, lr=lr,
                                       seed=seed).items() if v is not None}
    spec = replace(spec, **overrides)
    if spec.steps <= 0 or spec.batch_size <= 0:
        raise ConfigError(f"steps and batch_size must be positive (got {spec.steps}, "
                          f"{spec.batch_size})")
    out_dir = Path(out_dir)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else default_checkpoint_dir(spec.name)

    data = data if data is not None else mixture_data(spec)
    trainer = Trainer(spec, data, total_steps=spec.steps, seed=spec.seed,
                      device=device or get_settings().device)
    if resume and (checkpoint_dir / "state.pt").is_file():
        trainer.load_checkpoint(checkpoint_dir)

    started = time.perf_counter()
    first_step = trainer.step_index
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=spec.steps, initial=first_step, desc=f"pretrain {spec.name}",
                   unit="step", dynamic_ncols=True)
    try:
        while trainer.step_index < spec.steps:
            loss = trainer.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            done_here = trainer.step_index - first_step
            out_of_time = time_limit_s is not None and \
                time.perf_counter() - started > time_limit_s
            if trainer.step_index % checkpoint_every == 0 or (stop_after and
                                                               done_here >= stop_after) \
                    or out_of_time or trainer.step_index == spec.steps:
                trainer.save_checkpoint(checkpoint_dir)
            if (stop_after and done_here >= stop_after) or out_of_time:
                break
    finally:
        if bar is not None:
            bar.close()

    finished = trainer.step_index >= spec.steps
    if finished:
        pipeline = trainer.ema_pipeline()
        save_pipeline(pipeline, out_dir, half=True, spec=spec)
        if sample_grid:
            pool = data.captions
            captions = [pool[i * len(pool) // 16] for i in range(16)]
            save_sample_grid(pipeline, captions, out_dir / "samples.png", seed=spec.seed)
    return {"name": spec.name, "step": trainer.step_index, "steps": spec.steps,
            "finished": finished, "seconds": round(time.perf_counter() - started, 1),
            "loss": trainer.last_loss, "out_dir": str(out_dir)}


def pretrain_zoo(names: list[str] | None = None, steps: int | None = None,
                 out: str | Path = ASSETS_DIR, resume: bool = True,
                 time_limit_s: float | None = None, progress: bool = True,
                 device: str | None = None) -> list[dict]:
    """Pretrain several zoo models (all by default) into ``out/<name>/``; skip finished ones.

    Backs ``mandc minizoo pretrain [--models ...] [--steps N]``. With ``time_limit_s`` the whole
    call stops (checkpointed) when the time is spent, so the zoo can be built in pieces.
    """
    specs = zoo_specs() if not names else [get_spec(name) for name in names]
    out = Path(out)
    started = time.perf_counter()
    summaries = []
    for spec in specs:
        target = out / spec.name
        if resume and (target / "model_index.json").is_file() and steps is None:
            summaries.append({"name": spec.name, "finished": True, "skipped": True})
            continue
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - started)
        if left is not None and left <= 0:
            break
        summaries.append(pretrain(spec, target, steps=steps, resume=resume, progress=progress,
                                  time_limit_s=left, device=device))
        if not summaries[-1]["finished"]:
            break
    return summaries


def save_sample_grid(pipeline, captions: list[str], path: str | Path, *, seed: int = 0,
                     num_inference_steps: int = 25, guidance_scale: float = 3.0,
                     columns: int = 8) -> Path:
    """Generate one image per caption and tile them into a PNG (for eyeballing and the README)."""
    from PIL import Image

    generators = [torch.Generator().manual_seed(seed + i) for i in range(len(captions))]
    images = pipeline(captions, num_inference_steps=num_inference_steps,
                      guidance_scale=guidance_scale, generator=generators).images
    size = images[0].size[0]
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (columns * size, rows * size), "white")
    for i, image in enumerate(images):
        sheet.paste(image, ((i % columns) * size, (i // columns) * size))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
