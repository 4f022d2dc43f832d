"""Association measures for every product pair at once, from the basket matrix (chapter 2).

All pair counts come from one sparse product, ``C = Xᵀ X``: ``C[a, b]`` is the
number of baskets holding both ``a`` and ``b`` and ``C[a, a]`` the number holding
``a``. Everything else is arithmetic on three counts per pair, so no loop over
baskets or pairs is needed. Chapter 2 derives each measure on a hand example and
checks this module against mlxtend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prodassoc_lab.data import BasketMatrix, require_basket_matrix
from prodassoc_lab.validation import positive_int, require_columns

PAIR_COLUMNS = [
    "product_a",
    "product_b",
    "count_a",
    "count_b",
    "count_ab",
    "support_a",
    "support_b",
    "support",
    "confidence_ab",
    "confidence_ba",
    "lift",
    "leverage",
    "conviction_ab",
    "conviction_ba",
    "pmi",
    "npmi",
    "jaccard",
]


def pair_statistics(baskets: BasketMatrix, min_count: int = 1) -> pd.DataFrame:
    """Counts, supports, confidence, lift, leverage, conviction, PMI, NPMI and Jaccard of all pairs.

    One row per unordered pair ``product_a < product_b`` (by id) bought together
    in at least ``min_count`` baskets. With ``n`` baskets and counts ``n_a``,
    ``n_b``, ``n_ab``: support ``n_ab/n``; confidence a→b ``n_ab/n_a``; lift
    ``n n_ab/(n_a n_b)``; leverage ``s_ab − s_a s_b``; conviction a→b
    ``(1 − s_b)/(1 − conf_ab)`` (``inf`` when the confidence is 1, as in mlxtend);
    PMI ``log2 lift``; NPMI ``PMI / −log2 s_ab`` (1 when ``s_ab = 1``); Jaccard
    ``n_ab/(n_a + n_b − n_ab)``.
    """
    a, b, n_ab = cooccurring_pairs(baskets, min_count)
    counts = baskets.product_counts().to_numpy()
    n = float(baskets.n_baskets)
    n_a, n_b = counts[a].astype(np.float64), counts[b].astype(np.float64)
    joint = n_ab.astype(np.float64)
    support = joint / n
    conf_ab, conf_ba = joint / n_a, joint / n_b
    pair_lift = lift(joint, n_a, n_b, n)
    return pd.DataFrame(
        {
            "product_a": baskets.product_ids[a],
            "product_b": baskets.product_ids[b],
            "count_a": counts[a],
            "count_b": counts[b],
            "count_ab": n_ab,
            "support_a": n_a / n,
            "support_b": n_b / n,
            "support": support,
            "confidence_ab": conf_ab,
            "confidence_ba": conf_ba,
            "lift": pair_lift,
            "leverage": support - (n_a / n) * (n_b / n),
            "conviction_ab": _conviction(conf_ab, n_b / n),
            "conviction_ba": _conviction(conf_ba, n_a / n),
            "pmi": np.log2(pair_lift),
            "npmi": npmi(joint, n_a, n_b, n),
            "jaccard": joint / (n_a + n_b - joint),
        }
    )


def lift(n_ab: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, n: float) -> np.ndarray:
    """Lift ``n n_ab / (n_a n_b)``: co-occurrence relative to independence (chapter 2).

    The counts must be consistent (``0 ≤ n_ab ≤ min(n_a, n_b)``, ``1 ≤ n_a, n_b ≤ n``),
    or a ``ValueError`` says which one is not.
    """
    n_ab, n_a, n_b, n = _counts(n_ab, n_a, n_b, n)
    with np.errstate(over="ignore", invalid="ignore"):
        value = n * n_ab / (n_a * n_b)
    # counts near the float limit overflow n_a n_b; the same ratio in another order stays finite
    return np.where(np.isfinite(value), value, (n_ab / n_a) * (n / n_b))


def _counts(n_ab, n_a, n_b, n) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    arrays = []
    for name, value in (("n_ab", n_ab), ("n_a", n_a), ("n_b", n_b), ("n", n)):
        array = np.asarray(value)
        if array.dtype.kind not in "iuf" or not np.isfinite(array).all():
            raise ValueError(f"{name} must hold finite numbers (counts), got {value!r}")
        arrays.append(array.astype(np.float64))
    n_ab, n_a, n_b, n = arrays
    if n.ndim or n <= 0:
        raise ValueError(f"n (the number of baskets) must be one positive number, got {n!r}")
    try:
        n_ab, n_a, n_b = np.broadcast_arrays(n_ab, n_a, n_b)
    except ValueError as exc:
        raise ValueError(f"n_ab, n_a and n_b must have matching shapes: {exc}") from None
    if (n_ab < 0).any() or (n_ab > np.minimum(n_a, n_b)).any():
        raise ValueError("n_ab must lie between 0 and min(n_a, n_b): a pair is never in more baskets than either item")
    if (n_a < 1).any() or (n_b < 1).any() or (n_a > n).any() or (n_b > n).any():
        raise ValueError("n_a and n_b must lie between 1 and n: each item is in at least one of the n baskets")
    return n_ab, n_a, n_b, float(n)


def npmi(n_ab: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, n: float) -> np.ndarray:
    """Normalized PMI ``log2(lift) / −log2(n_ab / n)`` in [−1, 1] (chapter 2).

    At the ends it takes its limits: 1 when ``n_ab = n``, −1 when ``n_ab = 0``
    (the pair is never bought together).
    """
    n_ab, n_a, n_b, n = _counts(n_ab, n_a, n_b, n)
    support = n_ab / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log2(n * n_ab / (n_a * n_b))
        return np.where(n_ab == 0, -1.0, np.where(support < 1.0, pmi / -np.log2(support), 1.0))


def cooccurrence_p_value(n_ab: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, n: float) -> np.ndarray:
    """One-sided p-value of ``n_ab`` or more joint baskets if the two products were independent (chapter 8).

    Under independence the joint count has mean ``n_a n_b / n``; the p-value is
    the Poisson tail ``P(X ≥ n_ab)`` at that mean. It is the large-``n``
    approximation of Fisher's exact test (the hypergeometric tail,
    ``scipy.stats.fisher_exact(..., alternative="greater")``), computed for
    all pairs in one vectorised call instead of one test per pair; chapter 8 measures how
    often the two disagree. A small value says the pair is bought together
    more often than chance explains: a popular product reaches a high count
    with almost anything, but not a small p-value.
    """
    from scipy.stats import poisson

    n_ab, n_a, n_b, n = _counts(n_ab, n_a, n_b, n)
    return poisson.sf(n_ab - 1, n_a * n_b / n)


def cooccurring_pairs(baskets: BasketMatrix, min_count: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column positions ``a < b`` and counts ``n_ab`` of pairs bought together in ``min_count`` or more baskets.

    One sparse product ``Xᵀ X``; its cost follows the number of co-occurring
    pairs, not the number of possible pairs (chapter 3 measures this).
    """
    min_count = positive_int(min_count, "min_count")
    require_basket_matrix(baskets)
    x = baskets.matrix
    cooccurrence = (x.T @ x).tocsc()  # symmetric; CSC of Xᵀ X comes out of the product directly
    # Filter on the count first: it is cheap and removes most entries before the
    # (more expensive) construction of column indices.
    frequent = np.flatnonzero(cooccurrence.data >= min_count)
    rows = cooccurrence.indices[frequent]
    cols = np.searchsorted(cooccurrence.indptr, frequent, side="right") - 1
    upper = rows < cols
    if not upper.any():
        raise ValueError(f"no product pair is bought together in min_count={min_count} baskets or more")
    return rows[upper], cols[upper], cooccurrence.data[frequent[upper]]


