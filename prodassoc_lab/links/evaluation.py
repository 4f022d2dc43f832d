"""Judging predicted partners: full rankings, retrieval metrics, and ROC-AUC against sampled negatives (chapter 8).

Every method of chapter 8 returns one score per (query, candidate) pair. The
ranking metrics look at the top ``k`` of *all* allowed candidates, which is what
a shop would show; ROC-AUC against a few random negatives per positive is the
number most link-prediction papers report, and chapter 8 shows why it flatters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.metrics import roc_auc_score

from prodassoc_lab.ranking import mean_metrics, top_k
from prodassoc_lab.tensors import node_indices
from prodassoc_lab.validation import seed_value


@dataclass(frozen=True)
class LinkTask:
    """Queries, their true partners among the candidates, and the candidates each query may not rank.

    ``truth`` and ``excluded`` are ``len(queries) × n_candidates`` sparse
    matrices: ``truth[q, c] = 1`` when candidate ``c`` is a true partner of query
    ``q``; ``excluded[q, c]`` is true when ``c`` is not a candidate for ``q``
    (``None``: every candidate is allowed). Every query has a true partner, and
    no true partner is excluded.
    """

    name: str
    queries: np.ndarray
    truth: sp.csr_array
    excluded: sp.csr_array | None = None

    def __post_init__(self) -> None:
        if not sp.issparse(self.truth) or self.truth.ndim != 2 or self.truth.shape[0] != len(self.queries):
            raise ValueError(f"LinkTask {self.name!r}: truth must be a sparse matrix with one row per query "
                             f"({len(self.queries)})")
        truth = sp.csr_array(self.truth)
        if (truth.data < 0).any() or not np.isfinite(truth.data).all():
            raise ValueError(f"LinkTask {self.name!r}: truth must mark a true partner with 1, not a negative or "
                             "non-finite value")
        if (truth.sum(axis=1) == 0).any():
            raise ValueError(f"LinkTask {self.name!r}: every query needs at least one true partner")
        if self.excluded is not None:
            if not sp.issparse(self.excluded) or self.excluded.shape != truth.shape:
                raise ValueError(f"LinkTask {self.name!r}: excluded must be a sparse matrix shaped like truth "
                                 f"{truth.shape}")
            if truth.multiply(sp.csr_array(self.excluded)).nnz:
                raise ValueError(f"LinkTask {self.name!r}: a true partner is excluded from the candidates")

    @property
    def n_candidates(self) -> int:
        return self.truth.shape[1]

    def allowed_scores(self, scores: np.ndarray | torch.Tensor) -> np.ndarray:
        """``scores`` as float64 with excluded candidates set to −∞; shape and values are checked."""
        values = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
        if values.shape != self.truth.shape:
            raise ValueError(f"{self.name}: scores must have shape {self.truth.shape} (queries × candidates), "
                             f"got {values.shape}")
        values = values.astype(np.float64)  # a copy: the caller's scores stay as they were
        if np.isnan(values).any():
            raise ValueError(f"{self.name}: {int(np.isnan(values).sum())} score(s) are NaN")
        if self.excluded is not None:
            values[sp.csr_array(self.excluded).toarray()] = -np.inf
        return values


def pair_task(name: str, source: np.ndarray, target: np.ndarray, excluded: sp.sparray | sp.spmatrix) -> LinkTask:
    """A task from undirected true pairs of node positions: each end is a query whose partner is the other end.

    ``excluded`` is the ``n × n`` matrix of pairs that are no candidates (e.g. the
    pairs already linked); a query is never a candidate for itself either.
    """
    n = excluded.shape[0]
    if excluded.shape != (n, n):
        raise ValueError(f"{name}: excluded must be a square n × n matrix, got shape {excluded.shape}")
    source, target = (node_indices(ends, n, f"{name}: {what}").numpy()
                      for ends, what in ((source, "source"), (target, "target")))
    ends, others = np.concatenate([source, target]), np.concatenate([target, source])
    queries = np.unique(ends)
    truth = sp.csr_array((np.ones(len(ends), dtype=np.int8), (np.searchsorted(queries, ends), others)),
                         shape=(len(queries), n))
    itself = sp.csr_array((np.ones(len(queries), dtype=bool), (np.arange(len(queries)), queries)), shape=truth.shape)
    return LinkTask(name, queries, truth, (sp.csr_array(excluded)[queries] + itself).astype(bool))


def top_candidates(scores: np.ndarray | torch.Tensor, task: LinkTask, k: int) -> np.ndarray:
    """The ``k`` best allowed candidates of each query, best first (:func:`prodassoc_lab.ranking.top_k`).

    Ties go to the lower candidate position; a slot that only excluded or
    ``-inf``-scored candidates could fill holds ``-1``.
    """
    return top_k(task.allowed_scores(scores), k)


def link_metrics(scores: np.ndarray | torch.Tensor, task: LinkTask, k: int = 20) -> dict[str, float]:
    """Recall@k, NDCG@k and MRR@k averaged over the queries, from :func:`prodassoc_lab.ranking.mean_metrics`.

    Recall@k is the share of a query's true partners in its top ``k``, averaged
    over queries; NDCG@k discounts a hit at rank ``r`` by ``log2(r + 1)``; MRR@k
    is the mean of 1 / (rank of the first hit), 0 when no hit is in the top ``k``.
    The definitions are ``torch_geometric.metrics``' (checked against it in the tests).
    """
    metrics = mean_metrics(top_candidates(scores, task, k), task.truth)
    return {f"Recall@{k}": metrics["recall"], f"NDCG@{k}": metrics["ndcg"], f"MRR@{k}": metrics["mrr"]}


def sampled_roc_auc(scores: np.ndarray | torch.Tensor, task: LinkTask, seed: int = 0) -> float:
    """ROC-AUC of the true partners against as many random allowed non-partners of the same queries.

    The negatives depend only on ``task`` and ``seed``, so every method of a
    comparison is judged on the same pairs.
    """
    values = task.allowed_scores(scores)
    rng = np.random.default_rng(seed_value(seed))
    truth = sp.csr_array(task.truth).toarray().astype(bool)
    allowed = np.isfinite(values) & ~truth
    positives, negatives = [], []
    for query in range(len(task.queries)):
        pool = np.flatnonzero(allowed[query])
        wanted = int(truth[query].sum())
        if len(pool) < wanted:
            raise ValueError(f"{task.name}: query {task.queries[query]} has fewer allowed non-partners than partners")
        positives.append(values[query, truth[query]])
        negatives.append(values[query, rng.choice(pool, wanted, replace=False)])
    positive, negative = np.concatenate(positives), np.concatenate(negatives)
    labels = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    return float(roc_auc_score(labels, np.concatenate([positive, negative])))
