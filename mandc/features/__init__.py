"""Featurizers, dataset descriptors and dataset-to-dataset measures.

``describe(dataset)`` turns a sampled image–caption set into a :class:`DatasetDescriptor` (one
row of the graph's ``datasets`` table); ``similarity_table(descriptors)`` gives the data–data
edges. Featurizers are picked by name from :data:`FEATURIZERS` (default ``effnet-minilm``).
"""

from . import clip, effnet_minilm  # noqa: F401  (register the featurizers)
from .base import FEATURIZERS, Featurizer, get_featurizer, resolve_featurizer
from .cache import cache_path
from .descriptor import COVARIANCE_PREFIX, DEFAULT_RANK, DatasetDescriptor, describe
from .gaussian import GaussianSummary, frechet_distance, ledoit_wolf_shrinkage
from .measures import DEFAULT_MEASURE, MEASURES, Measure, similarity, similarity_table
from .palette import colour_histogram, hellinger_distance
from .statistics import caption_statistics, colourfulness, image_statistics

__all__ = [
    "COVARIANCE_PREFIX", "DEFAULT_MEASURE", "DEFAULT_RANK", "FEATURIZERS", "MEASURES",
    "DatasetDescriptor", "Featurizer", "GaussianSummary", "Measure", "cache_path",
    "caption_statistics", "colour_histogram", "colourfulness", "describe", "frechet_distance",
    "get_featurizer", "hellinger_distance", "image_statistics", "ledoit_wolf_shrinkage",
    "resolve_featurizer", "similarity", "similarity_table",
]
