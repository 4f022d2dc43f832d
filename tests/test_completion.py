"""The basket-completion task and its metrics."""

from __future__ import annotations

import numpy as np
import pytest

from prodassoc_lab.completion import CompletionTask, completion_task, rank_metrics


@pytest.fixture
def baskets(basket_matrix_from_lists):
    return basket_matrix_from_lists([[0, 1, 2], [1, 2], [0, 3], [2, 3, 4], [4], [0, 1, 4]])


def test_task_splits_and_hides_one_product(baskets):
    is_test = np.array([False, False, False, True, True, True])
    task = completion_task(baskets, is_test, n_test=2, max_context=5, seed=0)
    assert len(task.train) == 3 and task.n_products == 5  # basket 4 has one product: never used
    for context, hidden in zip(task.context, task.hidden, strict=True):
        assert hidden not in context and 1 <= len(context) <= 2
    assert completion_task(baskets, is_test, 2, 5, seed=0).hidden.tolist() == task.hidden.tolist()


def test_metrics_on_known_rankings(baskets):
    task = completion_task(baskets, np.array([False] * 3 + [True] * 3), n_test=2, max_context=5, seed=1)
    scores = np.zeros((2, 5))
    scores[0, task.hidden[0]] = 10  # ranked first
    scores[1, :] = np.arange(5)
    scores[1, task.context[1]] = 100  # context products would rank first, but are excluded
    scores[1, task.hidden[1]] = -1  # last among the remaining products
    remaining = 5 - len(task.context[1])
    metrics = rank_metrics(scores, task, k=1)
    assert metrics["Hit@1"] == pytest.approx(0.5)
    assert metrics["MRR"] == pytest.approx((1 + 1 / remaining) / 2)


def test_errors(baskets):
    with pytest.raises(ValueError, match="is_test must have one entry per basket"):
        completion_task(baskets, np.ones(3, dtype=bool), 1, 5, 0)
    with pytest.raises(ValueError, match="only 2 test baskets have two or more products; asked for 4"):
        completion_task(baskets, np.array([False] * 3 + [True] * 3), 4, 5, 0)
    task = completion_task(baskets, np.array([False] * 3 + [True] * 3), 2, 5, 0)
    with pytest.raises(ValueError, match=r"scores must have shape \(test queries, products\) = \(2, 5\)"):
        rank_metrics(np.zeros((2, 4)), task)


def test_a_nan_score_is_refused_not_ranked_first():
    baskets = [[0, 1], [1, 2], [0, 2]]
    task = CompletionTask(train=baskets, context=[np.array([0])], hidden=np.array([1]), n_products=3)
    scores = np.array([[0.1, np.nan, 0.2]])
    with pytest.raises(ValueError, match="1 NaN value.*query 0, product 1"):
        rank_metrics(scores, task)
