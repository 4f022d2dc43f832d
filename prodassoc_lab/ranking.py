"""One ranking core: top-``k`` lists and the retrieval metrics read from them (chapters 6, 8 and 9).

A ranking problem is a queries × items matrix of scores. :func:`top_k` turns it
into a queries × ``k`` matrix of item positions, best first, with one tie rule
everywhere in the book: **a higher score first; among equal scores, the lower
column index first** (what a stable sort gives), so a list never depends on
the CPU. ``-inf`` means "never rank this item", and so does ``exclude``; a slot
that only such items could fill holds ``-1``. ``+inf`` is a legitimate best
score. NaN cannot be ranked and is refused.

:func:`query_metrics` and :func:`mean_metrics` read the lists against a sparse
queries × items matrix of targets (non-zero: relevant), with binary relevance,
as the retrieval literature (and ``torch_geometric.metrics``) defines them, for
a list ``R`` cut at ``k`` and a query's targets ``T``:

- Recall@k ``|R ∩ T| / |T|``;
- NDCG@k ``Σ_{i: R_i ∈ T} 1/log2(i + 1) / Σ_{i ≤ min(k, |T|)} 1/log2(i + 1)`` (rank ``i`` from 1);
- MRR@k ``1 / (rank of the first item of T in R)``, 0 when none is;
- hit@k ``[R ∩ T ≠ ∅]``.

A list that names an item twice, or a position outside ``-1 … n_items - 1``,
would be miscounted (a duplicated target counts twice), so it is refused.

This module is a foundation: it imports nothing from the chapter wings.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from prodassoc_lab.validation import positive_int

#: The metrics :func:`query_metrics` computes, by their column names.
METRICS = ("recall", "ndcg", "mrr", "hit")


def _matrix(scores: object) -> np.ndarray:
    """``scores`` as a 2-D numeric NumPy array (a PyTorch tensor is detached and moved to the CPU)."""
    if hasattr(scores, "detach"):
        scores = scores.detach().cpu().numpy()
    if sp.issparse(scores):
        raise TypeError("scores must be a dense queries × items matrix, got a sparse one; call .toarray() first")
    values = np.asarray(scores)
    if values.ndim != 2:
        raise ValueError(f"scores must be a queries × items matrix, got shape {values.shape}")
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise TypeError(f"scores must be real numbers, got dtype {values.dtype}")
    # integers as floats: negating an unsigned integer would wrap around
    return values if np.issubdtype(values.dtype, np.floating) else values.astype(np.float64)


def top_k(scores: object, k: int, exclude: sp.sparray | sp.spmatrix | np.ndarray | None = None) -> np.ndarray:
    """The ``k`` best items of each query, best first, as a queries × ``k`` matrix of column positions.

    Ties: a higher score first; among equal scores, the lower column index first.
    Items with score ``-inf`` or marked in ``exclude`` (a sparse matrix, non-zero
    = excluded, or a boolean array, shaped like ``scores``) are never ranked;
    slots left without a rankable item hold ``-1``. ``+inf`` ranks first. NaN
    is refused.
    """
    k = positive_int(k, "k")
    values = _matrix(scores)
    if np.isnan(values).any():
        query, item = (int(i) for i in np.argwhere(np.isnan(values))[0])
        raise ValueError(f"scores hold {int(np.isnan(values).sum())} NaN value(s), the first at query {query}, "
                         f"item {item}; a NaN cannot be ranked")
    if k > values.shape[1]:
        raise ValueError(f"k={k} is more than the {values.shape[1]} items to rank")
    if exclude is not None:
        values = values.astype(np.result_type(values.dtype, np.float32))  # a copy that can hold -inf
        if sp.issparse(exclude):
            if exclude.shape != values.shape:
                raise ValueError(f"exclude must have the shape of scores {values.shape}, got {exclude.shape}")
            marked = sp.coo_array(exclude)
            nonzero = marked.data != 0
            values[marked.row[nonzero], marked.col[nonzero]] = -np.inf
        else:
            mask = np.asarray(exclude)
            if mask.dtype != bool:  # casting would read 2 or NaN as True
                raise TypeError(f"exclude must be a sparse matrix or a boolean array, got dtype {mask.dtype}")
            if mask.shape != values.shape:
                raise ValueError(f"exclude must have the shape of scores {values.shape}, got {mask.shape}")
            values[mask] = -np.inf
    if 4 * k >= values.shape[1]:  # a long list: a stable sort of each row is the fastest way
        top = np.argsort(-values, axis=1, kind="stable")[:, :k]
        top[np.take_along_axis(values, top, axis=1) == -np.inf] = -1
        return top
    # Sorting only the entries at or above each row's k-th largest value gives the same lists as a
    # full stable sort, and a short list of many items sorts a small fraction of each row.
    kth = np.partition(values, -k, axis=1)[:, -k]
    rows, cols = np.nonzero(values >= kth[:, None])
    order = np.lexsort((cols, -values[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    place = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = place < k
    top = np.empty((values.shape[0], k), dtype=np.int64)
    top[rows[keep], place[keep]] = cols[keep]
    top[np.take_along_axis(values, top, axis=1) == -np.inf] = -1
    return top


def query_metrics(top: np.ndarray, targets: sp.sparray | sp.spmatrix,
                  k: int | None = None) -> dict[str, np.ndarray]:
    """Recall@k, NDCG@k, MRR@k and hit@k of every query's list (see the module's definitions).

    ``top`` is queries × (at least ``k``) item positions, best first, ``-1`` for
    an empty slot; ``targets`` a sparse queries × items matrix, non-zero where an
    item is relevant. A query without targets gets NaN. Returns arrays keyed by
    :data:`METRICS`.
    """
    top = np.asarray(top)
    if top.ndim != 2 or not np.issubdtype(top.dtype, np.integer):
        raise ValueError(f"top must be a queries × positions matrix of integers, got shape {top.shape}, "
                         f"dtype {top.dtype}")
    if top.shape[0] == 0:
        raise ValueError("there is no query to score: top has no row")
    if top.shape[1] == 0:
        raise ValueError("top has no column: every list is empty")
    k = top.shape[1] if k is None else positive_int(k, "k")
    if k > top.shape[1]:
        raise ValueError(f"top must be queries × (at least k={k}) positions, got shape {top.shape}")
    if not sp.issparse(targets) or targets.ndim != 2:
        raise TypeError(f"targets must be a sparse queries × items matrix, got {type(targets).__name__}")
    truth = sp.coo_array(targets)
    if not np.isfinite(truth.data).all() or (truth.data < 0).any():
        raise ValueError(f"targets stores {int((~np.isfinite(truth.data) | (truth.data < 0)).sum())} NaN, infinite "
                         "or negative value(s); mark a relevant item with 1")
    n_queries, n_items = truth.shape
    if n_queries != top.shape[0]:
        raise ValueError(f"top has {top.shape[0]} rows but targets {n_queries}: one row per query in both")
    top = top[:, :k]
    if ((top < -1) | (top >= n_items)).any():
        raise ValueError(f"top holds positions outside -1 … {n_items - 1}")
    ordered = np.sort(top, axis=1)
    twice = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if twice.any():
        query = int(np.flatnonzero(twice.any(axis=1))[0])
        raise ValueError(f"a list names an item twice, the first at query {query}: its hits would count twice")
    marked = sp.csr_array(truth)  # sums duplicate entries, so each (query, item) is stored once
    marked.eliminate_zeros()
    size = np.diff(marked.indptr)
    relevant = listed_in(top, marked)
    hits = relevant.sum(axis=1)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.maximum(np.minimum(size, k), 1) - 1]
    has = size > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "recall": np.where(has, hits / size, np.nan),
            "ndcg": np.where(has, (relevant * discount).sum(axis=1) / ideal, np.nan),
            "mrr": np.where(has, (relevant / np.arange(1, k + 1)).max(axis=1), np.nan),
            "hit": np.where(has, (hits > 0).astype(float), np.nan),
        }


def listed_in(top: np.ndarray, marked: sp.sparray | sp.spmatrix) -> np.ndarray:
    """Which entries of the lists ``top`` (queries × positions, ``-1`` for an empty slot) are non-zero in ``marked``.

    A direct lookup of each listed ``(query, item)`` in the sparse queries × items
    matrix ``marked``; empty slots are ``False``. Returns a boolean array shaped like ``top``.
    """
    top = np.asarray(top)
    marked = sp.csr_array(marked)
    if top.ndim != 2 or top.shape[0] != marked.shape[0] or ((top < -1) | (top >= marked.shape[1])).any():
        raise ValueError(f"top must be a {marked.shape[0]} × positions matrix of entries in -1 … "
                         f"{marked.shape[1] - 1}, got shape {top.shape}")
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    items = top.ravel()
    filled = items >= 0
    found = np.zeros(items.shape, dtype=bool)
    if filled.any():
        values = marked[rows[filled], items[filled]]
        found[filled] = (values.toarray() if sp.issparse(values) else np.asarray(values)).ravel() != 0
    return found.reshape(top.shape)


def mean_metrics(top: np.ndarray, targets: sp.sparray | sp.spmatrix, k: int | None = None) -> dict[str, float]:
    """:func:`query_metrics` averaged over the queries that have a target (as ``torch_geometric.metrics`` does).

    Refused when no query has a target: there is nothing to average.
    """
    per_query = query_metrics(top, targets, k)
    has = ~np.isnan(per_query["recall"])
    if not has.any():
        raise ValueError("no query has a target: there is nothing to score")
    return {name: float(values[has].mean()) for name, values in per_query.items()}
