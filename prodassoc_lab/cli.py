"""What the book's commands share: argument types and checks that run before any heavy work.

Each command (``python -m prodassoc_lab.nodes``, ``.links``, ``.next_basket``,
``.explain``) parses and checks its arguments before it imports PyTorch or loads
data, so a mistake is reported at once with exit code 2 and a message naming
the argument. Result tables are written with :func:`write_table`, atomically.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from prodassoc_lab.files import check_writable_file, write_atomically
from prodassoc_lab.provenance import provenance_path, write_provenance
from prodassoc_lab.reproducibility import book_threads
from prodassoc_lab.validation import SEED_LIMIT


def positive_integer(text: str) -> int:
    """An ``argparse`` type: a positive integer."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_number(text: str) -> float:
    """An ``argparse`` type: a finite positive number."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text}")
    return value


def seed(text: str) -> int:
    """An ``argparse`` type: a seed, an integer with ``0 ≤ seed < 2**32``."""
    value = int(text)
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"seeds must be integers in [0, 2**32), got {text}")
    return value


class _DistinctSeeds(argparse.Action):
    """Store the seeds, refusing a repeated one: a repeated seed repeats a run and shrinks the spread."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: list[int],
                 option_string: str | None = None) -> None:
        if len(set(values)) != len(values):
            parser.error(f"{option_string}: seeds must be distinct, got {' '.join(map(str, values))}")
        setattr(namespace, self.dest, values)


def add_seed_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--seed S [S ...]``: one or more distinct seeds, default 0."""
    parser.add_argument("--seed", type=seed, nargs="+", default=[0], action=_DistinctSeeds, help=help)


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, then the checks every command shares: ``$PRODASSOC_LAB_THREADS``.

    A bad value ends the program with exit code 2 before any work, as a bad argument does.
    """
    args = parser.parse_args(argv)
    try:
        book_threads()
    except ValueError as error:
        parser.error(str(error))
    return args


def check_output(parser: argparse.ArgumentParser, option: str, path: Path | None, suffix: str | None = None) -> None:
    """End the program (exit code 2) if ``path`` given to ``option``, or its provenance record beside it,
    cannot be written, before any work."""
    if path is None:
        return
    if suffix is not None and path.suffix != suffix:
        parser.error(f"{option} must name a {suffix} file, got {path}")
    try:
        check_writable_file(path, option)
        check_writable_file(provenance_path(path), f"{option} (its provenance record)")
    except ValueError as error:
        parser.error(str(error))


def write_table(table: pd.DataFrame, path: Path, float_format: str = "%.6f") -> None:
    """Write ``table`` as CSV to ``path`` atomically (a failed write keeps the previous file).

    Its provenance record (commit, versions, command line, CPU) is written
    beside it as ``<path>.provenance.json`` (:mod:`prodassoc_lab.provenance`).
    """
    write_atomically(path, lambda temporary: table.to_csv(temporary, index=False, float_format=float_format),
                     "results file")
    write_provenance(path)
