"""The error policy: one bounded-float check and one missing-column error for the whole package."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch

from prodassoc_lab.data import basket_matrix, clean_transactions, standardize_transactions
from prodassoc_lab.features import product_features
from prodassoc_lab.graph import ProductGraph, product_graph
from prodassoc_lab.links.cold_start import AttributeTraining
from prodassoc_lab.links.experiment import RehearsalTraining
from prodassoc_lab.links.features import catalogue_text, product_attributes
from prodassoc_lab.links.task import time_split
from prodassoc_lab.next_basket.baselines import tifu_vectors
from prodassoc_lab.next_basket.task import next_basket_task
from prodassoc_lab.nodes.evaluation import stratified_masks, summarize
from prodassoc_lab.nodes.models import NodeClassifier
from prodassoc_lab.rules import directed_rules
from prodassoc_lab.validation import MissingColumnError, TransactionDataError, bounded_float, require_columns


@pytest.mark.parametrize(("low_open", "high_open", "inside", "outside", "interval"), [
    (False, False, [0, 0.5, 1], [-0.1, 1.1], "[0, 1]"),
    (True, False, [1e-9, 1], [0, 0.0, 1.5], "(0, 1]"),
    (False, True, [0, 0.999], [1, 1.0, -1], "[0, 1)"),
    (True, True, [0.1, np.float64(0.9), np.float32(0.5)], [0, 1], "(0, 1)"),
])
def test_bounded_float_ends(low_open, high_open, inside, outside, interval):
    for value in inside:
        number = bounded_float(value, "share", 0, 1, low_open=low_open, high_open=high_open)
        assert type(number) is float and number == float(value)
    for value in outside:
        with pytest.raises(ValueError, match=rf"^share must be in {re.escape(interval)}, "
                                             rf"got {value!r}$"):
            bounded_float(value, "share", 0, 1, low_open=low_open, high_open=high_open)


@pytest.mark.parametrize("value", [True, False, "0.1", None, [0.5], math.nan, math.inf, -math.inf, 10**400,
                                   np.bool_(True)])
def test_bounded_float_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(ValueError, match=r"^alpha must be in \[0, 1\], got ") as caught:
        bounded_float(value, "alpha", 0, 1)
    assert not isinstance(caught.value, TypeError)


def test_bounded_float_names_other_intervals():
    assert bounded_float(7, "k", 2, 10) == 7.0
    with pytest.raises(ValueError, match=r"^level must be in \(0\.5, 2\.5\], got 0\.5$"):
        bounded_float(0.5, "level", 0.5, 2.5, low_open=True)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: NodeClassifier("gcn", 3, 8, 2, dropout="0.5"), r"dropout must be in \[0, 1\), got '0\.5'"),
    (lambda: NodeClassifier("gcn", 3, 8, 2, dropout=math.nan), r"dropout must be in \[0, 1\), got nan"),
    (lambda: stratified_masks(torch.zeros(10, dtype=torch.long), 0, train="0.6"),
     r"train must be in \(0, 1\), got '0\.6'"),
    (lambda: stratified_masks(torch.zeros(10, dtype=torch.long), 0, val=True), r"val must be in \(0, 1\), got True"),
    (lambda: tifu_vectors(None, "val", 2, "0.9", 0.5), r"within_decay must be in \(0, 1\], got '0\.9'"),
    (lambda: tifu_vectors(None, "val", 2, 0.9, 0.0), r"group_decay must be in \(0, 1\], got 0\.0"),
])
def test_range_checks_are_value_errors_naming_argument_interval_and_value(call: Callable[[], object], message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("settings", [AttributeTraining, RehearsalTraining])
@pytest.mark.parametrize("value", ["0.1", True, 0, 1, math.nan])
def test_val_share_as_text_is_a_clear_value_error(settings, value):
    with pytest.raises(ValueError, match=rf"^val_share must be in \(0, 1\), got {re.escape(repr(value))}$"):
        settings(val_share=value)


def test_max_p_value_is_a_bounded_float(basket_matrix_from_lists):
    baskets = basket_matrix_from_lists([[1, 2], [1, 2], [2, 3]])
    products = pd.DataFrame({"product_id": [1, 2, 3]})
    for value in (0, 1.5, "0.05", math.nan):
        with pytest.raises(ValueError, match=r"max_p_value must be in \(0, 1\], got "):
            product_graph(baskets, products, min_count=1, max_p_value=value)


def test_require_columns_wording_and_type():
    table = pd.DataFrame({"a": [1], "b": [2]})
    require_columns(table, ["b", "a"], "t")
    with pytest.raises(MissingColumnError) as caught:
        require_columns(table, ["a", "x", "y", "x"], "my table", hint="rename them")
    assert str(caught.value) == "my table: missing column(s) ['x', 'y']; the table has ['a', 'b']; rename them"
    assert isinstance(caught.value, TransactionDataError) and isinstance(caught.value, ValueError)
    with pytest.raises(TransactionDataError, match="my table: expected a pandas DataFrame, got list"):
        require_columns([1, 2], ["a"], "my table")


def _lines() -> pd.DataFrame:
    return pd.DataFrame({"basket_id": [1, 1, 2, 2], "product_id": [1, 2, 1, 2], "household_id": [5, 5, 5, 5],
                         "quantity": [1, 1, 1, 1], "sales_value": [1.0, 2.0, 1.0, 2.0], "retail_disc": 0.0,
                         "coupon_disc": 0.0, "week": [1, 1, 2, 2],
                         "transaction_timestamp": pd.to_datetime(["2017-01-01"] * 2 + ["2017-01-08"] * 2)})


_CATALOGUE = pd.DataFrame({"product_id": [1, 2], "department": "D", "product_category": "C", "product_type": "T",
                           "brand": "B", "manufacturer_id": 1, "package_size": "1 OZ"})
_NODES = pd.DataFrame({"product_id": [1, 2]})
_EDGES = pd.DataFrame({"source": [0], "target": [1], "weight": [1.0]})


@pytest.mark.parametrize(("call", "what", "missing"), [
    (lambda: standardize_transactions(pd.DataFrame({"o": [1], "s": [2]}), "o", "sku", source="f.csv"), "f.csv",
     ["sku"]),
    (lambda: clean_transactions(_lines().drop(columns="basket_id")), "transactions", ["basket_id"]),
    (lambda: clean_transactions(_lines(), products=_NODES.rename(columns={"product_id": "sku"})), "products",
     ["product_id"]),
    (lambda: basket_matrix(_lines().drop(columns="product_id")), "transactions", ["product_id"]),
    (lambda: basket_matrix(_lines(), by="store_id"), "transactions", ["store_id"]),
    (lambda: ProductGraph(_NODES.rename(columns={"product_id": "sku"}), _EDGES, "lift"), "ProductGraph.nodes",
     ["product_id"]),
    (lambda: ProductGraph(_NODES, _EDGES.drop(columns="weight"), "lift"), "ProductGraph.edges", ["weight"]),
    (lambda: product_graph(basket_matrix(_lines()), pd.DataFrame({"sku": [1, 2]})), "products", ["product_id"]),
    (lambda: product_features(_lines().drop(columns="retail_disc"), _CATALOGUE, pd.Index([1, 2])), "transactions",
     ["retail_disc"]),
    (lambda: directed_rules(pd.DataFrame({"product_a": [1]})), "pairs", None),
    (lambda: summarize(pd.DataFrame({"method": ["a"], "acc": [0.5]})), "runs", ["accuracy", "macro-F1"]),
    (lambda: product_attributes(_lines(), _CATALOGUE.drop(columns="brand"), pd.Index([1, 2])), "products",
     ["brand"]),
    (lambda: catalogue_text(_CATALOGUE.drop(columns="brand")), "attributes", ["brand"]),
    (lambda: time_split(_lines().drop(columns="week"), _CATALOGUE), "transactions", ["week"]),
    (lambda: next_basket_task(_lines().drop(columns="household_id")), "transactions", ["household_id"]),
])
def test_every_missing_column_raises_one_type_with_one_wording(call, what, missing):
    with pytest.raises(MissingColumnError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(f"{what}: missing column(s) "), message
    assert "; the table has [" in message
    if missing is not None:
        assert message.startswith(f"{what}: missing column(s) {missing}; "), message
