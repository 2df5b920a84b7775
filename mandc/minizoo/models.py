"""The mini zoo: specs of small text-to-image diffusion models, and building / loading them.

Real T2I models cannot be downloaded here, so the package ships ten small ones that pose the same
question (which pretrained model to fine-tune?) in miniature. They differ where Hub models differ —
width and depth of the UNet, where cross-attention sits, text encoder size, prediction target
(epsilon or v, Salimans & Ho 2022), inference scheduler — and above all in what they were
pretrained on: each spec names a mixture over the procedural domain families, some close to the
profiled families, some far. Each model is an ordinary diffusers pipeline folder (safetensors) that
:func:`load_pipeline` opens exactly like a Hub model id.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigError, HubError
from ..registry import Registry

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
"""Where the pretrained zoo ships inside the package: ``assets/<model name>/``."""

DATA_FAMILIES = ("shapes", "patterns", "glyphs", "gradients", "scenes", "grids")
"""The domain families a pretraining mixture may weight (``Domain.family`` in domains.py)."""

SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
}
"""Inference schedulers a spec may pick (short name → diffusers class).

Epsilon models sample with ``ddpm`` or ``ddim`` (both clip the x0 guess to [-1, 1]). The
sigma-space samplers (euler, euler-a, dpm++) start from sigma_max = sqrt(1/alpha_bar_T - 1), which
the capped cosine schedule makes enormous; an epsilon network's small error there is multiplied by
it, and the samples of the zoo's first build were pure noise (FID ≈ 300-400 on every domain). A
v-prediction network has no such blow-up, and those samplers served the v models well."""

SIGMA_SAMPLERS = ("dpm++", "euler", "euler-a")


@dataclass(frozen=True)
class ZooSpec:
    """Everything that defines one zoo model: architecture, diffusion setup, pretraining recipe."""

    name: str
    mixture: dict[str, float]
    """Pretraining mixture: weight per domain family (or per domain name); normalised when used."""
    block_out_channels: tuple[int, ...] = (32, 64)
    down_block_types: tuple[str, ...] = ("DownBlock2D", "CrossAttnDownBlock2D")
    up_block_types: tuple[str, ...] = ("CrossAttnUpBlock2D", "UpBlock2D")
    mid_block_type: str | None = "UNetMidBlock2DCrossAttn"
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 8
    text_hidden_size: int = 64
    """Also the UNet's cross-attention dim."""
    text_layers: int = 2
    text_heads: int = 4
    max_caption_tokens: int = 64
    resolution: int = 32
    prediction_type: str = "epsilon"
    scheduler: str = "ddim"
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    # pretraining recipe
    steps: int = 1300
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 100
    ema_decay: float = 0.999
    caption_dropout: float = 0.1
    snr_gamma: float | None = 5.0
    images_per_domain: int = 256
    seed: int = 0

    def __post_init__(self):
        if self.prediction_type not in ("epsilon", "v_prediction"):
            raise ConfigError(f"zoo spec {self.name!r}: prediction_type must be 'epsilon' or "
                              f"'v_prediction', not {self.prediction_type!r}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"zoo spec {self.name!r}: unknown scheduler {self.scheduler!r}; "
                              f"valid: {', '.join(SCHEDULERS)}")
        if self.prediction_type == "epsilon" and self.scheduler in SIGMA_SAMPLERS and \
                self.beta_schedule == "squaredcos_cap_v2":
            raise ConfigError(f"zoo spec {self.name!r}: an epsilon model with the cosine schedule "
                              f"samples noise with {self.scheduler!r}; use ddpm or ddim")
        if not self.mixture or any(w < 0 for w in self.mixture.values()) or \
                sum(self.mixture.values()) <= 0:
            raise ConfigError(f"zoo spec {self.name!r}: mixture needs positive weights")
        if len(self.down_block_types) != len(self.block_out_channels) or \
                len(self.up_block_types) != len(self.block_out_channels):
            raise ConfigError(f"zoo spec {self.name!r}: one down and one up block per "
                              f"channel level")

    @property
    def architecture(self) -> str:
        """A short architecture family label, e.g. ``unet2-xattn1`` (levels, cross-attn levels)."""
        cross = sum("CrossAttn" in b for b in self.down_block_types)
        mid = "m" if self.mid_block_type else ""
        return f"unet{len(self.block_out_channels)}-xattn{cross}{mid}"

    def mixture_weights(self) -> dict[str, float]:
        total = sum(self.mixture.values())
        return {key: weight / total for key, weight in self.mixture.items()}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ZooSpec:
        """Inverse of :meth:`to_dict` (JSON turns tuples into lists; turn them back)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


ZOO: Registry[ZooSpec] = Registry("zoo model")


def _register(spec: ZooSpec) -> ZooSpec:
    ZOO.register(spec.name)(spec)
    return spec


_WIDE = dict(block_out_channels=(40, 80), attention_head_dim=10, norm_num_groups=8, steps=1000)
_NARROW = dict(block_out_channels=(24, 48), attention_head_dim=8, norm_num_groups=8,
               text_hidden_size=48, text_layers=1, text_heads=4, steps=1600)
_THREE_LEVEL = dict(block_out_channels=(32, 64, 64),
                    down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
                    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"), steps=800)
_ATTN_TWICE = dict(block_out_channels=(16, 32, 64),
                   down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                   up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                   steps=900)

# Steps are set so the whole zoo pretrains in about 3 h on 2 idle CPU cores: relative costs per
# step (bench/bench_train_step.py) ≈ 1.0 for (32, 64), 0.76 narrow, 1.4 wide, 1.9 three-level,
# 1.6 two cross-attention levels, with (32, 64) at batch 32 ≈ 0.75 s/step unloaded.
for _spec in (
    ZooSpec("shapes-s", {"shapes": 0.8, "grids": 0.2}, scheduler="ddpm", seed=1),
    ZooSpec("shapes-v", {"shapes": 0.5, "scenes": 0.5}, prediction_type="v_prediction",
            scheduler="dpm++", seed=2),
    ZooSpec("patterns-s", {"patterns": 0.8, "gradients": 0.2}, scheduler="ddim", seed=3),
    ZooSpec("patterns-wide", {"patterns": 0.6, "glyphs": 0.4}, prediction_type="v_prediction",
            **_WIDE, seed=4),
    ZooSpec("glyphs-v", {"glyphs": 0.8, "shapes": 0.2}, prediction_type="v_prediction", seed=5),
    ZooSpec("glyphs-deep", {"glyphs": 0.6, "patterns": 0.4}, scheduler="ddpm", **_THREE_LEVEL,
            seed=6),
    ZooSpec("gradients-tiny", {"gradients": 1.0}, scheduler="ddpm", num_train_timesteps=250,
            **_NARROW, seed=7),
    ZooSpec("scenes-v", {"scenes": 0.7, "shapes": 0.3}, prediction_type="v_prediction",
            scheduler="dpm++", seed=8),
    ZooSpec("scenes-xattn2", {"scenes": 0.6, "gradients": 0.4}, prediction_type="v_prediction",
            scheduler="euler", **_ATTN_TWICE, seed=9),
    ZooSpec("grids-tiny", {"grids": 0.7, "shapes": 0.3}, prediction_type="v_prediction",
            scheduler="ddim", **_NARROW, seed=10),
    ZooSpec("generalist-tiny", {family: 1.0 for family in DATA_FAMILIES}, scheduler="ddpm",
            **_NARROW, seed=11),
):
    _register(_spec)


def get_spec(name: str) -> ZooSpec:
    return ZOO.get(name)


def zoo_specs() -> list[ZooSpec]:
    return [ZOO.get(name) for name in ZOO.names()]


# ---------------------------------------------------------------- building


def _scheduler_for(spec: ZooSpec):
    import diffusers

    cls = getattr(diffusers, SCHEDULERS[spec.scheduler])
    config = dict(num_train_timesteps=spec.num_train_timesteps, beta_schedule=spec.beta_schedule,
                  prediction_type=spec.prediction_type)
    if spec.scheduler in ("ddim", "ddpm"):
        config.update(clip_sample=True, clip_sample_range=1.0)
    if spec.scheduler in ("ddim", "dpm++", "euler", "euler-a"):
        config.update(timestep_spacing="trailing")
    return cls(**config)


def build_pipeline(spec: ZooSpec, *, seed: int | None = None):
    """A freshly initialised (untrained) :class:`MiniT2IPipeline` for ``spec``, seeded."""
    import torch
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from .pipeline import MiniT2IPipeline
    from .tokenizer import build_byte_tokenizer

    torch.manual_seed(spec.seed if seed is None else seed)
    tokenizer = build_byte_tokenizer(spec.max_caption_tokens)
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=spec.text_hidden_size,
        intermediate_size=2 * spec.text_hidden_size, num_hidden_layers=spec.text_layers,
        num_attention_heads=spec.text_heads, max_position_embeddings=spec.max_caption_tokens,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    text_encoder = CLIPTextModel(text_config)
    unet = UNet2DConditionModel(
        sample_size=spec.resolution, in_channels=3, out_channels=3,
        block_out_channels=spec.block_out_channels, down_block_types=spec.down_block_types,
        up_block_types=spec.up_block_types, mid_block_type=spec.mid_block_type,
        layers_per_block=spec.layers_per_block, cross_attention_dim=spec.text_hidden_size,
        attention_head_dim=spec.attention_head_dim, norm_num_groups=spec.norm_num_groups,
    )
    return MiniT2IPipeline(unet=unet, text_encoder=text_encoder, tokenizer=tokenizer,
                           scheduler=_scheduler_for(spec))


def save_pipeline(pipeline, directory: str | Path, *, half: bool = True,
                  spec: ZooSpec | None = None) -> Path:
    """``save_pretrained`` as safetensors (fp16 storage by default, to keep the package small).

    With ``spec``, also writes ``zoo_spec.json`` next to ``model_index.json`` (the model card data).
    """
    import copy

    import torch

    directory = Path(directory)
    to_save = pipeline
    if half:
        to_save = copy.deepcopy(pipeline)
        to_save.unet.to(torch.float16)
        to_save.text_encoder.to(torch.float16)
    to_save.save_pretrained(directory, safe_serialization=True)
    if spec is not None:
        (directory / "zoo_spec.json").write_text(json.dumps(spec.to_dict(), indent=1))
    return directory


# ---------------------------------------------------------------- loading


def resolve_model(model_id_or_path: str | Path) -> str:
    """A local pipeline folder, a zoo model name (its folder under assets/), or a Hub model id."""
    path = Path(model_id_or_path).expanduser()
    if path.is_dir():
        return str(path)
    name = str(model_id_or_path)
    if name in ZOO:
        folder = ASSETS_DIR / name
        if not (folder / "model_index.json").is_file():
            raise ConfigError(f"zoo model {name!r} is not pretrained yet ({folder} is missing); "
                              f"run `mandc minizoo pretrain --models {name}`")
        return str(folder)
    if name.count("/") == 1 and not path.exists():
        return name
    raise ConfigError(f"{name!r} is neither a pipeline folder, a zoo model ({', '.join(ZOO)}) "
                      f"nor a Hub model id (owner/name)")


def _model_index(source: str) -> dict:
    local = Path(source) / "model_index.json"
    if local.is_file():
        return json.loads(local.read_text())
    try:
        from huggingface_hub import hf_hub_download

        return json.loads(Path(hf_hub_download(source, "model_index.json")).read_text())
    except Exception as error:  # offline, unknown repo, no such file
        raise HubError(f"cannot read model_index.json of {source!r}: {error}") from error


def load_pipeline(model_id_or_path: str | Path, *, torch_dtype=None, device: str | None = None):
    """Open a diffusers pipeline from a Hub id, a local folder or a zoo name — one code path.

    The pipeline class comes from ``model_index.json``: the zoo's ``MiniT2IPipeline`` or any
    diffusers pipeline (Stable Diffusion and kin). Weights are read as safetensors only. Zoo weights
    are stored in fp16 and loaded as float32 unless ``torch_dtype`` says otherwise.
    """
    import torch
    from diffusers import DiffusionPipeline

    from .pipeline import MiniT2IPipeline

    source = resolve_model(model_id_or_path)
    index = _model_index(source)
    is_mini = index.get("_class_name") == MiniT2IPipeline.__name__
    pipeline_class = MiniT2IPipeline if is_mini else DiffusionPipeline
    if torch_dtype is None and is_mini:
        torch_dtype = torch.float32
    kwargs = {"use_safetensors": True}
    if torch_dtype is not None:
        kwargs["torch_dtype"] = torch_dtype
    with warnings.catch_warnings():  # diffusers ≥ 0.36 renames torch_dtype; older ones need it
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        pipeline = pipeline_class.from_pretrained(source, **kwargs)
    pipeline.set_progress_bar_config(disable=True)
    if device is not None:
        pipeline.to(device)
    return pipeline


# ---------------------------------------------------------------- model card


def count_parameters(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def zoo_table(specs: list[ZooSpec] | None = None):
    """One row per zoo model: the features a matching graph records for it (a model card)."""
    import pandas as pd

    rows = []
    for spec in specs or zoo_specs():
        pipeline = build_pipeline(spec)
        weights = spec.mixture_weights()
        row = {
            "id": spec.name,
            "family": spec.architecture,
            "pipeline_class": "MiniT2IPipeline",
            "params": count_parameters(pipeline.unet) + count_parameters(pipeline.text_encoder),
            "unet_params": count_parameters(pipeline.unet),
            "text_encoder_params": count_parameters(pipeline.text_encoder),
            "resolution": spec.resolution,
            "space": "pixel",
            "prediction_type": spec.prediction_type,
            "scheduler": spec.scheduler,
            "num_train_timesteps": spec.num_train_timesteps,
            "block_out_channels": "-".join(map(str, spec.block_out_channels)),
            "cross_attention_dim": spec.text_hidden_size,
            "pretrain_steps": spec.steps,
            "pretrain_batch_size": spec.batch_size,
            "pretraining_mixture": json.dumps(weights, sort_keys=True),
        }
        for family in DATA_FAMILIES:
            row[f"mix_{family}"] = round(weights.get(family, 0.0), 4)
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["ASSETS_DIR", "DATA_FAMILIES", "ZOO", "ZooSpec", "build_pipeline", "get_spec",
           "load_pipeline", "resolve_model", "save_pipeline", "zoo_specs", "zoo_table"]
