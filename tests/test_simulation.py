"""The simulated shop (issue "your own baskets"): its baskets carry the structure it says it planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prodassoc_lab.data import basket_matrix
from prodassoc_lab.simulation import ShopModel, simulate_shop


@pytest.fixture(scope="module")
def shop():
    return simulate_shop(ShopModel(seed=3))


def _baskets_with(transactions: pd.DataFrame, product: int) -> set:
    return set(transactions.basket_id[transactions.product_id == product])


def test_the_same_seed_gives_the_same_shop(shop):
    again = simulate_shop(ShopModel(seed=3))
    pd.testing.assert_frame_equal(shop.transactions, again.transactions)
    assert not simulate_shop(ShopModel(seed=4)).transactions.equals(shop.transactions)


def test_baskets_are_sets_of_known_products(shop):
    lines = shop.transactions
    assert list(lines.columns) == ["basket_id", "household_id", "week", "product_id", "quantity"]
    assert not lines.duplicated(["basket_id", "product_id"]).any() and (lines.quantity == 1).all()
    assert lines.product_id.between(0, shop.model.n_products - 1).all() and lines.week.between(1, 52).all()
    assert lines.groupby("basket_id")[["household_id", "week"]].nunique().eq(1).all().all()  # one trip each
    assert basket_matrix(lines).n_baskets == lines.basket_id.nunique()
    assert shop.popularity.sum() == pytest.approx(1.0)


def test_a_planted_complement_follows_its_antecedent(shop):
    lines, strength = shop.transactions, shop.model.complement_strength
    for antecedent, consequent in shop.complements.itertuples(index=False):
        with_a, with_b = _baskets_with(lines, antecedent), _baskets_with(lines, consequent)
        # P(b | a) is at least the planted strength (b can also come by its own draws), minus sampling noise
        assert len(with_a & with_b) / len(with_a) > strength - 4 * np.sqrt(strength * (1 - strength) / len(with_a))
    roles = [shop.complements.antecedent, shop.complements.consequent, shop.substitutes.product_id,
             shop.seasonal.product_id]
    every = np.concatenate([r.to_numpy() for r in roles])
    assert len(set(every)) == len(every)  # each product plays one role at most


def test_substitutes_are_never_bought_together(shop):
    lines = shop.transactions.merge(shop.substitutes, on="product_id")
    assert lines.groupby(["basket_id", "group"]).size().max() == 1
    assert lines.product_id.nunique() == len(shop.substitutes)  # yet every one of them sells


def test_a_seasonal_product_sells_most_near_its_peak(shop):
    lines = shop.transactions
    trips = lines.groupby("week").basket_id.nunique()
    near = []
    for product, peak in shop.seasonal.itertuples(index=False):
        share = lines[lines.product_id == product].groupby("week").size().reindex(trips.index, fill_value=0) / trips
        distance = np.minimum(abs(share.index - peak), 52 - abs(share.index - peak))
        near.append(share[distance <= 2].mean() / share[distance > 10].mean())
    assert np.median(near) > 2  # amplitude 4 at the peak


def test_households_repeat_their_habits(shop):
    lines = shop.transactions.merge(shop.habits.assign(habit=True), on=["household_id", "product_id"], how="left")
    habit_share = lines.habit.fillna(False).astype(bool).mean()
    habits = simulate_shop(ShopModel(seed=3, repeat_share=0.0))
    no_repeat = habits.transactions.merge(habits.habits.assign(habit=True), on=["household_id", "product_id"],
                                          how="left").habit.fillna(False).astype(bool).mean()
    assert habit_share > no_repeat + 0.15  # habits make up a visible share of each household's lines


@pytest.mark.parametrize(("settings", "message"), [
    ({"n_products": 50}, r"needs 145 distinct products \(2 per complementary pair, 3 per substitute group, 5 seasonal\) but the shop has 50"),
    ({"visit_probability": 0.0}, "visit_probability must be above 0"),
    ({"repeat_share": 1.5}, r"repeat_share must be in \[0, 1\], got 1.5"),
    ({"mean_draws": 0.5}, r"mean_draws must be in \[1, inf\)"),
    ({"substitute_group_size": 1}, "substitute_group_size must be an integer ≥ 2, got 1"),
    ({"habit_size": 500}, r"habit_size \(500\) cannot exceed n_products \(400\)"),
    ({"n_households": 0}, "n_households must be a positive integer, got 0"),
])
def test_impossible_shops_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        ShopModel(**settings)


def test_simulate_shop_wants_a_model():
    with pytest.raises(TypeError, match="model must be a ShopModel, got dict"):
        simulate_shop({"n_products": 100})
