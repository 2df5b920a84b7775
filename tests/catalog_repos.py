"""Model repos for the Hub stand-in, built for real: tiny diffusers pipelines saved with
``save_pretrained`` (an SD-1.5-like, an SDXL-like), a DiT-like (PixArt) saved component by
component, a LoRA adapter and a single-file checkpoint (no pipeline), plus the catalogue entries
(licence, gating, lineage, downloads) the Hub's listing would carry for them.

The features the catalogue must read from them are known from how they are built: see
``EXPECTED``."""

from __future__ import annotations

import json
from pathlib import Path


def _clip(hidden: int, projection: int | None = None):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from mandc.minizoo.tokenizer import build_byte_tokenizer

    tokenizer = build_byte_tokenizer(32)
    config = CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=hidden,
                            intermediate_size=2 * hidden, num_hidden_layers=1,
                            num_attention_heads=2, max_position_embeddings=32,
                            projection_dim=projection or hidden,
                            bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id,
                            pad_token_id=tokenizer.pad_token_id)
    model = CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)
    return model, tokenizer


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(4, 4, 4, 4),
                         down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4,
                         norm_num_groups=2, layers_per_block=1)


def _count(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def build_sd15(folder: Path) -> dict:
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    text_encoder, tokenizer = _clip(16)
    unet = UNet2DConditionModel(sample_size=64, in_channels=4, out_channels=4,
                                block_out_channels=(8, 16), layers_per_block=1,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                                cross_attention_dim=16, attention_head_dim=4, norm_num_groups=4)
    scheduler = DDIMScheduler(clip_sample=False, steps_offset=1)
    pipeline = StableDiffusionPipeline(vae=_vae(), text_encoder=text_encoder, tokenizer=tokenizer,
                                       unet=unet, scheduler=scheduler, safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
    pipeline.save_pretrained(folder, safe_serialization=True)
    return {"pipeline_class": "StableDiffusionPipeline", "denoiser_class": "UNet2DConditionModel",
            "denoiser_params": _count(unet), "text_encoder_params": _count(text_encoder),
            "resolution": 512}


def build_sdxl(folder: Path) -> dict:
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    torch.manual_seed(1)
    text_encoder, tokenizer = _clip(16)
    text_encoder_2, tokenizer_2 = _clip(16, projection=16)
    unet = UNet2DConditionModel(sample_size=128, in_channels=4, out_channels=4,
                                block_out_channels=(8, 16), layers_per_block=1,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                cross_attention_dim=32, attention_head_dim=4, norm_num_groups=4,
                                addition_embed_type="text_time", addition_time_embed_dim=4,
                                projection_class_embeddings_input_dim=6 * 4 + 16)
    pipeline = StableDiffusionXLPipeline(vae=_vae(), text_encoder=text_encoder,
                                         text_encoder_2=text_encoder_2, tokenizer=tokenizer,
                                         tokenizer_2=tokenizer_2, unet=unet,
                                         scheduler=EulerDiscreteScheduler())
    pipeline.save_pretrained(folder, safe_serialization=True)
    return {"pipeline_class": "StableDiffusionXLPipeline",
            "denoiser_class": "UNet2DConditionModel", "denoiser_params": _count(unet),
            "text_encoder_params": _count(text_encoder) + _count(text_encoder_2),
            "resolution": 1024}


def build_pixart(folder: Path) -> dict:
    """PixArt-α-like: a DiT denoiser and a T5 encoder, each saved with ``save_pretrained``; the
    pipeline index written as diffusers writes it (a T5 tokenizer needs files not at hand)."""
    import torch
    from diffusers import PixArtTransformer2DModel
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(2)
    transformer = PixArtTransformer2DModel(
        num_attention_heads=2, attention_head_dim=4, in_channels=4, out_channels=8, num_layers=1,
        sample_size=128, patch_size=2, cross_attention_dim=8, caption_channels=16)
    text_encoder = T5EncoderModel(T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32,
                                           num_layers=1, num_heads=2))
    transformer.save_pretrained(folder / "transformer", safe_serialization=True)
    text_encoder.save_pretrained(folder / "text_encoder", safe_serialization=True)
    _vae().save_pretrained(folder / "vae", safe_serialization=True)
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "PixArtAlphaPipeline", "_diffusers_version": "0.42.1",
        "scheduler": ["diffusers", "DPMSolverMultistepScheduler"],
        "text_encoder": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "T5Tokenizer"],
        "transformer": ["diffusers", "PixArtTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"]}, indent=2))
    return {"pipeline_class": "PixArtAlphaPipeline",
            "denoiser_class": "PixArtTransformer2DModel", "denoiser_params": _count(transformer),
            "text_encoder_params": _count(text_encoder), "resolution": 1024}


