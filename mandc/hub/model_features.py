"""A diffusers pipeline's features from its metadata alone, never its weights.

The same reading serves a Hub repo and a local folder (a mini-zoo model, a model before upload):
``model_index.json`` names the pipeline class and its components; the denoiser's config gives its
``sample_size`` in latent pixels and the VAE's config its downsampling factor, whose product is
the native resolution; the parameter counts are summed from the safetensors *headers* of the
denoiser's and text encoders' files (on the Hub, two HTTP range requests a file), so no weight is
downloaded. A :class:`Reader` is the one thing that differs between the two places.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DENOISERS = ("transformer", "unet", "prior", "decoder")
"""Component names of the network that denoises, in the order a pipeline is searched for one."""
TEXT_ENCODERS = ("text_encoder", "text_encoder_2", "text_encoder_3")
WEIGHT_NAMES = ("diffusion_pytorch_model", "model")
"""Base names of a component's weights (diffusers models, transformers models)."""


class NotAPipeline(Exception):
    """The repo or folder has no ``model_index.json``: not a diffusers pipeline."""


@dataclass
class Reader:
    """Where the files come from: ``files`` lists the paths; ``json`` reads one; ``parameters``
    counts the parameters of one safetensors file from its header."""

    files: list[str]
    json: Callable[[str], dict]
    parameters: Callable[[str], int]


def pipeline_features(reader: Reader) -> dict:
    """``pipeline_class``, ``denoiser``, ``denoiser_class``, ``denoiser_params``,
    ``text_encoder_params``, ``params`` and ``resolution`` of the pipeline ``reader`` sees."""
    if "model_index.json" not in reader.files:
        raise NotAPipeline("no model_index.json")
    index = reader.json("model_index.json")
    components = {name: value for name, value in index.items()
                  if not name.startswith("_") and isinstance(value, list) and len(value) == 2
                  and value[1] is not None}
    denoiser = next((name for name in DENOISERS if name in components), None)
    denoiser_params = _component_parameters(reader, denoiser) if denoiser else None
    encoder_counts = [_component_parameters(reader, name) for name in TEXT_ENCODERS
                      if name in components]
    text_params = (sum(encoder_counts) if encoder_counts and None not in encoder_counts
                   else None)
    resolution = None
    if denoiser and f"{denoiser}/config.json" in reader.files:
        resolution = _native_resolution(reader.json(f"{denoiser}/config.json"),
                                        reader.json("vae/config.json")
                                        if "vae/config.json" in reader.files else None,
                                        has_vae="vae" in components)
    total = None
    if denoiser_params is not None:
        total = denoiser_params + (text_params or 0)
    return {"pipeline_class": index.get("_class_name"), "denoiser": denoiser,
            "denoiser_class": components[denoiser][1] if denoiser else None,
            "denoiser_params": denoiser_params, "text_encoder_params": text_params,
            "params": total, "resolution": resolution}


def _native_resolution(denoiser: dict, vae: dict | None, *, has_vae: bool) -> int | None:
    """``sample_size`` (latent pixels) × the VAE's downsampling, 2^(levels - 1); pixel-space
    models (no VAE) sample at ``sample_size`` itself."""
    size = denoiser.get("sample_size")
    if isinstance(size, list):
        size = max(size)
    if not isinstance(size, int) or size <= 0:
        return None
    if not has_vae:
        return size
    if vae is None:
        return None
    levels = len(vae.get("block_out_channels") or [])
    return size * 2 ** (levels - 1) if levels else None


def _component_parameters(reader: Reader, component: str) -> int | None:
    """Parameters of one component: its single safetensors file, else the shards its index
    names, else an fp16 variant; None when it has no safetensors weights."""
    files = set(reader.files)
    for base in WEIGHT_NAMES:
        single = f"{component}/{base}.safetensors"
        if single in files:
            return reader.parameters(single)
        index = f"{component}/{base}.safetensors.index.json"
        if index in files:
            shards = sorted(set(reader.json(index).get("weight_map", {}).values()))
            return sum(reader.parameters(f"{component}/{shard}") for shard in shards)
    for base in WEIGHT_NAMES:
        for variant in ("fp16", "bf16"):
            name = f"{component}/{base}.{variant}.safetensors"
            if name in files:
                return reader.parameters(name)
    return None


# --------------------------------------------------------------------------- a local folder
def header_parameters(path: Path) -> int:
    """Parameters in a safetensors file, from its header (8-byte length, then JSON)."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    return sum(math.prod(entry["shape"]) for name, entry in header.items()
               if name != "__metadata__")


def folder_reader(folder: Path) -> Reader:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return Reader(files, lambda name: json.loads((folder / name).read_text()),
                  lambda name: header_parameters(folder / name))


def folder_features(folder: str | Path) -> dict:
    """The features of a local pipeline folder (a mini-zoo model, a model before upload)."""
    return pipeline_features(folder_reader(Path(folder)))
