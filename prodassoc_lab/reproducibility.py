"""Seeds, threads and tolerance checks: the same conclusions on every reader's machine.

A seed fixes the random numbers, not the arithmetic: PyTorch picks AVX2 or
AVX-512 kernels at run time, MKL picks code paths per CPU, and the number of
threads changes the order of float sums. So results of training agree across
machines only to a tolerance, and the notebooks check them with
:func:`~prodassoc_lab.reproducibility.check_close` instead of comparing digits
(README, "How the notebooks are tested"; chapters 6 and 7).
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from collections.abc import Mapping

import numpy as np

from prodassoc_lab.validation import finite_float, non_negative_float, seed_value

#: How many threads PyTorch uses in the chapters (one, unless ``$PRODASSOC_LAB_THREADS`` says
#: otherwise). On a 2-core laptop a second thread gains little when the other core is idle,
#: and makes an epoch several times slower when another process keeps that core busy (a
#: browser, a second notebook); one thread never collapses (the README's "How the notebooks
#: are tested" gives the measurement). One thread also takes the core count out of the things
#: that change the order of float sums.
BOOK_THREADS = 1
MAX_THREADS = 1024
RECORD_ENV = "PRODASSOC_LAB_RECORD"  # a JSON-lines file: check_close appends what it checks (README)


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and (if imported) PyTorch; return a seeded NumPy generator.

    Every chapter calls this in its setup cell, after its imports. PyTorch is
    seeded only when the chapter has imported it, so chapters without deep
    learning do not pay the seconds that importing torch costs. When PyTorch is
    imported, its thread count is also set: ``$PRODASSOC_LAB_THREADS`` if set,
    else :data:`~prodassoc_lab.reproducibility.BOOK_THREADS`.
    """
    seed = seed_value(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(book_threads())
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def book_threads() -> int:
    """The thread count the chapters use: ``$PRODASSOC_LAB_THREADS`` if set, else ``BOOK_THREADS``.

    A bad value is refused with a ``ValueError`` that names the variable.
    """
    text = os.environ.get("PRODASSOC_LAB_THREADS", "").strip()
    if not text:
        return BOOK_THREADS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_THREADS:
        raise ValueError(f"PRODASSOC_LAB_THREADS must be an integer from 1 to {MAX_THREADS}, got {text!r}")
    return int(text)


def check_close(
    value: float | Mapping[str, float],
    reference: float | Mapping[str, float],
    tol: float,
    what: str,
) -> None:
    """Assert that a CPU-dependent result lies within ``tol`` of the stored run's ``reference``.

    ``value`` and ``reference`` are numbers, or mappings (dict, pandas Series)
    from names to numbers, compared name by name; a name missing on either side
    fails. ``tol`` is an absolute tolerance, set from the spread measured across
    CPUs and thread counts (README). The error names ``what`` and the number that
    moved, so a failing notebook cell says which result changed and by how much.
    With ``$PRODASSOC_LAB_RECORD`` set, every comparison is also appended to that
    file (``benchmarks/tolerance_spread.py`` measures the spreads this way).
    """
    tol = non_negative_float(tol, "tol")
    if hasattr(reference, "items") or hasattr(value, "items"):
        if not (hasattr(reference, "items") and hasattr(value, "items")):
            raise TypeError(f"{what}: compare a mapping with a mapping, got value {type(value).__name__} "
                            f"and reference {type(reference).__name__}")
        values = dict(value.items())
        expected = dict(reference.items())
        if set(values) != set(expected):
            raise AssertionError(
                f"{what}: names differ from the stored run: missing {sorted(set(expected) - set(values))}, "
                f"new {sorted(set(values) - set(expected))}"
            )
        for name, stored in expected.items():
            check_close(values[name], stored, tol, f"{what} [{name}]")
        return
    if (isinstance(value, (bool, np.bool_, str, complex)) or np.iscomplexobj(value) or np.ndim(value) != 0
            or not hasattr(value, "__float__")):
        raise TypeError(f"{what}: the value must be a number, got {type(value).__name__} {value!r}")
    reference = finite_float(reference, f"{what}: the stored reference")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if os.environ.get(RECORD_ENV):
        try:
            with open(os.environ[RECORD_ENV], "a", encoding="utf-8") as record:
                record.write(json.dumps({"what": what, "value": value, "reference": reference, "tol": tol}) + "\n")
        except OSError as error:
            raise ValueError(f"${RECORD_ENV} names {os.environ[RECORD_ENV]!r}, which cannot be appended to "
                             f"({error.strerror or error})") from None
    if not math.isfinite(value):
        raise AssertionError(f"{what}: got {value}, not a finite number (stored run: {reference:.6g})")
    if abs(value - reference) > tol:
        raise AssertionError(
            f"{what}: {value:.6g} differs from the stored run's {reference:.6g} by {abs(value - reference):.3g}, "
            f"more than the tolerance {tol:.3g}"
        )
