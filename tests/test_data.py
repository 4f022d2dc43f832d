"""Unit tests of prodassoc_lab.data: correct results on small and real data, clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from prodassoc_lab.data import (
    BasketMatrix,
    TransactionDataError,
    basket_matrix,
    clean_transactions,
    filter_products,
    load_complete_journey,
    read_transactions,
    standardize_transactions,
)
from prodassoc_lab.rules import pair_statistics


@pytest.fixture
def shop() -> pd.DataFrame:
    """Five baskets in a shop's own column names, with one line of each defect."""
    return pd.DataFrame(
        {
            "order": ["o1", "o1", "o1", "o2", "o2", "o3", "o3", "o4", "o5", "o5", "o5"],
            "sku": ["milk", "bread", "milk", "milk", "eggs", "bread", "eggs", "milk", "tea", "milk", "eggs"],
            "qty": [1, 1, 2, 1, 1, 1, -1, 1, 1, 1, 1],
            "amount": [1.0, 2.0, 2.0, 1.0, 3.0, 2.0, -3.0, 1.0, 0.0, 1.0, 3.0],
        }
    )


@pytest.fixture
def catalogue() -> pd.DataFrame:
    return pd.DataFrame({"product_id": ["milk", "bread", "eggs"], "department": ["DAIRY", "BAKERY", "DAIRY"]})


def standard(shop: pd.DataFrame) -> pd.DataFrame:
    return standardize_transactions(shop, "order", "sku", quantity_col="qty", sales_col="amount")


# --- reading a shop's own file -------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_transactions_round_trip(tmp_path, shop, suffix):
    path = tmp_path / f"lines{suffix}"
    shop.to_csv(path, index=False) if suffix == ".csv" else shop.to_parquet(path)
    table = read_transactions(path, "order", "sku", quantity_col="qty", sales_col="amount")
    assert list(table.columns) == ["basket_id", "product_id", "quantity", "sales_value"]
    assert table["product_id"].tolist() == shop["sku"].tolist()
    assert table["quantity"].sum() == shop["qty"].sum()


def test_read_transactions_keeps_other_columns(tmp_path, shop):
    path = tmp_path / "lines.csv"
    shop.assign(store=7).to_csv(path, index=False)
    assert "store" in read_transactions(path, "order", "sku").columns


def test_missing_file_is_named(tmp_path):
    with pytest.raises(TransactionDataError, match="no such file"):
        read_transactions(tmp_path / "absent.csv", "order", "sku")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("lines.xlsx", "x", "expected a .csv or .parquet file"),
        ("lines.parquet", "this is not parquet", "cannot read .* as Parquet"),
        ("lines.csv", "", "the file is empty"),
        ("lines.csv", "order,sku\n", "has no rows"),  # a header only is an empty table
    ],
)
def test_a_file_that_cannot_be_read_is_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(TransactionDataError, match=message):
        read_transactions(path, "order", "sku")


# --- validation ------------------------------------------------------------------------


def test_missing_column_is_named(shop):
    with pytest.raises(TransactionDataError, match=r"missing column\(s\) \['basket'\]"):
        standardize_transactions(shop, "basket", "sku")


def test_float_ids_are_rejected(shop):
    shop["sku"] = np.arange(len(shop)) + 0.5
    with pytest.raises(TransactionDataError, match="'sku' holds floating values"):
        standardize_transactions(shop, "order", "sku")


def test_mixed_ids_are_rejected(shop):
    shop["order"] = shop["order"].astype(object)
    shop.loc[0, "order"] = 17
    with pytest.raises(TransactionDataError, match="'order' holds mixed"):
        standardize_transactions(shop, "order", "sku")


def test_missing_ids_are_located(shop):
    shop.loc[3, "sku"] = None
    with pytest.raises(TransactionDataError, match=r"'sku' has 1 missing id\(s\), the first in row 3"):
        standardize_transactions(shop, "order", "sku")


def test_non_numeric_quantity(shop):
    shop["qty"] = shop["qty"].astype(str)
    with pytest.raises(TransactionDataError, match="'qty' must be numeric"):
        standardize_transactions(shop, "order", "sku", quantity_col="qty")


def test_renaming_onto_an_existing_column_is_refused(shop):
    with pytest.raises(TransactionDataError, match=r"\['product_id'\] already exist"):
        standardize_transactions(shop.assign(product_id=1), "order", "sku")


def test_not_a_dataframe():
    with pytest.raises(TransactionDataError, match="expected a pandas DataFrame, got list"):
        standardize_transactions([1, 2], "order", "sku")


# --- cleaning --------------------------------------------------------------------------


