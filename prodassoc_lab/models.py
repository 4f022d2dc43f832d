"""Two-layer node classifiers compared in chapter 7: an MLP without the graph and four GNNs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GATConv, GCNConv, SAGEConv

from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.validation import positive_int

MODELS = ("mlp", "gcn", "seed", "sage", "gat")
GAT_HEADS = 4


class NodeClassifier(torch.nn.Module):
    """``input → layer → ReLU → dropout → layer → class scores``, with the layers named by ``kind``.

    ``mlp`` ignores the graph (two ``Linear`` layers); ``gcn`` is Kipf & Welling's
    layer (its normalization cached: one graph per model); ``seed`` the article's
    layer (:class:`~prodassoc_lab.layers.SeedGraphConv`); ``sage`` GraphSAGE with
    mean aggregation; ``gat`` graph attention with 4 heads.
    ``adjacency`` is a sparse (CSR) matrix whose values are the edge weights:
    GCN and the article's layer use them; GraphSAGE takes the plain mean over
    neighbours (PyG's ``SAGEConv`` would divide a *weighted* sum by the neighbour
    count); GAT learns its own weights.
    Dropout acts on the hidden layer only: the inputs are a handful of dense
    features, and dropping them at random made every model markedly worse when
    chapter 7 was written.
    """

    def __init__(self, kind: str, in_channels: int, hidden: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        if kind not in MODELS:
            raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
        for name, value in (("in_channels", in_channels), ("hidden", hidden), ("num_classes", num_classes)):
            positive_int(value, name)
        if kind == "gat" and hidden % GAT_HEADS:
            raise ValueError(f"gat splits the hidden layer over {GAT_HEADS} heads: hidden must be a multiple of "
                             f"{GAT_HEADS}, got {hidden}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.kind, self.dropout = kind, dropout
        if kind == "mlp":
            self.first, self.second = torch.nn.Linear(in_channels, hidden), torch.nn.Linear(hidden, num_classes)
        elif kind == "gcn":
            # cached: the normalized adjacency is computed on the first call and reused;
            # the model is trained and used on one fixed graph (transductive)
            self.first = GCNConv(in_channels, hidden, cached=True)
            self.second = GCNConv(hidden, num_classes, cached=True)
        elif kind == "seed":
            self.first, self.second = SeedGraphConv(in_channels, hidden), SeedGraphConv(hidden, num_classes)
        elif kind == "sage":
            self.first, self.second = SAGEConv(in_channels, hidden), SAGEConv(hidden, num_classes)
        else:
            self.first = GATConv(in_channels, hidden // GAT_HEADS, heads=GAT_HEADS, dropout=dropout)
            self.second = GATConv(hidden, num_classes, heads=1, dropout=dropout)

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        if self.kind == "sage" and adjacency.layout == torch.sparse_csr:
            adjacency = adjacency.sign()  # every neighbour counts 1 (weights are non-negative)
        x = self.first(x) if self.kind == "mlp" else self.first(x, adjacency)
        x = _dropout(F.relu(x), self.dropout, self.training)
        return self.second(x) if self.kind == "mlp" else self.second(x, adjacency)


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    # Same distribution as F.dropout, whose bernoulli_ draws the mask one element at a
    # time on a CPU; comparing uniform noise with p is about three times faster, which
    # is a tenth of a training epoch here (chapter 7).
    if not training or p == 0:
        return x
    return x * (torch.rand_like(x) >= p) / (1 - p)

