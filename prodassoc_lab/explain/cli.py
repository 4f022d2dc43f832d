"""``python -m prodassoc_lab.explain --out FOLDER``: retrain and save the weights chapter 10 explains."""

from __future__ import annotations

import argparse
from pathlib import Path

from prodassoc_lab.cli import check_output, parse_arguments

# The names of prodassoc_lab.explain.saved_models.LINK_ENCODER and BASKET_SASREC, written out so that --out is
# checked without importing PyTorch; a unit test keeps them equal.
WEIGHT_FILES = ("link_gcn_seed0.pt", "basket_sasrec_seed0.pt")


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m prodassoc_lab.explain``."""
    parser = argparse.ArgumentParser(prog="python -m prodassoc_lab.explain",
                                     description="Retrain chapter 8's GCN encoder and chapter 9's self-attention "
                                                 "model (seed 0) and save their weights for chapter 10.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the weight files")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Check ``--out`` before PyTorch is imported, then train and save (exit code 2 on a bad argument)."""
    parser = build_parser()
    args = parse_arguments(parser, argv)
    if not str(args.out).strip() or args.out == Path():
        parser.error("--out: give the folder for the weight files, e.g. book/results/weights")
    if not args.out.is_dir():
        parser.error(f"--out: {args.out} is not a folder" if args.out.exists()
                     else f"--out: folder {args.out} does not exist")
    for name in WEIGHT_FILES:
        check_output(parser, "--out", args.out / name)

    from prodassoc_lab.explain.saved_models import save_weights

    save_weights(args.out)
    return 0
