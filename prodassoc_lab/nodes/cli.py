"""The source article's §5 training script, corrected, as a command (chapter 7).

``python -m prodassoc_lab.nodes --help``: train node classifiers on the
Complete Journey product graph and compare them with the baselines. The
arguments and paths are checked before PyTorch is imported, so a mistake is
reported at once rather than after the seconds that importing PyTorch and PyG
takes; the loop itself is :mod:`prodassoc_lab.nodes.experiment`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from prodassoc_lab.cli import (
    add_seed_argument,
    check_output,
    parse_arguments,
    positive_integer,
    positive_number,
    write_table,
)
from prodassoc_lab.datasets import GRAPH_KINDS, check_cache_writable, graph_cache_folder, is_cached
from prodassoc_lab.graph import LABELS, WEIGHTS

# The names of prodassoc_lab.nodes.models.MODELS and its GAT_HEADS, written out so that --model and --hidden
# are checked without importing PyTorch; a unit test keeps them equal.
MODEL_CHOICES = ("mlp", "gcn", "seed", "sage", "gat", "sgc", "appnp")
GAT_HEADS = 4


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m prodassoc_lab.nodes`` (printed in chapter 7)."""
    parser = argparse.ArgumentParser(
        prog="python -m prodassoc_lab.nodes",
        description="Train node classifiers on the Complete Journey product graph and compare them "
                    "with baselines (chapter 7).",
    )
    parser.add_argument("--graph", choices=GRAPH_KINDS, default="household",
                        help="which product graph (default: household)")
    parser.add_argument("--weight", choices=WEIGHTS, default="npmi", help="edge weight used for top-k (default: npmi)")
    parser.add_argument("--top-k", type=positive_integer, default=10, help="neighbours kept per product (default: 10)")
    parser.add_argument("--label", choices=LABELS, default="product_category",
                        help="the node label to predict (default: product_category)")
    parser.add_argument("--model", choices=MODEL_CHOICES, nargs="+", default=None,
                        help="one or more classifiers (default: gcn, or none when --label-trick is given)")
    parser.add_argument("--epochs", type=positive_integer, default=100, help="maximum epochs (default: 100)")
    parser.add_argument("--patience", type=positive_integer, default=30, help="early-stopping patience (default: 30)")
    parser.add_argument("--hidden", type=positive_integer, default=64, help="hidden units (default: 64)")
    parser.add_argument("--lr", type=positive_number, default=0.03, help="learning rate (default: 0.03)")
    add_seed_argument(parser, "one or more seeds, each a split and an initialization (default: 0); "
                              "with several, the table shows mean ± std over them")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: cuda if available")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="where to save the best model's weights (one model and one seed only)")
    parser.add_argument("--results", type=Path, default=None,
                        help="write one row per method and seed to this CSV file (chapter 7 reads such a file)")
    parser.add_argument("--search", type=positive_integer, default=None, metavar="BUDGET",
                        help="the book's protocol: every method tries BUDGET configurations drawn from its search "
                             "space, chosen on validation, the test read once (--lr, --hidden, --epochs and "
                             "--patience are then ignored: the space and the protocol's epoch cap apply); with "
                             "--results, the searches and the per-product outcomes go to <results>.searches.csv "
                             "and <results>.correct.csv")
    parser.add_argument("--label-trick", choices=MODEL_CHOICES, nargs="+", default=[],
                        help="with --search: these networks also run with the training labels as input features "
                             "(the label trick), as '<model> + label trick'")
    parser.add_argument("--jobs", type=positive_integer, default=1,
                        help="with --search: this many processes train at once, each one network on one split "
                             "(default: 1)")
    return parser


def companion_paths(results: Path) -> tuple[Path, Path]:
    """Where ``--search`` writes the searches and the per-product outcomes beside ``--results``."""
    return results.with_suffix(".searches.csv"), results.with_suffix(".correct.csv")


@functools.cache
def node_data_once(graph: str, weight: str, top_k: int, label: str):  # noqa: ANN201 (a Data, imported lazily)
    """Chapter 7's graph, loaded once per process (the worker processes of ``--jobs`` each load it once)."""
    from prodassoc_lab.pyg_data import load_node_data

    return load_node_data(graph, weight, top_k, label)


def _protocol_unit(graph: str, weight: str, top_k: int, label: str, split: int, network: tuple[str, bool] | None,
                   budget: int) -> list:
    """One unit of the protocol comparison, in a worker process: the baselines of a split, or one network on it."""
    from prodassoc_lab.nodes.experiment import protocol_baselines, protocol_network

    data = node_data_once(graph, weight, top_k, label)
    if network is None:
        return protocol_baselines(data, split, budget)
    kind, label_trick = network
    return protocol_network(data, split, kind, budget, label_trick=label_trick)


