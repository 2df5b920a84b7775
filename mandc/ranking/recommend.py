"""M&C's recommender: predict each model's fine-tuned quality on a target dataset, then rank.

The method of M&C (arXiv 2508.10993), after TransferGraph (ICDE 2024): every measured
model–data edge of the matching graph is one training row whose features are the model's
features, the dataset's features and graph embeddings of both nodes, and whose label is the
within-dataset normalised score; a scikit-learn regressor learns the map, and a target dataset's
candidates are ranked by their predicted quality.

Two choices make it work for a cold-start target (one with no model–data edge):

- the dataset side of every row is described *as a cold-start target would be*: from its most
  similar profiled datasets (excluding itself), never from its own scores. A training row that saw
  its own scores (through an embedding fitted on them) would teach the regressor to trust a signal
  the target never has;
- interaction features carry the signal a linear regressor cannot build from separate node
  vectors: the similarity-weighted normalised score of the model on the dataset's nearest profiled
  datasets, the model's (leave-one-out) average, and the element-wise product of the model
  embedding with the dataset's neighbourhood embedding.

A training row must not see its own label either. On a graph where models are measured on few
datasets, a model's low-rank imputed scores and its spectral vector are built from two or three
scores, one of them the row's own: there they are rebuilt without it (see
:data:`OWN_SCORES_OUT_BELOW`).

On real zoos a few models are better almost everywhere (a strong per-model main effect), and with
few profiled datasets a regressor's guesses about the rest are mostly noise. So by default
(``shrink=True``) the prediction is shrunk toward the safe choice, each model's mean normalised
score (``best_average``): ``average + w * (regressor - average)``, with ``w`` in [0, 1] fitted by
stacked generalisation (Breiman, "Stacked regressions", Machine Learning 1996) as the
least-squares weight of the regressor's out-of-fold departures from the (leave-one-out) average,
folds grouped by dataset so each is predicted as a cold target is. With thin evidence ``w`` falls
toward 0 and the ranking toward ``best_average``'s; with strong evidence it is 1 and the ranking
is the regressor's. (Learning the residual over the average instead lost a domain of top-1 on the
shipped graph: 0.656 against 0.688, regret 0.034 against 0.026.)

The same out-of-fold predictions calibrate an interval for every predicted score (split
conformal prediction, Lei et al., "Distribution-free predictive inference for regression", JASA
2018): the ``level`` quantile of the absolute out-of-fold errors of the shrunk prediction, in
normalised units. ``rank`` shows it as ``low`` and ``high``; its coverage leave-one-dataset-out
is measured by ``bench/quality.py``.

By default the fit is transductive: a target without scores that is in the graph takes part in
everything the fit learns without scores (the similarity scale, the feature scaling and
principal components, the similarity block of the spectral embedding), so each new target means
a refit, seconds of CPU. With ``transductive=False`` the fit sees the profiled datasets only and
a new dataset is placed out of sample: its similarities through the fitted scale
(:class:`mandc.graph.similarity.FittedSimilarity`), its features through the fitted encoder and
components, its rows fed to the fitted regressor; the kernel weights and neighbour votes already
take any similarity row. One fit then ranks every upload (:meth:`Recommender.with_targets`), and
it is no worse (``python bench/inductive.py --settings lodo held-out``, mini-zoo graph, top-1 /
regret / Spearman, transductive → inductive): without probes, as an upload is ranked,
leave-one-dataset-out 0.562 / 0.081 / 0.753 → 0.594 / 0.078 / 0.746 and on the 32 held-out
domains 0.406 / 0.086 / 0.701 → 0.438 / 0.083 / 0.703; with probes, leave-one-dataset-out
0.688 / 0.026 / 0.786 → 0.688 / 0.051 / 0.779 (one domain, grids-dice, missed by both, is
missed worse) and held-out 0.469 / 0.077 / 0.697 → 0.469 / 0.077 / 0.700.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..errors import ConfigError, NotFittedError, ValidationError
from ..registry import Registry
from .embed import (
    EMBEDDINGS,
    GraphView,
    NodeFeatureEncoder,
    make_embedding,
    neighbour_weights,
    top_right_singular_vectors,
    top_singular_vectors,
)
from .methods import METHODS, RankingMethod
from .probe_profile import probe_profile_similarity

REGRESSORS: Registry = Registry("regressor")
OWN_SCORES_OUT_GROUPS = 20
"""At most this many eigen-decompositions per fit leave datasets' own scores out of their imputed
scores (more profiled datasets are hidden in groups): one per dataset made a fit on 1,000 × 500
with 0.4% of pairs measured cost 31 s, where the fit without leaving own scores out took 1.6 s
and with 20 groups takes 1.1 s."""
OWN_SCORES_OUT_BELOW = 5
"""On a sparse graph (under half of the pairs measured) whose median model is measured on fewer
profiled datasets than this, a training row's graph features are built without its own score:
imputed scores refitted with its dataset hidden, and, with the spectral embedding, the model's
vector with that edge folded out (the other embeddings cannot fold one edge out). A model's
features then rest on n scores, one of them the row's own label (a share of 1/n), and the
regressor learns to trust what a cold target never has: on 80 models × 13 datasets with 20% of
pairs measured (median n = 3) the out-of-fold correlation of the forest with the labels was
0.71-0.87 where leave-one-dataset-out reached about 0.6, and leaving the own score out took mean
regret over 10 graph seeds from 0.062 to 0.055 (``best_average`` 0.058; ``python
bench/shapes.py --shapes many_models_sparse --seeds 0 1 2 3 4 5 6 7 8 9``). Elsewhere the
features are the full fit's: on dense graphs, or with many scores per model, leaving the own
score out cost more than it saved (main-effect 30 × 20 regret 0.012 → 0.017, small 6 × 8
0.010 → 0.025, ``bench/bench_recommender.py`` 1,000 × 200 top-1 0.610 → 0.575), since a
leave-own-out feature varies across a model's rows with the label it leaves out."""
SHRINK_FOLDS = 5
"""Dataset-grouped folds that fit the shrinkage weight (fewer when fewer datasets are profiled)."""
INTERVAL_LEVELS = (0.8, 0.95)
"""Nominal coverages whose interval half-widths a fit keeps (``interval_halfwidths_``)."""
SHRINK_FOREST_TREES = 100
"""Trees of the forests refitted in those folds: the weight needs their out-of-fold predictions,
not their best accuracy, and 5 × 100 trees cost about one 500-tree fit."""
AUTO_FOREST_MAX_ROWS = 2_000
"""``regressor="auto"`` fits a random forest up to this many training rows, a ridge above.

Measured on the mini-zoo graph (``python bench/regressors.py --held-out``: 11 models, log-FID;
top-1 / mean regret). Leave-one-dataset-out over its 32 domains: the forest 0.688 / 0.028,
``gradient_boosting`` 0.719 / 0.018 (better by one domain and 0.010 of regret, worse on top-3,
0.938 against 0.969, and on Spearman, 0.744 against 0.786), the ridge 0.500 / 0.066. On the 32
held-out domains the forest is ahead of both on top-1, regret and Spearman (0.469 / 0.086 against
0.406 / 0.095 and 0.344 / 0.107; all three have top-3 0.875). A forest refitted in each of 200
folds on 10,000 rows would break the 60 s evaluation budget of the 1,000 × 200 benchmark, where
the ridge is the one that scales."""


