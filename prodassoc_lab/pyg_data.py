"""The product graph as PyG data for node classification: features, labels, a sparse adjacency (chapter 7).

Sits between the graph (:mod:`prodassoc_lab.graph`) and the models: it adds
node features and labels to ``ProductGraph.to_pyg`` and the CSR adjacency that
the models and the propagation baselines multiply by.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import ToSparseTensor

from prodassoc_lab.datasets import cleaned_complete_journey, load_product_graph
from prodassoc_lab.features import product_features
from prodassoc_lab.graph import ProductGraph
from prodassoc_lab.tensors import node_indices, require_finite


def load_node_data(
    graph: str = "household", weight: str = "npmi", top_k: int = 10, label: str = "product_category"
) -> Data:
    """The Complete Journey product graph as a PyG ``Data`` ready for node classification.

    See :func:`node_data`; the features are :func:`~prodassoc_lab.features.product_features`.
    """
    product_graph = load_product_graph(kind=graph, weight=weight, top_k=top_k)
    clean, products = cleaned_complete_journey()
    return node_data(product_graph, label, product_features(clean, products, pd.Index(product_graph.nodes.product_id)))


def node_data(product_graph: ProductGraph, label: str, features: pd.DataFrame) -> Data:
    """``Data`` with features ``x`` (rows of ``features``, indexed by product id), labels ``y`` and ``adj_t``.

    Edges with a weight ≤ 0 are dropped: a pair bought together less often
    than chance (negative NPMI) is no evidence of similarity, and negative
    weights make the normalization D^-1/2 of GCN and label propagation
    undefined. ``adj_t`` is added by :func:`sparse_adjacency`.
    """
    if not isinstance(features, pd.DataFrame) or not features.index.equals(pd.Index(product_graph.nodes.product_id)):
        raise ValueError("features must be a DataFrame with one row per graph node, "
                         "indexed by product_id in node order")
    try:
        values = features.to_numpy(dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"features must be numeric; dtypes {dict(features.dtypes.astype(str))}") from None
    if not np.isfinite(values).all():
        bad = features.columns[~np.isfinite(values).all(axis=0)].tolist()
        raise ValueError(f"features hold NaN or infinite values in column(s) {bad}")
    data = product_graph.to_pyg(label)
    keep = data.edge_weight > 0
    data.edge_index, data.edge_weight = data.edge_index[:, keep], data.edge_weight[keep]
    data.x = torch.tensor(values)
    data.feature_names = list(features.columns)
    return sparse_adjacency(data)


def sparse_adjacency(data: Data) -> Data:
    """Add ``adj_t`` to ``data`` and return it: the (weighted) adjacency as a sparse CSR matrix, rows = targets.

    One sparse matrix product per layer replaces one message per edge, which
    makes GCN training faster on a CPU (chapter 7 checks it).
    Edge weights come from ``edge_weight`` when present and must not be negative.
    """
    if getattr(data, "edge_index", None) is None or data.num_nodes is None:
        raise ValueError("data needs edge_index and num_nodes to build its adjacency")
    edge_index = data.edge_index
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2 \
            or edge_index.is_floating_point():
        raise ValueError("edge_index must be an integer tensor of shape (2, num_edges)")
    node_indices(edge_index, data.num_nodes, "edge_index")
    weight = data.edge_weight if "edge_weight" in data else None
    if weight is not None and weight.shape != (edge_index.size(1),):
        raise ValueError(f"edge_weight must have one entry per edge ({edge_index.size(1)}), got {tuple(weight.shape)}")
    if weight is not None:
        if not weight.is_floating_point():
            raise TypeError(f"edge_weight must hold floating-point weights, got {weight.dtype}")
        require_finite(weight, "edge_weight")
    if weight is not None and (weight < 0).any():
        raise ValueError(
            f"{int((weight < 0).sum())} edge weight(s) are negative (smallest {weight.min().item():.3g}); "
            "normalized propagation needs non-negative weights, so drop those edges first"
        )
    with warnings.catch_warnings():
        # torch flags CSR support as beta; PyG's conversion triggers the notice on every call
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        warnings.filterwarnings("ignore", message="Sparse invariant checks", category=UserWarning)
        # Converting a bare copy keeps PyG from sorting other attributes that merely have E entries.
        bare = Data(edge_index=data.edge_index, edge_weight=weight, num_nodes=data.num_nodes)
        data.adj_t = ToSparseTensor(layout=torch.sparse_csr)(bare).adj_t
    return data


def require_adjacency(data: Data) -> Tensor:
    """``data.adj_t``, or a ``ValueError`` that says how to add it."""
    if getattr(data, "adj_t", None) is None:
        raise ValueError("data has no adj_t; add it with prodassoc_lab.pyg_data.sparse_adjacency(data)")
    return data.adj_t
