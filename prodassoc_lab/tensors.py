"""Checks of the tensors that layers and models take: one wording, and no silent wrong result.

A NaN edge weight or feature turns every output it reaches into NaN; a negative
node index silently means the last nodes (Python's wrap-around); an index past
the end or a wrongly sized adjacency ends in an indexing error deep inside
PyTorch or PyG that names neither the argument nor the sizes. The graph layers
and models of the book call these checks first, so each of those mistakes
raises ``ValueError`` (or ``TypeError`` for a wrong type) naming the argument.
Unlike :mod:`prodassoc_lab.validation`, this module imports PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import is_torch_sparse_tensor


class NonFiniteError(ValueError):
    """A tensor holds NaN or infinite entries where only finite numbers make sense (:func:`require_finite`)."""


def require_finite(values: Tensor, name: str) -> None:
    """:class:`NonFiniteError` naming ``name`` and the count unless every entry of ``values`` is finite."""
    # The sum is non-finite whenever an entry is and needs no boolean temporary (checked on every
    # attention call, so its cost matters); it can also overflow, so the elementwise test decides.
    if torch.isfinite(values.detach().sum()):
        return
    bad = ~torch.isfinite(values)
    if bad.any():
        raise NonFiniteError(f"{name} has {int(bad.sum())} NaN or infinite value(s); "
                             "every entry must be a finite number")


def node_indices(indices: object, num_nodes: int, name: str) -> Tensor:
    """``indices`` as a ``torch.long`` tensor if every entry is an integer in ``[0, num_nodes)``.

    Negative entries are refused rather than counted from the end: a node
    index of ``-1`` is a mistake far more often than a wish for the last node.
    """
    if isinstance(indices, Tensor):
        values = indices
    else:
        array = np.asarray(indices)
        if array.dtype == object or array.dtype.kind not in "iub":
            raise TypeError(f"{name} must hold integer node indices, got {array.dtype} values")
        values = torch.from_numpy(array.astype(np.int64))  # a copy: the caller's array may be read-only
    if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer node indices, got {values.dtype}")
    values = values.long()
    if values.numel() and (values.min() < 0 or values.max() >= num_nodes):
        raise ValueError(f"{name} must hold node indices in [0, {num_nodes}); got values from "
                         f"{int(values.min())} to {int(values.max())}")
    return values


def check_graph_inputs(x: Tensor, graph: Tensor, edge_weight: Tensor | None, in_channels: int) -> None:
    """Check a graph layer's or model's inputs: features ``x``, and a sparse adjacency or ``edge_index``.

    ``x`` must be a finite ``(num_nodes, in_channels)`` tensor; ``graph`` either
    a sparse ``(num_nodes, num_nodes)`` adjacency with finite values (and no
    ``edge_weight``, which it carries itself) or an integer ``(2, num_edges)``
    ``edge_index`` with entries in ``[0, num_nodes)``; ``edge_weight``, if
    given, finite with one entry per edge.
    """
    for name, value in (("x", x), ("edge_index", graph), ("edge_weight", edge_weight)):
        if (value is not None or name != "edge_weight") and not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if x.dim() != 2 or x.size(-1) != in_channels:
        raise ValueError(f"x must have shape (num_nodes, {in_channels}), got {tuple(x.shape)}")
    require_finite(x, "x")
    num_nodes = x.size(0)
    if is_torch_sparse_tensor(graph):
        if edge_weight is not None:
            raise ValueError("a sparse adjacency carries its own weights; do not also pass edge_weight")
        if graph.shape != (num_nodes, num_nodes):
            raise ValueError(f"the sparse adjacency must be {num_nodes}×{num_nodes} to match x, "
                             f"got {tuple(graph.shape)}")
        values = graph._values() if graph.layout == torch.sparse_coo else graph.values()  # COO may be uncoalesced
        require_finite(values, "the adjacency")
        return
    if graph.dim() != 2 or graph.size(0) != 2:
        raise ValueError(f"edge_index must have shape (2, num_edges), got {tuple(graph.shape)}")
    node_indices(graph, num_nodes, "edge_index")
    if edge_weight is not None:
        if edge_weight.dtype != x.dtype:
            raise TypeError(f"edge_weight is {edge_weight.dtype} but x is {x.dtype}; convert one of them")
        if edge_weight.shape != (graph.size(1),):
            raise ValueError(f"edge_weight must have shape ({graph.size(1)},) to match edge_index, "
                             f"got {tuple(edge_weight.shape)}")
        require_finite(edge_weight, "edge_weight")