@functools.cache
def _thread_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded():
    """Context that runs BLAS/OpenMP single-threaded. The recommender's algebra is small
    (hundreds of datasets), where thread start-up and oversubscription cost more than they
    save, most of all on a busy shared CPU."""
    return _thread_controller().limit(limits=1)


@REGRESSORS.register("linear")
def _linear(seed: int):
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


FOREST_TREES = 500
"""Trees of the random forest. Over forest seeds 0-3, leave-one-out top-1 on the 11-model mini-zoo
graph ranged 0.656-0.688 with 500 trees (regret 0.028-0.032) and 0.625-0.656 with 100 (regret
0.030-0.078): ``python bench/regressors.py --regressors random_forest --seeds 0 1 2 3
[--forest-trees 100]``."""


@REGRESSORS.register("random_forest")
def _random_forest(seed: int):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=FOREST_TREES, min_samples_leaf=3, max_features=0.5,
                                 random_state=seed, n_jobs=1)


@REGRESSORS.register("gradient_boosting")
def _gradient_boosting(seed: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                         min_samples_leaf=10, early_stopping=False,
                                         random_state=seed)


def make_regressor(name: str, seed: int = 0):
    """A scikit-learn pipeline (standardise, then the named regressor)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), REGRESSORS.get(name)(seed))


class SimilarityKernelRegression:
    """Interpolates a per-dataset quantity across datasets with the similarity as the kernel.

    Kernel ridge regression (a Gaussian-process mean) over the profiled datasets: a new dataset's
    value is ``s (K + lam I)^-1 y``, where ``K`` is the similarity among profiled datasets (made
    positive semi-definite) and ``s`` the new dataset's similarity to them. Unlike a k-nearest
    vote it uses every profiled dataset and discounts redundant neighbours, which recovers the
    target's position among the datasets far better. Both fit and predict are linear in ``y``, so
    they are expressed as weights over profiled datasets: ``target_weights(s)`` for a new dataset
    and ``leave_one_out_weights()`` for the profiled ones, each predicted from all the *others*
    (exact closed form), which is what a training row must see. ``lam`` is chosen from a small
    grid by the leave-one-out error on the scores.
    """

    GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)

    def fit(self, kernel: np.ndarray, values: np.ndarray, measured: np.ndarray):
        """``kernel``: profiled × profiled similarity; ``values``: rows × profiled (0 where
        unmeasured, the dataset mean); ``measured`` marks the entries that count in the error."""
        kernel = np.nan_to_num((kernel + kernel.T) / 2.0, nan=0.0)
        eigenvalues, self.basis_ = np.linalg.eigh(kernel)
        self.eigenvalues_ = np.clip(eigenvalues, 0.0, None)
        scale = max(float(np.mean(np.diag(kernel))), 1e-12)
        # the error of a few hundred evenly spread rows picks lam as well as all rows, for less
        rows = np.unique(np.linspace(0, len(values) - 1, min(len(values), 256)).astype(int))
        values, measured = values[rows], measured[rows]
        errors = []
        for ridge in self.GRID:
            self.lam_ = ridge * scale
            predicted = values @ self.leave_one_out_weights().T
            errors.append(float(np.mean((predicted - values)[measured] ** 2)))
        self.lam_ = self.GRID[int(np.argmin(errors))] * scale
        self.loo_errors_ = dict(zip(self.GRID, errors))
        return self

    def _hat(self) -> np.ndarray:
        shrink = self.eigenvalues_ / (self.eigenvalues_ + self.lam_)
        return (self.basis_ * shrink) @ self.basis_.T

    def leave_one_out_weights(self) -> np.ndarray:
        """Row ``d``: the weights predicting profiled dataset ``d`` from the others (zero at d)."""
        hat = self._hat()
        leverage = np.minimum(np.diag(hat), 1.0 - 1e-6)
        weights = hat / (1.0 - leverage)[:, None]
        np.fill_diagonal(weights, 0.0)
        return weights

    def target_weights(self, similarity: np.ndarray) -> np.ndarray:
        """Weights over profiled datasets for new datasets (rows of ``similarity``)."""
        similarity = np.nan_to_num(np.atleast_2d(similarity), nan=0.0)
        inverse = (self.basis_ / (self.eigenvalues_ + self.lam_)) @ self.basis_.T
        return similarity @ inverse


@METHODS.register("mandc")
class Recommender(RankingMethod):
    """Predicts within-dataset-normalised quality from node features and graph embeddings.

    Settings: ``embedding`` (a name in :data:`mandc.ranking.embed.EMBEDDINGS`), ``regressor`` (a
    name in :data:`REGRESSORS`, or ``auto``: see :data:`AUTO_FOREST_MAX_ROWS`), ``dim``
    (embedding width), ``n_neighbors`` (profiled datasets that describe a dataset), ``max_rows``
    (training rows kept, a seeded sample, so big graphs stay fast), ``use_graph`` (False: node
    features only), ``embedding_params`` (extra settings of the embedding), ``use_probe`` (the
    graph's probe metrics, zero-shot measurements such as :mod:`mandc.profile.probe`, as
    features of each row: ``"auto"`` uses them when every model has them on every dataset, the
    target included; ``True`` requires that; ``False`` ignores them), ``probe_neighbours``
    (when probes are used, also find each dataset's neighbours by its probe profile,
    :mod:`mandc.ranking.probe_profile`: a second neighbour vote and kernel interpolation, so
    datasets the same models have seen inform each other; on by default: chosen on the 72-domain
    graph, judged on the fresh held-out set, see the README), ``shrink`` (shrink the
    prediction toward each model's mean normalised score by a stacked weight, see the module
    docstring; ``shrinkage_`` is the fitted weight), ``transductive`` (True: everything the
    fit learns without scores, the similarity scale, feature scaling and principal components,
    the spectral embedding, sees every dataset of the graph, cold targets included, so a new
    target means a refit; False: the fit sees only the profiled datasets, and a dataset without
    scores is placed out of sample, its features and similarities taken through the fitted
    transforms and fed to the fitted regressor. Then one fit ranks any number of new targets,
    see :meth:`with_targets`), ``metric``, ``seed``. """

    def __init__(self, *, embedding: str = "spectral", regressor: str = "auto", dim: int = 8,
                 n_neighbors: int = 10, max_rows: int | None = 10_000, use_graph: bool = True,
                 embedding_params: dict | None = None, use_probe: bool | str = "auto",
                 probe_neighbours: bool = True, shrink: bool = True, transductive: bool = True,
                 metric: str | None = None, seed: int = 0):
        super().__init__(metric=metric, seed=seed)
        self.transductive = transductive
        self.shrink = shrink
        self.probe_neighbours = probe_neighbours
        self.use_probe = use_probe
        self.embedding = embedding
        self.regressor = regressor
        self.dim = dim
        self.n_neighbors = n_neighbors
        self.max_rows = max_rows
        self.use_graph = use_graph
        self.embedding_params = embedding_params

    # ------------------------------------------------------------------ fit
    def _check_settings(self) -> None:
        if self.regressor != "auto":
            REGRESSORS.get(self.regressor)  # unknown names list the valid ones
        if self.use_graph:
            EMBEDDINGS.get(self.embedding)
        if not isinstance(self.n_neighbors, (int, np.integer)) or self.n_neighbors < 1:
            raise ConfigError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        if not isinstance(self.dim, (int, np.integer)) or self.dim < 1:
            raise ConfigError(f"dim must be a positive integer, got {self.dim!r}")
        if self.max_rows is not None and self.max_rows < 1:
            raise ConfigError(f"max_rows must be positive or None, got {self.max_rows!r}")
        if self.use_probe not in (True, False, "auto"):
            raise ConfigError(f"use_probe must be True, False or 'auto', got {self.use_probe!r}")
        if self.probe_neighbours not in (True, False):
            raise ConfigError(f"probe_neighbours must be True or False, got "
                              f"{self.probe_neighbours!r}")
        if self.shrink not in (True, False):
            raise ConfigError(f"shrink must be True or False, got {self.shrink!r}")
        if self.transductive not in (True, False):
            raise ConfigError(f"transductive must be True or False, got {self.transductive!r}")

    def _fit(self, graph) -> None:
        with single_threaded():
            self._fit_unthreaded(graph)

    def _fit_unthreaded(self, graph) -> None:
        self._check_settings()
        self._rows_cache = None
        if not self.transductive:
            graph = _profiled_part(graph, self.metric_)
        view = GraphView.from_graph(graph, self.metric_)
        scores = view.scores.to_numpy()
        profiled = view.profiled
        if not profiled.any():
            raise ConfigError("the graph has no measured scores to learn from")
        self.view_ = view
        self.model_matrix_ = _compact(view.model_features.to_numpy(dtype=float))
        self.dataset_compact_ = _Compact().fit(view.dataset_features.to_numpy(dtype=float))
        self.dataset_matrix_ = self.dataset_compact_.transform(
            view.dataset_features.to_numpy(dtype=float))
        if not self.transductive:
            # the transforms a new dataset goes through (fitted on the profiled datasets only)
            from ..graph.similarity import FittedSimilarity

            self.dataset_encoder_ = NodeFeatureEncoder().fit(graph.dataset_features())
            self.similarity_models_ = [FittedSimilarity().fit(graph)]
        self.probe_metrics_, self.probe_block_ = self._probes(graph, view)
        self.profiled_ = np.flatnonzero(profiled)
        dataset_ids = view.dataset_ids
        self.profiled_ids_ = [dataset_ids[j] for j in self.profiled_]
        self.dataset_index_ = {d: j for j, d in enumerate(dataset_ids)}
        measured_scores = scores[:, self.profiled_]
        self.measured_ = ~np.isnan(measured_scores)
        self.scores_ = np.where(self.measured_, measured_scores, 0.0)
        counts = self.measured_.sum(axis=1)
        totals = self.scores_.sum(axis=1)
        self.model_average_ = np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
        self.filled_ = _impute_low_rank(self.scores_, self.measured_, self.dim)

        # training rows: every measured pair (a seeded sample of them on big graphs)
        models, columns = np.nonzero(self.measured_)
        if self.max_rows is not None and len(models) > self.max_rows:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(models), self.max_rows,
                                                                   replace=False))
            models, columns = models[keep], columns[keep]
        graph_block = None
        if self.use_graph:
            # the data–data edges, then (when probes are used) the probe-profile similarity:
            # each gets a neighbour vote and a kernel interpolation
            self.vote_similarities_ = [view.similarity]
            if self.probe_neighbours and self.probe_metrics_:
                self.vote_similarities_.append(probe_profile_similarity(
                    graph, self.probe_metrics_, view.model_ids, view.dataset_ids))
            by_features = _feature_similarity(graph)
            self.similarities_ = ([view.similarity] + by_features + self.vote_similarities_[1:])
            # where each vote's similarity sits in similarities_
            self.vote_indices_ = [0] + [len(self.similarities_) - 1] * (
                len(self.vote_similarities_) - 1)
            if not self.transductive and by_features:
                from ..graph.similarity import FittedSimilarity

                self.similarity_models_.append(FittedSimilarity("features").fit(graph))
            graph_block = self._fit_graph(view, models, columns, counts, totals)
        design = self._design(models, self.dataset_matrix_[self.profiled_[columns]],
                              None if self.probe_block_ is None else
                              self.probe_block_[:, models, self.profiled_[columns]].T,
                              graph_block)
        self.regressor_ = self.regressor
        if self.regressor == "auto":
            small = len(models) <= AUTO_FOREST_MAX_ROWS
            self.regressor_ = "random_forest" if small else "linear"
        labels = self.scores_[models, columns]
        self.model_ = make_regressor(self.regressor_, self.seed)
        self.model_.fit(design, labels)
        self.shrinkage_ = 1.0
        # the safe choice: each model's mean score on the *other* datasets
        safe = _leave_one_out_average(self.scores_, self.measured_, counts,
                                      totals)[models, columns]
        out_of_fold = self._out_of_fold(design, labels, columns)
        if self.shrink:
            self.shrinkage_ = _stacked_weight(out_of_fold, labels, safe)
        self.interval_halfwidths_ = dict.fromkeys(INTERVAL_LEVELS, np.nan)
        if out_of_fold is not None:
            if self.shrink:
                out_of_fold = safe + self.shrinkage_ * (out_of_fold - safe)
            errors = np.abs(labels - out_of_fold)
            self.interval_halfwidths_ = {level: _conformal_quantile(errors, level)
                                         for level in INTERVAL_LEVELS}
        self.n_training_rows_ = len(models)

    def _out_of_fold(self, design: np.ndarray, labels: np.ndarray,
                     columns: np.ndarray) -> np.ndarray | None:
        """Each training row predicted by a regressor fitted without its dataset (folds grouped
        by dataset, as a cold target is predicted); None with fewer than two datasets."""
        from sklearn.model_selection import GroupKFold

        groups = len(np.unique(columns))
        if groups < 2:
            return None
        predicted = np.zeros_like(labels)
        for train, test in GroupKFold(n_splits=min(SHRINK_FOLDS, groups)).split(
                design, labels, columns):
            regressor = make_regressor(self.regressor_, self.seed)
            if self.regressor_ == "random_forest":
                regressor.set_params(randomforestregressor__n_estimators=SHRINK_FOREST_TREES)
            predicted[test] = regressor.fit(design[train], labels[train]).predict(design[test])
        return predicted

    def _probes(self, graph, view: GraphView) -> tuple[list[str], np.ndarray | None]:
        """The probe metrics used and their normalised values (metrics × models × datasets).

        A probe is used only when every model has it on every dataset: a row whose probe is
        missing would be filled with a value the regressor never saw measured."""
        from ..graph.views import normalized_score_matrix

        metrics = graph.probe_metrics if self.use_probe is not False else []
        if not metrics:
            if self.use_probe is True:
                raise ConfigError("use_probe=True but the graph has no probe metric; measure "
                                  "them with `mandc probe`")
            return [], None
        blocks = np.stack([normalized_score_matrix(graph, metric).reindex(
            index=view.model_ids, columns=view.dataset_ids).to_numpy(dtype=float)
            for metric in metrics])
        complete = np.isfinite(blocks).all(axis=1)  # metrics × datasets
        if complete.all():
            return list(metrics), blocks
        if self.use_probe is True:
            first = int(np.flatnonzero(~complete.all(axis=1))[0])
            missing = [view.dataset_ids[j] for j in np.flatnonzero(~complete[first])]
            raise ConfigError(f"use_probe=True but probe {metrics[first]!r} is missing for "
                              f"datasets {missing[:5]}; measure them with `mandc probe`")
        return [], None

    def _fit_graph(self, view: GraphView, models: np.ndarray, columns: np.ndarray,
                   counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
        """Embed the graph and build the graph features of the training rows, each profiled
        dataset described from the *other* profiled datasets, as a cold target will be."""
        params = {"dim": self.dim, "n_neighbors": self.n_neighbors, "seed": self.seed,
                  **(self.embedding_params or {})}
        self.embedding_ = make_embedding(self.embedding, **params).fit(view)
        self.model_vectors_ = self.embedding_.model_embeddings_.to_numpy()
        self.profiled_vectors_ = self.embedding_.dataset_embeddings_.to_numpy()[self.profiled_]
        among = np.ix_(self.profiled_, self.profiled_)
        self.kernels_ = [SimilarityKernelRegression().fit(table.to_numpy()[among], self.scores_,
                                                          self.measured_)
                         for table in self.similarities_]
        self.kernel_ = self.kernels_[0]
        nearest = neighbour_weights(view.similarity.to_numpy()[among], self.n_neighbors,
                                    exclude_self=True)
        interpolations = [kernel.leave_one_out_weights() for kernel in self.kernels_]
        # models × P each; see OWN_SCORES_OUT_BELOW
        self.own_scores_out_ = bool(self.measured_.mean() < 0.5 and np.median(
            self.measured_.sum(axis=1)) < OWN_SCORES_OUT_BELOW)
        imputed = _imputed_without_own_column(self.scores_, self.measured_, self.dim,
                                              [nearest, *interpolations], seed=self.seed) \
            if self.own_scores_out_ else None
        per_dataset = self._per_dataset_features(nearest, interpolations, imputed)
        self._own_out_imputed = imputed  # a profiled dataset is then predicted as its rows see it
        leave_one_out = _leave_one_out_average(self.scores_, self.measured_, counts, totals)
        self._own_out_average = leave_one_out if self.own_scores_out_ else None
        voted = []
        for table in self.vote_similarities_:
            similarity = table.to_numpy(dtype=float)[among].copy()
            np.fill_diagonal(similarity, np.nan)
            order, ordered = _neighbour_order(similarity)
            voted.append(self._measured_neighbour_score(models, order[columns],
                                                        ordered[columns]))
        return self._graph_block(
            self.embedding_.model_vectors_without(models, columns, self.scores_[models, columns])
            if self.own_scores_out_ else self.model_vectors_[models],
            voted + [block[models, columns] for block in per_dataset],
            leave_one_out[models, columns], (interpolations[0] @ self.profiled_vectors_)[columns])

    def _per_dataset_features(self, nearest: np.ndarray, interpolations: list[np.ndarray],
                              imputed: list[np.ndarray] | None = None):
        """For weight rows over profiled datasets (one row per described dataset): each model's
        similarity-weighted score on the nearest ones (where measured), the measured share of that
        weight, and the kernel-interpolated score under each similarity. Arrays are models ×
        described datasets. ``imputed``: the weighted low-rank-filled scores, when they must be
        computed otherwise than from ``filled_`` (training rows)."""
        weighted = self.scores_ @ nearest.T
        coverage = self.measured_.astype(float) @ nearest.T
        neighbour_score = np.divide(weighted, coverage, out=np.zeros_like(weighted),
                                    where=coverage > 0)
        if imputed is None:
            imputed = [self.filled_ @ weights.T for weights in [nearest, *interpolations]]
        return [neighbour_score, coverage, *imputed]

    def _measured_neighbour_score(self, models: np.ndarray, order: np.ndarray,
                                  ordered_similarity: np.ndarray) -> np.ndarray:
        """Each model's similarity-weighted normalised score on the ``n_neighbors`` most similar
        profiled datasets *on which that model was measured* (a per-model vote, which stays
        sharp on sparse graphs where a shared neighbourhood has few measurements). ``order``
        and ``ordered_similarity`` (one row per model row) list profiled datasets best first."""
        valid = np.isfinite(ordered_similarity)
        measured = self.measured_[models[:, None], order] & valid
        votes = measured & (np.cumsum(measured, axis=1) <= self.n_neighbors)
        weights = np.clip(np.where(valid, ordered_similarity, 0.0), 0.0, None) + 1e-9
        weighted = np.einsum("ij,ij->i", np.where(votes, self.scores_[models[:, None], order],
                                                  0.0), weights)
        total = np.einsum("ij,ij->i", votes.astype(float), weights)
        return np.divide(weighted, total, out=np.zeros_like(weighted), where=total > 0)

    @staticmethod
    def _graph_block(model_vectors: np.ndarray, scores: list[np.ndarray],
                     model_average: np.ndarray, neighbourhood: np.ndarray) -> np.ndarray:
        """Graph features of rows: neighbour scores, model average, the model embedding (rows'
        model vectors), the dataset's neighbourhood embedding and their element-wise product
        (and its sum)."""
        product = model_vectors * neighbourhood
        return np.hstack([np.column_stack([*scores, model_average]),
                          product.sum(axis=1, keepdims=True), product, model_vectors,
                          neighbourhood])

    def _design(self, models: np.ndarray, dataset_rows: np.ndarray, probe_rows: np.ndarray | None,
                graph_block: np.ndarray | None) -> np.ndarray:
        """Feature rows for (model, dataset) pairs: node features (``dataset_rows``: the
        compacted dataset features of each row), probes, then graph features."""
        blocks = [self.model_matrix_[models], dataset_rows]
        if probe_rows is not None:
            blocks.append(probe_rows)
        if graph_block is not None:
            blocks.append(graph_block)
        blocks = [b for b in blocks if b.shape[1]]
        if not blocks:
            return np.zeros((len(models), 1))
        return np.hstack(blocks)

    # ------------------------------------------------------------------ predict and explain
    def with_targets(self, graph) -> Recommender:
        """This fitted recommender for ``graph``: the fitted graph plus new datasets without
        scores (such as :func:`mandc.graph.placement.add_target` returns), each ranked out of
        sample, with no refit. Only for ``transductive=False``, where such datasets never enter
        the fit; the copy shares every fitted part (it costs nothing)."""
        import copy

        self._require_fitted()
        if self.transductive:
            raise ConfigError("with_targets needs a recommender fitted with transductive=False; "
                              "a transductive one must be refitted on the new graph")
        if list(graph.model_ids) != list(self.view_.model_ids):
            raise ValidationError("the graph's models are not those the recommender was fitted on")
        from ..graph.views import normalized_score_matrix

        scores = normalized_score_matrix(graph, self.metric_)
        profiled = scores.columns[scores.notna().any(axis=0).to_numpy()]
        if set(profiled) != set(self.profiled_ids_) or not np.array_equal(
                scores[self.profiled_ids_].to_numpy(), self.view_.scores[self.profiled_ids_]
                .to_numpy(), equal_nan=True):
            raise ValidationError("the graph's scores are not those the recommender was fitted "
                                  "on; fit it on this graph")
        extended = copy.copy(self)
        extended.graph_ = graph
        return extended

    def _target_rows(self, dataset: str) -> dict:
        """What a prediction for ``dataset`` reads of it: its similarity to the profiled datasets
        under each of ``similarities_`` (itself NaN), its compacted features and its probe values
        (metrics × models, or None). A dataset of the fitted view reads them from the fitted
        tables; a new one (``transductive=False``) through the fitted transforms."""
        cached = getattr(self, "_rows_cache", None)
        if cached is not None and cached[0] is self.graph_ and cached[1] == dataset:
            return cached[2]
        if dataset in self.dataset_index_:
            index = self.dataset_index_[dataset]
            tables = getattr(self, "similarities_", [self.view_.similarity])
            similarities = [table.loc[dataset].to_numpy(dtype=float)[self.profiled_].copy()
                            for table in tables]
            features = self.dataset_matrix_[index]
            probes = None if self.probe_block_ is None else self.probe_block_[:, :, index]
        else:
            similarities, features, probes = self._new_rows(dataset)
        for row in similarities:
            row[np.asarray(self.profiled_ids_) == dataset] = np.nan
        rows = {"similarities": similarities, "features": features, "probes": probes}
        self._rows_cache = (self.graph_, dataset, rows)
        return rows

    def _new_rows(self, dataset: str):
        """The rows of a dataset the fit never saw, through the transforms fitted on the
        profiled datasets (none of which moves: no refit)."""
        graph = self.graph_
        probes = None
        if self.probe_metrics_:
            from ..graph.views import normalized_score_matrix

            probes = np.stack([normalized_score_matrix(graph, metric).reindex(
                index=self.view_.model_ids)[dataset].to_numpy(dtype=float)
                for metric in self.probe_metrics_])
            if not np.isfinite(probes).all():
                raise ConfigError(f"this recommender was fitted with probe metrics "
                                  f"{self.probe_metrics_}, which {dataset!r} lacks; fit it with "
                                  "use_probe=False, or probe the dataset")
        encoded = self.dataset_encoder_.transform(graph.dataset_features().loc[[dataset]])
        features = self.dataset_compact_.transform(encoded.to_numpy(dtype=float))[0]
        similarities = [model.row(graph, dataset, self.profiled_ids_)
                        for model in self.similarity_models_]
        if len(getattr(self, "vote_similarities_", [])) > 1:
            ids = [dataset] + self.profiled_ids_
            similarities.append(probe_profile_similarity(
                graph, self.probe_metrics_, self.view_.model_ids, ids).to_numpy()[0, 1:])
        return similarities, features, probes

    def _target_similarity(self, dataset: str, which: int = 0) -> np.ndarray:
        """The target's similarity (by default the data–data edges) to the profiled datasets
        (itself excluded, as NaN); ``which`` indexes ``similarities_``."""
        return self._target_rows(dataset)["similarities"][which]

    def _target_weights(self, dataset: str) -> np.ndarray:
        """Weights of the target's nearest profiled datasets (never itself), summing to 1."""
        row = self._target_similarity(dataset)
        return neighbour_weights(row[None, :], self.n_neighbors, exclude_self=False)[0]

    def _interpolation_weights(self, dataset: str) -> list[np.ndarray]:
        """Kernel weights over profiled datasets for the target (1 × profiled), one per
        similarity. A profiled target is predicted from the others (its leave-one-out row), like
        its training rows."""
        if dataset in self.profiled_ids_:
            row = self.profiled_ids_.index(dataset)
            return [kernel.leave_one_out_weights()[row:row + 1] for kernel in self.kernels_]
        return [kernel.target_weights(np.nan_to_num(similarity))
                for kernel, similarity in zip(self.kernels_,
                                              self._target_rows(dataset)["similarities"])]

    def _predict(self, dataset: str) -> pd.Series:
        with single_threaded():
            return self._predict_unthreaded(dataset)

    def _predict_unthreaded(self, dataset: str) -> pd.Series:
        n_models = len(self.view_.model_ids)
        models = np.arange(n_models)
        rows = self._target_rows(dataset)
        graph_block = None
        if self.use_graph:
            nearest = self._target_weights(dataset)[None, :]
            interpolations = self._interpolation_weights(dataset)
            own = self._own_out_column(dataset)
            per_dataset = self._per_dataset_features(
                nearest, interpolations,
                None if own is None else [block[:, own:own + 1] for block in self._own_out_imputed])
            neighbourhood = np.repeat(interpolations[0] @ self.profiled_vectors_, n_models,
                                      axis=0)
            voted = []
            for which in self.vote_indices_:
                order, ordered = _neighbour_order(self._target_similarity(dataset, which)[None, :])
                shape = (n_models, order.shape[1])
                voted.append(self._measured_neighbour_score(
                    models, np.broadcast_to(order, shape), np.broadcast_to(ordered, shape)))
            model_vectors, model_average = self.model_vectors_, self.model_average_
            if own is not None:  # the features of its training rows, its own scores left out
                own_scores = self.scores_[:, own]
                model_vectors = self.embedding_.model_vectors_without(
                    models, np.full(n_models, own), own_scores)
                model_average = self._own_out_average[:, own]
            graph_block = self._graph_block(model_vectors,
                                            voted + [block[:, 0] for block in per_dataset],
                                            model_average, neighbourhood)
        design = self._design(models, np.repeat(rows["features"][None, :], n_models, axis=0),
                              None if rows["probes"] is None else rows["probes"].T, graph_block)
        predicted = self.model_.predict(design)
        if self.shrink:
            predicted = self.model_average_ + self.shrinkage_ * (predicted - self.model_average_)
        return pd.Series(predicted, index=self.view_.model_ids)

    def _own_out_column(self, dataset: str) -> int | None:
        """The column of a profiled ``dataset`` when training rows left their own scores out
        (:data:`OWN_SCORES_OUT_BELOW`), else None."""
        if not getattr(self, "own_scores_out_", False) or dataset not in self.profiled_ids_:
            return None
        return self.profiled_ids_.index(dataset)

    def explain(self, dataset: str) -> pd.DataFrame:
        """The profiled datasets that stand in for ``dataset`` in the prediction, most weight first:
        columns ``dataset``, ``similarity``, ``weight`` (weights sum to 1)."""
        self._require_fitted()
        self._check_target(dataset)  # not a prediction: a forest's costs as much as the rest
        weights = self._target_weights(dataset)
        chosen = np.flatnonzero(weights > 0)
        similarity = self._target_similarity(dataset)
        table = pd.DataFrame({"dataset": [self.profiled_ids_[j] for j in chosen],
                              "similarity": similarity[chosen], "weight": weights[chosen]})
        return table.sort_values(["weight", "dataset"], ascending=[False, True],
                                 kind="stable").reset_index(drop=True)

    def neighbours(self, dataset: str, n: int | None = None) -> pd.Series:
        """Similarity of the profiled datasets behind the prediction, best first (for the CLI)."""
        table = self.explain(dataset)
        return table.set_index("dataset")["similarity"].head(n or len(table))

    def rank(self, dataset: str, *, level: float = 0.8) -> pd.DataFrame:
        """Models best first (``model``, ``predicted``, ``rank``, and ``low``, ``high``: the
        interval of nominal coverage ``level``, one of :data:`INTERVAL_LEVELS`, NaN when fewer
        than two datasets are profiled); ``attrs["similar_datasets"]`` lists the profiled datasets
        behind the prediction."""
        if level not in INTERVAL_LEVELS:
            raise ConfigError(f"interval level must be one of {INTERVAL_LEVELS}, got {level!r}")
        table = super().rank(dataset)
        halfwidth = self.interval_halfwidths_[level]
        table["low"] = table["predicted"] - halfwidth
        table["high"] = table["predicted"] + halfwidth
        table.attrs["similar_datasets"] = self.explain(dataset).to_dict("records")
        table.attrs["interval_level"] = level
        return table

    def _require_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(graph) first")


