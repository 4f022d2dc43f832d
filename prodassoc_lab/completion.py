"""Basket completion: hide one product of a basket, rank all products to find it (chapter 6).

The task and its metrics are shared by every method the book compares
(popularity, co-occurrence, attention models), so that all are scored on the
same held-out baskets with the same hidden products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from prodassoc_lab.data import BasketMatrix
from prodassoc_lab.ranking import mean_metrics, top_k
from prodassoc_lab.validation import positive_int, seed_value


@dataclass(frozen=True)
class CompletionTask:
    """Training baskets and held-out (context, hidden product) pairs, as column positions."""

    train: list[np.ndarray]
    context: list[np.ndarray]
    hidden: np.ndarray
    n_products: int

    def __post_init__(self) -> None:
        positive_int(self.n_products, "n_products")
        hidden = np.asarray(self.hidden)
        if hidden.ndim != 1 or len(hidden) != len(self.context):
            raise ValueError(f"CompletionTask: one hidden product per context, got {len(self.context)} context(s) "
                             f"and hidden of shape {hidden.shape}")
        for name, arrays in (("hidden", [hidden]), ("context", self.context), ("train", self.train)):
            for positions in arrays:
                positions = np.asarray(positions)
                if positions.size and (positions.dtype.kind not in "iu" or positions.min() < 0
                                       or positions.max() >= self.n_products):
                    raise ValueError(f"CompletionTask.{name} must hold integer product positions in "
                                     f"[0, {self.n_products}), got {positions.dtype} values "
                                     f"{positions.min()} … {positions.max()}")


def completion_task(
    baskets: BasketMatrix,
    is_test: np.ndarray,
    n_test: int,
    max_context: int,
    seed: int,
) -> CompletionTask:
    """Split baskets with two or more products into training baskets and test queries.

    ``is_test`` marks the rows of ``baskets`` that may be used for testing (e.g. the
    last weeks of the year); ``n_test`` of them are drawn, and in each one product,
    chosen at random, is hidden while at most ``max_context`` of the others are shown.
    """
    n_test, max_context = positive_int(n_test, "n_test"), positive_int(max_context, "max_context")
    seed = seed_value(seed)
    if not isinstance(baskets, BasketMatrix):
        raise TypeError(f"baskets must be a BasketMatrix (see basket_matrix), got {type(baskets).__name__}")
    is_test = np.asarray(is_test)
    if is_test.dtype != bool:  # casting would read 'False', NaN or 2 as True
        raise TypeError(f"is_test must be boolean (True = may be a test basket), got dtype {is_test.dtype}")
    if is_test.shape != (baskets.n_baskets,):
        raise ValueError(f"is_test must have one entry per basket ({baskets.n_baskets}), got {is_test.shape}")
    rng = np.random.default_rng(seed)
    x = baskets.matrix
    usable = np.diff(x.indptr) >= 2
    candidates = np.flatnonzero(usable & is_test)
    if len(candidates) < n_test:
        raise ValueError(f"only {len(candidates)} test baskets have two or more products; asked for {n_test}")
    chosen = np.sort(rng.choice(candidates, n_test, replace=False))
    context, hidden = [], np.empty(n_test, dtype=np.int64)
    for n, row in enumerate(chosen):
        items = rng.permutation(x.indices[x.indptr[row] : x.indptr[row + 1]])
        hidden[n] = items[0]
        context.append(items[1 : 1 + max_context])
    train = [x.indices[x.indptr[r] : x.indptr[r + 1]] for r in np.flatnonzero(usable & ~is_test)]
    return CompletionTask(train, context, hidden, baskets.n_products)


def rank_metrics(scores: np.ndarray | torch.Tensor, task: CompletionTask, k: int = 10) -> dict[str, float]:
    """Hit@k and MRR of the hidden products (chapter 6), by :mod:`prodassoc_lab.ranking`.

    ``scores`` is (test queries × products); products already in the context are
    excluded from the ranking. MRR is computed over the full ranking (no cut-off).
    """
    k = positive_int(k, "k")
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().cpu()  # a model's output may still require grad
    try:
        scores = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError("scores must be numbers: an array (test queries × products)") from None
    expected = (len(task.hidden), task.n_products)
    if expected[0] == 0:
        raise ValueError("the task has no test query to score")
    hidden = np.asarray(task.hidden)
    inside = [n for n, items in enumerate(task.context) if hidden[n] in set(np.asarray(items).tolist())]
    if inside:
        raise ValueError(f"{len(inside)} query(ies) show their hidden product in the context, the first {inside[0]}")
    if tuple(scores.shape) != expected:
        raise ValueError(f"scores must have shape (test queries, products) = {expected}, got {tuple(scores.shape)}")
    if torch.isnan(scores).any():
        query, product = (int(i) for i in torch.isnan(scores).nonzero()[0])
        # argsort puts NaN first: a NaN score would count as the top-ranked product
        raise ValueError(f"scores has {int(torch.isnan(scores).sum())} NaN value(s), the first at query {query}, "
                         f"product {product}; a NaN cannot be ranked")
    rows = np.repeat(np.arange(len(task.context)), [len(items) for items in task.context])
    items = np.concatenate([np.asarray(items, dtype=np.int64) for items in task.context])
    context = sp.csr_array((np.ones(len(items), dtype=bool), (rows, items)), shape=expected)
    ranking = top_k(scores, task.n_products, exclude=context)  # the full ranking: MRR has no cut-off
    truth = sp.csr_array((np.ones(len(hidden), dtype=bool), (np.arange(len(hidden)), hidden)), shape=expected)
    hit, mrr = mean_metrics(ranking, truth, k)["hit"], mean_metrics(ranking, truth)["mrr"]
    return {f"Hit@{k}": hit, "MRR": mrr}
