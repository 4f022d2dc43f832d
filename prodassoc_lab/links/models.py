"""Graph encoders for link prediction, trained on the earlier product graph with PyG's link split and negative
sampling (chapter 8).

The encoder embeds every known product from its features and its partners
before the cut-off; a pair's score is the dot product of the two embeddings
plus a popularity term per product. Training asks the model to tell the
graph's own edges from random pairs (PyG's ``RandomLinkSplit`` holds a tenth of
them out to choose the epoch); chapter 8 then asks it about the associations
that appear after the cut-off, which it never saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import negative_sampling

from prodassoc_lab.graph import ProductGraph
from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.pyg_data import require_adjacency, sparse_adjacency
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.tensors import check_graph_inputs, node_indices
from prodassoc_lab.training import EarlyStopping, TrainingRun, train_with_early_stopping
from prodassoc_lab.validation import bounded_int, non_negative_float, positive_float, positive_int

# Not chapter 7's cached GCN: here one model sees two graphs (training edges, then all edges).
LAYERS = {"seed": SeedGraphConv, "gcn": GCNConv, "sage": SAGEConv}
UNWEIGHTED = {"sage"}  # SAGEConv would divide a weighted sum by the neighbour count


class LinkEncoder(torch.nn.Module):
    r"""Two graph layers that embed products, and a dot-product decoder with a per-product popularity term (chapter 8).

    .. math::
        \mathbf{Z} = f_2\big(\operatorname{ReLU}(f_1(\mathbf{X}, \mathbf{A})), \mathbf{A}\big), \qquad
        b_u = \mathbf{w}^\top \mathbf{x}_u, \qquad
        s(u, v) = \mathbf{z}_u^\top \mathbf{z}_v + b_u + b_v

    with :math:`f` the article's layer (``seed``), Kipf & Welling's GCN (``gcn``)
    or GraphSAGE with a plain mean (``sage``). The dot product says how well two
    products go together; :math:`b` lets the model learn from the features how
    readily a product finds partners at all, which a dot product of embeddings
    expresses badly.

    Args:
        kind (str): ``"seed"``, ``"gcn"`` or ``"sage"``.
        in_channels (int): features per node, :math:`F`.
        hidden (int): units of the hidden layer and of the embedding, :math:`D`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, sparse (CSR)
          adjacency :math:`(|\mathcal{V}|, |\mathcal{V}|)` — or edge indices
          :math:`(2, |\mathcal{E}|)` with optional edge weights, the form PyG's
          explainers pass (chapter 10)
        - **output:** embeddings :math:`(|\mathcal{V}|, D)` and popularity terms :math:`(|\mathcal{V}|)`
    """

    def __init__(self, kind: str, in_channels: int, hidden: int = 64) -> None:
        super().__init__()
        if kind not in LAYERS:
            raise ValueError(f"unknown encoder {kind!r}; choose one of {list(LAYERS)}")
        in_channels, hidden = positive_int(in_channels, "in_channels"), positive_int(hidden, "hidden")
        self.kind = kind
        self.in_channels = in_channels
        self.first = LAYERS[kind](in_channels, hidden)
        self.second = LAYERS[kind](hidden, hidden)
        self.popularity = torch.nn.Linear(in_channels, 1)

    def forward(self, x: Tensor, adjacency: Tensor, edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
        check_graph_inputs(x, adjacency, edge_weight, self.in_channels)
        if self.kind in UNWEIGHTED:
            adjacency, edge_weight = (adjacency.sign() if adjacency.layout == torch.sparse_csr else adjacency), None
        graph = (adjacency,) if edge_weight is None else (adjacency, edge_weight)
        return self.second(F.relu(self.first(x, *graph)), *graph), self.popularity(x).view(-1)


def pair_scores(embeddings: Tensor, bias: Tensor, pairs: Tensor) -> Tensor:
    """:math:`s(u, v) = z_u^\\top z_v + b_u + b_v` for the columns ``(u, v)`` of ``pairs`` (shape ``(2, P)``).

    Every entry of ``pairs`` must be a node index in ``[0, len(embeddings))``; a negative one is refused.
    """
    if not isinstance(pairs, Tensor) or pairs.dim() != 2 or pairs.size(0) != 2:
        raise ValueError(f"pairs must be a tensor of shape (2, P), got "
                         f"{tuple(pairs.shape) if isinstance(pairs, Tensor) else type(pairs).__name__}")
    source, target = node_indices(pairs, embeddings.size(0), "pairs")
    return (embeddings[source] * embeddings[target]).sum(-1) + bias[source] + bias[target]


@dataclass
class LinkRun:
    """A trained encoder, the embeddings and popularity terms it gives on the full earlier graph, and its record.

    ``training`` is the record of :func:`fit_encoder` (``None`` for an encoder
    trained elsewhere); ``val_metric`` names its validation score.
    """

    kind: str
    seed: int
    model: LinkEncoder
    embeddings: Tensor
    bias: Tensor
    training: TrainingRun | None = None
    val_metric: str = "ROC-AUC"

    @property
    def best_epoch(self) -> int:
        """The kept epoch (0 without a training record)."""
        return self.training.best_epoch if self.training is not None else 0

    @property
    def val_score(self) -> float:
        """The kept epoch's validation score, ``val_metric`` (NaN without a training record)."""
        return self.training.best_score if self.training is not None else float("nan")

    @property
    def losses(self) -> list[float]:
        """The training loss of every epoch run."""
        return self.training.losses if self.training is not None else []

    def on(self, data: Data) -> LinkRun:
        """The same trained model, with embeddings computed on another graph (e.g. a later one)."""
        with torch.no_grad():
            embeddings, bias = self.model(data.x, require_adjacency(data))
        return dataclasses.replace(self, embeddings=embeddings, bias=bias)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Scores of every known product as a partner of each query node: ``len(queries) × n``."""
        rows = node_indices(np.asarray(queries), self.embeddings.size(0), "queries")
        with torch.no_grad():
            return (self.embeddings[rows] @ self.embeddings.T + self.bias[None, :] + self.bias[rows, None]).numpy()


def link_data(features: pd.DataFrame, graph: ProductGraph) -> Data:
    """PyG ``Data`` for :class:`LinkEncoder`: ``x`` from ``features`` (rows in node order) and the graph's edges
    and adjacency."""
    ids = pd.Index(graph.nodes.product_id)
    if not isinstance(features, pd.DataFrame) or not features.index.equals(ids):
        raise ValueError("features must be a DataFrame with one row per graph node, "
                         "indexed by product_id in node order")
    if not features.columns.is_unique:  # the same feature twice weighs it double and names two inputs alike
        repeated = sorted(set(features.columns[features.columns.duplicated()]))
        raise ValueError(f"features hold column(s) {repeated} more than once")
    values = features.to_numpy(dtype=np.float32)
    if not np.isfinite(values).all():
        raise ValueError("features hold NaN or infinite values")
    data = graph.to_pyg(label=None)
    if (data.edge_weight <= 0).any():
        raise ValueError("link prediction needs positive edge weights; build the graph with max_p_value "
                         "(its pairs are bought together more often than chance, so their NPMI is positive)")
    data.x = torch.tensor(values)  # a copy: pandas may hand out a read-only array
    data.feature_names = list(features.columns)
    return sparse_adjacency(data)


def fit_encoder(model: LinkEncoder, x: Tensor, adjacency: Tensor, positives: Tensor, not_negative: Tensor,
                validate: Callable[[Tensor, Tensor], float], epochs: int, lr: float, weight_decay: float,
                eval_every: int, negatives: int = 1) -> TrainingRun:
    """The training loop both ways of chapter 8 share; returns the record of the run.

    Each epoch: embed with messages over ``adjacency``, score the directed
    ``positives`` (shape ``(2, P)``) against ``negatives × P`` random pairs from
    ``negative_sampling`` (never a pair of ``not_negative``), one Adam step on
    the binary cross-entropy. Every ``eval_every`` epochs (and at the last)
    ``validate(embeddings, bias)`` scores the model; the best state (strictly
    better score; no patience) is loaded back into ``model``, which is left in
    evaluation mode (:func:`prodassoc_lab.training.train_with_early_stopping`).

    Args:
        model: the encoder to train, in place.
        x: node features, shape ``(N, F)``.
        adjacency: the sparse adjacency the messages pass over, shape ``(N, N)``.
        positives: the directed pairs to score high, shape ``(2, P)``.
        not_negative: pairs never drawn as negatives, shape ``(2, E)``.
        validate: ``validate(embeddings, bias)`` → the validation score (higher is better).
        epochs: epochs to train.
        lr: Adam's learning rate.
        weight_decay: Adam's weight decay.
        eval_every: validate every this many epochs (and at the last).
        negatives: random pairs per positive pair and epoch.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    labels = torch.cat([torch.ones(positives.size(1)), torch.zeros(negatives * positives.size(1))])

    def train_step() -> float:
        optimizer.zero_grad()
        embeddings, bias = model(x, adjacency)
        sampled = negative_sampling(not_negative, num_nodes=x.size(0), num_neg_samples=negatives * positives.size(1))
        loss = F.binary_cross_entropy_with_logits(pair_scores(embeddings, bias, torch.cat([positives, sampled], dim=1)),
                                                  labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return train_with_early_stopping(model, train_step, lambda: validate(*model(x, adjacency)),
                                     EarlyStopping(epochs, eval_every=eval_every), name=f"{model.kind} encoder", lr=lr)


@dataclass(frozen=True)
class LinkTraining:
    """The settings of :func:`train_link_encoder`, checked when made (chapter 8).

    Attributes:
        epochs (int): epochs to train; the best one by validation ROC-AUC is kept. (default: ``200``)
        hidden (int): size of the hidden layer and of the embeddings. (default: ``64``)
        lr (float): Adam's learning rate. (default: ``0.02``)
        weight_decay (float): Adam's weight decay, ≥ 0. (default: ``5e-4``)
        eval_every (int): validate every this many epochs (and at the last), at most ``epochs``. (default: ``10``)
    """

    epochs: int = 200
    hidden: int = 64
    lr: float = 0.02
    weight_decay: float = 5e-4
    eval_every: int = 10

    def __post_init__(self) -> None:
        positive_int(self.epochs, "epochs")
        positive_int(self.hidden, "hidden")
        bounded_int(self.eval_every, "eval_every", 1, self.epochs + 1)
        positive_float(self.lr, "lr")
        non_negative_float(self.weight_decay, "weight_decay")


def train_link_encoder(data: Data, kind: str, seed: int, settings: LinkTraining = LinkTraining()) -> LinkRun:
    """Train a :class:`LinkEncoder` to tell the graph's edges from random pairs; keep the epoch with the best
    validation AUC.

    ``RandomLinkSplit`` holds out 10 % of the edges, with as many random
    non-edges, for validation; the rest carry the messages and are the
    positives of each epoch, against as many fresh negatives from
    ``negative_sampling``. ``settings`` are the :class:`LinkTraining`.
    """
    if not isinstance(settings, LinkTraining):
        raise TypeError(f"settings must be a LinkTraining, got {type(settings).__name__}")
    require_adjacency(data)
    set_seed(seed)
    bare = Data(x=data.x, edge_index=data.edge_index, edge_weight=data.edge_weight, num_nodes=data.num_nodes)
    train, val, _ = RandomLinkSplit(num_val=0.1, num_test=0.0, is_undirected=True,
                                    add_negative_train_samples=False)(bare)
    if val.edge_label_index.size(1) < 2 or train.edge_label_index.size(1) == 0:
        raise ValueError(f"too few edges to hold a tenth out for validation: the graph has "
                         f"{data.edge_index.size(1) // 2} undirected edge(s)")
    train_adjacency = require_adjacency(sparse_adjacency(train))
    model = LinkEncoder(kind, data.num_features, settings.hidden)

    def validation_auc(embeddings: Tensor, bias: Tensor) -> float:
        return roc_auc_score(val.edge_label.numpy(), pair_scores(embeddings, bias, val.edge_label_index).numpy())

    training = fit_encoder(model, data.x, train_adjacency, train.edge_label_index, train.edge_index, validation_auc,
                           settings.epochs, settings.lr, settings.weight_decay, settings.eval_every)
    with torch.no_grad():
        embeddings, bias = model(data.x, require_adjacency(data))
    return LinkRun(kind, seed, model, embeddings, bias, training, "ROC-AUC")
