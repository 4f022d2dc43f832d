"""Pair statistics: exact values on a hand example, identical to mlxtend on real baskets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules, fpgrowth

from prodassoc_lab.data import basket_matrix, clean_transactions, load_complete_journey, top_products
from prodassoc_lab.rules import PAIR_COLUMNS, directed_rules, pair_statistics


@pytest.fixture
def four_baskets():
    # {milk, bread}, {milk, bread, eggs}, {milk}, {bread, eggs}
    lines = pd.DataFrame(
        {
            "basket_id": [1, 1, 2, 2, 2, 3, 4, 4],
            "product_id": ["milk", "bread", "milk", "bread", "eggs", "milk", "bread", "eggs"],
        }
    )
    return basket_matrix(lines)


def test_hand_example(four_baskets):
    pairs = pair_statistics(four_baskets).set_index(["product_a", "product_b"])
    assert list(pairs.reset_index().columns) == PAIR_COLUMNS
    bread_milk = pairs.loc[("bread", "milk")]  # ids sort: bread < eggs < milk
    # n = 4, n_bread = 3, n_milk = 3, n_both = 2
    assert bread_milk.count_ab == 2
    assert bread_milk.support == 2 / 4
    assert bread_milk.confidence_ab == 2 / 3 and bread_milk.confidence_ba == 2 / 3
    assert bread_milk.lift == pytest.approx(4 * 2 / (3 * 3))
    assert bread_milk.leverage == pytest.approx(2 / 4 - (3 / 4) * (3 / 4))
    assert bread_milk.conviction_ab == pytest.approx((1 - 3 / 4) / (1 - 2 / 3))
    assert bread_milk.pmi == pytest.approx(math.log2(8 / 9))
    assert bread_milk.npmi == pytest.approx(math.log2(8 / 9) / -math.log2(2 / 4))
    assert bread_milk.jaccard == pytest.approx(2 / (3 + 3 - 2))
    bread_eggs = pairs.loc[("bread", "eggs")]
    assert bread_eggs.confidence_ba == 1.0 and bread_eggs.conviction_ba == np.inf
    assert ("eggs", "milk") in pairs.index and len(pairs) == 3


def test_min_count_filters_pairs(four_baskets):
    pairs = pair_statistics(four_baskets, min_count=2)
    assert set(zip(pairs.product_a, pairs.product_b, strict=True)) == {("bread", "milk"), ("bread", "eggs")}


def test_no_pair_above_min_count(four_baskets):
    with pytest.raises(ValueError, match="no product pair is bought together in min_count=3"):
        pair_statistics(four_baskets, min_count=3)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_min_count(four_baskets, bad):
    with pytest.raises(ValueError, match="min_count must be a positive integer"):
        pair_statistics(four_baskets, min_count=bad)


def test_directed_rules_need_pair_columns():
    with pytest.raises(ValueError, match=r"pairs: missing column\(s\) .*; pass the output of pair_statistics"):
        directed_rules(pd.DataFrame({"product_a": [1]}))


def mlxtend_rules(baskets, min_count):
    """mlxtend's rules at the threshold of ``min_count`` baskets.

    fpgrowth keeps itemsets with count >= ceil(min_support * n); passing
    (min_count - 0.5) / n makes that exactly min_count whatever the rounding.
    """
    n = baskets.n_baskets
    onehot = pd.DataFrame(baskets.matrix.toarray().astype(bool), columns=baskets.product_ids.astype(str))
    frequent = fpgrowth(onehot, min_support=(min_count - 0.5) / n, use_colnames=True, max_len=2)
    rules = association_rules(frequent, num_itemsets=n, metric="support", min_threshold=0.0)
    rules["antecedent"] = rules.antecedents.map(lambda s: int(next(iter(s))))
    rules["consequent"] = rules.consequents.map(lambda s: int(next(iter(s))))
    return rules


@pytest.mark.real_data
def test_identical_to_mlxtend_on_real_baskets():
    transactions, products = load_complete_journey()
    clean, _ = clean_transactions(transactions, products)
    first_weeks = clean[clean.week <= 8]
    baskets = top_products(basket_matrix(first_weeks), 150)
    ours = directed_rules(pair_statistics(baskets, min_count=5))
    theirs = mlxtend_rules(baskets, min_count=5)
    assert len(ours) == len(theirs) > 1000
    merged = ours.merge(theirs, on=["antecedent", "consequent"], suffixes=("", "_mlxtend"), validate="one_to_one")
    assert len(merged) == len(ours)
    for column in ["antecedent support", "consequent support", "support", "confidence", "lift",
                   "leverage", "conviction", "jaccard"]:
        np.testing.assert_allclose(merged[column], merged[f"{column}_mlxtend"], rtol=1e-12, atol=0)
