"""Two-layer node classifiers compared in chapter 7: an MLP without the graph and four GNNs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GATConv, GCNConv, SAGEConv

from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.tensors import check_graph_inputs
from prodassoc_lab.validation import bounded_float, positive_int

GAT_HEADS = 4  # attention heads of GAT's hidden layer


@dataclass(frozen=True)
class ModelKind:
    """How one kind of :class:`NodeClassifier` is built.

    ``layer(in_channels, out_channels, hidden_layer, dropout)`` makes one of its
    two layers; ``uses_graph`` is false for the MLP; ``unweighted`` kinds
    aggregate a plain mean over neighbours, so they see the adjacency with every
    weight set to 1.
    """

    layer: Callable[[int, int, bool, float], torch.nn.Module]
    uses_graph: bool = True
    unweighted: bool = False


def _gat_layer(in_channels: int, out_channels: int, hidden_layer: bool, dropout: float) -> torch.nn.Module:
    heads = GAT_HEADS if hidden_layer else 1  # the hidden layer concatenates its heads
    return GATConv(in_channels, out_channels // heads, heads=heads, dropout=dropout)


KINDS: dict[str, ModelKind] = {
    "mlp": ModelKind(lambda i, o, hidden_layer, p: torch.nn.Linear(i, o), uses_graph=False),
    # cached: the normalized adjacency is computed on the first call and reused;
    # the model is trained and used on one fixed graph (transductive)
    "gcn": ModelKind(lambda i, o, hidden_layer, p: GCNConv(i, o, cached=True)),
    "seed": ModelKind(lambda i, o, hidden_layer, p: SeedGraphConv(i, o)),
    # PyG's SAGEConv would divide a *weighted* sum by the neighbour count
    "sage": ModelKind(lambda i, o, hidden_layer, p: SAGEConv(i, o), unweighted=True),
    "gat": ModelKind(_gat_layer),
}
MODELS = tuple(KINDS)


class NodeClassifier(torch.nn.Module):
    r"""A two-layer node classifier whose layers are named by ``kind`` (chapter 7).

    .. math::
        \mathbf{H} = \operatorname{dropout}\big(\operatorname{ReLU}(f_1(\mathbf{X}, \mathbf{A}))\big),
        \qquad \mathbf{Z} = f_2(\mathbf{H}, \mathbf{A})

    with :math:`f` a ``Linear`` layer (``mlp``, which ignores the graph), Kipf &
    Welling's GCN (``gcn``), the article's layer
    :class:`~prodassoc_lab.layers.SeedGraphConv` (``seed``), GraphSAGE with a
    plain mean over neighbours (``sage``) or graph attention with
    ``GAT_HEADS`` heads in the hidden layer (``gat``). GCN and the article's
    layer use the edge weights in :math:`\mathbf{A}`; GraphSAGE sets them to 1;
    GAT learns its own. Dropout acts on the hidden layer only: the inputs are a
    handful of dense features, and dropping them at random made every model
    markedly worse when chapter 7 was written.

    Args:
        kind (str): one of ``MODELS`` (``"mlp"``, ``"gcn"``, ``"seed"``, ``"sage"``, ``"gat"``).
        in_channels (int): features per node, :math:`F`.
        hidden (int): hidden units (a multiple of ``GAT_HEADS`` for ``gat``).
        num_classes (int): classes, :math:`C`.
        dropout (float, optional): dropout probability on the hidden layer, in
            :math:`[0, 1)`. (default: ``0.5``)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, sparse (CSR)
          adjacency :math:`(|\mathcal{V}|, |\mathcal{V}|)` with targets as rows —
          or edge indices :math:`(2, |\mathcal{E}|)` with optional edge weights
          :math:`(|\mathcal{E}|)`, the form PyG's explainers pass (chapter 10; ``gcn``
          caches its normalization of the first graph it sees, so give each graph a fresh model)
        - **output:** class scores :math:`(|\mathcal{V}|, C)`
    """

    def __init__(self, kind: str, in_channels: int, hidden: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
        for name, value in (("in_channels", in_channels), ("hidden", hidden), ("num_classes", num_classes)):
            positive_int(value, name)
        if kind == "gat" and hidden % GAT_HEADS:
            raise ValueError(f"gat splits the hidden layer over {GAT_HEADS} heads: hidden must be a multiple of "
                             f"{GAT_HEADS}, got {hidden}")
        dropout = bounded_float(dropout, "dropout", 0, 1, high_open=True)
        self.kind, self.dropout, self._spec = kind, dropout, KINDS[kind]
        self.in_channels = in_channels
        self.first = self._spec.layer(in_channels, hidden, True, dropout)
        self.second = self._spec.layer(hidden, num_classes, False, dropout)

    def forward(self, x: Tensor, adjacency: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        check_graph_inputs(x, adjacency, edge_weight, self.in_channels)
        if self._spec.unweighted:
            # every neighbour counts 1 (weights are non-negative)
            adjacency, edge_weight = (adjacency.sign() if adjacency.layout == torch.sparse_csr else adjacency), None
        weights = () if edge_weight is None or self.kind == "gat" else (edge_weight,)
        graph = (adjacency, *weights) if self._spec.uses_graph else ()
        x = _dropout(F.relu(self.first(x, *graph)), self.dropout, self.training)
        return self.second(x, *graph)


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    # Same distribution as F.dropout, whose bernoulli_ draws the mask one element at a
    # time on a CPU; comparing uniform noise with p draws the whole mask in one vectorised
    # call, which matters because dropout runs on every layer of every epoch (chapter 7).
    if not training or p == 0:
        return x
    return x * (torch.rand_like(x) >= p) / (1 - p)

