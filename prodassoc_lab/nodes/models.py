"""Node classifiers compared in chapter 7: an MLP without the graph, four GNNs, SGC and APPNP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import APPNP, GATConv, GCNConv, SAGEConv, SGConv

from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.propagation import symmetric_spmm
from prodassoc_lab.tensors import check_graph_inputs
from prodassoc_lab.validation import bounded_float, bounded_int, positive_int

GAT_HEADS = 4  # attention heads of each of GAT's hidden layers
SGC_HOPS = 2  # propagation steps of SGC, Wu et al.'s choice
APPNP_STEPS, APPNP_ALPHA = 10, 0.1  # power-iteration steps and teleport probability, Gasteiger et al.'s choice


@dataclass(frozen=True)
class ModelKind:
    """How one kind of :class:`NodeClassifier` is built.

    ``layer(in_channels, out_channels, place, dropout)`` makes one of its
    layers, ``place`` being ``"first"``, ``"middle"`` or ``"last"``; ``uses_graph``
    is false for the MLP; ``unweighted`` kinds aggregate a plain mean over
    neighbours, so they see the adjacency with every weight set to 1; ``linear``
    kinds have no ReLU between their layers (SGC); ``output_propagation``, when
    given, makes a module that spreads the last layer's class scores over the
    graph (APPNP).
    """

    layer: Callable[[int, int, str, float], torch.nn.Module]
    uses_graph: bool = True
    unweighted: bool = False
    linear: bool = False
    output_propagation: Callable[[], torch.nn.Module] | None = None


class _SymmetricAPPNP(APPNP):
    """PyG's APPNP whose propagation backward uses the symmetry of the undirected product graph."""

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return symmetric_spmm(adj_t, x)


class _Dense(torch.nn.Linear):
    """A linear layer in a graph layer's place: it takes the graph arguments and ignores them."""

    def forward(self, x: Tensor, *graph: Tensor) -> Tensor:
        return super().forward(x)


