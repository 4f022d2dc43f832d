"""A simulated shop whose product associations are known: baskets drawn from a stated model.

On real data nobody knows which products truly go together, so no method can be
scored against the truth. :func:`simulate_shop` draws ``n_weeks`` weeks of
baskets (a year by default) from a model with the ingredients of a grocery
shop, and returns the ground truth it planted beside them:

1. **Popularity.** The product of popularity rank :math:`j` (of :math:`n`; the
   ranks are a random order of the products) has weight :math:`w_j \\propto j^{-s}`,
   Zipf's law with exponent :math:`s`.
2. **Seasonality.** A share of the products peaks once in the ``n_weeks`` weeks:
   in week :math:`t` its weight is multiplied by
   :math:`1 + (a - 1)\\,\\exp\\!\\big(-d(t, t_j)^2 / (2 \\cdot 3^2)\\big)`, with
   :math:`t_j` its peak week, :math:`d` the distance in weeks around the period
   (week ``n_weeks`` is next to week 1) and :math:`a` the amplitude; then each
   week's weights are scaled to sum to 1, so a peak raises a product's share of
   the draws by a little less than :math:`a` when other peaks coincide.
3. **Households and habits.** Each household shops in each week with
   probability :math:`p_{\\text{visit}}`, and has a habit set of ``habit_size``
   distinct products drawn by the base popularity (not the week's, and blind to
   substitute groups). A basket holds :math:`1 + \\text{Poisson}(m - 1)` draws;
   each draw repeats one of the household's habits (each as likely) with
   probability :math:`r`, and otherwise follows the popularity of the week.
4. **Substitutes.** The products of a substitute group (one brand against
   another) are never bought together: of several drawn into one basket, the
   first drawn is kept and the others are dropped, not drawn again.
5. **Complements.** Each planted pair :math:`(a, b)` makes :math:`b` follow
   :math:`a`: a basket that holds :math:`a` gains :math:`b` with probability
   ``complement_strength``, whatever else it holds.

Repeated draws of one product in a basket count once (a basket is a set), so a
basket may hold fewer products than draws. The products of planted pairs, of
substitute groups and the seasonal ones are chosen apart, so each product plays
at most one of these roles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prodassoc_lab.data import BASKET, ITEM, QUANTITY
from prodassoc_lab.validation import bounded_float, bounded_int, positive_int, seed_value

HOUSEHOLD, WEEK = "household_id", "week"
SEASON_WIDTH = 3.0  # weeks: the standard deviation of a seasonal peak


@dataclass(frozen=True)
class ShopModel:
    """The parameters of :func:`simulate_shop`, checked when made (the module docstring gives the model).

    Args:
        n_products: products in the shop.
        n_households: households that shop there.
        n_weeks: weeks simulated.
        visit_probability: chance that a household shops in a given week.
        mean_draws: mean number of draws per basket, :math:`m \\ge 1`.
        popularity_exponent: the Zipf exponent :math:`s \\ge 0` (0: every product as popular).
        repeat_share: chance :math:`r` that a draw repeats one of the household's habits.
        habit_size: products in each household's habit set.
        n_complements: planted complementary pairs.
        complement_strength: chance that a basket holding the first product of a pair gains the second.
        n_substitute_groups: planted substitute groups.
        substitute_group_size: products per substitute group (at least 2).
        seasonal_share: share of the products with a peak (rounded to a whole number of products).
        seasonal_amplitude: the multiplier of a seasonal product's weight at its peak, :math:`a \\ge 1`.
        seed: seed of every random draw.
    """

    n_products: int = 400
    n_households: int = 1000
    n_weeks: int = 52
    visit_probability: float = 0.5
    mean_draws: float = 6.0
    popularity_exponent: float = 1.0
    repeat_share: float = 0.3
    habit_size: int = 10
    n_complements: int = 40
    complement_strength: float = 0.4
    n_substitute_groups: int = 20
    substitute_group_size: int = 3
    seasonal_share: float = 0.1
    seasonal_amplitude: float = 4.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_products", "n_households", "n_weeks", "habit_size"):
            positive_int(getattr(self, name), name)
        for name in ("n_complements", "n_substitute_groups"):
            bounded_int(getattr(self, name), name, low=0)
        bounded_int(self.substitute_group_size, "substitute_group_size", low=2)
        for name in ("visit_probability", "repeat_share", "complement_strength", "seasonal_share"):
            bounded_float(getattr(self, name), name, 0, 1)
        if self.visit_probability == 0:
            raise ValueError("visit_probability must be above 0: with 0 nobody shops")
        bounded_float(self.mean_draws, "mean_draws", 1, self.n_products)
        bounded_float(self.popularity_exponent, "popularity_exponent", 0, float("inf"), high_open=True)
        bounded_float(self.seasonal_amplitude, "seasonal_amplitude", 1, float("inf"), high_open=True)
        seed_value(self.seed)
        if self.habit_size > self.n_products:
            raise ValueError(f"habit_size ({self.habit_size}) cannot exceed n_products ({self.n_products})")
        weights = np.arange(1, self.n_products + 1, dtype=float) ** -self.popularity_exponent
        if np.count_nonzero(weights / weights.sum()) < self.habit_size:
            raise ValueError(f"popularity_exponent={self.popularity_exponent} leaves fewer than habit_size="
                             f"{self.habit_size} products with a weight above 0; use a smaller exponent")
        roles = 2 * self.n_complements + self.n_substitute_groups * self.substitute_group_size + self.n_seasonal
        if roles > self.n_products:
            raise ValueError(f"the planted structure needs {roles} distinct products (2 per complementary pair, "
                             f"{self.substitute_group_size} per substitute group, {self.n_seasonal} seasonal) but "
                             f"the shop has {self.n_products}; plant fewer or add products")

    @property
    def n_seasonal(self) -> int:
        """The number of seasonal products."""
        return round(self.seasonal_share * self.n_products)


@dataclass(frozen=True)
class SimulatedShop:
    """Baskets drawn by :func:`simulate_shop` and the structure planted in them.

    ``transactions`` has one row per basket line (``basket_id``,
    ``household_id``, ``week``, ``product_id``, ``quantity`` = 1); basket,
    household and week ids count from 1 (basket ids in order of household, then
    week), product ids and substitute groups from 0;
    ``complements`` one row per planted pair (``antecedent`` → ``consequent``);
    ``substitutes`` one row per product of a substitute group (``group``,
    ``product_id``); ``seasonal`` one row per seasonal product (``product_id``,
    ``peak_week``); ``habits`` one row per product of each household's habit set
    (``household_id``, ``product_id``); ``popularity`` the base weight of every
    product (summing to 1).
    """

    transactions: pd.DataFrame
    complements: pd.DataFrame
    substitutes: pd.DataFrame
    seasonal: pd.DataFrame
    habits: pd.DataFrame
    popularity: pd.Series
    model: ShopModel


def simulate_shop(model: ShopModel | None = None) -> SimulatedShop:
    """Draw the baskets of a shop from ``model`` (default ``ShopModel()``); see the module docstring."""
    model = ShopModel() if model is None else model
    if not isinstance(model, ShopModel):
        raise TypeError(f"model must be a ShopModel, got {type(model).__name__}")
    rng = np.random.default_rng(model.seed)
    n = model.n_products
    popularity = np.empty(n)
    popularity[rng.permutation(n)] = np.arange(1, n + 1, dtype=float) ** -model.popularity_exponent
    popularity /= popularity.sum()

    roles = rng.permutation(n)
    pairs = roles[: 2 * model.n_complements].reshape(-1, 2)
    used = 2 * model.n_complements
    group_size = model.substitute_group_size
    groups = roles[used: used + model.n_substitute_groups * group_size].reshape(-1, group_size)
    used += groups.size
    seasonal = roles[used: used + model.n_seasonal]
    peaks = rng.integers(1, model.n_weeks + 1, size=len(seasonal))

    weeks = np.arange(1, model.n_weeks + 1)
    distance = np.abs(weeks[:, None] - peaks[None, :])
    distance = np.minimum(distance, model.n_weeks - distance)  # around the year
    weekly = np.tile(popularity, (model.n_weeks, 1))
    weekly[:, seasonal] *= 1 + (model.seasonal_amplitude - 1) * np.exp(-distance ** 2 / (2 * SEASON_WIDTH ** 2))
    weekly /= weekly.sum(axis=1, keepdims=True)

    habits = np.stack([rng.choice(n, model.habit_size, replace=False, p=popularity)
                       for _ in range(model.n_households)])
    visits = rng.random((model.n_households, model.n_weeks)) < model.visit_probability
    household, week_index = visits.nonzero()
    if len(household) == 0:
        raise ValueError(f"no household shopped in {model.n_weeks} week(s) at visit_probability="
                         f"{model.visit_probability}: raise it, or add households or weeks")
    draws = 1 + rng.poisson(model.mean_draws - 1, size=len(household))
    basket = np.repeat(np.arange(len(household)), draws)
    line_household, line_week = household[basket], week_index[basket]
    product = np.empty(len(basket), dtype=np.int64)
    repeat = rng.random(len(basket)) < model.repeat_share
    product[repeat] = habits[line_household[repeat], rng.integers(0, model.habit_size, int(repeat.sum()))]
    for w in range(model.n_weeks):  # one draw per week's weights, all of that week's lines at once
        lines = np.flatnonzero(~repeat & (line_week == w))
        product[lines] = rng.choice(n, len(lines), p=weekly[w])

    lines = pd.DataFrame({BASKET: basket, ITEM: product}).drop_duplicates()
    group_of = pd.Series(np.repeat(np.arange(len(groups)), group_size), index=groups.ravel())
    lines["group"] = lines[ITEM].map(group_of)
    in_group = lines.group.notna()
    lines = pd.concat([lines[~in_group], lines[in_group].drop_duplicates([BASKET, "group"])]).drop(columns="group")
    partner = pd.Series(pairs[:, 1], index=pairs[:, 0])
    triggers = lines[lines[ITEM].isin(partner.index)]
    gained = triggers[rng.random(len(triggers)) < model.complement_strength]
    lines = pd.concat([lines, pd.DataFrame({BASKET: gained[BASKET].to_numpy(),
                                             ITEM: gained[ITEM].map(partner).to_numpy()})])
    lines = lines.drop_duplicates().sort_values([BASKET, ITEM], ignore_index=True)
    transactions = pd.DataFrame({BASKET: lines[BASKET].to_numpy() + 1,
                                 HOUSEHOLD: household[lines[BASKET]] + 1, WEEK: week_index[lines[BASKET]] + 1,
                                 ITEM: lines[ITEM].to_numpy(), QUANTITY: 1})
    return SimulatedShop(
        transactions=transactions,
        complements=pd.DataFrame({"antecedent": pairs[:, 0], "consequent": pairs[:, 1]}),
        substitutes=pd.DataFrame({"group": np.repeat(np.arange(len(groups)), group_size), ITEM: groups.ravel()}),
        seasonal=pd.DataFrame({ITEM: seasonal, "peak_week": peaks}),
        habits=pd.DataFrame({HOUSEHOLD: np.repeat(np.arange(1, model.n_households + 1), model.habit_size),
                             ITEM: habits.ravel()}),
        popularity=pd.Series(popularity, name="popularity").rename_axis(ITEM),
        model=model,
    )
