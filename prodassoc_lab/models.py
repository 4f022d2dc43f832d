"""Two-layer node classifiers compared in chapter 7: an MLP without the graph and four GNNs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GATConv, GCNConv, SAGEConv

from prodassoc_lab.layers import SeedGraphConv

MODELS = ("mlp", "gcn", "seed", "sage", "gat")


class NodeClassifier(torch.nn.Module):
    """``input → layer → ReLU → dropout → layer → class scores``, with the layers named by ``kind``.

    ``mlp`` ignores the graph (two ``Linear`` layers); ``gcn`` is Kipf & Welling's
    layer; ``seed`` the article's layer (:class:`~prodassoc_lab.layers.SeedGraphConv`); ``sage``
    GraphSAGE with mean aggregation; ``gat`` graph attention with 4 heads.
    """

    def __init__(self, kind: str, in_channels: int, hidden: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        if kind not in MODELS:
            raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
        self.kind, self.dropout = kind, dropout
        if kind == "mlp":
            self.first, self.second = torch.nn.Linear(in_channels, hidden), torch.nn.Linear(hidden, num_classes)
        elif kind == "gcn":
            self.first, self.second = GCNConv(in_channels, hidden), GCNConv(hidden, num_classes)
        elif kind == "seed":
            self.first, self.second = SeedGraphConv(in_channels, hidden), SeedGraphConv(hidden, num_classes)
        elif kind == "sage":
            self.first, self.second = SAGEConv(in_channels, hidden), SAGEConv(hidden, num_classes)
        else:
            heads = 4
            self.first = GATConv(in_channels, hidden // heads, heads=heads, dropout=dropout)
            self.second = GATConv(hidden, num_classes, heads=1, dropout=dropout)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = self.first(x) if self.kind == "mlp" else self.first(x, edge_index)
        x = F.dropout(F.relu(x), self.dropout, self.training)
        return self.second(x) if self.kind == "mlp" else self.second(x, edge_index)
