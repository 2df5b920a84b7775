"""Graph embeddings of the matching graph, chosen by name from :data:`EMBEDDINGS`.

The graph seen by an embedding (:class:`GraphView`) has model nodes, dataset nodes, model–data
edges weighted by the within-dataset normalised score (measured pairs only) and data–data edges
weighted by dataset similarity. TransferGraph (ICDE 2024) and M&C (arXiv 2508.10993) feed such
node embeddings to the quality predictor.

Every embedding is an estimator: ``fit(view)`` returns ``self`` and exposes
``model_embeddings_`` and ``dataset_embeddings_`` (DataFrames indexed by id). A dataset without
model–data edges (a cold-start target, the normal case) still gets an embedding, through its
data–data edges and its features.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, ValidationError
from ..graph.matching_graph import MatchingGraph
from ..registry import Registry

EMBEDDINGS: Registry[type[GraphEmbedding]] = Registry("embedding")


# ---------------------------------------------------------------------- node features
def expand_vector_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Split list-valued columns (embedding vectors) into one numeric column per component.

    Dataset tables hold descriptor vectors as lists; learners need scalar columns.
    """
    parts = []
    for column in table.columns:
        values = table[column]
        first = next((v for v in values if isinstance(v, (list, tuple, np.ndarray))), None)
        if first is None:
            parts.append(values.to_frame(column))
            continue
        width = len(first)
        rows = []
        for row_id, value in values.items():
            if isinstance(value, (list, tuple, np.ndarray)):
                if len(value) != width:
                    raise ValidationError(f"vector of length {len(value)} where {width} is expected"
                                          f" (id {row_id!r})", column=str(column))
                rows.append(np.asarray(value, dtype=float))
            else:
                rows.append(np.full(width, np.nan))
        parts.append(pd.DataFrame(np.vstack(rows) if rows else np.empty((0, width)),
                                  index=table.index,
                                  columns=[f"{column}[{i}]" for i in range(width)]))
    if not parts:
        return pd.DataFrame(index=table.index)
    return pd.concat(parts, axis=1)


def make_feature_encoder():
    """Column transformer for a node feature table: numbers imputed (median) and standardised,
    categories imputed (most frequent) and one-hot encoded; unseen categories are ignored."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                            StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent", keep_empty_features=True),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    return ColumnTransformer(
        [("numeric", numeric, make_column_selector(dtype_include="number")),
         ("categorical", categorical, make_column_selector(dtype_exclude="number"))],
        sparse_threshold=0.0, verbose_feature_names_out=True)


def encode_node_features(table: pd.DataFrame) -> pd.DataFrame:
    """Numeric, imputed, standardised and one-hot encoded features of a node table (by id)."""
    return NodeFeatureEncoder().fit(table).transform(table)


class NodeFeatureEncoder:
    """:func:`encode_node_features` fitted on some nodes and applied to others (a dataset added
    after the fit is encoded with the fitted imputation, scaling and categories)."""

    def fit(self, table: pd.DataFrame) -> NodeFeatureEncoder:
        table = _typed(expand_vector_columns(table))
        self.columns_ = list(table.columns)
        self.encoder_ = None
        if table.shape[1] == 0 or len(table) == 0:
            return self
        self.encoder_ = make_feature_encoder().fit(table)
        matrix = self.encoder_.transform(table)
        names = [str(n) for n in self.encoder_.get_feature_names_out()]
        self.keep_ = np.nanstd(matrix, axis=0) > 0 if len(matrix) else np.zeros(len(names), bool)
        self.names_ = [n for n, k in zip(names, self.keep_) if k]
        return self

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        table = _typed(expand_vector_columns(table))
        if self.encoder_ is None:
            return pd.DataFrame(index=table.index)
        missing = [c for c in self.columns_ if c not in table.columns]
        if missing:
            raise ValidationError(f"node features {missing[:3]} are missing")
        matrix = self.encoder_.transform(table[self.columns_])
        return pd.DataFrame(matrix[:, self.keep_], index=table.index, columns=self.names_)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Booleans as numbers, other non-numeric columns as strings (NaN kept), for the encoder."""
    if table.shape[1] == 0 or len(table) == 0:
        return table
    table = table.copy()
    for column in table.columns:
        values = table[column]
        if values.dtype == bool:
            table[column] = values.astype(float)
        elif not pd.api.types.is_numeric_dtype(values):
            table[column] = values.astype("object").where(values.notna(), np.nan).astype(str) \
                .where(values.notna(), np.nan)
    return table


