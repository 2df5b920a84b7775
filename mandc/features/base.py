"""The featurizer contract, the registry of featurizers and the process-wide instance cache.

A featurizer turns images and captions into fixed-length embeddings. Encoders are heavy (seconds to
load, hundreds of MB), so :func:`get_featurizer` hands out one shared instance per name and
options, and each instance loads its encoders at most once, on first use, under a lock.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ..errors import ConfigError, ValidationError
from ..registry import Registry
from ..settings import get_settings

FEATURIZERS: Registry[type[Featurizer]] = Registry("featurizer")


class Featurizer:
    """Base class: subclasses set ``name`` and ``revision`` and implement the ``_`` methods.

    ``version`` identifies everything that changes the numbers (the revision, the checkpoint, the
    input resolution); features with different ``name`` or ``version`` never mix.
    """

    name: str = ""
    revision: str = "1"
    spec_option: str | None = None
    """Option that ``name:value`` sets (``clip:openai/clip-vit-large-patch14``), if any."""

    def __init__(self, *, batch_size: int = 16, device: str | None = None):
        if batch_size < 1:
            raise ValidationError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.device = device or get_settings().device
        self._lock = threading.Lock()
        self._loaded = False

    @property
    def version(self) -> str:
        return self.revision

    @property
    def key(self) -> str:
        """``name@version``: what a feature cache entry and a graph's featurizer are keyed by."""
        return f"{self.name}@{self.version}"

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> Featurizer:
        """Load the encoders (once; later calls return at once). Thread-safe."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._load()
                    self._loaded = True
        return self

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """``(n, image_dim)`` float32 embeddings of RGB images, in order."""
        images = list(images)
        for index, image in enumerate(images):
            if not isinstance(image, Image.Image):
                raise ValidationError(f"expected a PIL image, got {type(image).__name__}",
                                      row=index, column="image")
        if not images:
            return np.zeros((0, self.image_dim), dtype=np.float32)
        self.load()
        return np.asarray(self._encode_images(images), dtype=np.float32)

    def encode(self, images: Sequence[Image.Image],
               captions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(image embeddings, caption embeddings) of a dataset; a featurizer may compute the
        two at once."""
        return self.encode_images(images), self.encode_captions(captions)

    def encode_captions(self, captions: Sequence[str]) -> np.ndarray:
        """``(n, caption_dim)`` float32 embeddings of captions, in order."""
        captions = list(captions)
        for index, caption in enumerate(captions):
            if not isinstance(caption, str):
                raise ValidationError(f"expected a caption string, got {type(caption).__name__}",
                                      row=index, column="caption")
        if not captions:
            return np.zeros((0, self.caption_dim), dtype=np.float32)
        self.load()
        return np.asarray(self._encode_captions(captions), dtype=np.float32)

    # subclasses
    image_dim: int = 0
    caption_dim: int = 0

    def _load(self) -> None:
        raise NotImplementedError

    def _encode_images(self, images: list[Image.Image]) -> np.ndarray:
        raise NotImplementedError

    def _encode_captions(self, captions: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, loaded={self._loaded})"


_instances: dict[tuple, Featurizer] = {}
_instances_lock = threading.Lock()


def get_featurizer(name: str | None = None, **options) -> Featurizer:
    """The shared featurizer for ``name`` (default: settings' ``MANDC_FEATURIZER``) and options.

    ``name`` may carry the featurizer's main option after a colon, as the CLI passes it:
    ``clip:openai/clip-vit-large-patch14`` is ``get_featurizer("clip", checkpoint=...)``.

    Instances are cached per process, so encoders load at most once however often this is called;
    an unknown name lists the valid ones.
    """
    name = name or get_settings().default_featurizer
    name, _, value = name.partition(":")
    factory = FEATURIZERS.get(name)
    if value:
        if factory.spec_option is None:
            raise ConfigError(f"featurizer {name!r} takes no ':' argument")
        options = {**options, factory.spec_option: value}
    try:  # defaults filled in, so resolution=192 and no resolution share one instance
        bound = inspect.signature(factory).bind(**options)
    except TypeError as error:
        raise ConfigError(f"featurizer {name!r}: {error}") from None
    bound.apply_defaults()
    cache_key = (name, tuple(sorted(bound.arguments.items())))
    with _instances_lock:
        featurizer = _instances.get(cache_key)
        if featurizer is None:
            featurizer = _instances[cache_key] = factory(**options)
    return featurizer


def resolve_featurizer(featurizer: Featurizer | str | None) -> Featurizer:
    """A featurizer instance from an instance, a registered name or None (the default)."""
    if isinstance(featurizer, Featurizer):
        return featurizer
    if featurizer is None or isinstance(featurizer, str):
        return get_featurizer(featurizer)
    raise ValidationError(f"featurizer must be a name or a Featurizer, got "
                          f"{type(featurizer).__name__}")


def batches(items: list, size: int):
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
