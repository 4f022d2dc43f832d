"""Classic link-prediction scores from the earlier product graph: popularity and neighbourhood overlap (chapter 8).

With :math:`\\Gamma(u)` the neighbours of :math:`u` and :math:`d_w = |\\Gamma(w)|`:

- preferential attachment :math:`d_u d_v`;
- common neighbours :math:`|\\Gamma(u) \\cap \\Gamma(v)|`;
- Adamic–Adar :math:`\\sum_{w \\in \\Gamma(u) \\cap \\Gamma(v)} 1 / \\log d_w`;
- Jaccard :math:`|\\Gamma(u) \\cap \\Gamma(v)| / |\\Gamma(u) \\cup \\Gamma(v)|`.

Each takes the graph's 0/1 adjacency (weights ignored, as in the definitions)
and returns a dense ``len(queries) × n`` score matrix, one row per query node,
computed with sparse products instead of loops over pairs. Chapter 8 checks
them against a hand computation and against networkx.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _binary(adjacency: sp.sparray | sp.spmatrix) -> sp.csr_array:
    if not sp.issparse(adjacency) or adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError("adjacency must be a square scipy sparse matrix")
    binary = sp.csr_array(adjacency != 0, dtype=np.float64)
    if (binary != binary.T).nnz:
        raise ValueError("adjacency must be symmetric: the product graph is undirected")
    if binary.diagonal().any():
        raise ValueError("adjacency has self-loops; a product is not its own partner")
    return binary


def _rows(queries: np.ndarray, n: int) -> np.ndarray:
    rows = np.asarray(queries)
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or (len(rows) and (rows.min() < 0 or rows.max() >= n)):
        raise ValueError(f"queries must be a 1-D array of node positions in [0, {n})")
    return rows


def degrees(adjacency: sp.sparray | sp.spmatrix) -> np.ndarray:
    """Number of neighbours of every node."""
    return np.asarray(_binary(adjacency).sum(axis=1)).ravel()


def preferential_attachment(adjacency: sp.sparray | sp.spmatrix, queries: np.ndarray) -> np.ndarray:
    """:math:`d_u d_v`: popular products attract partners (for one query, a ranking by degree)."""
    degree = degrees(adjacency)
    return np.outer(degree[_rows(queries, len(degree))], degree)


def common_neighbours(adjacency: sp.sparray | sp.spmatrix, queries: np.ndarray) -> np.ndarray:
    """:math:`|\\Gamma(u) \\cap \\Gamma(v)|`, the entries of :math:`A^2`."""
    binary = _binary(adjacency)
    return (binary[_rows(queries, binary.shape[0])] @ binary).toarray()


def adamic_adar(adjacency: sp.sparray | sp.spmatrix, queries: np.ndarray) -> np.ndarray:
    """:math:`\\sum_{w \\in \\Gamma(u) \\cap \\Gamma(v)} 1/\\log d_w`: a shared partner counts less the more
    partners it has.

    A common neighbour has degree 2 or more, so :math:`\\log d_w > 0`.
    """
    binary = _binary(adjacency)
    degree = np.asarray(binary.sum(axis=1)).ravel()
    inverse_log = np.zeros_like(degree)
    # degree ≤ 1: never a common neighbour
    np.divide(1.0, np.log(np.maximum(degree, 2)), out=inverse_log, where=degree > 1)
    rows = binary[_rows(queries, binary.shape[0])]
    return (rows @ sp.diags_array(inverse_log) @ binary).toarray()


def jaccard(adjacency: sp.sparray | sp.spmatrix, queries: np.ndarray) -> np.ndarray:
    """:math:`|\\Gamma(u) \\cap \\Gamma(v)| / |\\Gamma(u) \\cup \\Gamma(v)|` (0 when both are isolated)."""
    binary = _binary(adjacency)
    rows = _rows(queries, binary.shape[0])
    degree = np.asarray(binary.sum(axis=1)).ravel()
    common = (binary[rows] @ binary).toarray()
    union = degree[rows, None] + degree[None, :] - common
    return np.divide(common, union, out=np.zeros_like(common), where=union > 0)