def test_cleaning_counts_each_rule(shop, catalogue):
    clean, report = clean_transactions(standard(shop), catalogue)
    assert report.removed == {
        "quantity <= 0": 1,  # o3 eggs, a return
        "sales value <= 0": 1,  # o5 tea, free
        "product not in product table": 0,  # tea already went under the sales rule
        "repeated (basket, product) line": 1,  # o1 milk twice
    }
    assert report.lines_in == 11 and report.lines_out == 8 == len(clean)
    merged = clean.set_index(["basket_id", "product_id"]).loc[("o1", "milk")]
    assert merged["quantity"] == 3 and merged["sales_value"] == 3.0
    table = report.to_frame()
    assert table["lines"].sum() == report.lines_in
    assert table.iloc[-1].tolist()[:2] == ["kept", 8]


def test_unknown_products_are_removed(shop, catalogue):
    _, report = clean_transactions(standard(shop), catalogue[catalogue.product_id != "eggs"])
    assert report.removed["product not in product table"] == 2  # o2 eggs, o5 eggs


def test_cleaning_without_quantity_or_products_skips_those_rules(shop):
    table = standardize_transactions(shop, "order", "sku")
    clean, report = clean_transactions(table)
    assert list(report.removed) == ["repeated (basket, product) line"]
    assert len(clean) == 10


def test_cleaning_everything_away_is_an_error(shop):
    shop["qty"] = 0
    with pytest.raises(TransactionDataError, match="cleaning removed every line"):
        clean_transactions(standard(shop))


def test_cleaning_needs_standard_columns(shop):
    with pytest.raises(TransactionDataError, match="use standardize_transactions"):
        clean_transactions(shop)


def test_product_table_without_id_column(shop, catalogue):
    with pytest.raises(TransactionDataError, match=r"products: missing column\(s\) \['product_id'\]"):
        clean_transactions(standard(shop), catalogue.rename(columns={"product_id": "sku"}))


# --- the basket matrix -----------------------------------------------------------------


def test_basket_matrix_is_binary_and_indexed_both_ways(shop):
    baskets = basket_matrix(standard(shop))
    assert isinstance(baskets, BasketMatrix)
    assert baskets.matrix.shape == (5, 4)
    assert set(np.unique(baskets.matrix.data)) == {1}  # milk twice in o1 counts once
    assert baskets.basket_sizes().tolist() == [2, 2, 2, 1, 3]
    milk = baskets.product_positions(["milk"])[0]
    assert baskets.product_ids[milk] == "milk"
    assert baskets.product_counts()["milk"] == 4
    dense = baskets.matrix.toarray()
    o2 = baskets.basket_positions(["o2"])[0]
    assert sorted(baskets.product_ids[dense[o2] == 1]) == ["eggs", "milk"]


def test_unknown_id_lookup(shop):
    with pytest.raises(KeyError, match="1 product id"):
        basket_matrix(standard(shop)).product_positions(["milk", "caviar"])


def test_no_basket_with_two_items(shop):
    singles = pd.DataFrame({"basket_id": [1, 2, 3], "product_id": [10, 10, 11]})
    with pytest.raises(TransactionDataError, match="no basket has two or more distinct products"):
        basket_matrix(singles)


def test_a_repeated_item_is_not_two_items():
    twice = pd.DataFrame({"basket_id": [1, 1], "product_id": [10, 10]})
    with pytest.raises(TransactionDataError, match="no basket has two"):
        basket_matrix(twice)


def test_filter_products_by_basket_count(shop):
    baskets = filter_products(basket_matrix(standard(shop)), min_baskets=2)
    assert sorted(baskets.product_ids) == ["bread", "eggs", "milk"]  # tea is in one basket
    assert baskets.n_baskets == 5
    assert (baskets.basket_sizes() > 0).all()


def test_filter_drops_baskets_left_empty():
    lines = pd.DataFrame({"basket_id": [1, 1, 2, 2, 3], "product_id": [10, 11, 10, 11, 12]})
    baskets = filter_products(basket_matrix(lines), min_baskets=2)
    assert baskets.basket_ids.tolist() == [1, 2]


def test_filter_removing_everything_is_an_error(shop):
    with pytest.raises(TransactionDataError,
                       match="min_baskets=99 removes every product: the most frequent one is in 4"):
        filter_products(basket_matrix(standard(shop)), 99)


def test_filter_leaving_no_pair_is_an_error():
    lines = pd.DataFrame({"basket_id": [1, 1, 2, 3], "product_id": [10, 11, 10, 10]})
    with pytest.raises(TransactionDataError, match="after min_baskets=2: no basket has two"):
        filter_products(basket_matrix(lines), 2)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "5"])
def test_filter_rejects_bad_min_count(shop, bad):
    with pytest.raises(ValueError, match="min_baskets must be a positive integer"):
        filter_products(basket_matrix(standard(shop)), bad)


