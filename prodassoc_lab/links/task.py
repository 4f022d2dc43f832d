"""A year of baskets split at a cut-off week: what is known before it, which associations appear after it (chapter 8).

A model that predicts associations must be judged on associations it could not
have seen. Everything a model may use (graph, features, popularity) comes from
the weeks up to the cut-off; the weeks after it only provide the answers, for
two questions:

- *new associations*: which pairs of known products, bought together at most
  ``max_earlier_count`` times before, are associated after the cut-off;
- *cold start*: which known products a product first sold after the cut-off is
  associated with.

"Associated" is one rule for both periods (:data:`ASSOCIATION`): bought together
in ``min_count`` baskets or more, more often than chance at level
``max_p_value`` (a Poisson test, :func:`~prodassoc_lab.rules.cooccurrence_p_value`), and among
the ``top_k`` highest-NPMI such partners of either product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prodassoc_lab.data import ITEM, BasketMatrix, basket_matrix, filter_products, select_products
from prodassoc_lab.graph import ProductGraph, product_graph
from prodassoc_lab.links.evaluation import LinkTask, pair_task
from prodassoc_lab.rules import cooccurring_pairs
from prodassoc_lab.tensors import node_indices
from prodassoc_lab.validation import bounded_int, positive_int, require_columns

#: The rule of chapter 8 — bought together in 5 baskets or more, with p < 0.001, and among the 10
#: highest-NPMI partners of either product.
ASSOCIATION = {"min_count": 5, "max_p_value": 1e-3, "top_k": 10}
WEEK = "week"


@dataclass(frozen=True)
class TimeSplit:
    """The two link-prediction tasks of chapter 8, built by :func:`time_split`.

    Node positions refer to ``earlier_graph.nodes`` (the *known* products).
    ``later_edges`` lists the associations after the cut-off by product id
    (``product_a < product_b``); ``new_pairs`` those between known products that
    were bought together at most ``max_earlier_count`` times before (positions,
    ``source < target``); ``cold_pairs`` those between a new product (``product_id``)
    and a known one (``target`` position).
    """

    cutoff_week: int
    max_earlier_count: int
    earlier: BasketMatrix
    earlier_graph: ProductGraph
    earlier_counts: sp.csr_array
    later: BasketMatrix
    later_edges: pd.DataFrame
    new_pairs: pd.DataFrame
    new_products: pd.Index
    cold_pairs: pd.DataFrame

    @property
    def known_ids(self) -> pd.Index:
        return pd.Index(self.earlier_graph.nodes[ITEM])

    @property
    def cold_products(self) -> pd.Index:
        """New products with at least one known partner after the cut-off (the cold-start queries)."""
        return pd.Index(np.unique(self.cold_pairs[ITEM]), name=ITEM)

    def new_association_task(self, pairs: pd.DataFrame | None = None,
                             also_excluded: pd.DataFrame | None = None) -> LinkTask:
        """Queries: known products with a new partner; candidates: known products bought with it at most
        ``max_earlier_count`` times before.

        ``pairs`` (default: all ``new_pairs``) are the true partners asked
        about; the pairs of ``also_excluded`` (``source``/``target`` positions)
        are not candidates either — chapter 8 validates on some new pairs while
        training on the others, which are known partners, not wrong answers.
        """
        pairs = self.new_pairs if pairs is None else pairs
        excluded = self.earlier_counts > self.max_earlier_count
        if also_excluded is not None and len(also_excluded):
            for end in ("source", "target"):
                node_indices(also_excluded[end].to_numpy(), excluded.shape[0], f"also_excluded.{end}")
            excluded = excluded + sp.csr_array(
                (np.ones(2 * len(also_excluded), dtype=bool),
                 (np.concatenate([also_excluded.source, also_excluded.target]),
                  np.concatenate([also_excluded.target, also_excluded.source]))), shape=excluded.shape)
        return pair_task("new associations", pairs.source.to_numpy(), pairs.target.to_numpy(), excluded)

    def cold_start_task(self) -> LinkTask:
        """Queries: new products with a known partner (by id); candidates: every known product."""
        queries = self.cold_products
        row = queries.get_indexer(self.cold_pairs[ITEM])
        truth = sp.csr_array((np.ones(len(row), dtype=np.int8), (row, self.cold_pairs.target.to_numpy())),
                             shape=(len(queries), self.earlier_graph.num_nodes))
        return LinkTask("cold start", queries.to_numpy(), truth, None)


def time_split(
    transactions: pd.DataFrame,
    products: pd.DataFrame,
    cutoff_week: int = 39,
    min_baskets: int = 50,
    min_new_baskets: int = 5,
    max_earlier_count: int = 1,
) -> TimeSplit:
    """Split cleaned transactions (chapter 1) after ``cutoff_week`` into the tasks of chapter 8.

    Known products are those in ``min_baskets`` baskets or more up to the
    cut-off; new products are those first sold after it, in ``min_new_baskets``
    later baskets or more. A product sold before the cut-off but in fewer than
    ``min_baskets`` baskets is neither: it takes part in no task.

    Args:
        transactions: cleaned transaction lines with their ``week``.
        products: the product catalogue.
        cutoff_week: last week of the known past.
        min_baskets: baskets up to the cut-off that make a product known.
        min_new_baskets: later baskets that make a product first sold after the cut-off a new product.
        max_earlier_count: joint baskets up to the cut-off above which a pair is not a new association.
    """
    require_columns(transactions, [WEEK], "transactions", hint="a time split needs the week of each line")
    weeks = transactions[WEEK]
    if not pd.api.types.is_integer_dtype(weeks):
        raise ValueError(f"transactions.{WEEK} must hold integer week numbers, got {weeks.dtype}")
    if weeks.isna().any():
        raise ValueError(f"transactions.{WEEK} has {int(weeks.isna().sum())} missing value(s); every line needs its "
                         "week to fall on one side of the cut-off")
    first, last = int(weeks.min()), int(weeks.max())
    cutoff_week = bounded_int(cutoff_week, "cutoff_week", first, last)  # some weeks must remain after it
    min_baskets = positive_int(min_baskets, "min_baskets")
    min_new_baskets = positive_int(min_new_baskets, "min_new_baskets")
    max_earlier_count = bounded_int(max_earlier_count, "max_earlier_count", 0)

    before = weeks <= cutoff_week
    earlier = filter_products(basket_matrix(transactions[before]), min_baskets)
    a, b, counts = cooccurring_pairs(earlier, 1)  # every pair's count; the graph keeps the frequent ones
    earlier_graph = product_graph(earlier, products, "npmi", **ASSOCIATION, pairs=(a, b, counts))
    n = earlier.n_products
    earlier_counts = sp.csr_array((np.concatenate([counts, counts]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                                  shape=(n, n))

    later_all = basket_matrix(transactions[~before])
    first_week = transactions.groupby(ITEM)[WEEK].min()
    later_counts = later_all.product_counts()
    new = first_week.index[(first_week > cutoff_week).to_numpy()]
    new_products = new[(later_counts.reindex(new).fillna(0) >= min_new_baskets).to_numpy()]
    known = earlier.product_ids
    later = select_products(later_all, known.intersection(later_all.product_ids).union(new_products))
    later_graph = product_graph(later, products, "npmi", **ASSOCIATION)
    later_edges = _edges_by_id(later_graph)

    position = pd.Series(np.arange(n), index=known)
    both_known = later_edges.product_a.isin(known) & later_edges.product_b.isin(known)
    pairs = later_edges[both_known]
    source, target = position[pairs.product_a].to_numpy(), position[pairs.product_b].to_numpy()
    before_count = _entries(earlier_counts, source, target)
    fresh = before_count <= max_earlier_count
    new_pairs = pd.DataFrame({"source": np.minimum(source, target)[fresh], "target": np.maximum(source, target)[fresh],
                              "earlier_count": before_count[fresh], "later_count": pairs["count"].to_numpy()[fresh]})

    cold_rows = []
    for new_end, known_end in (("product_a", "product_b"), ("product_b", "product_a")):
        hit = later_edges[new_end].isin(new_products) & later_edges[known_end].isin(known)
        cold_rows.append(pd.DataFrame({ITEM: later_edges.loc[hit, new_end].to_numpy(),
                                       "target": position[later_edges.loc[hit, known_end]].to_numpy(),
                                       "later_count": later_edges.loc[hit, "count"].to_numpy()}))
    cold_pairs = pd.concat(cold_rows, ignore_index=True).sort_values([ITEM, "target"], ignore_index=True)
    return TimeSplit(cutoff_week, max_earlier_count, earlier, earlier_graph, earlier_counts, later, later_edges,
                     new_pairs.sort_values(["source", "target"], ignore_index=True), new_products, cold_pairs)


def _entries(matrix: sp.csr_array, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    values = matrix[rows, columns]  # SciPy returns a sparse array when there are no pairs at all
    return np.asarray(values.toarray() if sp.issparse(values) else values).ravel()


def _edges_by_id(graph: ProductGraph) -> pd.DataFrame:
    ids = graph.nodes[ITEM].to_numpy()
    a, b = ids[graph.edges.source.to_numpy()], ids[graph.edges.target.to_numpy()]
    first = a < b  # also orders string ids, which np.minimum cannot
    return pd.DataFrame({"product_a": np.where(first, a, b), "product_b": np.where(first, b, a),
                         "count": graph.edges["count"].to_numpy(), "npmi": graph.edges.npmi.to_numpy(),
                         "p_value": graph.edges.p_value.to_numpy()})
