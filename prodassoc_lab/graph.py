"""The product graph: products as nodes, association strength as weighted edges (chapter 3).

Built from a basket matrix (products bought in the same trip: complements) or a
household matrix (products bought by the same household: similar tastes), with
edges weighted by count, lift or NPMI (:mod:`prodassoc_lab.rules`),
sparsified by a minimum count and top-k neighbours, and converted to a PyTorch
Geometric ``Data`` object for the graph neural networks of chapters 4–8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prodassoc_lab.data import ITEM, BasketMatrix, TransactionDataError, check_same_id_kind, require_basket_matrix
from prodassoc_lab.rules import cooccurrence_p_value, cooccurring_pairs, lift, npmi
from prodassoc_lab.validation import bounded_float, finite_float, positive_int, require_columns

WEIGHTS = ("count", "lift", "npmi")
LABELS = ("department", "product_category", "product_type")


@dataclass(frozen=True)
class ProductGraph:
    """An undirected, weighted product graph with a node table (chapter 3).

    ``nodes`` has one row per product (position = node index) with its id, its
    ``frequency`` (rows of the basket or household matrix that hold it) and
    labels; ``edges`` one row per undirected edge with ``source < target``
    (node positions), the three candidate weights and the chosen
    ``weight``.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    weight_name: str

    def __post_init__(self) -> None:
        tables = ((self.nodes, "nodes", [ITEM]), (self.edges, "edges", ["source", "target", "weight"]))
        for table, name, columns in tables:
            if not isinstance(table, pd.DataFrame):
                raise ValueError(f"ProductGraph.{name} must be a pandas DataFrame, got {type(table).__name__}")
            require_columns(table, columns, f"ProductGraph.{name}")
        if not self.nodes[ITEM].is_unique:
            repeated = self.nodes[ITEM][self.nodes[ITEM].duplicated()]
            raise ValueError(f"ProductGraph.nodes repeats product ids, e.g. {list(repeated[:3])}")
        ends = self.edges[["source", "target"]]
        if len(ends) and not (all(pd.api.types.is_integer_dtype(t) for t in ends.dtypes)
                              and ends.min().min() >= 0 and ends.max().max() < len(self.nodes)):
            raise ValueError(
                f"ProductGraph.edges: source and target must be node positions, integers in [0, {len(self.nodes)})"
            )
        try:
            weights = self.edges["weight"].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ValueError("ProductGraph.edges: column 'weight' must be numeric, "
                             f"got {self.edges['weight'].dtype}") from None
        if not np.isfinite(weights).all():
            raise ValueError("ProductGraph.edges: every weight must be a finite number")
        if len(ends) and (ends.source == ends.target).any():
            raise ValueError("ProductGraph.edges: a product cannot be its own partner (an edge has source = target)")
        pairs = np.sort(ends.to_numpy(), axis=1)
        if len(np.unique(pairs, axis=0)) < len(pairs):
            raise ValueError("ProductGraph.edges lists a pair of products more than once")
        if self.weight_name not in WEIGHTS:
            raise ValueError(f"ProductGraph.weight_name must be one of {list(WEIGHTS)}, got {self.weight_name!r}")

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def num_edges(self) -> int:
        """Undirected edges; PyG's ``edge_index`` holds twice as many (both directions)."""
        return len(self.edges)

    def degrees(self) -> np.ndarray:
        """Number of neighbours of each node."""
        ends = np.concatenate([self.edges.source.to_numpy(), self.edges.target.to_numpy()]).astype(np.int64)
        return np.bincount(ends, minlength=self.num_nodes)

    def adjacency(self) -> sp.csr_array:
        """The symmetric weighted adjacency matrix A, ``A[i, j] = A[j, i] = weight``."""
        src, dst = self.edges.source.to_numpy(), self.edges.target.to_numpy()
        weight = self.edges.weight.to_numpy()
        return sp.csr_array(
            (np.concatenate([weight, weight]), (np.concatenate([src, dst]), np.concatenate([dst, src]))),
            shape=(self.num_nodes, self.num_nodes),
        )

    def to_pyg(self, label: str | None = "department"):
        """A ``torch_geometric.data.Data`` with both edge directions, weights and labels.

        ``y`` holds label codes (``-1`` for products without that label) and
        ``label_names`` the code → name list; ``product_id`` maps nodes back to ids.
        """
        import torch
        from torch_geometric.data import Data

        ids = self.nodes[ITEM]
        if not pd.api.types.is_integer_dtype(ids) or (
            len(ids) and not np.iinfo(np.int64).min <= int(ids.min()) <= int(ids.max()) <= np.iinfo(np.int64).max
        ):
            raise ValueError(
                f"to_pyg stores {ITEM!r} as an int64 tensor, so the ids must be integers within int64; got "
                f"dtype {ids.dtype}, e.g. {list(ids[:1])} (map them to integers first, e.g. with pandas.factorize)"
            )
        weight = self.edges.weight.to_numpy()
        data = Data(
            edge_index=self._edge_index(),
            edge_weight=torch.from_numpy(np.concatenate([weight, weight])).float(),
            num_nodes=self.num_nodes,
            product_id=torch.from_numpy(ids.to_numpy().astype(np.int64)),
        )
        if label is not None:
            codes, names = self.label_codes(label)
            data.y = torch.from_numpy(codes).long()
            data.label_names = list(names)
        return data

    def _edge_index(self):
        import torch

        src, dst = self.edges.source.to_numpy(), self.edges.target.to_numpy()
        return torch.from_numpy(np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])).long()

    def label_codes(self, label: str) -> tuple[np.ndarray, pd.Index]:
        """Integer codes of a node label (``-1`` where missing) and the names they stand for."""
        if label not in self.nodes.columns:
            raise KeyError(f"unknown label {label!r}; the node table has {list(self.nodes.columns)}")
        codes, names = pd.factorize(self.nodes[label], sort=True)
        return codes, names

    def homophily(self, labels: tuple[str, ...] = LABELS) -> pd.DataFrame:
        """Edge homophily per label (PyG's ``homophily``), with the level expected by chance.

        Edges with an unlabelled end are left out. The chance level is the
        probability that the two ends of a random edge share a label if labels
        were shuffled over edge ends: Σ_c (vol_c / vol)², vol_c the total degree
        of class c.
        """
        import torch
        from torch_geometric.utils import homophily, subgraph

        if isinstance(labels, str) or not labels:
            raise ValueError(f"labels must be a non-empty tuple of label names, got {labels!r}")
        all_edges = self._edge_index()
        rows = []
        for label in labels:
            codes, names = self.label_codes(label)
            labelled = torch.from_numpy(codes >= 0)
            edge_index, _ = subgraph(labelled, all_edges, num_nodes=self.num_nodes)
            if edge_index.size(1) == 0:
                raise ValueError(f"no edge joins two products that have a {label!r} label")
            y = torch.from_numpy(codes)
            volume = np.bincount(codes[edge_index[0].numpy()], minlength=len(names))
            rows.append(
                {
                    "label": label,
                    "classes": len(names),
                    "edges used": edge_index.size(1) // 2,
                    "homophily": float(homophily(edge_index, y, method="edge")),
                    "chance": float(((volume / volume.sum()) ** 2).sum()),
                }
            )
        return pd.DataFrame(rows).set_index("label")


