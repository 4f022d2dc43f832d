"""The ranking core: one tie rule, exclusions, infinities, refused inputs, and metrics equal to PyG's."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.metrics import LinkPredHitRatio, LinkPredMRR, LinkPredNDCG, LinkPredRecall

from prodassoc_lab.completion import CompletionTask, rank_metrics
from prodassoc_lab.links.evaluation import LinkTask, link_metrics
from prodassoc_lab.next_basket.evaluation import basket_metrics, recommend
from prodassoc_lab.ranking import listed_in, mean_metrics, query_metrics, top_k


def stable_reference(values: np.ndarray, k: int) -> np.ndarray:
    """The tie rule written as plainly as possible: a stable sort of the negated scores, -inf slots as -1."""
    top = np.argsort(-values, axis=1, kind="stable")[:, :k]
    top[np.take_along_axis(values, top, axis=1) == -np.inf] = -1
    return top


@pytest.mark.parametrize("n_items", [7, 40])  # 7: a long list (row sort); 40: a short one (partition)
def test_top_k_is_the_stable_sort_with_ties_to_the_lower_index(n_items):
    rng = np.random.default_rng(0)
    for _ in range(40):
        values = rng.integers(-2, 3, size=(5, n_items)).astype(float)  # many ties
        values[values == -2] = -np.inf
        values[values == 2] = np.inf
        k = int(rng.integers(1, n_items + 1))
        assert (top_k(values, k) == stable_reference(values, k)).all()
    assert top_k(np.array([[1.0, 3.0, 3.0, 1.0, 3.0]]), 4).tolist() == [[1, 2, 4, 0]]
    assert top_k(np.array([[1.0, 3.0, 3.0, 1.0, 3.0] * 8]), 4).tolist() == [[1, 2, 4, 6]]


def test_excluded_and_minus_infinity_entries_leave_empty_slots():
    values = np.array([[5.0, 4.0, 3.0, -np.inf, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    exclude = sp.csr_array(np.array([[1, 0, 0, 0, 1], [0, 1, 0, 1, 0]], dtype=bool))
    assert top_k(values, 4, exclude).tolist() == [[1, 2, -1, -1], [0, 2, 4, -1]]
    assert top_k(values, 4, exclude.toarray()).tolist() == [[1, 2, -1, -1], [0, 2, 4, -1]]
    assert values[0, 0] == 5.0  # the caller's scores are not changed
    with pytest.raises(TypeError, match="boolean array"):
        top_k(values, 2, exclude.toarray().astype(int))
    with pytest.raises(ValueError, match="shape of scores"):
        top_k(values, 2, sp.csr_array((2, 4), dtype=bool))


def test_plus_infinity_is_a_best_score_not_an_empty_slot():
    # the old recommend() turned +inf into -1 ("no product")
    values = np.array([[0.0, np.inf, 1.0, -np.inf] + [0.0] * 20])
    assert top_k(values, 2).tolist() == [[1, 2]]
    assert recommend(values, 2).tolist() == [[1, 2]]
    assert recommend(values[:, :4], 4).tolist() == [[1, 2, 0, -1]]


def test_nan_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"1 NaN value\(s\), the first at query 1, item 0"):
        top_k(np.array([[1.0, 2.0], [np.nan, 0.0]]), 1)
    with pytest.raises(ValueError, match="k=3 is more than the 2 items"):
        top_k(np.zeros((1, 2)), 3)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        top_k(np.zeros((1, 2)), 0)
    with pytest.raises(ValueError, match="queries × items matrix"):
        top_k(np.zeros(3), 1)
    with pytest.raises(TypeError, match="real numbers"):
        top_k(np.array([["a", "b"]]), 1)


def test_integer_and_tensor_scores():
    assert top_k(np.array([[1, 3, 2]], dtype=np.uint8), 2).tolist() == [[1, 2]]
    assert top_k(torch.tensor([[0.1, 0.3, 0.2]], requires_grad=True), 2).tolist() == [[1, 2]]


def test_metrics_by_hand():
    # targets {1, 4}: list 0, 1, 2 finds 1 at rank 2
    top = np.array([[0, 1, 2], [1, 3, -1]])
    targets = sp.csr_array(np.array([[0, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0]]))
    m = query_metrics(top, targets)
    d = 1 / np.log2(np.arange(2, 5))
    assert m["recall"].tolist() == [0.5, 0.0] and m["hit"].tolist() == [1.0, 0.0]
    assert m["mrr"].tolist() == [0.5, 0.0]
    assert m["ndcg"][0] == pytest.approx(d[1] / (d[0] + d[1])) and m["ndcg"][1] == 0
    assert query_metrics(top, targets, k=1)["hit"].tolist() == [0.0, 0.0]
    empty = query_metrics(top, sp.csr_array(np.array([[0, 1, 0, 0, 0, 0], [0] * 6])))
    assert np.isnan(empty["recall"][1]) and np.isnan(empty["mrr"][1])


def pyg_means(top: np.ndarray, truth: np.ndarray, k: int) -> dict[str, float]:
    rows, cols = np.nonzero(truth)
    labels = torch.from_numpy(np.vstack([rows, cols]))
    out = {}
    for name, metric in (("recall", LinkPredRecall(k)), ("ndcg", LinkPredNDCG(k)), ("mrr", LinkPredMRR(k)),
                         ("hit", LinkPredHitRatio(k))):
        metric.update(torch.from_numpy(top), labels)
        out[name] = float(metric.compute())
    return out


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_torch_geometric(seed):
    rng = np.random.default_rng(seed)
    n_queries, n_items, k = 60, 50, int(rng.integers(1, 15))
    truth = rng.random((n_queries, n_items)) < rng.uniform(0.02, 0.3)
    truth[:5] = False  # queries without a target: PyG skips them, and so do we
    scores = rng.integers(0, 6, size=(n_queries, n_items)).astype(float)  # ties
    top = top_k(scores, k)
    ours = mean_metrics(top, sp.csr_array(truth))
    for name, value in pyg_means(top, truth, k).items():
        assert ours[name] == pytest.approx(value, abs=1e-6), name
    # read at a shorter cut-off
    ours = mean_metrics(top, sp.csr_array(truth), k=1)
    for name, value in pyg_means(top[:, :1], truth, 1).items():
        assert ours[name] == pytest.approx(value, abs=1e-6), name


def test_repeat_and_explore_split_equals_a_direct_computation():
    rng = np.random.default_rng(7)
    n, p, k = 50, 30, 8
    truth = rng.random((n, p)) < 0.2
    truth[np.arange(n), rng.integers(0, p, n)] = True
    seen = rng.random((n, p)) < 0.3
    scores = rng.random((n, p))
    scores[rng.random((n, p)) < 0.5] = -np.inf  # some empty slots
    top = recommend(scores, k)
    table = basket_metrics(top, sp.csr_array(truth), sp.csr_array(seen))
    discount = 1 / np.log2(np.arange(2, k + 2))
    for h in range(n):
        picks = [int(c) for c in top[h] if c >= 0]
        for part, wanted in (("overall", truth[h]), ("repeat", truth[h] & seen[h]),
                             ("explore", truth[h] & ~seen[h])):
            size = int(wanted.sum())
            if size == 0:
                assert np.isnan(table[f"recall_{part}"][h])
                continue
            gains = [discount[i] for i, c in enumerate(picks) if wanted[c]]
            assert table[f"recall_{part}"][h] == pytest.approx(len(gains) / size)
            assert table[f"ndcg_{part}"][h] == pytest.approx(sum(gains) / discount[:min(size, k)].sum())
            assert table[f"hit_{part}"][h] == float(bool(gains))
        if picks:
            assert table["repeat_share"][h] == pytest.approx(np.mean([seen[h, c] for c in picks]))


def test_a_list_naming_a_product_twice_is_refused():
    # old basket_metrics: recall 1.0 with half the target found
    targets = sp.csr_array(np.array([[1, 1, 0]]))
    with pytest.raises(ValueError, match="names an item twice"):
        query_metrics(np.array([[0, 0]]), targets)
    with pytest.raises(ValueError, match="names an item twice"):
        basket_metrics(np.array([[0, 0]]), targets, sp.csr_array((1, 3)))
    assert query_metrics(np.array([[0, -1, -1]]), targets)["recall"][0] == 0.5  # empty slots may repeat


def test_out_of_range_and_malformed_lists_are_refused():
    targets = sp.csr_array(np.array([[1, 0, 0]]))
    with pytest.raises(ValueError, match=r"outside -1 … 2"):
        query_metrics(np.array([[3]]), targets)
    with pytest.raises(ValueError, match=r"outside -1 … 2"):
        query_metrics(np.array([[-2]]), targets)
    with pytest.raises(ValueError, match="at least k=2"):
        query_metrics(np.array([[0]]), targets, k=2)
    with pytest.raises(ValueError, match="one row per query"):
        query_metrics(np.array([[0], [1]]), targets)
    with pytest.raises(ValueError, match="matrix of integers"):
        query_metrics(np.array([[0.0]]), targets)
    with pytest.raises(TypeError, match="sparse"):
        query_metrics(np.array([[0]]), np.array([[1, 0, 0]]))


def test_an_empty_set_of_queries_is_refused():
    with pytest.raises(ValueError, match="no query to score"):
        query_metrics(np.zeros((0, 2), dtype=np.int64), sp.csr_array((0, 3)))
    with pytest.raises(ValueError, match="no query has a target"):
        mean_metrics(np.array([[0]]), sp.csr_array((1, 3)))
    # the old link_metrics scored a task without queries 0.0
    empty = LinkTask("empty", np.array([], dtype=np.int64), sp.csr_array((0, 4)))
    with pytest.raises(ValueError, match="no query to score"):
        link_metrics(np.zeros((0, 4)), empty, k=2)


def test_a_true_partner_scored_minus_infinity_is_never_found():
    # the old link_metrics ranked -inf candidates after the others and could count them as hits
    task = LinkTask("t", np.array([0]), sp.csr_array(np.array([[0, 0, 1]])))
    assert link_metrics(np.array([[1.0, 0.0, -np.inf]]), task, k=3)["Recall@3"] == 0.0


def test_completion_metrics_use_the_same_core():
    task = CompletionTask(train=[], context=[np.array([0]), np.array([3])], hidden=np.array([2, 1]), n_products=4)
    scores = np.array([[9.0, 1.0, 1.0, 0.0], [9.0, 1.0, 1.0, 9.0]])  # ties go to the lower index
    assert rank_metrics(scores, task, k=1) == {"Hit@1": 0.0, "MRR": pytest.approx((1 / 2 + 1 / 2) / 2)}
    scores[0, 2] = np.inf  # a legitimate best score
    assert rank_metrics(scores, task, k=1) == {"Hit@1": 0.5, "MRR": pytest.approx((1 + 1 / 2) / 2)}


def test_listed_in_looks_each_listed_item_up():
    rng = np.random.default_rng(3)
    marked = sp.random_array((6, 9), density=0.3, rng=rng, format="csr")
    marked.data[:2] = 0  # explicitly stored zeros are not marks
    top = np.array([rng.permutation(9)[:4] for _ in range(6)])
    top[0, 3] = top[4, 0] = -1
    expected = np.array([[t >= 0 and marked.toarray()[q, t] != 0 for t in row] for q, row in enumerate(top)])
    assert (listed_in(top, marked) == expected).all()
    assert listed_in(np.full((2, 3), -1), marked[:2]).sum() == 0
