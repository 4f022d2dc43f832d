"""The simple next-basket recommenders that neural models must beat (chapter 9).

Each returns a households × products score matrix for one stage of a
:class:`~prodassoc_lab.next_basket.task.NextBasketTask`, built only from the baskets
before that stage's targets; ``-inf`` means "never recommend".
:func:`~prodassoc_lab.next_basket.evaluation.recommend` turns scores into lists.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from prodassoc_lab.next_basket.task import NextBasketTask
from prodassoc_lab.rules import cooccurring_pairs
from prodassoc_lab.validation import bounded_float, positive_int

#: TIFU-KNN's settings for chapter 9, chosen on the validation baskets by
#: :func:`prodassoc_lab.next_basket.experiment.tune_tifu_knn`.
TIFU_KNN = {"group_size": 3, "within_decay": 1.0, "group_decay": 0.9, "neighbours": 100, "alpha": 0.7}


def global_popularity(task: NextBasketTask, stage: str) -> np.ndarray:
    """Share of all households' history baskets that hold each product."""
    counts = np.bincount(task.baskets[task.history_rows(stage)].indices, minlength=task.n_products)
    return counts / len(task.history_rows(stage))


def g_top_freq(task: NextBasketTask, stage: str) -> np.ndarray:
    """G-TopFreq: the same most popular products for every household."""
    return np.broadcast_to(global_popularity(task, stage), (task.n_households, task.n_products)).copy()


def p_top_freq(task: NextBasketTask, stage: str) -> np.ndarray:
    """P-TopFreq: the household's own most frequent products; ties to the globally more popular, nothing else.

    Scores are the personal basket counts plus the global share (below 1, so it
    only breaks ties); products the household never bought get ``-inf``.
    """
    counts = task.history_counts(stage).toarray().astype(np.float64)
    scores = counts + global_popularity(task, stage)
    scores[counts == 0] = -np.inf
    return scores


def gp_top_freq(task: NextBasketTask, stage: str) -> np.ndarray:
    """GP-TopFreq: P-TopFreq, with the empty slots filled by G-TopFreq."""
    counts = task.history_counts(stage).toarray().astype(np.float64)
    return counts + global_popularity(task, stage)


def tifu_vectors(task: NextBasketTask, stage: str, group_size: int, within_decay: float,
                 group_decay: float) -> sp.csr_array:
    r"""TIFU-KNN's time-decayed personal item frequencies (after Hu et al., 2020).

    A variant of the authors' grouping (chapter 9): counted from the most recent
    basket back, the history falls into groups of ``group_size`` baskets (the
    oldest group may be smaller), where their code splits every history into a
    fixed number of near-equal groups and decays baskets over the whole history. A group's vector is
    :math:`\frac{1}{m_j} \sum_i r_b^{e_i} \mathbf{b}_i`, with :math:`e_i` the
    basket's place from the group's newest (0 for it); the household's vector is
    :math:`\frac{1}{G} \sum_j r_g^{j} \mathbf{g}_j`, with :math:`j = 0` the newest of
    its :math:`G` groups.
    """
    group_size = positive_int(group_size, "group_size")
    within_decay = bounded_float(within_decay, "within_decay", 0, 1, low_open=True)
    group_decay = bounded_float(group_decay, "group_decay", 0, 1, low_open=True)
    lengths = task.history_lengths(stage)
    owner = np.repeat(np.arange(task.n_households), lengths)
    from_end = np.concatenate([np.arange(n)[::-1] for n in lengths])
    group = from_end // group_size
    n_groups = -(-lengths // group_size)
    oldest_size = lengths - group_size * (n_groups - 1)
    size = np.where(group == n_groups[owner] - 1, oldest_size[owner], group_size)
    weight = within_decay ** (from_end % group_size) / size * group_decay ** group / n_groups[owner]
    pick = sp.csr_array((weight, (owner, task.history_rows(stage))), shape=(task.n_households, task.baskets.shape[0]))
    return sp.csr_array(pick @ task.baskets.astype(np.float64))


def tifu_knn(task: NextBasketTask, stage: str, group_size: int = TIFU_KNN["group_size"],
             within_decay: float = TIFU_KNN["within_decay"], group_decay: float = TIFU_KNN["group_decay"],
             neighbours: int = TIFU_KNN["neighbours"], alpha: float = TIFU_KNN["alpha"]) -> np.ndarray:
    r"""TIFU-KNN: :math:`\alpha\,\mathbf{u} + (1 - \alpha)\,\mathrm{mean}_{v \in N_k(u)} \mathbf{v}`.

    :math:`\mathbf{u}` is the household's :func:`tifu_vectors` row and
    :math:`N_k(u)` its ``neighbours`` nearest other households (Euclidean
    distance between those vectors, as in the authors' code). Products with
    score 0 get ``-inf``.

    Args:
        task: the next-basket task.
        stage: ``"validation"`` or ``"test"``: which baskets are predicted.
        group_size: baskets per group of :func:`tifu_vectors`.
        within_decay: decay of older baskets within a group.
        group_decay: decay of older groups.
        neighbours: nearest other households averaged.
        alpha: weight of the household's own vector against its neighbours'.
    """
    neighbours = positive_int(neighbours, "neighbours")
    if neighbours >= task.n_households:
        raise ValueError(f"neighbours={neighbours}, but the task has {task.n_households} households, so each has "
                         f"only {task.n_households - 1} other(s) to average; give neighbours ≤ {task.n_households - 1}")
    alpha = bounded_float(alpha, "alpha", 0, 1)
    vectors = tifu_vectors(task, stage, group_size, within_decay, group_decay)
    dense = vectors.toarray()
    # one more neighbour than asked, because every household is its own nearest one
    index = NearestNeighbors(n_neighbors=neighbours + 1, algorithm="brute").fit(dense)
    _, nearest = index.kneighbors(dense)
    others = np.array([row[row != h][:neighbours] for h, row in enumerate(nearest)])
    averaging = sp.csr_array((np.full(others.size, 1.0 / neighbours),
                              (np.repeat(np.arange(task.n_households), neighbours), others.ravel())),
                             shape=(task.n_households, task.n_households))
    scores = alpha * dense + (1 - alpha) * (averaging @ dense)
    scores[scores == 0] = -np.inf
    return scores


def rule_expansion(task: NextBasketTask, stage: str, min_count: int = 5) -> np.ndarray:
    """Association rules of chapter 2 applied to the household's last basket.

    The score of product ``b`` is the highest confidence of a rule ``a → b``
    with ``a`` in the last basket, from pairs bought together in ``min_count``
    or more history baskets; products no such rule reaches get ``-inf``.
    """
    history = task.history_baskets(stage)
    a, b, n_ab = cooccurring_pairs(history, min_count)
    n_a = np.bincount(history.matrix.indices, minlength=task.n_products).astype(np.float64)
    rows, cols = np.concatenate([a, b]), np.concatenate([b, a])
    confidence = sp.csr_array((np.concatenate([n_ab, n_ab]) / n_a[rows], (rows, cols)),
                              shape=(task.n_products, task.n_products))
    last = task.last_baskets(stage)
    scores = np.full((task.n_households, task.n_products), -np.inf)
    for h in range(task.n_households):
        antecedents = last.indices[last.indptr[h]:last.indptr[h + 1]]
        best = confidence[antecedents].max(axis=0).toarray().ravel()
        scores[h, best > 0] = best[best > 0]
    return scores