# ---------------------------------------------------------------------- the graph view
@dataclass
class GraphView:
    """What an embedding sees of a matching graph, as aligned arrays.

    ``scores``: models × datasets normalised scores (NaN where a pair was not measured);
    ``similarity``: datasets × datasets similarity (NaN where unknown, diagonal 1);
    ``model_features`` / ``dataset_features``: encoded node features (may have no columns).
    """

    scores: pd.DataFrame
    similarity: pd.DataFrame
    model_features: pd.DataFrame
    dataset_features: pd.DataFrame

    @property
    def model_ids(self) -> list[str]:
        return list(self.scores.index)

    @property
    def dataset_ids(self) -> list[str]:
        return list(self.scores.columns)

    @property
    def profiled(self) -> np.ndarray:
        """Boolean mask of datasets with at least one measured model–data edge."""
        return self.scores.notna().any(axis=0).to_numpy()

    @classmethod
    def from_graph(cls, graph: MatchingGraph, metric: str | None = None,
                   similarity: pd.DataFrame | None = None) -> GraphView:
        """Build the view; similarity defaults to ``similarity.dataset_similarity(graph)``."""
        from ..graph.similarity import dataset_similarity
        from ..graph.views import cached_view, normalized_score_matrix

        if similarity is None:
            similarity = dataset_similarity(graph)
        ids = graph.dataset_ids
        similarity = similarity.reindex(index=ids, columns=ids).astype(float)
        # node features never depend on scores: encode once per graph, shared by LODO folds
        model_features = cached_view(graph, ("encoded_node_features", "models"),
                                     lambda: encode_node_features(graph.model_features()),
                                     depends_on=("models",))
        dataset_features = cached_view(graph, ("encoded_node_features", "datasets"),
                                       lambda: encode_node_features(graph.dataset_features()),
                                       depends_on=("datasets",))
        return cls(scores=normalized_score_matrix(graph, metric), similarity=similarity,
                   model_features=model_features, dataset_features=dataset_features)


def as_view(graph_or_view, metric: str | None = None) -> GraphView:
    if isinstance(graph_or_view, GraphView):
        return graph_or_view
    if isinstance(graph_or_view, MatchingGraph):
        return GraphView.from_graph(graph_or_view, metric)
    raise ValidationError("expected a MatchingGraph or GraphView, "
                          f"got {type(graph_or_view).__name__}")


