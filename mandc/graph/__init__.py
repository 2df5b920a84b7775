"""The matching graph: candidate models and profiled datasets as nodes, measured fine-tuning
scores as model–data edges, dataset similarity as data–data edges.

Its modules: the graph and its tables (``matching_graph``), the on-disk store (``store``), CSV
import (``importer``), synthetic graphs (``synth``), score matrices (``views``), dataset
similarity (``similarity``), placing a new target (``placement``) and which graph a command means
when none is named (``defaults``).
"""

from .importer import import_csv
from .matching_graph import DATASET_ID, MODEL_ID, MatchingGraph
from .store import load_graph, save_graph

__all__ = ["DATASET_ID", "MODEL_ID", "MatchingGraph", "import_csv", "load_graph", "save_graph"]
