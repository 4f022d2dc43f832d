"""Argument checks shared by the whole package: one wording and one error type.

The error policy of ``prodassoc_lab``: a bad *argument* (a count that is not a
positive integer, a learning rate that is not finite) raises ``ValueError``
naming the argument and the value; bad *data* (a transactions table without
its columns, a basket matrix that holds a 2) raises :class:`TransactionDataError`,
itself a ``ValueError``; a table without a column it needs raises its subclass
:class:`MissingColumnError` (:func:`require_columns`, one wording everywhere).
This module imports nothing of the package, so every module may use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real

SEED_LIMIT = 2**32  # NumPy and scikit-learn seeds must lie below this


class TransactionDataError(ValueError):
    """Transactions that cannot be analysed; the message says what is wrong and where."""


class MissingColumnError(TransactionDataError):
    """A table lacks a column it needs (raised by :func:`require_columns`)."""


def require_columns(table: object, columns: Iterable[str], what: str, hint: str | None = None) -> None:
    """Raise :class:`MissingColumnError` unless ``table`` has every one of ``columns``.

    The message reads ``"<what>: missing column(s) [...]; the table has [...]"``
    (then ``"; <hint>"`` when a hint is given), so a misspelt name is seen next to
    the names the table does have. A ``table`` without columns at all (not a
    DataFrame) raises :class:`TransactionDataError`.
    """
    present = getattr(table, "columns", None)
    if present is None:
        raise TransactionDataError(f"{what}: expected a pandas DataFrame, got {type(table).__name__}")
    present = list(present)
    missing = [col for col in dict.fromkeys(columns) if col not in present]
    if missing:
        raise MissingColumnError(f"{what}: missing column(s) {missing}; the table has {present}"
                                 + (f"; {hint}" if hint else ""))


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


def bounded_float(value: object, name: str, low: float, high: float, *, low_open: bool = False,
                  high_open: bool = False) -> float:
    """``value`` as a ``float`` if it is a finite number in the interval from ``low`` to ``high``.

    Both ends are closed unless ``low_open`` or ``high_open`` says otherwise:
    ``bounded_float(share, "val_share", 0, 1, low_open=True, high_open=True)``
    accepts ``0 < share < 1``. ``bool``, strings, NaN and infinities raise
    ``ValueError`` with one wording: ``"val_share must be in (0, 1), got '0.1'"``.

    Args:
        value: the value to check.
        name: the argument's name, for the message.
        low: the lower end of the interval.
        high: the upper end.
        low_open: exclude ``low`` itself.
        high_open: exclude ``high`` itself.
    """
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    number = finite_float(value, name, f"in {interval}")
    if number < low or number > high or (low_open and number == low) or (high_open and number == high):
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return number
