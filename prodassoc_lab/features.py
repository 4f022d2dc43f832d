"""Product features that do not reveal a product's department or category (chapter 7).

Node classification is only honest if the inputs do not contain the answer: no
department, category or type text. What a shop knows about a product without its
taxonomy is used instead: price, discounts, popularity, who buys it and when,
brand type and package size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prodassoc_lab.data import check_timestamps
from prodassoc_lab.validation import TransactionDataError, require_columns

FEATURES = [
    "log baskets",
    "log households",
    "log baskets per household",
    "log unit price",
    "retail discount share",
    "coupon share",
    "log quantity per line",
    "weekend share",
    "private label",
    "log package size",
    "package: weight",
    "package: volume",
    "package: count",
    "package: other unit",
    "package: unknown",
]
_UNITS = {
    "weight": {"OZ", "LB", "G", "KG"},
    "volume": {"ML", "L", "LTR", "QT", "PT", "GAL", "FL"},
    "count": {"CT", "PK", "PC", "CTN", "EA"},
}


def median_unit_price(lines: pd.DataFrame) -> pd.Series:
    """The median price paid per unit of each product in ``lines`` (cleaned purchase lines, chapter 1), by product id.

    The catalogue has no list price; the median of ``sales_value / quantity``
    over a product's lines is the price a shop charges for it (chapters 7 and 8).
    """
    require_columns(lines, ("product_id", "quantity", "sales_value"), "lines")
    _require_purchase_amounts(lines, ("quantity", "sales_value"))
    return (lines.sales_value / lines.quantity).groupby(lines.product_id).median()


def _require_purchase_amounts(lines: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Refuse lines that are not cleaned purchases: a missing or infinite amount, or a quantity ≤ 0."""
    amounts = lines[list(columns)]
    if (not all(pd.api.types.is_numeric_dtype(amounts[col]) for col in columns)
            or not np.isfinite(amounts.to_numpy(dtype=float)).all() or (lines.quantity <= 0).any()):
        raise TransactionDataError(f"transactions: {', '.join(columns)} must be finite numbers and every quantity "
                                   "> 0; clean the lines first (clean_transactions)")


def product_features(transactions: pd.DataFrame, products: pd.DataFrame, product_ids: pd.Index) -> pd.DataFrame:
    """One row per product id in ``product_ids``: the label-free features listed in ``FEATURES``.

    ``transactions`` are cleaned purchase lines (chapter 1). Columns are
    standardized to mean 0 and variance 1 over the given products; that uses no
    labels, so it is the same for every train/test split.
    """
    if not isinstance(product_ids, pd.Index):
        raise TypeError(f"product_ids must be a pandas Index, got {type(product_ids).__name__}")
    if len(product_ids) < 2 or not product_ids.is_unique:
        raise ValueError("product_ids must name two or more distinct products: features are standardized over them")
    require_columns(transactions, ("product_id", "basket_id", "household_id", "quantity", "sales_value",
                                   "retail_disc", "coupon_disc", "transaction_timestamp"), "transactions")
    if not pd.api.types.is_datetime64_any_dtype(transactions.transaction_timestamp):
        raise TransactionDataError("transactions: column 'transaction_timestamp' must hold datetimes (the weekend "
                                   f"share reads the weekday), got {transactions.transaction_timestamp.dtype}")
    check_timestamps(transactions.transaction_timestamp, "transaction_timestamp", "transactions")
    lines = transactions[transactions.product_id.isin(product_ids)]
    _require_purchase_amounts(lines, ("quantity", "sales_value", "retail_disc", "coupon_disc"))
    unknown = product_ids.difference(lines.product_id.unique())
    if len(unknown):
        raise ValueError(f"{len(unknown)} product(s) have no purchase line, e.g. {list(unknown[:5])}")
    require_columns(products, ("product_id", "brand", "package_size"), "products")
    if products.product_id.duplicated().any():
        raise TransactionDataError("products: a product id appears more than once; one row per product is needed")
    if pd.api.types.infer_dtype(products.package_size, skipna=True) not in ("string", "empty"):
        raise TransactionDataError("products: package_size must hold text such as '12 OZ', got "
                                   f"{pd.api.types.infer_dtype(products.package_size, skipna=True)} values")
    unlisted = product_ids.difference(products.product_id)
    if len(unlisted):
        raise ValueError(f"{len(unlisted)} product(s) are not in the products table, e.g. {list(unlisted[:5])}; "
                         "their brand and package would be unknown")
    grouped = lines.groupby("product_id")
    baskets = grouped.basket_id.nunique()
    households = grouped.household_id.nunique()
    paid = grouped.sales_value.sum()
    unit_price = median_unit_price(lines)
    table = pd.DataFrame(
        {
            "log baskets": np.log(baskets),
            "log households": np.log(households),
            "log baskets per household": np.log(baskets / households),
            "log unit price": np.log(unit_price),
            "retail discount share": grouped.retail_disc.sum() / (paid + grouped.retail_disc.sum()),
            "coupon share": grouped.coupon_disc.sum() / (paid + grouped.coupon_disc.sum()),
            "log quantity per line": np.log(grouped.quantity.mean()),
            "weekend share": (lines.transaction_timestamp.dt.day_of_week >= 5).groupby(lines.product_id).mean(),
        }
    ).reindex(product_ids)
    catalogue = products.set_index("product_id").reindex(product_ids)
    table["private label"] = (catalogue.brand == "Private").astype(float).to_numpy()
    size, unit = _package(catalogue.package_size)
    table["log package size"] = np.log(size.fillna(size.median())).to_numpy()
    for kind in ("weight", "volume", "count"):
        table[f"package: {kind}"] = (unit == kind).astype(float).to_numpy()
    table["package: other unit"] = ((unit == "other") & size.notna()).astype(float).to_numpy()
    table["package: unknown"] = size.isna().astype(float).to_numpy()
    table = table[FEATURES].astype(float)
    if not np.isfinite(table.to_numpy()).all():
        bad = table.columns[~np.isfinite(table.to_numpy()).all(axis=0)].tolist()
        raise ValueError(f"non-finite feature values in {bad}")
    spread = table.std().replace(0, 1)
    return (table - table.mean()) / spread


def _package(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """First number of a package size ("12 OZ", "4 PK/4 OZ") and the kind of its unit."""
    parts = text.str.extract(r"(?P<size>\d+(?:\.\d+)?)\s*(?P<unit>[A-Z]+)")
    size = pd.to_numeric(parts["size"], errors="coerce")
    size = size.where(size > 0)
    kind = pd.Series("other", index=text.index)
    for name, units in _UNITS.items():
        kind[parts["unit"].isin(units)] = name
    return size, kind
