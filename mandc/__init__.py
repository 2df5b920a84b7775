"""M&C (Match & Choose): which pretrained text-to-image model should you fine-tune on your images?

The flow, one subpackage a step: ``data`` (a target image–caption set) → ``features`` (dataset
descriptors) → ``graph`` (the matching graph, its store and the placing of a target) →
``ranking`` (embeddings, the recommender, baselines, evaluation) → ``advise`` (the ranked answer)
→ ``cli`` and ``ui`` (the command and the app). ``profile`` and ``minizoo`` fine-tune and score;
``hub`` talks to the Hugging Face Hub.

The names most scripts need are importable from here::

    from mandc import Recommender, import_csv, leave_one_dataset_out
"""

from importlib import import_module

__version__ = "0.1.0"

_FACE = {
    "MatchingGraph": "mandc.graph",
    "import_csv": "mandc.graph",
    "load_graph": "mandc.graph",
    "save_graph": "mandc.graph",
    "Recommender": "mandc.ranking",
    "leave_one_dataset_out": "mandc.ranking",
    "make_method": "mandc.ranking",
    "advise": "mandc.advise",
    "load_target": "mandc.data",
    "describe": "mandc.features",
}

__all__ = ["__version__", *_FACE]


def __getattr__(name: str):
    """Import the public names on first use, so ``import mandc`` stays light (no torch)."""
    if name in _FACE:
        return getattr(import_module(_FACE[name]), name)
    raise AttributeError(f"module 'mandc' has no attribute {name!r}")
