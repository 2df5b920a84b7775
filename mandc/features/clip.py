"""The optional ``clip`` featurizer: any transformers CLIP checkpoint (Radford et al., ICML 2021).

Images and captions go through the checkpoint's own processor and its projection heads, and the
embeddings are L2-normalised as CLIP compares them. The checkpoint is a Hub id or a local folder
saved with ``save_pretrained``; weights load as safetensors only and remote code never runs.
Offline, a Hub id that is not in the local cache fails with a message that says so.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..errors import ConfigError, HubError
from ..settings import get_settings
from .base import FEATURIZERS, Featurizer, batches

DEFAULT_CHECKPOINT = "openai/clip-vit-base-patch32"


@FEATURIZERS.register("clip")
class ClipFeaturizer(Featurizer):
    """CLIP image and text embeddings (the checkpoint's projection dimension for both)."""

    name = "clip"
    revision = "1"
    spec_option = "checkpoint"

    def __init__(self, *, checkpoint: str = DEFAULT_CHECKPOINT, batch_size: int = 16,
                 device: str | None = None):
        super().__init__(batch_size=batch_size, device=device)
        if not checkpoint or not isinstance(checkpoint, str):
            raise ConfigError("the clip featurizer needs a checkpoint id or folder")
        self.checkpoint = checkpoint

    @property
    def version(self) -> str:
        return f"{self.revision}+{self.checkpoint}"

    def _load(self) -> None:
        try:
            from transformers import CLIPModel, CLIPTokenizer
        except ImportError as error:
            raise ConfigError("the clip featurizer needs transformers: pip install "
                              "'mandc[data]'") from error
        try:
            model = CLIPModel.from_pretrained(self.checkpoint, use_safetensors=True,
                                              trust_remote_code=False)
            self._tokenizer = CLIPTokenizer.from_pretrained(self.checkpoint)
            self._image_processor = _image_processor_class().from_pretrained(self.checkpoint)
        except OSError as error:
            offline = get_settings().hub_offline
            hint = (" HF_HUB_OFFLINE is set and it is not in the local Hugging Face cache; "
                    "download it once with network access or pass a local folder."
                    if offline else "")
            raise HubError(f"cannot load CLIP checkpoint {self.checkpoint!r} (safetensors "
                           f"weights, tokenizer and image processor are needed).{hint} "
                           f"Cause: {error}") from error
        self._model = model.eval().to(self.device)
        self.image_dim = self.caption_dim = int(model.config.projection_dim)
        self._max_tokens = int(model.config.text_config.max_position_embeddings)

    def _encode_images(self, images: list[Image.Image]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for chunk in batches(images, self.batch_size):
                pixels = self._image_processor([image.convert("RGB") for image in chunk],
                                               return_tensors="pt")["pixel_values"]
                features = self._model.get_image_features(pixel_values=pixels.to(self.device))
                out.append(_unit_rows(features))
        return np.concatenate(out)

    def _encode_captions(self, captions: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for chunk in batches(captions, 64):
                tokens = self._tokenizer(chunk, padding=True, truncation=True,
                                         max_length=self._max_tokens, return_tensors="pt")
                features = self._model.get_text_features(
                    input_ids=tokens["input_ids"].to(self.device),
                    attention_mask=tokens["attention_mask"].to(self.device))
                out.append(_unit_rows(features))
        return np.concatenate(out)


def _image_processor_class():
    """transformers' PIL image processor when torchvision is absent (same numbers, no warning)."""
    import importlib.util

    import transformers

    if importlib.util.find_spec("torchvision") is None and hasattr(transformers,
                                                                   "CLIPImageProcessorPil"):
        return transformers.CLIPImageProcessorPil
    return transformers.CLIPImageProcessor


def _unit_rows(features) -> np.ndarray:
    """L2-normalised rows; accepts a tensor or a model output with ``pooler_output``."""
    import torch

    tensor = features if isinstance(features, torch.Tensor) else features.pooler_output
    return torch.nn.functional.normalize(tensor.float(), dim=-1).cpu().numpy()
