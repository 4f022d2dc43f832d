"""How the book compares methods: equal validation searches, and paired bootstrap intervals over test items.

* :func:`draw_configurations` draws the same number of configurations from a
  stated search space for every method (seeded), and :func:`validation_search`
  fits each on the validation set, keeps the best and records them all in a
  :class:`SearchRecord`; the test set is read afterwards, once, by the caller.
* :func:`paired_bootstrap` puts a 95% interval on the difference of two
  methods' mean per-item scores on the *same* test items (products, baskets,
  households), resampling items with replacement and keeping each item's two
  scores together (SciPy's ``bootstrap`` on the per-item differences). The
  spread over seeds says how much training varies; this interval says how
  much the test set's draw matters.
* :func:`holm` adjusts the p-values of several comparisons in one summary
  (Holm's step-down method), so that a table of many comparisons does not
  name a winner by chance too often.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from prodassoc_lab.validation import bounded_float, positive_int, seed_value


def draw_configurations(space: Mapping[str, Sequence], budget: int, seed: int = 0) -> list[dict]:
    """``budget`` distinct points of the grid ``space``, drawn uniformly without replacement.

    ``space`` maps each setting to the values it may take; a configuration takes
    one value of each. The draw depends only on ``space``, ``budget`` and
    ``seed``, so every method searched with the same space and seed tries the
    same configurations. A grid with fewer than ``budget`` points is refused
    (the budget could not be spent).
    """
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must map each setting to its values, got {space!r:.80}")
    for name, values in space.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"space[{name!r}] must be a non-empty sequence of values, got {values!r:.80}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"space[{name!r}] repeats a value: {list(values)}")
    budget, seed = positive_int(budget, "budget"), seed_value(seed)
    sizes = [len(values) for values in space.values()]
    points = math.prod(sizes)
    if budget > points:
        raise ValueError(f"budget={budget} configurations, but the space holds only {points}")
    drawn = np.random.default_rng(seed).choice(points, size=budget, replace=False)
    return [{name: values[int(i)] for (name, values), i in zip(space.items(), np.unravel_index(flat, sizes),
                                                                strict=True)}
            for flat in drawn]


@dataclass(frozen=True)
class SearchRecord:
    """Every configuration a validation search tried, its validation score, and the one it chose.

    The chosen configuration is the first with the highest score (ties keep the
    earlier draw).
    """

    configurations: tuple[dict, ...]
    scores: tuple[float, ...]

    @property
    def best(self) -> int:
        """Position of the chosen configuration."""
        return int(np.argmax(self.scores))

    @property
    def chosen(self) -> dict:
        """The configuration with the best validation score."""
        return self.configurations[self.best]

    def to_frame(self) -> pd.DataFrame:
        """One row per configuration: its settings, ``validation`` (the score) and ``chosen``."""
        table = pd.DataFrame(list(self.configurations))
        table["validation"] = list(self.scores)
        table["chosen"] = np.arange(len(table)) == self.best
        return table


def validation_search(configurations: Sequence[dict],
                      fit: Callable[[dict], tuple[float, Any]]) -> tuple[SearchRecord, Any]:
    """Fit every configuration, score it on validation, and return the record and the best fit.

    ``fit(configuration)`` returns ``(validation score, fitted object)``; only the
    best fitted object is kept. ``fit`` must not see the test items: the caller
    reads the test once, for the returned object, after the search.
    """
    configurations = list(configurations)
    if not configurations or not all(isinstance(c, Mapping) for c in configurations):
        raise ValueError("configurations must be a non-empty sequence of settings (dicts)")
    scores, best = [], None
    for configuration in configurations:
        score, fitted = fit(dict(configuration))
        score = float(score)
        if not math.isfinite(score):
            raise ValueError(f"the validation score of {configuration} is {score}; a search needs finite scores")
        if best is None or score > max(scores):
            best = fitted
        scores.append(score)
    return SearchRecord(tuple(dict(c) for c in configurations), tuple(scores)), best


@dataclass(frozen=True)
class PairedInterval:
    r"""The difference ``mean(first) − mean(second)`` over the same test items, with its bootstrap interval.

    ``p_value`` is an approximate two-sided p-value of "no difference", found by
    inverting the percentile interval: with :math:`k` of the :math:`B`
    resampled differences on the smaller side of zero (ties counted on both
    sides), :math:`\min(1, 2(k + 1)/(B + 1))`, so never 0; the interval at
    level ``1 − p_value`` just reaches zero.
    """

    difference: float
    low: float
    high: float
    p_value: float
    confidence: float
    items: int
    resamples: int

    @property
    def excludes_zero(self) -> bool:
        """``True`` when the interval lies wholly above or below zero (only then is a winner named)."""
        return self.low > 0 or self.high < 0

    def verdict(self, first: str, second: str) -> str:
        """``"<first> ahead"``, ``"<second> ahead"`` or ``"within noise"``, by the interval."""
        if not self.excludes_zero:
            return "within noise"
        return f"{first} ahead" if self.difference > 0 else f"{second} ahead"


def paired_bootstrap(first: Sequence[float], second: Sequence[float], *, resamples: int = 10_000,
                     confidence: float = 0.95, seed: int = 0) -> PairedInterval:
    r"""Percentile bootstrap interval of :math:`\bar{x} - \bar{y}` for per-item scores of two methods.

    .. math::
        \Delta^{*}_{b} = \frac{1}{n}\sum_{i=1}^{n} \big(x_{I_{bi}} - y_{I_{bi}}\big), \qquad
        I_{bi} \sim \mathrm{Uniform}\{1, \dots, n\}

    ``first[i]`` and ``second[i]`` score the same test item ``i`` (1/0 for a
    correct class, a query's recall, a basket's hit); each resample draws items
    with replacement and keeps the pairs together, so what both methods find
    hard cancels. The interval holds the middle ``confidence`` of the
    ``resamples`` values :math:`\Delta^{*}_{b}`.

    Args:
        first: per-item scores of the first method, shape ``(n,)``.
        second: per-item scores of the second method on the same items, in the same order.
        resamples: bootstrap resamples.
        confidence: the interval's coverage, in (0, 1).
        seed: seed of the resampling.
    """
    arrays = []
    for name, values in (("first", first), ("second", second)):
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold per-item scores (numbers), got {values!r:.80}") from None
        if not np.isfinite(array).all():
            raise ValueError(f"{name} has {int((~np.isfinite(array)).sum())} NaN or infinite score(s); "
                             "per-item scores must be finite numbers")
        arrays.append(array)
    x, y = arrays
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"first and second must be per-item scores of the same two or more items, got shapes "
                         f"{x.shape} and {y.shape}")
    resamples, seed = positive_int(resamples, "resamples"), seed_value(seed)
    confidence = bounded_float(confidence, "confidence", 0, 1, low_open=True, high_open=True)
    difference = x - y
    if np.all(difference == difference[0]):  # every resample is the same: the interval is that one value
        value = float(difference[0])
        p_value = 1.0 if value == 0 else min(1.0, 2 / (resamples + 1))
        return PairedInterval(value, value, value, p_value, confidence, len(x), resamples)
    result = bootstrap((difference,), lambda d, axis: d.mean(axis=axis), vectorized=True, n_resamples=resamples,
                       confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    draws = result.bootstrap_distribution
    smaller_side = min(int((draws <= 0).sum()), int((draws >= 0).sum()))
    p_value = min(1.0, 2 * (smaller_side + 1) / (resamples + 1))
    return PairedInterval(float(difference.mean()), float(result.confidence_interval.low),
                          float(result.confidence_interval.high), p_value, confidence, len(x), resamples)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    r"""Holm's step-down adjustment of the p-values of several comparisons, keyed as given.

    .. math::
        \tilde{p}_{(j)} = \max_{i \le j} \min\big(1, (m - i + 1)\, p_{(i)}\big)

    for the p-values sorted :math:`p_{(1)} \le \dots \le p_{(m)}`. Rejecting "no
    difference" where :math:`\tilde{p} < \alpha` keeps the chance of rejecting any
    true "no difference" among the :math:`m` at most :math:`\alpha` when the p-values
    are valid (approximately, for bootstrap p-values).
    """
    names = list(p_values)
    values = np.array([p_values[name] for name in names], dtype=np.float64)
    if values.size == 0:
        raise ValueError("p_values must map at least one comparison to its p-value")
    outside = [name for name, value in zip(names, values, strict=True) if not 0 <= value <= 1]
    if outside:
        raise ValueError(f"p_values must lie in [0, 1]; {outside[0]!r} has {p_values[outside[0]]!r}")
    order = np.argsort(values, kind="stable")
    m = len(values)
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * values[order]))
    result = np.empty(m)
    result[order] = adjusted
    return {name: float(value) for name, value in zip(names, result, strict=True)}
