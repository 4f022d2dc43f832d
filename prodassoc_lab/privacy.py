"""Re-identification risk of shopping traces: unicity (chapter 1).

A household's *trace* is the set of distinct points it leaves in the data, a point
being a product, or a (product, week) pair, or any coarser combination of columns.
Following de Montjoye et al. (2015), someone who learns ``k`` points of a household's
trace (a few receipts, a loyalty-card leak) *singles it out* when no other household's
trace holds all ``k`` of them. The unicity

.. math::

    \\varepsilon_k = \\frac{1}{|H_k|} \\sum_{h \\in H_k}
    \\mathbf{1}\\bigl[\\,|\\{g : P_h \\subseteq T_g\\}| = 1\\,\\bigr],

where ``H_k`` are the households with at least ``k`` distinct points, ``T_g`` is the
trace of household ``g`` and ``P_h`` is ``k`` points drawn uniformly without
replacement from ``T_h``, is the share of households singled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prodassoc_lab.validation import positive_int, require_columns, seed_value


@dataclass(frozen=True)
class Unicity:
    """Households singled out by ``k`` random points of their trace."""

    points: tuple[str, ...]
    k: int
    n_households: int
    n_eligible: int
    n_unique: int

    @property
    def share(self) -> float:
        """Unicity, the share of eligible households singled out (NaN when none is eligible)."""
        return self.n_unique / self.n_eligible if self.n_eligible else float("nan")


def trace_matrix(transactions: pd.DataFrame, points: Sequence[str], household: str = "household_id") -> sp.csc_matrix:
    """Binary household × point matrix (CSC, one column per distinct point).

    Shape ``(n_households, n_points)``; entry 1 when the household's trace holds the
    point. A point is one distinct combination of the ``points`` columns.
    """
    points = _point_columns(points)
    require_columns(transactions, [household, *points], "trace_matrix")
    table = transactions[[household, *points]]
    if table.empty:
        raise ValueError("trace_matrix: the transactions table has no rows")
    if table.isna().any().any():
        bad = table.columns[table.isna().any()].tolist()
        raise ValueError(f"trace_matrix: column(s) {bad} hold missing values; a point must be known to be counted")
    rows = pd.factorize(table[household])[0]
    cols = table.groupby(list(points), sort=False).ngroup().to_numpy()
    matrix = sp.csc_matrix((np.ones(len(table), dtype=np.int32), (rows, cols)),
                           shape=(rows.max() + 1, cols.max() + 1))
    matrix.sum_duplicates()
    matrix.data[:] = 1  # repeated purchases of a point count once
    return matrix


def unicity(transactions: pd.DataFrame, points: Sequence[str], k: int, seed: int = 0,
            household: str = "household_id") -> Unicity:
    """The share of households singled out by ``k`` random points of their trace.

    Args:
        transactions: one row per purchase line, with the ``household`` column and
            every column of ``points``.
        points: the columns whose combination is one point, e.g. ``["product_id"]``
            or ``["product_id", "week"]``; coarser columns (a department, a month)
            measure what coarsening the data does to the risk.
        k: how many points the adversary knows (``k >= 1``).
        seed: seeds the draw of each household's ``k`` points.
        household: the column naming the household.

    Households with fewer than ``k`` distinct points are not eligible and are counted
    apart (``n_households - n_eligible``).
    """
    k = positive_int(k, "k")
    rng = np.random.default_rng(seed_value(seed))
    matrix = trace_matrix(transactions, points, household)
    by_household = matrix.tocsr()
    eligible = np.flatnonzero(np.diff(by_household.indptr) >= k)
    n_unique = 0
    for h in eligible:
        trace = by_household.indices[by_household.indptr[h]:by_household.indptr[h + 1]]
        chosen = rng.choice(trace, size=k, replace=False)
        holders = matrix.indices[matrix.indptr[chosen[0]]:matrix.indptr[chosen[0] + 1]]
        for col in chosen[1:]:
            holders = np.intersect1d(holders, matrix.indices[matrix.indptr[col]:matrix.indptr[col + 1]],
                                     assume_unique=True)
        n_unique += int(holders.size == 1)
    return Unicity(points=tuple(points), k=k, n_households=matrix.shape[0], n_eligible=int(eligible.size),
                   n_unique=n_unique)


def _point_columns(points: Sequence[str]) -> tuple[str, ...]:
    if isinstance(points, str) or not isinstance(points, Sequence) or not points:
        raise TypeError(f"points must be a non-empty list of column names, got {points!r}")
    if len(set(points)) != len(points):
        raise ValueError(f"points names a column twice: {list(points)}")
    return tuple(points)
