"""The source article's graph convolution, made precise, as a PyG ``MessagePassing`` layer.

Chapter 4 derives it; chapter 5 computes it exactly on the article's example.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import spmm

from prodassoc_lab.tensors import check_graph_inputs
from prodassoc_lab.validation import positive_int


class SeedGraphConv(MessagePassing):
    r"""The source article's §4.1 graph convolution with its indices fixed (chapter 4).

    .. math::
        \mathbf{h}'_j = \mathbf{W}_{\text{self}} \mathbf{h}_j
        + \mathbf{W}_{\text{neigh}} \sum_{i \in \mathcal{N}(j)} a_{ij} \mathbf{h}_i + \mathbf{b}

    The left side and the self term are node :math:`j`, the sum runs over the
    neighbours :math:`i` of :math:`j`, and :math:`a_{ij}` is the edge weight (1
    without weights). It is the layer of Morris et al. (2019), PyG's
    ``GraphConv`` with sum aggregation. ``lin_neigh`` (:math:`\mathbf{W}_{\text{neigh}}`)
    holds the bias :math:`\mathbf{b}`, added once per node, not once per
    neighbour; ``lin_self`` (:math:`\mathbf{W}_{\text{self}}`) has none. This is
    where ``GraphConv`` keeps it too (``lin_rel`` ↔ ``lin_neigh``, ``lin_root`` ↔
    ``lin_self``), and the order of operations is the same, so the two agree to
    the last bit in float32 when the weights are copied.

    Args:
        in_channels (int): features per input node, :math:`F`.
        out_channels (int): features per output node, :math:`F'`.
        bias (bool, optional): learn :math:`\mathbf{b}`. (default: ``True``)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, and either edge
          indices :math:`(2, |\mathcal{E}|)` with optional edge weights
          :math:`(|\mathcal{E}|)`, or a sparse adjacency
          :math:`(|\mathcal{V}|, |\mathcal{V}|)` whose rows are the targets
        - **output:** node features :math:`(|\mathcal{V}|, F')`
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(aggr="add")
        in_channels, out_channels = positive_int(in_channels, "in_channels"), positive_int(out_channels, "out_channels")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.lin_neigh = torch.nn.Linear(in_channels, out_channels, bias=bias)
        self.lin_self = torch.nn.Linear(in_channels, out_channels, bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_neigh.reset_parameters()
        self.lin_self.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        self._check_inputs(x, edge_index, edge_weight)
        # Σ a_ij W_neigh h_i = W_neigh Σ a_ij h_i: sum first, then transform. Same
        # order of float operations as GraphConv, so copied weights give equal outputs.
        neighbours = self.propagate(edge_index, x=x, edge_weight=edge_weight)
        return self.lin_neigh(neighbours) + self.lin_self(x)

    def _check_inputs(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None) -> None:
        check_graph_inputs(x, edge_index, edge_weight, self.in_channels)
        if x.dtype != self.lin_self.weight.dtype:
            raise TypeError(f"x is {x.dtype} but the layer's weights are {self.lin_self.weight.dtype}; "
                            "convert one of them (e.g. x.float())")

    def message(self, x_j: Tensor, edge_weight: Tensor | None) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        # Given a sparse adjacency A (rows = targets), the weighted neighbour sum is
        # the product A @ X: one sparse matrix product instead of one message per
        # edge, which is faster on a CPU (chapter 7 times it for GCNConv).
        return spmm(adj_t, x, reduce="sum")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"
