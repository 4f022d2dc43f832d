"""``python -m prodassoc_lab.next_basket``: the command line of chapter 9's comparison."""

from __future__ import annotations

import argparse
from pathlib import Path

from prodassoc_lab.cli import add_seed_argument, check_output, parse_arguments, positive_integer, write_table


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m prodassoc_lab.next_basket``."""
    parser = argparse.ArgumentParser(prog="python -m prodassoc_lab.next_basket",
                                     description="Chapter 9: baselines, the two trained models and a hybrid, "
                                                 "on one next-basket task.")
    add_seed_argument(parser, "training seeds of the two models")
    parser.add_argument("--products", type=positive_integer, default=5000, help="catalogue size")
    parser.add_argument("--results", type=Path, required=True, help="CSV file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run chapter 9's comparison and write its table; bad arguments exit with code 2 before any work."""
    parser = build_parser()
    args = parse_arguments(parser, argv)
    check_output(parser, "--results", args.results, ".csv")

    from prodassoc_lab.datasets import cleaned_complete_journey
    from prodassoc_lab.next_basket.experiment import next_basket_comparison
    from prodassoc_lab.next_basket.task import next_basket_task

    transactions, _ = cleaned_complete_journey()
    try:  # how many products there are is known only once the data is loaded
        task = next_basket_task(transactions, args.products)
    except ValueError as error:
        if "n_products" not in str(error):
            raise
        parser.error(f"--products: {error}")
    table = next_basket_comparison(task, tuple(dict.fromkeys(args.seed)))
    write_table(table, args.results)
    print(f"wrote {len(table)} rows to {args.results}")
    return 0
