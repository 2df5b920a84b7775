"""Dataset similarity from zero-shot probe profiles: which models already know a dataset.

A model pretrained on a domain has a low zero-shot denoising loss on it (the probes of
:mod:`mandc.profile.probe`), so a dataset's log probe losses over the zoo (every model at every
noise level) say which models have seen data like it. Two datasets with correlated profiles are
familiar to the same models, and are in the same regime: on the merged 72-domain mini-zoo graph
a dataset's nearest neighbours by descriptor are mostly of the *other* regime (a held-out
``shapes-blue-circles`` sits next to the pretrained ``shapes-red-circles``), whose model order
differs; its nearest neighbours by probe profile are mostly of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def probe_profile_similarity(graph, metrics: list[str], model_ids: list[str],
                             dataset_ids: list[str]) -> pd.DataFrame:
    """Datasets × datasets: the Pearson correlation of the datasets' log probe losses (one value
    per model and probe metric). NaN where a profile is incomplete or constant."""
    profiles = np.concatenate([
        np.log(graph.score_matrix(metric).reindex(index=model_ids, columns=dataset_ids)
               .to_numpy(dtype=float)) if graph.log_scale(metric) else
        graph.score_matrix(metric).reindex(index=model_ids, columns=dataset_ids)
        .to_numpy(dtype=float)
        for metric in metrics]).T  # datasets × (metrics · models)
    centred = profiles - profiles.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (centred @ centred.T) / np.outer(norms, norms)
    correlation[~np.isfinite(correlation)] = np.nan
    return pd.DataFrame(np.clip(correlation, -1.0, 1.0), index=dataset_ids, columns=dataset_ids)
