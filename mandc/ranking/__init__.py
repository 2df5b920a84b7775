"""Ranking candidate models for a dataset: the method contract and its registry (``methods``),
graph embeddings (``embed``), the M&C recommender (``recommend``), the baselines
(``baselines``) and leave-one-dataset-out evaluation (``evaluate``).

Importing this package registers the built-in methods, so ``METHODS`` knows every name.
"""

from . import baselines, recommend  # noqa: F401  (importing them registers the built-in methods)
from .evaluate import leave_one_dataset_out
from .methods import METHODS, RankingMethod, make_method
from .recommend import Recommender

__all__ = ["METHODS", "RankingMethod", "Recommender", "leave_one_dataset_out", "make_method"]