def _run_protocol(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from prodassoc_lab.nodes.experiment import check_protocol_methods, protocol_methods, protocol_tables

    models, splits = tuple(dict.fromkeys(args.model)), tuple(dict.fromkeys(args.seed))
    label_trick = tuple(dict.fromkeys(args.label_trick))
    try:
        check_protocol_methods(models, label_trick, splits, args.search)
    except ValueError as error:
        parser.error(f"--search: {error}")
    networks = [None, *protocol_methods(models, label_trick)]  # None: the baselines
    units = [(split, network) for split in splits for network in networks]
    data = node_data_once(args.graph, args.weight, args.top_k, args.label)
    runs: dict[tuple, list] = {}

    def finished(unit: tuple, unit_runs: list) -> None:
        # A split is written as soon as all its units are in, so an interrupted run keeps its finished splits.
        runs[unit] = unit_runs
        split = unit[0]
        if args.results and all((split, network) in runs for network in networks):
            done = [s for s in splits if all((s, network) in runs for network in networks)]
            result = protocol_tables(data, [r for s in done for network in networks for r in runs[s, network]])
            # the table last: where it holds a split, so do the files beside it
            for table, path in zip((result.searches, result.correct, result.table),
                                   (*companion_paths(args.results), args.results), strict=True):
                write_table(table, path)
            print(f"split {split} done ({len(done)} of {len(splits)}), written to {args.results}", flush=True)

    common = (args.graph, args.weight, args.top_k, args.label)
    if args.jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_protocol_unit, *common, *unit, args.search): unit for unit in units}
            try:
                for future in as_completed(futures):
                    finished(futures[future], future.result())
            except BaseException:  # a failed unit (or Ctrl-C) stops the run now, not after the queued units
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    else:
        for unit in units:
            finished(unit, _protocol_unit(*common, *unit, args.search))
    table = protocol_tables(data, [r for unit in units for r in runs[unit]]).table
    summary = table.groupby("method", sort=False).agg(
        accuracy=("accuracy", "mean"), spread=("accuracy", "std"), graph=("graph", "first"),
        stopped_early=("stopped early", "sum"))
    print(f"test accuracy under the protocol ({args.search} configurations per method), mean and standard "
          f"deviation over splits {', '.join(map(str, splits))}, in %")
    print(summary.assign(accuracy=(100 * summary.accuracy).round(1), spread=(100 * summary.spread).round(1))
          .to_string())
    if args.results:
        searches_path, correct_path = companion_paths(args.results)
        print(f"{len(table)} rows written to {args.results}; the searches to {searches_path}, "
              f"the per-product outcomes to {correct_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Train the chosen models with their baselines on the chosen splits and print the results table.

    Bad arguments end the program with exit code 2 and a message naming the argument.
    """
    parser = build_parser()
    args = parse_arguments(parser, argv)
    if args.model is None:
        args.model = [] if args.label_trick else ["gcn"]
    if args.checkpoint is not None and (len(args.model) > 1 or len(args.seed) > 1):
        parser.error("--checkpoint: saves one model's weights; give one --model and one --seed")
    check_output(parser, "--checkpoint", args.checkpoint)
    check_output(parser, "--results", args.results, ".csv")
    if args.search is not None:
        if args.checkpoint is not None:
            parser.error("--checkpoint: a search trains many models; it saves no weights")
        if args.device == "cuda":
            parser.error("--search runs on the CPU; leave out --device cuda")
        if args.results is not None:
            for option, path in zip(("--results (searches)", "--results (outcomes)"), companion_paths(args.results),
                                    strict=True):
                check_output(parser, option, path, ".csv")
    elif args.jobs != 1:
        parser.error("--jobs: only a --search trains in parallel")
    elif args.label_trick:
        parser.error("--label-trick: only a --search runs the label trick")
    if args.checkpoint is not None and args.results is not None and args.checkpoint.resolve() == args.results.resolve():
        parser.error("--results: the same file as --checkpoint; the table would overwrite the weights")
    if "gat" in args.model and args.hidden % GAT_HEADS:
        parser.error(f"--hidden: gat splits the hidden layer over {GAT_HEADS} heads, so it must be a multiple of "
                     f"{GAT_HEADS}, got {args.hidden}")

    try:  # the graph is built and cached on the first run: the cache must be writable then
        cache = graph_cache_folder(args.graph, args.weight, top_k=args.top_k)
        if not is_cached(cache):
            check_cache_writable(cache)
    except ValueError as error:
        parser.error(str(error))

    if args.search is not None:
        return _run_protocol(parser, args)

    # Only now the heavy imports: every mistake above is reported at once.
    import pandas as pd
    import torch

    from prodassoc_lab.nodes.evaluation import stratified_masks, summarize
    from prodassoc_lab.nodes.experiment import compare_models
    from prodassoc_lab.pyg_data import load_node_data

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available on this machine")
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    data = load_node_data(args.graph, args.weight, args.top_k, args.label)
    masks = stratified_masks(data.y, args.seed[0])
    print(f"{args.graph} graph: {data.num_nodes:,} products, {data.num_edges // 2:,} edges; "
          f"{len(data.label_names)} classes of {args.label}; {int(masks[0].sum())}/{int(masks[1].sum())}/"
          f"{int(masks[2].sum())} train/validation/test products; device {device}")
    table, runs = compare_models(
        data, tuple(dict.fromkeys(args.model)), tuple(dict.fromkeys(args.seed)), hidden=args.hidden, lr=args.lr,
        epochs=args.epochs, patience=args.patience, device=device, progress=sys.stderr.isatty(),
        checkpoint=args.checkpoint,
    )
    if len(args.seed) > 1:
        print(f"test set, mean ± std over seeds {', '.join(map(str, args.seed))}, in %")
        print(summarize(table).to_string())
    else:
        print(pd.DataFrame([{"method": r.model, "test accuracy": f"{100 * r.accuracy:.1f}%",
                             "test macro-F1": f"{100 * r.macro_f1:.1f}%", "chosen on validation": r.setting}
                            for r in runs]).set_index("method").to_string())
    for result in (r for r in runs if r.history):
        print(f"{result.model}, seed {result.seed}: best validation epoch {result.best_epoch} of "
              f"{result.epochs_run}, {1000 * result.seconds_per_epoch:.1f} ms per epoch")
    if args.checkpoint:
        print(f"weights saved to {args.checkpoint}")
    if args.results:
        write_table(table, args.results)
        print(f"{len(table)} rows written to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
