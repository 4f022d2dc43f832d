"""Each household's baskets in time order, and the next-basket task built on them (chapter 9).

A recommender that suggests a household's next basket may use only what came
before it. For every household with enough history, the last basket is the
*test* target and the one before it the *validation* target; a method fitted
for one stage sees the baskets before that stage's target and nothing later.
The catalogue is the ``n_products`` products in most baskets, counted without
any household's last two trips. A target is the last trip *with a catalogue
product*; when neither of a household's last two trips has one, its test target
is an earlier trip, which the count included (chapter 9 counts how often).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prodassoc_lab.data import BASKET, ITEM, BasketMatrix, TransactionDataError, check_ids, check_timestamps
from prodassoc_lab.validation import bounded_int, positive_int, require_columns

HOUSEHOLD = "household_id"
TIME = "transaction_timestamp"
STAGES = ("validation", "test")


@dataclass(frozen=True)
class NextBasketTask:
    """Households' baskets over one catalogue, in time order, with the validation and test targets.

    ``baskets`` is binary, one row per basket, sorted by household and then
    time; household ``h`` owns rows ``offsets[h]:offsets[h + 1]``, of which the
    last is its test target and the one before its validation target. Columns
    are the catalogue ``product_ids`` (sorted by id).
    """

    baskets: sp.csr_array
    offsets: np.ndarray
    households: pd.Index
    product_ids: pd.Index
    basket_ids: pd.Index
    #: what the task derives from ``baskets`` once per stage (history counts, targets)
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.households) + 1 or self.offsets[-1] != self.baskets.shape[0]:
            raise ValueError("NextBasketTask: offsets must hold one start per household and end at the last basket")
        if (np.diff(self.offsets) < 3).any():
            raise ValueError("NextBasketTask: every household needs a history, a validation and a test basket")

    @property
    def n_households(self) -> int:
        return len(self.households)

    @property
    def n_products(self) -> int:
        return len(self.product_ids)

    def target_rows(self, stage: str) -> np.ndarray:
        """Row of each household's target basket at ``stage`` ("validation" or "test")."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        return self.offsets[1:] - (1 if stage == "test" else 2)

    def history_lengths(self, stage: str) -> np.ndarray:
        """Number of baskets each household has before its ``stage`` target."""
        return self.target_rows(stage) - self.offsets[:-1]

    def targets(self, stage: str) -> sp.csr_array:
        """Households × products, 1 where the product is in the household's ``stage`` target basket ."""
        return self._once(("targets", stage), lambda: sp.csr_array(self.baskets[self.target_rows(stage)]))

    def history_rows(self, stage: str) -> np.ndarray:
        """Rows of every basket that comes before its household's ``stage`` target."""
        starts, ends = self.offsets[:-1], self.target_rows(stage)
        return np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])

    def history_counts(self, stage: str) -> sp.csr_array:
        """Households × products: in how many of its baskets before the ``stage`` target each product was.

        Computed once per stage (every baseline, metric and training epoch of
        chapter 9 asks for it); each call returns a copy, which the caller may change.
        """
        def count() -> sp.csr_array:
            rows = self.history_rows(stage)
            owner = np.repeat(np.arange(self.n_households), self.history_lengths(stage))
            pick = sp.csr_array((np.ones(len(rows), dtype=np.int32), (owner, rows)),
                                shape=(self.n_households, self.baskets.shape[0]))
            return sp.csr_array(pick @ self.baskets)

        return self._once(("history_counts", stage), count)

    def _once(self, key: tuple[str, str], build: Callable[[], sp.csr_array]) -> sp.csr_array:
        if key not in self._derived:
            if key[1] not in STAGES:
                raise ValueError(f"stage must be one of {STAGES}, got {key[1]!r}")
            self._derived[key] = build()
        return self._derived[key].copy()  # copying is far cheaper than the product that built it

    def history_baskets(self, stage: str) -> BasketMatrix:
        """All households' baskets before their ``stage`` targets, as one basket matrix (for pair statistics)."""
        rows = self.history_rows(stage)
        return BasketMatrix(sp.csr_array(self.baskets[rows]), self.basket_ids[rows], self.product_ids)

    def last_baskets(self, stage: str) -> sp.csr_array:
        """Households × products: each household's most recent basket before its ``stage`` target."""
        return sp.csr_array(self.baskets[self.target_rows(stage) - 1])