@METHODS.register("features_only")
class FeaturesOnly(Recommender):
    """The same regressor on model and dataset features alone: no graph embedding, no
    neighbour scores (the baseline that shows what the graph adds)."""

    def __init__(self, *, embedding: str = "spectral", regressor: str = "auto", dim: int = 8,
                 n_neighbors: int = 10, max_rows: int | None = 10_000, use_graph: bool = False,
                 embedding_params: dict | None = None, use_probe: bool | str = False,
                 probe_neighbours: bool = False, shrink: bool = False,
                 transductive: bool = True, metric: str | None = None, seed: int = 0):
        if use_graph or probe_neighbours:
            raise ConfigError("features_only never uses the graph; use 'mandc' for that")
        super().__init__(embedding=embedding, regressor=regressor, dim=dim,
                         n_neighbors=n_neighbors, max_rows=max_rows, use_graph=False,
                         embedding_params=embedding_params, use_probe=use_probe,
                         probe_neighbours=False, shrink=shrink, transductive=transductive,
                         metric=metric, seed=seed)


def _stacked_weight(out_of_fold: np.ndarray | None, labels: np.ndarray, safe: np.ndarray) -> float:
    """Least-squares weight in [0, 1] of the regressor's out-of-fold departure from the safe
    choice: how far that departure can be trusted (0 without out-of-fold predictions)."""
    if out_of_fold is None:
        return 0.0
    departure, truth = out_of_fold - safe, labels - safe
    energy = float(departure @ departure)
    return float(np.clip(departure @ truth / energy, 0.0, 1.0)) if energy > 0 else 0.0