def _conviction(confidence: np.ndarray, consequent_support: np.ndarray) -> np.ndarray:
    conviction = np.full_like(confidence, np.inf)
    below_one = confidence < 1.0
    conviction[below_one] = (1.0 - consequent_support[below_one]) / (1.0 - confidence[below_one])
    return conviction


def directed_rules(pairs: pd.DataFrame) -> pd.DataFrame:
    """Turn pair statistics into rules ``antecedent → consequent``, two per pair (chapter 2).

    The columns follow mlxtend's ``association_rules`` names so that the two can
    be compared row by row.
    """
    require_columns(pairs, PAIR_COLUMNS, "pairs", hint="pass the output of pair_statistics")
    forward = pd.DataFrame(
        {
            "antecedent": pairs["product_a"],
            "consequent": pairs["product_b"],
            "antecedent support": pairs["support_a"],
            "consequent support": pairs["support_b"],
            "support": pairs["support"],
            "confidence": pairs["confidence_ab"],
            "lift": pairs["lift"],
            "leverage": pairs["leverage"],
            "conviction": pairs["conviction_ab"],
            "jaccard": pairs["jaccard"],
        }
    )
    backward = forward.rename(
        columns={
            "antecedent": "consequent",
            "consequent": "antecedent",
            "antecedent support": "consequent support",
            "consequent support": "antecedent support",
        }
    ).assign(confidence=pairs["confidence_ba"], conviction=pairs["conviction_ba"])
    return pd.concat([forward, backward[forward.columns]], ignore_index=True)