def next_basket_task(transactions: pd.DataFrame, n_products: int = 5000, min_history: int = 4) -> NextBasketTask:
    """The next-basket task of chapter 9 from cleaned transactions.

    Steps: order each household's baskets by their first timestamp; count, for
    every product, the baskets that hold it, leaving out each household's last
    two trips; keep the ``n_products`` most counted (ties to the lower id); drop
    from every basket the products outside this catalogue, and the baskets left
    empty; keep households with at least ``min_history`` baskets before their
    validation target.
    """
    n_products = positive_int(n_products, "n_products")
    min_history = bounded_int(min_history, "min_history", 1)
    if not isinstance(transactions, pd.DataFrame):
        raise TransactionDataError(f"transactions: expected a pandas DataFrame, got {type(transactions).__name__}")
    require_columns(transactions, (HOUSEHOLD, BASKET, ITEM, TIME), "transactions")
    for col in (HOUSEHOLD, BASKET, ITEM):
        check_ids(transactions[col], col, "transactions")
    check_timestamps(transactions[TIME], TIME, "transactions")
    lines = transactions[[HOUSEHOLD, BASKET, ITEM, TIME]].drop_duplicates([BASKET, ITEM])
    owners = lines.groupby(BASKET)[HOUSEHOLD].nunique()
    if (owners > 1).any():
        raise TransactionDataError(f"transactions: basket {owners.index[owners > 1][0]!r} belongs to more than one "
                                   "household")

    trips = _ordered_trips(lines)
    recent = trips.index[trips["from_end"] < 2]
    counts = lines.loc[~lines[BASKET].isin(recent), ITEM].value_counts()
    if len(counts) < n_products:
        raise ValueError(f"n_products={n_products}, but only {len(counts)} products appear outside the last two "
                         "trips of each household")
    counts = counts.rename_axis(ITEM).reset_index(name="baskets").sort_values(["baskets", ITEM],
                                                                              ascending=[False, True])
    catalogue = pd.Index(np.sort(counts[ITEM].to_numpy()[:n_products]), name=ITEM)

    kept = lines[lines[ITEM].isin(catalogue)]
    trips = _ordered_trips(kept)
    trips = trips[trips.groupby(HOUSEHOLD)[HOUSEHOLD].transform("size") >= min_history + 2]
    if trips.empty:
        raise ValueError(f"no household has {min_history + 2} baskets (min_history={min_history} + validation + "
                         "test) with a catalogue product")
    row_of = pd.Series(np.arange(len(trips)), index=trips.index)
    kept = kept[kept[BASKET].isin(trips.index)]
    matrix = sp.csr_array((np.ones(len(kept), dtype=np.int8),
                           (row_of.loc[kept[BASKET]].to_numpy(), catalogue.get_indexer(kept[ITEM]))),
                          shape=(len(trips), len(catalogue)))
    households, sizes = np.unique(trips[HOUSEHOLD].to_numpy(), return_counts=True)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return NextBasketTask(matrix, offsets, pd.Index(households, name=HOUSEHOLD), catalogue,
                          pd.Index(trips.index, name=BASKET))


def _ordered_trips(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per basket, sorted by household, first timestamp and id, with its place counted from the end."""
    trips = (lines.groupby(BASKET).agg(**{HOUSEHOLD: (HOUSEHOLD, "first"), TIME: (TIME, "min")})
             .reset_index().sort_values([HOUSEHOLD, TIME, BASKET]).set_index(BASKET))
    trips["from_end"] = trips.groupby(HOUSEHOLD).cumcount(ascending=False)
    return trips