# --- the real data set -----------------------------------------------------------------


@pytest.fixture(scope="module")
def complete_journey():
    return load_complete_journey()


@pytest.mark.real_data
def test_complete_journey_ships_offline(complete_journey):
    transactions, products = complete_journey
    assert len(transactions) == 1_469_307
    assert products["product_id"].is_unique
    assert {"basket_id", "product_id", "quantity", "sales_value", "week"} <= set(transactions.columns)


@pytest.mark.real_data
def test_complete_journey_cleaning_matches_direct_masks(complete_journey):
    transactions, products = complete_journey
    clean, report = clean_transactions(transactions, products)
    bad = (transactions.quantity <= 0) | (transactions.sales_value <= 0)
    bad |= ~transactions.product_id.isin(products.product_id)
    assert report.lines_out == len(clean) == int((~bad).sum())
    assert (clean.quantity > 0).all() and (clean.sales_value > 0).all()
    baskets = basket_matrix(clean)
    assert baskets.matrix.nnz == len(clean)  # no repeated (basket, product) line is left
    direct = clean.groupby("product_id").basket_id.nunique()
    assert baskets.product_counts().equals(direct.rename("baskets"))


def test_household_matrix_groups_by_another_column():
    lines = pd.DataFrame(
        {"basket_id": [1, 1, 2, 3], "household_id": [7, 7, 7, 8], "product_id": [10, 11, 12, 10]}
    )
    households = basket_matrix(lines, by="household_id")
    assert households.basket_ids.tolist() == [7, 8]
    assert households.basket_sizes().tolist() == [3, 1]
    with pytest.raises(TransactionDataError, match=r"transactions: missing column\(s\) \['store_id'\]"):
        basket_matrix(lines, by="store_id")


# --- ids are identifiers; a basket matrix holds only 0/1 ------------------------------


def test_csv_ids_are_read_as_text_and_stripped(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text("order,sku\n1,007\n1,7\n2, milk\n2,milk\n2,7\n")
    table = read_transactions(path, "order", "sku")
    assert table["product_id"].tolist() == ["007", "7", "milk", "milk", "7"]
    assert basket_matrix(table).n_products == 3  # 007, 7 and milk


def test_an_id_of_only_spaces_is_missing(shop):
    with pytest.raises(TransactionDataError, match="'sku' has 1 missing id"):
        standardize_transactions(shop.assign(sku=["  "] + shop.sku.tolist()[1:]), "order", "sku")


def test_a_boolean_basket_matrix_counts_pairs_like_mlxtend():
    dense = np.array([[1, 1, 0], [1, 1, 1], [1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    baskets = BasketMatrix(sp.csr_array(dense), pd.Index(range(5)), pd.Index(["a", "b", "c"]))
    assert baskets.matrix.dtype == np.int32
    ab = pair_statistics(baskets).set_index(["product_a", "product_b"]).loc[("a", "b")]
    assert ab["support"] == 0.8 and ab["confidence_ab"] == 1.0


def test_stored_zeros_are_dropped_from_a_basket_matrix():
    matrix = sp.csr_array(np.array([[1.0, 1.0], [1.0, 1.0]]))
    matrix.data[0] = 0.0  # stored, but not bought
    baskets = BasketMatrix(matrix, pd.Index([0, 1]), pd.Index(["a", "b"]))
    assert baskets.matrix.nnz == 3 and baskets.product_counts().tolist() == [1, 2]


@pytest.mark.parametrize(
    ("matrix", "basket_ids", "product_ids", "message"),
    [
        (sp.csr_array(np.array([[2, 1], [1, 1]])), [0, 1], ["a", "b"],
         "only 0 and 1.*e.g. 2 at \\(basket 0, product 0\\)"),
        (np.array([[1, 1], [1, 1]]), [0, 1], ["a", "b"], "2-D scipy sparse matrix, got ndarray"),
        (sp.csr_array(np.ones((2, 2))), [0, 1, 2], ["a", "b"], "basket_ids has 3 ids for a matrix of shape \\(2, 2\\)"),
        (sp.csr_array(np.ones((2, 2))), [0, 1], ["a", "a"], "product_ids repeats ids, e.g. \\['a'\\]"),
        (sp.coo_array(([1, 1], ([0, 0], [1, 1])), shape=(2, 2)), [0, 1], ["a", "b"], "more than once"),
    ],
)
def test_a_bad_basket_matrix_is_refused(matrix, basket_ids, product_ids, message):
    with pytest.raises(TransactionDataError, match=message):
        BasketMatrix(matrix, pd.Index(basket_ids), pd.Index(product_ids))