def product_graph(
    baskets: BasketMatrix,
    products: pd.DataFrame,
    weight: str = "npmi",
    min_count: int = 5,
    top_k: int | None = None,
    min_weight: float | None = None,
    max_p_value: float | None = None,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> ProductGraph:
    """Build the product graph from a basket (or household) matrix (chapter 3).

    An edge joins two products bought together in at least ``min_count`` rows of
    ``baskets``; ``weight`` becomes its weight; with ``top_k``, an edge is kept
    when it is among the ``k`` heaviest edges of *either* end, so the graph stays
    symmetric and no node loses all its edges to popular neighbours. Every
    product of ``baskets`` is a node, including isolated ones.

    Args:
        baskets: rows are baskets (or households), columns products.
        products: the product table, with a ``product_id`` column.
        weight: ``"count"``, ``"lift"`` or ``"npmi"``.
        min_count: the fewest rows a pair must share to become an edge.
        top_k: keep each node's ``k`` heaviest edges (and the edges that keep them
            among another node's ``k``); ``None`` keeps all.
        min_weight: drop edges of a lower weight.
        max_p_value: drop pairs whose co-occurrence chance explains (a Poisson test,
            :func:`~prodassoc_lab.rules.cooccurrence_p_value`, chapter 8); the edges
            then carry a ``p_value`` column.
        pairs: ``cooccurring_pairs(baskets, m)`` with ``m ≤ min_count``, when the
            caller has computed it already (chapter 8 needs every pair's count
            too): the graph then reuses it instead of computing ``Xᵀ X`` again.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"unknown weight {weight!r}; choose one of {list(WEIGHTS)}")
    top_k = None if top_k is None else positive_int(top_k, "top_k")
    require_basket_matrix(baskets)
    require_columns(products, [ITEM], "products")
    if pairs is None:
        try:
            a, b, n_ab = cooccurring_pairs(baskets, min_count)
        except ValueError as exc:
            raise ValueError(f"empty product graph: {exc}") from exc
    else:
        a, b, n_ab = _reuse_pairs(pairs, baskets.n_products, positive_int(min_count, "min_count"))
    counts = baskets.product_counts().to_numpy()
    n = float(baskets.n_baskets)
    edges = pd.DataFrame(
        {
            "source": a,
            "target": b,
            "count": n_ab,
            "lift": lift(n_ab, counts[a], counts[b], n),
            "npmi": npmi(n_ab, counts[a], counts[b], n),
        }
    )
    edges["weight"] = edges[weight].astype(np.float64)
    if min_weight is not None:
        edges = edges[edges.weight >= finite_float(min_weight, "min_weight")]
    if max_p_value is not None:
        level = bounded_float(max_p_value, "max_p_value", 0, 1, low_open=True)
        edges = edges.assign(p_value=cooccurrence_p_value(
            edges["count"].to_numpy(), counts[edges.source], counts[edges.target], n))
        edges = edges[edges.p_value < level]
    if top_k is not None:
        edges = edges.iloc[_top_k_either_end(edges, baskets.n_products, int(top_k))]
    if edges.empty:
        raise ValueError(
            f"empty product graph: no edge has {weight} >= {min_weight} (and p-value < {max_p_value}) "
            f"among pairs with count >= {min_count}"
        )
    nodes = _node_table(baskets, products)
    return ProductGraph(nodes, edges.reset_index(drop=True), weight)


def _top_k_either_end(edges: pd.DataFrame, num_nodes: int, k: int) -> np.ndarray:
    """Row positions of edges among the k heaviest of at least one of their ends.

    Each end ranks its edges heaviest first, ties to the neighbour with the lower
    position, so the result is deterministic.
    """
    n = len(edges)
    ends = np.concatenate([edges.source.to_numpy(), edges.target.to_numpy()]).astype(np.int64)
    others = np.concatenate([edges.target.to_numpy(), edges.source.to_numpy()]).astype(np.int64)
    distinct, inverse = np.unique(edges.weight.to_numpy(), return_inverse=True)
    heaviness = np.tile(len(distinct) - 1 - inverse.ravel(), 2)  # 0 = heaviest weight
    if num_nodes * num_nodes * len(distinct) < 2**62:
        # One sort of a packed integer key (node, heaviness, neighbour) is several
        # times faster than np.lexsort on the millions of rows of a household graph.
        order = np.argsort((ends * len(distinct) + heaviness) * num_nodes + others)
    else:
        order = np.lexsort((others, heaviness, ends))
    sorted_ends = ends[order]
    group_start = np.searchsorted(sorted_ends, np.arange(num_nodes))
    rank = np.arange(2 * n) - group_start[sorted_ends]
    return np.unique(np.tile(np.arange(n), 2)[order][rank < k])


def _node_table(baskets: BasketMatrix, products: pd.DataFrame) -> pd.DataFrame:
    nodes = pd.DataFrame({ITEM: baskets.product_ids, "frequency": baskets.product_counts().to_numpy()})
    label_columns = [col for col in LABELS if col in products.columns]
    require_columns(products, [ITEM], "products")
    check_same_id_kind(baskets.product_ids, products[ITEM], "the basket matrix", "products")
    repeated = products[ITEM][products[ITEM].duplicated()]
    if len(repeated):
        raise TransactionDataError(
            f"products: {len(repeated)} product id(s) appear more than once, e.g. {list(repeated[:3])}; "
            "one row per product is needed to label the nodes"
        )
    return nodes.merge(products[[ITEM, *label_columns]], on=ITEM, how="left", validate="one_to_one")


def _reuse_pairs(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], n_products: int,
                 min_count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of ``pairs`` (positions ``a < b`` and counts) bought together in ``min_count`` rows or more."""
    if not isinstance(pairs, tuple) or len(pairs) != 3:
        raise ValueError("pairs must be the (a, b, counts) tuple that cooccurring_pairs returns")
    a, b, n_ab = (np.asarray(part) for part in pairs)
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise ValueError(f"pairs: a and b must hold integer column positions, got {a.dtype} and {b.dtype}")
    if not (a.shape == b.shape == n_ab.shape and a.ndim == 1):
        raise ValueError(f"pairs: a, b and counts must be 1-D and of one length, "
                         f"got {a.shape}, {b.shape}, {n_ab.shape}")
    if len(a) and not ((0 <= a) & (a < b) & (b < n_products)).all():
        raise ValueError(f"pairs must hold column positions 0 <= a < b < {n_products} of the baskets")
    keep = n_ab >= min_count
    if not keep.any():
        raise ValueError(f"empty product graph: no product pair is bought together in min_count={min_count} "
                         "baskets or more")
    return a[keep], b[keep], n_ab[keep]
