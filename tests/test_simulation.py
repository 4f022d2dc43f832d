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
    for name in ("transactions", "complements", "substitutes", "seasonal", "habits"):
        pd.testing.assert_frame_equal(getattr(shop, name), getattr(again, name))
    pd.testing.assert_series_equal(shop.popularity, again.popularity)
    assert not simulate_shop(ShopModel(seed=4)).transactions.equals(shop.transactions)


def test_baskets_are_sets_of_known_products(shop):
    lines = shop.transactions
    assert list(lines.columns) == ["basket_id", "household_id", "week", "product_id", "quantity"]
    assert not lines.duplicated(["basket_id", "product_id"]).any() and (lines.quantity == 1).all()
    assert lines.product_id.between(0, shop.model.n_products - 1).all() and lines.week.between(1, 52).all()
    assert lines.household_id.between(1, 1000).all() and (lines.dtypes == "int64").all()
    assert (np.unique(lines.basket_id) == np.arange(1, lines.basket_id.nunique() + 1)).all()
    assert lines.groupby("basket_id")[["household_id", "week"]].nunique().eq(1).all().all()  # one trip each
    assert basket_matrix(lines).n_baskets == lines.basket_id.nunique()
    assert shop.popularity.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("strength", [0.4, 0.8])
def test_a_planted_complement_follows_its_antecedent(strength):
    shop = simulate_shop(ShopModel(seed=1, complement_strength=strength))
    lines, baskets = shop.transactions, set(shop.transactions.basket_id)
    lifts = []
    for antecedent, consequent in shop.complements.itertuples(index=False):
        with_a, with_b = _baskets_with(lines, antecedent), _baskets_with(lines, consequent)
        # b comes with a at the planted rate, on top of its own draws: (P(b|a) − P(b|¬a)) / (1 − P(b|¬a))
        own = len(with_b - with_a) / len(baskets - with_a)
        lifts.append((len(with_a & with_b) / len(with_a) - own) / (1 - own))
    assert np.median(lifts) == pytest.approx(strength, abs=0.03)


def test_each_product_plays_one_role_at_most(shop):
    roles = [shop.complements.antecedent, shop.complements.consequent, shop.substitutes.product_id,
             shop.seasonal.product_id]
    every = np.concatenate([r.to_numpy() for r in roles])
    assert len(set(every)) == len(every)


def test_substitutes_are_never_bought_together(shop):
    lines = shop.transactions.merge(shop.substitutes, on="product_id")
    assert lines.groupby(["basket_id", "group"]).size().max() == 1
    assert lines.product_id.nunique() == len(shop.substitutes)  # yet every one of them sells


def test_a_seasonal_product_sells_most_at_its_peak(shop):
    # the excess sales over the off-season level, by signed week offset from the recorded
    # peak (around the year), must centre on offset 0
    lines = shop.transactions
    trips = lines.groupby("week").basket_id.nunique()
    offsets, excess = np.arange(-8, 9), np.zeros(17)
    for product, peak in shop.seasonal.itertuples(index=False):
        share = lines[lines.product_id == product].groupby("week").size().reindex(trips.index, fill_value=0) / trips
        signed = (share.index - peak + 26) % 52 - 26
        level = share[np.abs(signed) > 12].mean()
        excess += np.array([share[signed == o].mean() - level for o in offsets]) / level
    assert abs((offsets * excess).sum() / excess.sum()) < 0.4
    assert excess[8] > 1.5 * excess[0] and excess[8] > 1.5 * excess[-1]  # a peak, not a plateau


def test_of_two_substitutes_drawn_the_first_is_kept():
    # two products, one group: every basket draws both often, and must keep exactly one
    shop = simulate_shop(ShopModel(n_products=2, habit_size=1, n_complements=0, n_substitute_groups=1,
                                   substitute_group_size=2, seasonal_share=0, mean_draws=2, n_households=50,
                                   n_weeks=4, seed=0))
    assert shop.transactions.groupby("basket_id").size().eq(1).all()
    baskets = shop.transactions.basket_id.to_numpy()
    assert (baskets == np.arange(1, len(baskets) + 1)).all()  # no basket lost both
    assert set(shop.transactions.product_id) == {0, 1}


@pytest.mark.parametrize("settings", [{"n_complements": 0}, {"n_substitute_groups": 0}, {"seasonal_share": 0.0},
                                      {"repeat_share": 1.0}, {"mean_draws": 1.0}, {"n_weeks": 1}])
def test_edge_settings_still_give_a_shop(settings):
    shop = simulate_shop(ShopModel(n_households=50, **settings))
    assert len(shop.transactions) > 0 and not shop.transactions.duplicated(["basket_id", "product_id"]).any()


def test_households_repeat_their_habits(shop):
    lines = shop.transactions.merge(shop.habits.assign(habit=True), on=["household_id", "product_id"], how="left")
    habit_share = lines.habit.fillna(False).astype(bool).mean()
    habits = simulate_shop(ShopModel(seed=3, repeat_share=0.0))
    no_repeat = habits.transactions.merge(habits.habits.assign(habit=True), on=["household_id", "product_id"],
                                          how="left").habit.fillna(False).astype(bool).mean()
    assert habit_share > no_repeat + 0.15  # habits make up a visible share of each household's lines


@pytest.mark.parametrize(("settings", "message"), [
    ({"n_products": 50}, r"needs 145 distinct products \(2 per complementary pair, 3 per substitute group, "
                         r"5 seasonal\) but the shop has 50"),
    ({"visit_probability": 0.0}, "visit_probability must be above 0"),
    ({"repeat_share": 1.5}, r"repeat_share must be in \[0, 1\], got 1.5"),
    ({"mean_draws": 0.5}, r"mean_draws must be in \[1, 400\]"),
    ({"popularity_exponent": 1000.0}, "popularity_exponent=1000.0 leaves fewer than habit_size=10 products"),
    ({"seasonal_amplitude": 0.5}, r"seasonal_amplitude must be in \[1, inf\)"),
    ({"n_complements": -1}, "n_complements must be an integer ≥ 0, got -1"),
    ({"substitute_group_size": 1}, "substitute_group_size must be an integer ≥ 2, got 1"),
    ({"habit_size": 500}, r"habit_size \(500\) cannot exceed n_products \(400\)"),
    ({"n_households": 0}, "n_households must be a positive integer, got 0"),
])
def test_impossible_shops_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        ShopModel(**settings)


def test_a_shop_nobody_visits_is_refused():
    with pytest.raises(ValueError, match="no household shopped in 1 week"):
        simulate_shop(ShopModel(n_households=1, n_weeks=1, visit_probability=0.01, seed=0))


def test_simulate_shop_wants_a_model():
    with pytest.raises(TypeError, match="model must be a ShopModel, got dict"):
        simulate_shop({"n_products": 100})
