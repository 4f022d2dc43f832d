"""The comparison protocol: equal-budget searches, paired bootstrap intervals and Holm's adjustment."""

from __future__ import annotations

import numpy as np
import pytest

from prodassoc_lab.protocol import draw_configurations, holm, paired_bootstrap, validation_search


def test_the_paired_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(0)
    first = rng.random(4000)
    second = first - 0.02 + rng.normal(0, 0.2, 4000)
    result = paired_bootstrap(first, second, resamples=4000, seed=1)
    difference = first - second
    half_width = 1.959964 * difference.std(ddof=1) / np.sqrt(len(difference))
    assert result.difference == pytest.approx(difference.mean())
    assert result.low == pytest.approx(difference.mean() - half_width, abs=0.15 * half_width)
    assert result.high == pytest.approx(difference.mean() + half_width, abs=0.15 * half_width)
    assert result.excludes_zero and result.verdict("A", "B") == "A ahead" and result.p_value < 0.01


def test_equal_methods_are_within_noise():
    rng = np.random.default_rng(2)
    first, second = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    result = paired_bootstrap(first, second, resamples=2000, seed=0)
    assert result.low < 0 < result.high or not result.excludes_zero
    identical = paired_bootstrap(first, first)
    assert (identical.low, identical.high, identical.p_value) == (0.0, 0.0, 1.0)
    assert identical.verdict("A", "B") == "within noise"


def test_pairing_matters():
    # the same item is hard for both methods: pairing removes that shared variation
    hardness = np.random.default_rng(3).random(500)
    first, second = hardness + 0.01, hardness
    assert paired_bootstrap(first, second).excludes_zero


@pytest.mark.parametrize(("first", "second", "message"), [
    ([1.0], [1.0], "two or more items"), ([1.0, 2.0], [1.0], "same two or more items"),
    ([1.0, np.nan], [1.0, 2.0], "finite"),
])
def test_bad_scores_are_refused(first, second, message):
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(first, second)


def test_holm_on_a_worked_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4·0.005, 3·0.01, 2·0.03, max(1·0.04, 0.06)
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    assert adjusted == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})


def test_holm_is_never_stricter_than_bonferroni_nor_looser_than_none():
    p = dict(zip("abcdef", np.random.default_rng(4).random(6), strict=True))
    adjusted = holm(p)
    assert all(p[k] <= adjusted[k] <= min(1.0, 6 * p[k]) for k in p)
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\]; .a. has 1.5"):
        holm({"a": 1.5})


def test_the_p_value_is_never_zero_and_names_bad_input():
    result = paired_bootstrap(np.ones(50), np.zeros(50), resamples=999)
    assert result.p_value == pytest.approx(2 / 1000)
    with pytest.raises(TypeError, match="first must hold per-item scores"):
        paired_bootstrap(["a", "b"], [1.0, 2.0])
    with pytest.raises(ValueError, match="second has 1 NaN"):
        paired_bootstrap([1.0, 2.0], [1.0, np.nan])


SPACE = {"lr": (0.01, 0.1), "hidden": (16, 32, 64), "dropout": (0.0, 0.5)}


def test_draws_are_distinct_points_of_the_space_and_repeatable():
    drawn = draw_configurations(SPACE, 12, seed=3)
    assert len({tuple(c.items()) for c in drawn}) == 12  # the whole grid, each point once
    assert all(c[name] in values for c in drawn for name, values in SPACE.items())
    assert draw_configurations(SPACE, 5, seed=3) == draw_configurations(SPACE, 5, seed=3)
    assert draw_configurations(SPACE, 5, seed=3) != draw_configurations(SPACE, 5, seed=4)
    # every point is equally likely: over many seeds each is drawn about budget/points of the time
    counts = {}
    for seed in range(600):
        for c in draw_configurations(SPACE, 3, seed=seed):
            counts[tuple(c.items())] = counts.get(tuple(c.items()), 0) + 1
    assert len(counts) == 12 and max(counts.values()) < 1.35 * 150 and min(counts.values()) > 0.65 * 150


@pytest.mark.parametrize("space, budget, message", [
    (SPACE, 13, "only 12"),
    ({}, 1, "must map"),
    ({"lr": ()}, 1, "non-empty sequence"),
    ({"lr": "abc"}, 1, "non-empty sequence"),
    ({"lr": (0.1, 0.1)}, 1, "repeats a value"),
    (SPACE, 0, "budget"),
])
def test_bad_spaces_and_budgets_are_refused(space, budget, message):
    with pytest.raises(ValueError, match=message):
        draw_configurations(space, budget)


def test_the_search_keeps_the_first_best_and_records_every_score():
    fitted = []

    def fit(configuration):
        fitted.append(configuration["a"])
        return configuration["a"] % 3, f"model {configuration['a']}"

    record, best = validation_search([{"a": 1}, {"a": 2}, {"a": 5}, {"a": 3}], fit)
    assert fitted == [1, 2, 5, 3] and record.scores == (1.0, 2.0, 2.0, 0.0)
    assert record.best == 1 and record.chosen == {"a": 2} and best == "model 2"
    table = record.to_frame()
    assert list(table.columns) == ["a", "validation", "chosen"] and table.chosen.tolist() == [False, True, False, False]
    with pytest.raises(ValueError, match="finite scores"):
        validation_search([{"a": 1}], lambda c: (float("nan"), None))
    with pytest.raises(ValueError, match="non-empty sequence"):
        validation_search([], fit)