def _conformal_quantile(errors: np.ndarray, level: float) -> float:
    """The split-conformal half-width: the ceil((n + 1) level)-th smallest error."""
    n = len(errors)
    rank = min(int(np.ceil((n + 1) * level)), n)
    return float(np.sort(errors)[rank - 1])


def _neighbour_order(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of each row sorted by decreasing similarity (unknown = NaN last) and the sorted
    similarities (-inf where unknown)."""
    filled = np.where(np.isfinite(similarity), similarity, -np.inf)
    order = np.argsort(-filled, axis=1, kind="stable")
    return order, np.take_along_axis(filled, order, axis=1)


IMPUTE_ITERATIONS = 1


def _impute_low_rank(scores: np.ndarray, measured: np.ndarray, rank: int) -> np.ndarray:
    """Unmeasured normalised scores filled by a rank-``rank`` fit of the measured ones (a few
    rounds of hard-impute: SVD, refill, repeat). On a sparse graph the dataset mean (0) is a poor
    stand-in that drags every interpolated score towards the average model."""
    if measured.all():
        return scores
    filled = scores.copy()
    for _ in range(IMPUTE_ITERATIONS):
        left, singular, right = top_singular_vectors(filled, min(rank, *filled.shape))
        filled = np.where(measured, scores, (left * singular) @ right.T)
    return filled


def _imputed_without_own_column(scores: np.ndarray, measured: np.ndarray, rank: int,
                                weights: list[np.ndarray], max_groups: int | None = None,
                                seed: int = 0) -> list[np.ndarray]:
    """``filled @ W.T`` for each weight matrix ``W`` (described × profiled datasets, one row per
    profiled dataset), where the column of profiled dataset ``d`` is computed from scores filled
    by :func:`_impute_low_rank` *with d's own scores hidden*: a rank-``rank`` fit of the whole
    matrix carries a dataset's scores into the imputed scores of its neighbours, which would leak
    a training row's own label into its features (a cold target never has that). Hiding column
    ``d`` zeroes row and column ``d`` of the Gram matrix, so one Gram serves every ``d``. With more
    than ``max_groups`` (default :data:`OWN_SCORES_OUT_GROUPS`) profiled datasets they are hidden
    in that many seeded groups, one eigen-decomposition each, instead of one by one.
    Dense graphs need no imputation and get the plain products."""
    if measured.all():
        return [scores @ w.T for w in weights]
    n_models, n_profiled = scores.shape
    max_groups = OWN_SCORES_OUT_GROUPS if max_groups is None else max_groups
    order = np.arange(n_profiled) if n_profiled <= max_groups else \
        np.random.default_rng(seed).permutation(n_profiled)
    zeroed = np.where(measured, scores, 0.0)
    gram = zeroed.T @ zeroed
    blocks = [np.zeros((n_models, n_profiled)) for _ in weights]
    for group in np.array_split(order, min(n_profiled, max_groups)):
        hidden = gram.copy()
        hidden[group, :] = 0.0
        hidden[:, group] = 0.0
        _, right = top_right_singular_vectors(hidden, min(rank, n_models, n_profiled))
        seen = measured.copy()
        seen[:, group] = False
        without = np.where(seen, scores, 0.0)
        # (U S) V^T with U S = M V: the rank-k reconstruction of the matrix without the group
        filled = np.where(seen, scores, (without @ right) @ right.T)
        for block, w in zip(blocks, weights):
            block[:, group] = filled @ w[group].T
    return blocks


def _compact(features: np.ndarray, max_columns: int = 32, components: int = 16) -> np.ndarray:
    """Wide node features (e.g. 1,664-d image + caption descriptors) reduced to their leading
    principal components: a few dozen profiled datasets cannot support a regressor on thousands
    of constant-per-dataset columns. Unsupervised, so no score leaks in."""
    return _Compact(max_columns, components).fit(features).transform(features)


class _Compact:
    """:func:`_compact` as a fitted projection, so a dataset added later is projected on the
    fitted components (centred with the fitted mean)."""

    def __init__(self, max_columns: int = 32, components: int = 16):
        self.max_columns, self.components = max_columns, components

    def fit(self, features: np.ndarray) -> _Compact:
        self.mean_ = self.projection_ = None
        if features.shape[1] > self.max_columns:
            self.mean_ = features.mean(axis=0)
            _, singular, right_t = np.linalg.svd(features - self.mean_, full_matrices=False)
            keep = min(self.components,
                       int((singular > 1e-10 * singular.max(initial=0.0)).sum()))
            self.projection_ = right_t[:keep].T
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        if self.projection_ is None:
            return features
        return (features - self.mean_) @ self.projection_


def _profiled_part(graph, metric: str):
    """The graph cut to its profiled datasets (those with a ``metric`` score): what a
    non-transductive fit sees. Datasets without scores, and their data–data edges, are left out,
    so the fit is the same whatever cold targets the graph holds."""
    from ..graph.matching_graph import MatchingGraph
    from ..graph.views import normalized_score_matrix

    scores = normalized_score_matrix(graph, metric)
    profiled = set(scores.columns[scores.notna().any(axis=0).to_numpy()])
    if profiled == set(graph.dataset_ids):
        return graph
    part = object.__new__(MatchingGraph)  # rows removed only: still valid, as without_scores_of
    part.models, part.meta = graph.models, dict(graph.meta)
    part.datasets = graph.datasets[graph.datasets["dataset"].astype(str).isin(profiled)] \
        .reset_index(drop=True)
    part.scores = graph.scores[graph.scores["dataset"].astype(str).isin(profiled)] \
        .reset_index(drop=True)
    similarity = graph.similarity
    part.similarity = similarity[similarity["dataset_a"].astype(str).isin(profiled)
                                 & similarity["dataset_b"].astype(str).isin(profiled)] \
        .reset_index(drop=True)
    return part


def _feature_similarity(graph) -> list[pd.DataFrame]:
    """The cosine similarity of dataset features, as a second view of the data–data edges when
    the graph's similarity comes from a table (otherwise it is that same cosine). Empty when
    the datasets have no varying features."""
    from ..errors import ValidationError
    from ..graph.similarity import dataset_similarity

    if graph.similarity.empty:
        return []
    try:
        return [dataset_similarity(graph, source="features")]
    except ValidationError:
        return []


def _leave_one_out_average(scores: np.ndarray, measured: np.ndarray, counts: np.ndarray,
                           totals: np.ndarray) -> np.ndarray:
    """Each model's mean normalised score over the *other* profiled datasets (0 when none), so a
    training row's average does not contain the very score it is trained to predict."""
    others = counts[:, None] - measured
    sums = totals[:, None] - scores
    return np.divide(sums, others, out=np.zeros_like(scores), where=others > 0)
