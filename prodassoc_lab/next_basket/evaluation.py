"""Judging next-basket recommendations overall, on repeat items and on explore items (chapter 9).

Li et al. (2023) showed that a next-basket recommender can look strong only
because it recommends what a household buys anyway. So every metric is also
computed separately on the target's *repeat* items (bought by the household
before) and its *explore* items (new to it). A method's recommendations are a
households × ``k`` matrix of catalogue positions, best first, with ``-1`` in
slots it leaves empty (personal frequency has nothing to say about a household
that bought fewer than ``k`` products).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from prodassoc_lab.next_basket.task import NextBasketTask
from prodassoc_lab.ranking import listed_in, query_metrics, top_k
from prodassoc_lab.training import EarlyStopping, TrainingRun, train_with_early_stopping
from prodassoc_lab.validation import positive_int


def recommend(scores: np.ndarray | torch.Tensor, k: int) -> np.ndarray:
    """The ``k`` best-scored products of each household, best first; ``-inf`` scores are never recommended.

    :func:`prodassoc_lab.ranking.top_k` with the book's one tie rule (equal
    scores: the lower catalogue position first); slots left without a
    recommendable product hold ``-1``, and ``+inf`` is a best score.
    """
    return top_k(scores, k)


def basket_metrics(top: np.ndarray, targets: sp.sparray | sp.spmatrix, seen: sp.sparray | sp.spmatrix,
                   k: int | None = None) -> pd.DataFrame:
    """Recall, NDCG and hit of each household's top ``k``, overall and on repeat and explore items.

    ``targets`` (households × products) marks the next basket, ``seen`` the
    products bought before it. Each part of a target (all of it, its repeat
    items, or its explore items) is scored by
    :func:`prodassoc_lab.ranking.query_metrics` (Recall@k, NDCG@k and hit@k as
    defined there). A part that is empty for a household is NaN there, and
    means skip it (as in Li et al.). The column ``repeat_share`` is the share of
    filled slots that recommend a seen product.
    """
    top = np.asarray(top)
    if top.ndim != 2:
        raise ValueError(f"top must be a households × positions matrix, got shape {top.shape}")
    k = top.shape[1] if k is None else positive_int(k, "k")
    if k > top.shape[1]:
        raise ValueError(f"top must be households × (at least k={k}) positions, got shape {top.shape}")
    truth, before = sp.csr_array(targets) != 0, sp.csr_array(seen) != 0
    if truth.shape != before.shape or truth.shape[0] != top.shape[0]:
        raise ValueError(f"top {top.shape}, targets {truth.shape} and seen {before.shape} must have one row per "
                         "household, and targets and seen one column per product")
    if (truth.sum(axis=1) == 0).any():
        raise ValueError("every household needs a non-empty target basket")
    table = {}
    for part, wanted in (("overall", truth), ("repeat", truth.multiply(before)), ("explore", truth > before)):
        metrics = query_metrics(top, wanted, k)
        for name in ("recall", "ndcg", "hit"):
            table[f"{name}_{part}"] = metrics[name]
    top = top[:, :k]
    filled = top >= 0
    seen_pick = listed_in(top, before)
    with np.errstate(invalid="ignore"):
        table["repeat_share"] = seen_pick.sum(axis=1) / filled.sum(axis=1)
    return pd.DataFrame({name: table[name] for name in
                         [f"{m}_{p}" for p in ("overall", "repeat", "explore") for m in ("recall", "ndcg", "hit")]
                         + ["repeat_share"]})


def mean_recall(top: np.ndarray, task: NextBasketTask, stage: str, k: int | None = None) -> float:
    """Overall Recall@``k`` of the lists ``top`` for ``stage``'s targets, averaged over households.

    The number chapter 9 tunes and stops on, on the validation baskets.
    """
    return float(basket_metrics(top, task.targets(stage), task.history_counts(stage), k)["recall_overall"].mean())


@dataclass
class NextBasketRun:
    """A trained chapter-9 model, kept at its best validation epoch, and its training record."""

    model: torch.nn.Module
    training: TrainingRun

    @property
    def validation_recall(self) -> list[float]:
        """The validation Recall@k of every epoch."""
        return self.training.scores

    @property
    def best_epoch(self) -> int:
        return self.training.best_epoch


def train_on_validation(model: torch.nn.Module, epochs: int, train_epoch: Callable[[], float],
                        validation_scores: Callable[[], np.ndarray], task: NextBasketTask, k: int,
                        lr: float | None = None) -> NextBasketRun:
    """Run ``train_epoch`` ``epochs`` times, score the validation baskets after each, keep the best epoch's state.

    ``train_epoch()`` returns the epoch's training loss; ``validation_scores()``
    returns households × products scores for the validation targets; the epoch
    with the highest Recall@``k`` (the first on ties) is restored into ``model``
    (:func:`prodassoc_lab.training.train_with_early_stopping`).

    Args:
        model: the model to train; holds the best epoch's state afterwards.
        epochs: epochs to run.
        train_epoch: runs one training epoch and returns its loss.
        validation_scores: households × products scores for the validation targets.
        task: the next-basket task whose validation baskets are scored.
        k: list length of the validation Recall@k.
        lr: learning rate, named in the error when a loss is not finite.
    """
    training = train_with_early_stopping(
        model, train_epoch, lambda: mean_recall(recommend(validation_scores(), k), task, "validation"),
        EarlyStopping(positive_int(epochs, "epochs")), name=type(model).__name__, lr=lr)
    return NextBasketRun(model, training)
