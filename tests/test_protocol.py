"""The comparison protocol: paired bootstrap intervals and Holm's adjustment."""

from __future__ import annotations

import numpy as np
import pytest

from prodassoc_lab.protocol import holm, paired_bootstrap


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
