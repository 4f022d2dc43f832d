"""Synthetic data shared by several test modules, and the ``real_data`` marker's use.

Builders used by one module only stay in that module (test_data's order lines with
defects, test_links' weekly transactions, ...); plain builders that several modules import
live in ``tests/synthetic.py`` (chapter 9's household trips).

Tests that load the real Complete Journey year (or read what was computed from it in
``book/results``) carry ``@pytest.mark.real_data`` (registered in pyproject.toml):
``pytest -m "not real_data"`` runs the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import pytest
import torch
from torch_geometric.data import Data

from prodassoc_lab.data import BasketMatrix, basket_matrix
from prodassoc_lab.pyg_data import sparse_adjacency


def _basket_matrix_from_lists(baskets: Sequence[Sequence[object]]) -> BasketMatrix:
    """A basket matrix whose basket ``i`` (basket id ``i``) holds the products listed at position ``i``."""
    lines = pd.DataFrame([(b, p) for b, items in enumerate(baskets) for p in items],
                         columns=["basket_id", "product_id"])
    return basket_matrix(lines)


@pytest.fixture
def basket_matrix_from_lists() -> Callable[[Sequence[Sequence[object]]], BasketMatrix]:
    """Builds a :class:`BasketMatrix` from a list of baskets, each a list of product ids."""
    return _basket_matrix_from_lists


def _planted_communities(n_per_class: int, p_in: float, p_out: float, n_features: int, seed: int = 0) -> Data:
    """Three communities of ``n_per_class`` nodes, one class each (planted partition).

    An edge joins two nodes of one community with probability ``p_in``, of two with ``p_out``;
    the features are Gaussian noise, so only the graph tells the classes apart. Undirected
    (both directions in ``edge_index``), with the sparse adjacency ``adj_t`` attached.
    """
    generator = torch.Generator().manual_seed(seed)
    n = 3 * n_per_class
    y = torch.arange(n) // n_per_class
    probability = torch.where(y[:, None] == y[None, :], torch.tensor(p_in), torch.tensor(p_out))
    upper = torch.triu(torch.rand(n, n, generator=generator) < probability, diagonal=1)
    edges = upper.nonzero().T
    x = torch.randn(n, n_features, generator=generator)
    return sparse_adjacency(Data(x=x, y=y, edge_index=torch.cat([edges, edges.flip(0)], dim=1), num_nodes=n))


@pytest.fixture
def planted_communities() -> Callable[..., Data]:
    """Builds three planted communities: ``planted_communities(n_per_class, p_in, p_out, n_features, seed=0)``."""
    return _planted_communities