def build_lora(folder: Path) -> dict:
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_{p}.lora_{s}"
               f".weight": torch.zeros((4, 16) if s == "A" else (16, 4))
               for p in ("q", "k") for s in ("A", "B")}
    save_file(tensors, str(folder / "pytorch_lora_weights.safetensors"))
    return {"params": 4 * 64}


def build_checkpoint(folder: Path) -> dict:
    """A single-file checkpoint (a .safetensors and a card): on the Hub, but no pipeline."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3)},
              str(folder / "tiny-v1.safetensors"))
    return {}


def _card(folder: Path, metadata: dict) -> None:
    lines = ["---"] + [f"{k}: {json.dumps(v)}" for k, v in metadata.items()] + ["---", "",
                                                                                 "A tiny model."]
    (folder / "README.md").write_text("\n".join(lines) + "\n")


def _entry(repo: str, downloads: int, likes: int, licence: str, *, base: str | None = None,
           relation: str | None = None, gated=False, tags=(), licence_name=None,
           pipeline_tag="text-to-image", **extra) -> dict:
    card = {"license": licence, "library_name": "diffusers"}
    if licence_name:
        card["license_name"] = licence_name
    if base:
        card["base_model"] = base
        if relation and relation != "finetune":
            card["base_model_relation"] = relation
    entry = {"id": repo, "pipeline_tag": pipeline_tag, "library_name": "diffusers",
             "tags": ["diffusers", pipeline_tag, f"license:{licence}", *tags],
             "downloads": downloads, "likes": likes, "gated": gated, "cardData": card, **extra}
    if base:
        entry["baseModels"] = {"relation": relation or "finetune", "models": [{"id": base}]}
        entry["tags"].append(f"base_model:{relation or 'finetune'}:{base}")
    return entry


def build_repos(root: Path) -> tuple[list[dict], dict[str, Path], dict[str, dict]]:
    """(catalogue entries, repo id → folder, repo id → expected features)."""
    builders = {"acme/tiny-sd15": build_sd15, "acme/tiny-sdxl": build_sdxl,
                "acme/tiny-pixart": build_pixart, "acme/tiny-sdxl-lora": build_lora,
                "acme/tiny-checkpoint": build_checkpoint}
    folders, expected = {}, {}
    for repo, build in builders.items():
        folder = root / repo.replace("/", "--")
        expected[repo] = build(folder)
        folders[repo] = folder
    # a fine-tune with a non-commercial licence, and a gated one: the same weights, other repos
    folders["acme/tiny-sd15-anime"] = folders["acme/tiny-sd15"]
    expected["acme/tiny-sd15-anime"] = expected["acme/tiny-sd15"]
    folders["acme/tiny-sdxl-gated"] = folders["acme/tiny-sdxl"]
    expected["acme/tiny-sdxl-gated"] = expected["acme/tiny-sdxl"]
    entries = [
        _entry("acme/tiny-sdxl", 9000, 300, "openrail++"),
        _entry("acme/tiny-sd15", 5000, 120, "creativeml-openrail-m"),
        _entry("acme/tiny-sdxl-lora", 3000, 80, "openrail++", base="acme/tiny-sdxl",
               relation="adapter", tags=("lora", "template:sd-lora")),
        _entry("acme/tiny-sdxl-gated", 2000, 60, "other", licence_name="tiny-research-license",
               gated="manual", granted=["alice"], base="acme/tiny-sdxl", relation="finetune"),
        _entry("acme/tiny-pixart", 800, 25, "openrail++"),
        _entry("acme/tiny-sd15-anime", 600, 15, "cc-by-nc-4.0", base="acme/tiny-sd15",
               relation="finetune"),
        _entry("acme/tiny-checkpoint", 100, 2, "mit"),
        _entry("acme/captioner", 50_000, 900, "mit", pipeline_tag="image-to-text"),
    ]
    for entry in entries:
        folder = folders.get(entry["id"])
        if folder is not None and not (folder / "README.md").exists():
            _card(folder, {k: v for k, v in entry["cardData"].items()})
    return entries, folders, expected
