"""Chapter 9's comparison: baselines, the two trained models and a hybrid, on one next-basket task.

Run ``python -m prodassoc_lab.next_basket --seed 0 1 2 3 4 --results
book/results/next_basket.csv`` to write the table the chapter reads (the
baselines have no randomness and are evaluated once).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from torch_geometric.nn.models import LightGCN

from prodassoc_lab.next_basket.baselines import g_top_freq, gp_top_freq, p_top_freq, rule_expansion, tifu_knn
from prodassoc_lab.next_basket.evaluation import basket_metrics, mean_recall, recommend
from prodassoc_lab.next_basket.models import (
    BasketSASRec,
    lightgcn_scores,
    sequence_scores,
    train_basket_sasrec,
    train_lightgcn,
)
from prodassoc_lab.next_basket.task import STAGES, NextBasketTask
from prodassoc_lab.validation import bounded_int, positive_int

#: The list lengths of chapter 9's tables.
KS = (10, 20)
#: The five baselines of chapter 9, by the name the tables use.
BASELINES: dict[str, Callable[[NextBasketTask, str], np.ndarray]] = {
    "G-TopFreq": g_top_freq,
    "P-TopFreq": p_top_freq,
    "GP-TopFreq": gp_top_freq,
    "TIFU-KNN": tifu_knn,
    "rules: last basket": rule_expansion,
}
#: Explore slots of the hybrid tried on the validation baskets, for each list length.
EXPLORE_SLOTS = (0, 1, 2, 3, 5)


def explore_only(scores: np.ndarray, seen: sp.sparray | sp.spmatrix) -> np.ndarray:
    """``scores`` with every product the household bought before set to ``-inf``: a ranking of new products only."""
    values = np.array(scores, dtype=np.float64)
    if seen.shape != values.shape:
        raise ValueError(f"seen must have the shape of scores {values.shape}, got {seen.shape}")
    values[sp.csr_array(seen).toarray() > 0] = -np.inf
    return values


def hybrid_lists(repeat_top: np.ndarray, explore_top: np.ndarray, explore_slots: int, k: int) -> np.ndarray:
    """Lists of length ``k``: the first ``k − explore_slots`` filled repeat picks, then explore picks to the end.

    ``repeat_top`` must rank only products the household bought before and
    ``explore_top`` only new ones (e.g. P-TopFreq and :func:`explore_only` lists),
    so no product appears twice. A household with fewer repeat picks gets more
    explore slots.
    """
    k = positive_int(k, "k")
    explore_slots = bounded_int(explore_slots, "explore_slots", 0, k)
    if repeat_top.shape[0] != explore_top.shape[0] or min(repeat_top.shape[1], explore_top.shape[1]) < k:
        raise ValueError(f"both lists need one row per household and at least k={k} columns, got "
                         f"{repeat_top.shape} and {explore_top.shape}")
    lists = np.full((repeat_top.shape[0], k), -1, dtype=np.int64)
    for h, (repeat, explore) in enumerate(zip(repeat_top, explore_top, strict=True)):
        repeat = repeat[repeat >= 0][: k - explore_slots]
        if np.isin(repeat, explore).any():
            raise ValueError(f"household row {h}: a product is both a repeat and an explore pick")
        picks = np.concatenate([repeat, explore[explore >= 0]])[:k]
        if len(np.unique(picks)) != len(picks):
            raise ValueError(f"household row {h}: a list names a product twice; each list must name distinct products")
        lists[h, : len(picks)] = picks
    return lists


class ListKey(NamedTuple):
    """Which lists a row of chapter 9's tables judges.

    ``method`` names them; a method tuned for one list length (the hybrid, whose
    number of explore slots is chosen per ``k`` on the validation baskets) also
    carries that ``k`` and its ``explore_slots``, and is judged at that ``k`` only.
    """

    method: str
    k: int | None = None
    explore_slots: int | None = None


def evaluate_lists(lists: dict[str | ListKey, np.ndarray], task: NextBasketTask, stage: str) -> pd.DataFrame:
    """Mean Recall, NDCG and hit at every ``k`` in :data:`KS`, overall, on repeat and on explore items.

    A key may be a method's name or a :class:`ListKey`; a key with a ``k`` is
    judged at that length only, and its ``explore_slots`` fill that column
    (empty for the other methods).
    """
    targets, seen = task.targets(stage), task.history_counts(stage)
    rows = []
    for key, top in lists.items():
        key = key if isinstance(key, ListKey) else ListKey(key)
        for k in KS if key.k is None else (key.k,):
            means = basket_metrics(top, targets, seen, k).mean(skipna=True)
            rows.append({"method": key.method, "k": k, **means.to_dict(), "explore_slots": key.explore_slots})
    return pd.DataFrame(rows).astype({"explore_slots": float})


def choose_explore_slots(repeat_top: np.ndarray, explore_top: np.ndarray, task: NextBasketTask, k: int) -> int:
    """The number of explore slots in :data:`EXPLORE_SLOTS` with the best validation Recall@``k`` (fewest on ties).

    ``repeat_top`` and ``explore_top`` are lists for the *validation* baskets.
    """
    recall = [mean_recall(hybrid_lists(repeat_top, explore_top, s, k), task, "validation") for s in EXPLORE_SLOTS]
    return EXPLORE_SLOTS[int(np.argmax(recall))]


#: The grid :func:`tune_tifu_knn` searched for chapter 9.
TIFU_GRID = {"group_size": (3, 7), "within_decay": (0.9, 1.0), "group_decay": (0.7, 0.9),
             "neighbours": (100, 300), "alpha": (0.7, 0.9)}


def tune_tifu_knn(task: NextBasketTask, grid: dict[str, tuple] = TIFU_GRID, k: int = 10) -> pd.DataFrame:
    """Validation Recall@``k`` of TIFU-KNN for every combination in ``grid``, best first."""
    rows = []
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values, strict=True))
        top = recommend(tifu_knn(task, "validation", **setting), k)
        rows.append({**setting, f"recall@{k}": mean_recall(top, task, "validation")})
    return pd.DataFrame(rows).sort_values(f"recall@{k}", ascending=False, kind="stable").reset_index(drop=True)


#: Suffix of a method whose list holds only products new to the household.
NEW_ONLY = " · new only"


def _with_new_only(scores: dict[str, np.ndarray], task: NextBasketTask, stage: str) -> dict[str, np.ndarray]:
    """Each method's list, and its list of new products only (its ranking with the household's past removed)."""
    seen = task.history_counts(stage)
    lists = {name: recommend(values, max(KS)) for name, values in scores.items()}
    lists.update({name + NEW_ONLY: recommend(explore_only(values, seen), max(KS)) for name, values in scores.items()
                  if name not in ("P-TopFreq", "GP-TopFreq")})  # these two rank no new product on their own
    return lists


def baseline_lists(task: NextBasketTask, stage: str) -> dict[str, np.ndarray]:
    """Top-``max(KS)`` lists of every baseline for ``stage``, and their new-products-only lists."""
    return _with_new_only({name: method(task, stage) for name, method in BASELINES.items()}, task, stage)


def model_lists(task: NextBasketTask, sequence: BasketSASRec, graph: LightGCN,
                stage: str = "test") -> dict[str | ListKey, np.ndarray]:
    """Lists of the two trained models (full and new only), and of the hybrid, for ``stage``.

    The hybrid takes repeat slots from P-TopFreq and explore slots from the
    self-attention model's new-products-only list; its number of explore slots
    is chosen per ``k`` on the validation baskets and kept in its key
    (``ListKey("hybrid", k, slots)``).
    """
    lists = _with_new_only({"SASRec (baskets)": sequence_scores(sequence, task, stage),
                            "LightGCN": lightgcn_scores(graph, task, stage)}, task, stage)
    validation_repeat = recommend(p_top_freq(task, "validation"), max(KS))
    validation_explore = recommend(explore_only(sequence_scores(sequence, task, "validation"),
                                                task.history_counts("validation")), max(KS))
    repeat = recommend(p_top_freq(task, stage), max(KS))
    for k in KS:
        slots = choose_explore_slots(validation_repeat, validation_explore, task, k)
        hybrid = np.full((task.n_households, max(KS)), -1, dtype=np.int64)  # one width for evaluate_lists
        hybrid[:, :k] = hybrid_lists(repeat, lists["SASRec (baskets)" + NEW_ONLY], slots, k)
        lists[ListKey("hybrid", k, slots)] = hybrid
    return lists


def next_basket_comparison(task: NextBasketTask, seeds: tuple[int, ...], stage: str = "test") -> pd.DataFrame:
    """The chapter's table: baselines once (``seed`` empty), the models and hybrid for every seed."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    tables = [evaluate_lists(baseline_lists(task, stage), task, stage).assign(seed=pd.NA)]
    for seed in seeds:
        lists = model_lists(task, train_basket_sasrec(task, seed).model, train_lightgcn(task, seed).model, stage)
        tables.append(evaluate_lists(lists, task, stage).assign(seed=seed))
    table = pd.concat(tables, ignore_index=True)
    return table[[c for c in table.columns if c != "explore_slots"] + ["explore_slots"]]
