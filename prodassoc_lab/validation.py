"""Argument checks shared by the whole package: one wording and one error type.

The error policy of ``prodassoc_lab``: a bad *argument* (a count that is not a
positive integer, a learning rate that is not finite) raises ``ValueError``
naming the argument and the value; bad *data* (a transactions table without
its columns, a basket matrix that holds a 2) raises
:class:`~prodassoc_lab.data.TransactionDataError`, itself a ``ValueError``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

SEED_LIMIT = 2**32  # NumPy and scikit-learn seeds must lie below this


def positive_int(value: object, name: str) -> int:
    """``value`` as an ``int`` if it is an integer ≥ 1 (``bool`` is not), else ``ValueError``."""
    return bounded_int(value, name, low=1)


def bounded_int(value: object, name: str, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer with ``low ≤ value < high``, else ``ValueError``."""
    if (isinstance(value, bool) or not isinstance(value, Integral) or value < low
            or (high is not None and value >= high)):
        wanted = f"an integer ≥ {low}" + (f" and < {high}" if high is not None else "")
        if low == 1 and high is None:
            wanted = "a positive integer"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def seed_value(value: object, name: str = "seed") -> int:
    """A seed: an integer with ``0 ≤ seed < 2**32`` (what NumPy and scikit-learn accept)."""
    return bounded_int(value, name, low=0, high=SEED_LIMIT)


def positive_float(value: object, name: str) -> float:
    """``value`` as a ``float`` if it is a finite number > 0, else ``ValueError``."""
    number = finite_float(value, name, "a finite positive number")
    if number <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return number


def non_negative_float(value: object, name: str) -> float:
    """``value`` as a ``float`` if it is a finite number ≥ 0, else ``ValueError``."""
    number = finite_float(value, name, "a finite non-negative number")
    if number < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
    return number


def finite_float(value: object, name: str, wanted: str = "a finite number") -> float:
    """``value`` as a ``float`` if it is a real number (not ``bool``) that a float holds finitely."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"{name} must be {wanted}, got an integer too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return number
