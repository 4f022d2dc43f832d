"""``python -m prodassoc_lab.links``: the command line of chapter 8's comparison."""

from __future__ import annotations

import argparse
from pathlib import Path

from prodassoc_lab.cli import add_seed_argument, check_output, parse_arguments, write_table

# The names of prodassoc_lab.links.models.LAYERS, written out so that --model is checked without
# importing PyTorch; a unit test keeps them equal.
ENCODER_CHOICES = ("seed", "gcn", "sage")


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m prodassoc_lab.links``."""
    parser = argparse.ArgumentParser(prog="python -m prodassoc_lab.links",
                                     description="Chapter 8: new associations and cold start on The Complete Journey.")
    parser.add_argument("--model", nargs="+", default=["seed", "gcn"], choices=ENCODER_CHOICES,
                        help="encoders to train")
    add_seed_argument(parser, "seeds (one training run each)")
    parser.add_argument("--results", type=Path, required=True, help="CSV file to write the table to")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run chapter 8's comparison and write its table; bad arguments exit with code 2 before any work."""
    parser = build_parser()
    args = parse_arguments(parser, argv)
    check_output(parser, "--results", args.results, ".csv")

    from prodassoc_lab.datasets import cleaned_complete_journey
    from prodassoc_lab.links.experiment import compare_link_models, rehearsal_experiments

    rehearsal, experiment = rehearsal_experiments(*cleaned_complete_journey())
    table = compare_link_models(experiment, tuple(dict.fromkeys(args.model)), tuple(dict.fromkeys(args.seed)),
                                rehearsal)
    write_table(table, args.results)
    print(table.groupby(["task", "method"]).mean(numeric_only=True).drop(columns="seed").round(4).to_string())
    return 0
