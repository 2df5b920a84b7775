"""Test stand-ins shared by several test files."""

import numpy as np


class PixelExtractor:
    """Stands in for Inception: 4 × 4 downsampled pixels as features; counts images seen."""

    def __init__(self, cache_tag: str = "pixel-test"):
        self.cache_tag = cache_tag
        self.images_seen = 0

    def transform(self, images):
        self.images_seen += len(images)
        return np.stack([np.asarray(im.resize((4, 4)), dtype=float).ravel() / 255
                         for im in images])