# ---------------------------------------------------------------------- neighbourhoods
def neighbour_weights(similarity: np.ndarray, n_neighbors: int, *,
                      exclude_self: bool = True) -> np.ndarray:
    """Row-normalised weights on each row's ``n_neighbors`` most similar columns.

    ``similarity`` is targets × sources (NaN = unknown, never chosen). When the rows and columns are
    the same datasets, ``exclude_self`` drops the diagonal, so a profiled dataset is described by
    its neighbours exactly as a cold-start target would be. Weights are the similarities shifted so
    that the weakest chosen neighbour still counts a little; rows without any known similarity get
    zero weights.
    """
    sim = np.array(similarity, dtype=float, copy=True)
    n_rows, n_cols = sim.shape
    if exclude_self:
        if n_rows != n_cols:
            raise ValueError("exclude_self needs a square similarity matrix")
        np.fill_diagonal(sim, np.nan)
    k = max(1, min(int(n_neighbors), n_cols))
    filled = np.where(np.isnan(sim), -np.inf, sim)
    order = np.argsort(-filled, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(filled, order, axis=1)
    known = np.isfinite(chosen)
    low = np.where(known, chosen, np.inf).min(axis=1, keepdims=True)
    high = np.where(known, chosen, -np.inf).max(axis=1, keepdims=True)
    spread = np.where(np.isfinite(high - low) & (high > low), high - low, 1.0)
    values = np.where(known, (chosen - low) / spread + 0.1, 0.0)
    weights = np.zeros_like(sim)
    np.put_along_axis(weights, order, values, axis=1)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def _fill_cold_rows(embeddings: np.ndarray, view: GraphView, cold: np.ndarray,
                    n_neighbors: int) -> np.ndarray:
    """Out-of-sample extension: a cold dataset's embedding is the similarity-weighted mean of
    its most similar profiled datasets' embeddings."""
    if not cold.any():
        return embeddings
    warm = ~cold
    sim = view.similarity.to_numpy()[np.ix_(cold, warm)]
    weights = neighbour_weights(sim, n_neighbors, exclude_self=False)
    embeddings = embeddings.copy()
    embeddings[cold] = weights @ embeddings[warm]
    return embeddings


def _check_view(view: GraphView) -> None:
    if not view.profiled.any():
        raise ValidationError("the graph has no measured model–data edges to embed")


def _frames(model: np.ndarray, dataset: np.ndarray, view: GraphView):
    columns = [f"e{i}" for i in range(model.shape[1])]
    return (pd.DataFrame(model, index=view.model_ids, columns=columns),
            pd.DataFrame(dataset, index=view.dataset_ids, columns=columns))


class GraphEmbedding:
    """Base class: ``fit(view)`` sets ``model_embeddings_`` and ``dataset_embeddings_``."""

    def __init__(self, *, dim: int = 16, n_neighbors: int = 5, seed: int = 0):
        if int(dim) < 1:
            raise ConfigError(f"dim must be at least 1, got {dim}")
        if int(n_neighbors) < 1:
            raise ConfigError(f"n_neighbors must be at least 1, got {n_neighbors}")
        self.dim = int(dim)
        self.n_neighbors = int(n_neighbors)
        self.seed = seed

    def fit(self, graph_or_view, metric: str | None = None) -> GraphEmbedding:
        view = as_view(graph_or_view, metric)
        _check_view(view)
        model, dataset = self._embed(view)
        self.model_embeddings_, self.dataset_embeddings_ = _frames(model, dataset, view)
        return self

    def _embed(self, view: GraphView) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def model_vectors_without(self, models: np.ndarray, columns: np.ndarray,
                              scores: np.ndarray) -> np.ndarray:
        """Embeddings of ``models`` (row indices), each as if its edge to profiled dataset
        ``columns`` (index among the profiled datasets, normalised score ``scores``) were not in
        the graph: what a training row must see, since a cold target's edges never are. The base
        class cannot remove an edge without a refit and returns the plain embeddings."""
        return self.model_embeddings_.to_numpy()[models]


def make_embedding(name: str, **params) -> GraphEmbedding:
    """Build a registered embedding by name (an unknown name lists the valid ones)."""
    return EMBEDDINGS.get(name)(**params)


# ---------------------------------------------------------------------- spectral
@EMBEDDINGS.register("spectral")
class SpectralEmbedding(GraphEmbedding):
    """Truncated SVD of the heterogeneous graph's adjacency rows over profiled datasets.

    The matrix stacks the bipartite block (models × profiled datasets, normalised scores, 0 where
    unmeasured = the dataset mean) on the similarity block (datasets × profiled datasets, centred,
    scaled by ``similarity_weight`` relative to the score block). Its right singular vectors give
    profiled datasets an embedding shaped by both the scores and the similarities, and the left
    ones give models an embedding, so that ``model · dataset`` approximates the normalised score
    (a latent-factor reading of the graph, as in spectral co-clustering). Cold-start datasets are
    placed at the similarity-weighted mean of their nearest profiled datasets. Deterministic: each
    component's largest dataset coordinate is positive.
    """

    def __init__(self, *, dim: int = 16, n_neighbors: int = 5, seed: int = 0,
                 similarity_weight: float = 0.5):
        super().__init__(dim=dim, n_neighbors=n_neighbors, seed=seed)
        self.similarity_weight = float(similarity_weight)

    def _embed(self, view: GraphView) -> tuple[np.ndarray, np.ndarray]:
        profiled = view.profiled
        scores = np.nan_to_num(view.scores.to_numpy()[:, profiled], nan=0.0)
        blocks = [scores]
        if self.similarity_weight > 0:
            sim = view.similarity.to_numpy()[:, profiled]
            centred = np.nan_to_num(sim - np.nanmean(sim), nan=0.0)
            norm = np.linalg.norm(centred)
            if norm > 0:
                scale = self.similarity_weight * np.linalg.norm(scores) / norm
                blocks.append(scale * centred)
        stacked = np.vstack(blocks)
        k = min(self.dim, *stacked.shape)
        left, singular, right = top_singular_vectors(stacked, k)
        # deterministic sign: the largest |coordinate| of each dataset component is positive
        flip = np.sign(right[np.abs(right).argmax(axis=0), np.arange(k)])
        flip[flip == 0] = 1.0
        left, right = left * flip, right * flip
        root = np.sqrt(singular)
        n_models = scores.shape[0]
        model = left[:n_models] * root
        # a model's vector is its score row projected, scores @ right / root: one edge's share
        self._edge_share = _pad(np.divide(right, root, out=np.zeros_like(right),
                                          where=root > 0), self.dim)
        dataset = np.zeros((len(profiled), k))
        dataset[profiled] = right * root
        dataset = _fill_cold_rows(dataset, view, ~profiled, self.n_neighbors)
        return _pad(model, self.dim), _pad(dataset, self.dim)

    def model_vectors_without(self, models: np.ndarray, columns: np.ndarray,
                              scores: np.ndarray) -> np.ndarray:
        """The models' vectors with the edge's score folded out of their projection (exact for
        the projection; the dataset components stay those of the full fit). On a sparse graph
        a model's vector is its two or three scores, one of them the row's own label, which
        would leak into its features: with it, the out-of-fold correlation of the regressor on
        an 80 × 13 graph with 20% of pairs measured was 0.71-0.87 against 0.6 leave-one-out."""
        return (self.model_embeddings_.to_numpy()[models]
                - np.nan_to_num(scores)[:, None] * self._edge_share[columns])


def top_singular_vectors(matrix: np.ndarray, k: int):
    """Top ``k`` singular triplets of a tall matrix through the eigenvectors of its small Gram
    matrix (columns = profiled datasets, a few hundred at most): several times faster than a
    full SVD when there are many models. Null directions get zero vectors."""
    singular, right = top_right_singular_vectors(matrix.T @ matrix, k)
    left = np.divide(matrix @ right, singular, out=np.zeros((matrix.shape[0], len(singular))),
                     where=singular > 0)
    return left, singular, right


def top_right_singular_vectors(gram: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` singular values and right singular vectors of a matrix ``M`` from its Gram
    matrix ``M.T @ M``; null directions (singular value at most 1e-10 of the largest) get zero
    vectors and values."""
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(-eigenvalues, kind="stable")[:k]
    singular = np.sqrt(np.clip(eigenvalues[order], 0.0, None))
    right = eigenvectors[:, order]
    tiny = singular <= 1e-10 * max(float(singular.max(initial=0.0)), 1e-300)
    right[:, tiny] = 0.0
    return np.where(tiny, 0.0, singular), right


def _pad(matrix: np.ndarray, dim: int) -> np.ndarray:
    """Zero-pad to ``dim`` columns so small graphs keep the embedding width they were asked for."""
    if matrix.shape[1] >= dim:
        return matrix
    return np.hstack([matrix, np.zeros((matrix.shape[0], dim - matrix.shape[1]))])


# ---------------------------------------------------------------------- torch helpers
def _similarity_edges(view: GraphView, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Data–data edges: each dataset to its ``n_neighbors`` most similar others (symmetrised),
    with their neighbour weights."""
    weights = neighbour_weights(view.similarity.to_numpy(), n_neighbors, exclude_self=True)
    weights = np.maximum(weights, weights.T)
    src, dst = np.nonzero(weights)
    return np.vstack([src, dst]), weights[src, dst]


def _score_edges(view: GraphView) -> tuple[np.ndarray, np.ndarray]:
    """Model–data edges of the measured pairs, with their normalised scores."""
    scores = view.scores.to_numpy()
    models, datasets = np.nonzero(~np.isnan(scores))
    return np.vstack([models, datasets]), scores[models, datasets]


class _TorchSeed:
    """Seed torch's global generator for a block and restore it afterwards."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __enter__(self):
        import torch

        self._fork = torch.random.fork_rng(devices=[])
        self._fork.__enter__()
        torch.manual_seed(self.seed)
        return self

    def __exit__(self, *exc):
        return self._fork.__exit__(*exc)


# ---------------------------------------------------------------------- metapath2vec
@EMBEDDINGS.register("metapath2vec")
class MetaPath2VecEmbedding(GraphEmbedding):
    """Random-walk skip-gram over the heterogeneous graph (metapath2vec, Dong et al. KDD 2017;
    TransferGraph's node2vec-style embeddings), with ``torch_geometric.nn.MetaPath2Vec``.

    Walks follow dataset →(similar) dataset →(scored by) model →(scores on) dataset. Random walks
    are unweighted, so the model–data edges kept are those where the model did better than the
    dataset's average (normalised score above ``score_threshold``), and the data–data edges are each
    dataset's ``n_neighbors`` most similar ones. A cold-start dataset is walked through its
    data–data edges. Seeded; a dataset left without any edge gets the similarity-weighted mean of
    its nearest profiled datasets.
    """

    def __init__(self, *, dim: int = 16, n_neighbors: int = 5, seed: int = 0,
                 walk_length: int = 12, context_size: int = 5, walks_per_node: int = 3,
                 epochs: int = 20, batch_size: int = 16, score_threshold: float = 0.0,
                 learning_rate: float = 0.05):
        super().__init__(dim=dim, n_neighbors=n_neighbors, seed=seed)
        if context_size > walk_length:
            raise ConfigError("context_size cannot exceed walk_length")
        self.walk_length = int(walk_length)
        self.context_size = int(context_size)
        self.walks_per_node = int(walks_per_node)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.score_threshold = float(score_threshold)
        self.learning_rate = float(learning_rate)

    def _embed(self, view: GraphView) -> tuple[np.ndarray, np.ndarray]:
        import torch
        from torch_geometric.nn import MetaPath2Vec

        pairs, values = _score_edges(view)
        good = pairs[:, values > self.score_threshold]
        sim_pairs, _ = _similarity_edges(view, self.n_neighbors)
        edges = {
            ("model", "scores", "dataset"): torch.as_tensor(good, dtype=torch.long),
            ("dataset", "scored_by", "model"): torch.as_tensor(good[::-1].copy(), dtype=torch.long),
            ("dataset", "similar", "dataset"): torch.as_tensor(sim_pairs, dtype=torch.long),
        }
        metapath = [("dataset", "similar", "dataset"), ("dataset", "scored_by", "model"),
                    ("model", "scores", "dataset")]
        n_models, n_datasets = len(view.model_ids), len(view.dataset_ids)
        with _TorchSeed(self.seed):
            net = MetaPath2Vec(edges, embedding_dim=self.dim, metapath=metapath,
                               walk_length=self.walk_length, context_size=self.context_size,
                               walks_per_node=self.walks_per_node, num_negative_samples=2,
                               num_nodes_dict={"model": n_models, "dataset": n_datasets},
                               sparse=False)
            # small graphs: dense Adam beats SparseAdam (its coalesce dominates the step)
            loader = net.loader(batch_size=self.batch_size, shuffle=True)
            optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
            net.train()
            for _ in range(self.epochs):
                for positive, negative in loader:
                    optimizer.zero_grad()
                    loss = net.loss(positive, negative)
                    loss.backward()
                    optimizer.step()
            with torch.no_grad():
                model = net("model").numpy().astype(float)
                dataset = net("dataset").numpy().astype(float)
        isolated = np.ones(n_datasets, dtype=bool)
        isolated[good[1]] = False
        isolated[sim_pairs[0]] = False
        return model, _fill_cold_rows(dataset, view, isolated, self.n_neighbors)


# ---------------------------------------------------------------------- message-passing GNN
@EMBEDDINGS.register("gnn")
class GNNEmbedding(GraphEmbedding):
    """A heterogeneous message-passing network (GraphConv per edge type under ``HeteroConv``)
    trained to regress each model–data edge's normalised score from its endpoint embeddings.

    Inputs are the standardised node features plus a learned vector per model (every model is a
    training node; only datasets are cold). Model–data edges carry two relations: one weighted by
    the normalised score (how well the model did) and one unweighted (where it was profiled: the
    graph's structure); data–data messages are weighted by similarity, so a cold-start dataset
    is embedded from its features and its similar datasets. To learn the cold-start case rather
    than memorise edges, each epoch hides the model–data edges of a random ``holdout`` share of
    profiled datasets from message passing and supervises on exactly those edges. Seeded, full
    batch, CPU-fast.
    """

    def __init__(self, *, dim: int = 16, n_neighbors: int = 5, seed: int = 0,
                 epochs: int = 60, holdout: float = 0.25, learning_rate: float = 0.01,
                 weight_decay: float = 1e-4):
        super().__init__(dim=dim, n_neighbors=n_neighbors, seed=seed)
        if not 0 < holdout < 1:
            raise ConfigError(f"holdout must be in (0, 1), got {holdout}")
        self.epochs = int(epochs)
        self.holdout = float(holdout)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)

    def _embed(self, view: GraphView) -> tuple[np.ndarray, np.ndarray]:
        import torch

        pairs, values = _score_edges(view)
        sim_pairs, sim_weights = _similarity_edges(view, self.n_neighbors)
        n_models, n_datasets = len(view.model_ids), len(view.dataset_ids)
        model_x = _feature_tensor(view.model_features, n_models)
        dataset_x = _feature_tensor(view.dataset_features, n_datasets)
        score_index = torch.as_tensor(pairs, dtype=torch.long)
        score_value = torch.as_tensor(values, dtype=torch.float32)
        sim_index = torch.as_tensor(sim_pairs, dtype=torch.long)
        sim_weight = torch.as_tensor(sim_weights, dtype=torch.float32)
        profiled = np.flatnonzero(view.profiled)
        with _TorchSeed(self.seed):
            net = _HeteroScoreNet(model_x.shape[1], dataset_x.shape[1], n_models, self.dim)
            optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate,
                                         weight_decay=self.weight_decay)
            generator = np.random.default_rng(self.seed)
            n_hidden = max(1, int(round(self.holdout * len(profiled))))
            for _ in range(self.epochs):
                hidden = np.zeros(n_datasets, dtype=bool)
                hidden[generator.choice(profiled, size=n_hidden, replace=False)] = True
                supervise = torch.as_tensor(hidden[pairs[1]])
                net.train()
                optimizer.zero_grad()
                h_model, h_dataset = net.encode(
                    model_x, dataset_x, score_index[:, ~supervise], score_value[~supervise],
                    sim_index, sim_weight)
                predicted = net.decode(h_model, h_dataset, score_index[:, supervise])
                loss = torch.mean((predicted - score_value[supervise]) ** 2)
                loss.backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                h_model, h_dataset = net.encode(model_x, dataset_x, score_index, score_value,
                                                sim_index, sim_weight)
        return h_model.numpy().astype(float), h_dataset.numpy().astype(float)


def _feature_tensor(features: pd.DataFrame, n_rows: int):
    import torch

    matrix = features.to_numpy(dtype=float) if features.shape[1] else np.ones((n_rows, 1))
    return torch.as_tensor(np.nan_to_num(matrix), dtype=torch.float32)


@functools.cache
def _hetero_score_net():
    """Defined lazily so importing mandc.ranking.embed does not import torch."""
    import torch
    from torch_geometric.nn import GraphConv, HeteroConv

    class HeteroScoreNet(torch.nn.Module):
        def __init__(self, model_in: int, dataset_in: int, n_models: int, dim: int):
            super().__init__()
            self.model_id = torch.nn.Embedding(n_models, dim)
            torch.nn.init.normal_(self.model_id.weight, std=0.1)
            self.model_in = torch.nn.Linear(model_in + dim, dim)
            self.dataset_in = torch.nn.Linear(dataset_in, dim)
            self.layers = torch.nn.ModuleList([
                HeteroConv({
                    ("model", "scores", "dataset"): GraphConv(dim, dim, aggr="mean"),
                    ("dataset", "scored_by", "model"): GraphConv(dim, dim, aggr="mean"),
                    ("model", "profiled_on", "dataset"): GraphConv(dim, dim, aggr="mean"),
                    ("dataset", "profiles", "model"): GraphConv(dim, dim, aggr="mean"),
                    ("dataset", "similar", "dataset"): GraphConv(dim, dim, aggr="mean"),
                }, aggr="sum") for _ in range(2)])
            self.head = torch.nn.Linear(3 * dim, 1)

        def encode(self, model_x, dataset_x, score_index, score_value, sim_index, sim_weight):
            ids = torch.arange(self.model_id.num_embeddings)
            h = {"model": torch.relu(self.model_in(torch.cat([model_x, self.model_id(ids)], 1))),
                 "dataset": torch.relu(self.dataset_in(dataset_x))}
            edges = {("model", "scores", "dataset"): score_index,
                     ("dataset", "scored_by", "model"): score_index.flip(0),
                     ("model", "profiled_on", "dataset"): score_index,
                     ("dataset", "profiles", "model"): score_index.flip(0),
                     ("dataset", "similar", "dataset"): sim_index}
            weights = {("model", "scores", "dataset"): score_value,
                       ("dataset", "scored_by", "model"): score_value,
                       ("dataset", "similar", "dataset"): sim_weight}
            for i, layer in enumerate(self.layers):
                out = layer(h, edges, edge_weight_dict=weights)
                # a node type without incoming edges keeps its previous state
                out = {key: out.get(key, h[key]) + h[key] for key in h}
                h = {k: torch.relu(v) for k, v in out.items()} if i < len(self.layers) - 1 else out
            return h["model"], h["dataset"]

        def decode(self, h_model, h_dataset, index):
            left, right = h_model[index[0]], h_dataset[index[1]]
            return self.head(torch.cat([left * right, left, right], 1)).squeeze(1)

    return HeteroScoreNet


def _HeteroScoreNet(*args):  # noqa: N802 - factory standing in for the lazily defined class
    return _hetero_score_net()(*args)
