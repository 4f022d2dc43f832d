"""How the book judges a gap between two methods: paired bootstrap intervals over test items (chapter 7).

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import bootstrap

from prodassoc_lab.validation import bounded_float, positive_int, seed_value


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