def _gat_layer(in_channels: int, out_channels: int, place: str, dropout: float) -> torch.nn.Module:
    heads = 1 if place == "last" else GAT_HEADS  # a hidden layer concatenates its heads
    return GATConv(in_channels, out_channels // heads, heads=heads, dropout=dropout)


KINDS: dict[str, ModelKind] = {
    "mlp": ModelKind(lambda i, o, place, p: torch.nn.Linear(i, o), uses_graph=False),
    # cached: the normalized adjacency is computed on the first call and reused;
    # the model is trained and used on one fixed graph (transductive)
    "gcn": ModelKind(lambda i, o, place, p: GCNConv(i, o, cached=True)),
    "seed": ModelKind(lambda i, o, place, p: SeedGraphConv(i, o)),
    # PyG's SAGEConv would divide a *weighted* sum by the neighbour count
    "sage": ModelKind(lambda i, o, place, p: SAGEConv(i, o), unweighted=True),
    "gat": ModelKind(_gat_layer),
    # Wu et al.'s simplification: Â^K X, then linear layers with no nonlinearity between
    # them, so the classifier is linear in Â^K X. Not cached: the input may change between
    # calls (a learned embedding, the label trick), and propagating it costs little.
    "sgc": ModelKind(lambda i, o, place, p: SGConv(i, o, K=SGC_HOPS) if place == "first" else _Dense(i, o),
                     linear=True),
    # predict, then propagate: an MLP's class scores spread by personalized PageRank
    "appnp": ModelKind(lambda i, o, place, p: _Dense(i, o),
                       output_propagation=lambda: _SymmetricAPPNP(K=APPNP_STEPS, alpha=APPNP_ALPHA, cached=True)),
}
MODELS = tuple(KINDS)


class NodeClassifier(torch.nn.Module):
    r"""A node classifier of ``layers`` layers (two by default) whose kind is named by ``kind`` (chapter 7).

    .. math::
        \mathbf{H}_1 = \operatorname{dropout}\big(\operatorname{ReLU}(f_1(\mathbf{X}, \mathbf{A}))\big),
        \quad \mathbf{H}_{l} = \operatorname{dropout}\big(\operatorname{ReLU}(f_l(\mathbf{H}_{l-1},
        \mathbf{A}))\big), \quad \mathbf{Z} = f_L(\mathbf{H}_{L-1}, \mathbf{A})

    with :math:`f` a ``Linear`` layer (``mlp``, which ignores the graph), Kipf &
    Welling's GCN (``gcn``), the article's layer
    :class:`~prodassoc_lab.layers.SeedGraphConv` (``seed``), GraphSAGE with a
    plain mean over neighbours (``sage``) or graph attention with
    ``GAT_HEADS`` heads in each hidden layer (``gat``). Two kinds change the
    template: ``sgc`` (Wu et al. 2019) has no ReLU and propagates in its first
    layer only, :math:`\mathbf{Z} = \hat{\mathbf{A}}^{K}\mathbf{X}\mathbf{W}_1
    \cdots\mathbf{W}_L` with :math:`K =` ``SGC_HOPS``, a linear classifier of the
    propagated features; ``appnp`` (Gasteiger et al. 2019) is an MLP whose class scores
    :math:`\mathbf{Z}_0` are then propagated, :math:`\mathbf{Z}_{k+1} = (1 - \alpha)
    \hat{\mathbf{A}}\mathbf{Z}_k + \alpha \mathbf{Z}_0`, for ``APPNP_STEPS`` steps with
    :math:`\alpha =` ``APPNP_ALPHA``. GCN, the article's layer, SGC and APPNP use
    the edge weights in :math:`\mathbf{A}` (:math:`\hat{\mathbf{A}}` is GCN's
    normalization with self-loops; biases are left out of the formulas); GraphSAGE sets
    them to 1; GAT learns its own. Dropout acts on the hidden layers only: the inputs are a
    handful of dense features, and dropping them at random made every model
    markedly worse when chapter 7 was written. With ``embedded_nodes`` each node
    also gets a learned vector of ``hidden`` numbers (an ``Embedding`` row, a
    product-id embedding), appended to its features: :math:`\mathbf{X}` becomes
    :math:`[\mathbf{X} \,\|\, \mathbf{E}]`, or :math:`\mathbf{E}` alone when
    ``in_channels`` is 0.

    Args:
        kind (str): one of ``MODELS`` (``"mlp"``, ``"gcn"``, ``"seed"``, ``"sage"``, ``"gat"``, ``"sgc"``,
            ``"appnp"``).
        in_channels (int): features per node, :math:`F` (0 only with ``embedded_nodes``).
        hidden (int): hidden units (a multiple of ``GAT_HEADS`` for ``gat``).
        num_classes (int): classes, :math:`C`.
        dropout (float, optional): dropout probability on the hidden layers, in
            :math:`[0, 1)`. (default: ``0.5``)
        layers (int, optional): layers :math:`L \ge 2`; the ones between the first and
            the last map ``hidden`` units to ``hidden`` units. (default: ``2``)
        embedded_nodes (int, optional): the number of nodes :math:`|\mathcal{V}|` when
            each gets a learned vector, 0 for none. (default: ``0``)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, sparse (CSR)
          adjacency :math:`(|\mathcal{V}|, |\mathcal{V}|)` with targets as rows —
          or edge indices :math:`(2, |\mathcal{E}|)` with optional edge weights
          :math:`(|\mathcal{E}|)`, the form PyG's explainers pass (chapter 10; ``gcn``
          caches its normalization of the first graph it sees, so give each graph a fresh model)
        - **output:** class scores :math:`(|\mathcal{V}|, C)`
    """

    def __init__(self, kind: str, in_channels: int, hidden: int, num_classes: int, dropout: float = 0.5,
                 layers: int = 2, embedded_nodes: int = 0) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
        for name, value in (("hidden", hidden), ("num_classes", num_classes)):
            positive_int(value, name)
        for name, value in (("in_channels", in_channels), ("embedded_nodes", embedded_nodes)):
            bounded_int(value, name, low=0)
        bounded_int(layers, "layers", low=2)
        if in_channels + embedded_nodes == 0:
            raise ValueError("in_channels is 0 and embedded_nodes is 0: the model would have no input")
        if kind == "gat" and hidden % GAT_HEADS:
            raise ValueError(f"gat splits each hidden layer over {GAT_HEADS} heads: hidden must be a multiple of "
                             f"{GAT_HEADS}, got {hidden}")
        dropout = bounded_float(dropout, "dropout", 0, 1, high_open=True)
        self.kind, self.dropout, self._spec = kind, dropout, KINDS[kind]
        self.in_channels = in_channels
        self.embedding = torch.nn.Embedding(embedded_nodes, hidden) if embedded_nodes else None
        widths = [in_channels + (hidden if embedded_nodes else 0)] + [hidden] * (layers - 1) + [num_classes]
        places = ["first"] + ["middle"] * (layers - 2) + ["last"]
        self.layers = torch.nn.ModuleList(
            [self._spec.layer(i, o, place, dropout) for (i, o), place in zip(pairwise(widths), places, strict=True)])
        propagation = self._spec.output_propagation
        self.propagation = propagation() if propagation is not None else None

    def forward(self, x: Tensor, adjacency: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        check_graph_inputs(x, adjacency, edge_weight, self.in_channels)
        if self._spec.unweighted:
            # every neighbour counts 1 (weights are non-negative)
            adjacency, edge_weight = (adjacency.sign() if adjacency.layout == torch.sparse_csr else adjacency), None
        weights = () if edge_weight is None or self.kind == "gat" else (edge_weight,)
        graph = (adjacency, *weights) if self._spec.uses_graph else ()
        if self.embedding is not None:
            if x.size(0) != self.embedding.num_embeddings:
                raise ValueError(f"the model embeds {self.embedding.num_embeddings} nodes, x has {x.size(0)} rows")
            x = torch.cat([x, self.embedding.weight], dim=1)
        for layer in self.layers[:-1]:
            x = layer(x, *graph)
            x = _dropout(x if self._spec.linear else F.relu(x), self.dropout, self.training)
        x = self.layers[-1](x, *graph)
        return x if self.propagation is None else self.propagation(x, adjacency, *weights)


def graph_seen(kind: str) -> str:
    """The graph a kind of :class:`NodeClassifier` reads: ``"none"``, ``"unweighted"`` or ``"weighted"``.

    GraphSAGE sets every edge weight to 1; GAT ignores the weights and learns
    attention coefficients instead; the MLP reads no graph.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
    spec = KINDS[kind]
    if not spec.uses_graph:
        return "none"
    return "unweighted" if spec.unweighted or kind == "gat" else "weighted"


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    # Same distribution as F.dropout, whose bernoulli_ draws the mask one element at a
    # time on a CPU; comparing uniform noise with p draws the whole mask in one vectorised
    # call, which matters because dropout runs on every layer of every epoch (chapter 7).
    if not training or p == 0:
        return x
    return x * (torch.rand_like(x) >= p) / (1 - p)

