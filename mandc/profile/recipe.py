"""The fine-tuning recipe: every setting that shapes a profiled score, with a stable hash.

Scores in a matching graph are only comparable when they come from the same recipe, so each score
row stores the recipe as JSON together with :meth:`Recipe.hash` (sha256 of the sorted JSON), and
readers group or filter by that hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError


@dataclass(frozen=True)
class Recipe:
    """LoRA fine-tune and generation settings (the diffusers text-to-image LoRA recipe)."""

    steps: int = 60
    rank: int = 4
    lr: float = 1e-3
    batch_size: int = 16
    seed: int = 0
    resolution: int = 32
    num_inference_steps: int = 20
    guidance_scale: float = 3.0
    train_samples: int = 256
    """Images the fine-tune draws from the dataset's train split (seeded sample)."""
    eval_samples: int = 64
    """Held-out images (and their captions) that FID/KID compare generations against."""

    def __post_init__(self):
        for name in ("steps", "rank", "batch_size", "resolution", "num_inference_steps",
                     "train_samples", "eval_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"recipe {name} must be a positive integer, got {value!r}")
        for name in ("train_samples", "eval_samples"):
            if getattr(self, name) < 2:
                raise ConfigError(f"recipe {name} must be at least 2 (FID needs a covariance)")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"recipe seed must be an integer, got {self.seed!r}")
        if not self.lr > 0:
            raise ConfigError(f"recipe lr must be positive, got {self.lr!r}")
        if not self.guidance_scale >= 0:
            raise ConfigError(f"recipe guidance_scale must be >= 0, got {self.guidance_scale!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def hash(self) -> str:
        """sha256 hex digest of the sorted, compact JSON: equal recipes, equal hashes."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, values: dict) -> Recipe:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown recipe field(s) {unknown}; valid: {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        return cls.from_dict(json.loads(text))

    def with_seed(self, seed: int) -> Recipe:
        return Recipe.from_dict({**self.to_dict(), "seed": seed})

    def finetune_kwargs(self) -> dict:
        """Keyword arguments for :func:`mandc.profile.finetune.finetune_lora`."""
        return dict(steps=self.steps, rank=self.rank, lr=self.lr, seed=self.seed,
                    batch_size=self.batch_size, resolution=self.resolution)

    def generate_kwargs(self) -> dict:
        """Keyword arguments for :func:`mandc.profile.finetune.generate`."""
        return dict(seed=self.seed, num_inference_steps=self.num_inference_steps,
                    guidance_scale=self.guidance_scale)
