"""The source article's "large model" claims, measured on chapter 7's task.

The article credits the graph network with needing a lot of data and winning
through scale, with capturing nonlinear relations and with extracting features
automatically (§3.3, §9.2). Three experiments put the first and the last to the
test on chapter 7's node classification (the second is SGC against GCN, in the
protocol comparison itself):

- :func:`labelled_share_curve`: test accuracy as the share of labelled
  training products grows from 5% to 100%;
- :func:`model_size_curve`: test accuracy as the width (and the depth) of the
  network grows, its parameters over more than two orders of magnitude;
- :func:`input_comparison`: the hand-made features, a learned product-id
  embedding instead, and both.

Each network trains with the configuration the protocol chose for it on the
same split (``<results>.searches.csv`` of ``python -m prodassoc_lab.nodes
--search``), until validation stops improving; only the quantity under test
changes. Label propagation chooses its α on validation at every share, from as
many draws as the protocol gave it. Training reads the training and validation
labels only; the test labels are read once per run, to score it. The command is
``python -m prodassoc_lab.nodes.claims --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from torch_geometric.data import Data

from prodassoc_lab.cli import add_seed_argument, check_output, parse_arguments, positive_integer, write_table
from prodassoc_lab.nodes.baselines import label_propagation
from prodassoc_lab.nodes.cli import node_data_once
from prodassoc_lab.nodes.evaluation import Masks, RunResult, stratified_masks
from prodassoc_lab.nodes.experiment import (
    NODE_INPUTS,
    PROPAGATION_SPACE,
    SEARCH_EPOCHS,
    SEARCH_PATIENCE,
    NodeTraining,
    train_node_classifier,
)
from prodassoc_lab.nodes.models import MODELS, NodeClassifier
from prodassoc_lab.protocol import draw_configurations
from prodassoc_lab.provenance import provenance_path
from prodassoc_lab.validation import bounded_float, require_columns

LABELLED_SHARES = (0.05, 0.1, 0.25, 0.5, 1.0)
WIDTHS = (4, 16, 64, 256, 1024)  # hidden units of the two-layer networks
DEPTHS = (2, 3, 4, 6)  # layers, at the chosen width
EXPERIMENTS = ("labelled share", "model size", "inputs")


def chosen_settings(searches: pd.DataFrame, method: str, split: int) -> NodeTraining:
    """The configuration the protocol chose for ``method`` on ``split``, with the protocol's epoch cap."""
    require_columns(searches, ("method", "split", "chosen", "lr", "hidden", "dropout", "weight_decay"),
                    "the protocol's searches",
                    "give the <results>.searches.csv of python -m prodassoc_lab.nodes --search")
    row = searches[(searches.method == method) & (searches.split == split) & searches.chosen.astype(bool)]
    if len(row) != 1:
        raise ValueError(f"the protocol's searches hold {len(row)} chosen configurations of {method!r} on split "
                         f"{split}, need exactly 1: run the protocol with --model {method} --seed {split}")
    row = row.iloc[0]
    return NodeTraining(lr=float(row.lr), hidden=int(row.hidden), dropout=float(row.dropout),
                        weight_decay=float(row.weight_decay), epochs=SEARCH_EPOCHS, patience=SEARCH_PATIENCE)


def best_network(table: pd.DataFrame) -> str:
    """The graph network with the highest mean validation accuracy in a protocol table (not the test's choice)."""
    require_columns(table, ("method", "validation accuracy"), "the protocol's table")
    graph_networks = table[table.method.isin([m for m in MODELS if m != "mlp"])]
    if graph_networks.empty:
        raise ValueError("the protocol's table holds no graph network (run it with --model gcn or another)")
    return str(graph_networks.groupby("method")["validation accuracy"].mean().idxmax())


def fewer_labels(masks: Masks, share: float, seed: int) -> Masks:
    """``masks`` with a random ``share`` of the training nodes kept (at least one); the others unlabelled.

    The nodes kept at a smaller share are among those kept at a larger one (one
    permutation per ``seed``), so a learning curve adds labels to the same products.
    The draw is not stratified: at a small share a rare class may keep no
    training label at all, as it would in a shop that labels fewer products.
    """
    share = bounded_float(share, "share", 0, 1, low_open=True)
    train = masks.train.nonzero().view(-1)
    order = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))]
    kept = torch.zeros_like(masks.train)
    kept[order[: max(1, round(share * len(train)))]] = True
    return Masks(kept, masks.validation, masks.test)


def _row(experiment: str, run: RunResult, settings: NodeTraining | None, masks: Masks, y: torch.Tensor,
         **extra: object) -> dict:
    return {"experiment": experiment, "method": run.model, "split": run.seed,
            "training products": int(masks.train.sum()), "classes labelled": int(y[masks.train].unique().numel()),
            **extra, "accuracy": run.accuracy,
            "macro-F1": run.macro_f1, "best epoch": run.best_epoch, "epochs run": run.epochs_run,
            "hidden": settings.hidden if settings else None, "layers": settings.layers if settings else None,
            "inputs": settings.inputs if settings else None}


def _parameters(data: Data, kind: str, settings: NodeTraining) -> int:
    model = NodeClassifier(kind, 0 if settings.inputs == "ids" else data.num_features, settings.hidden,
                           int(data.y.max()) + 1, layers=settings.layers,
                           embedded_nodes=data.num_nodes if settings.inputs != "features" else 0)
    return sum(p.numel() for p in model.parameters())


def labelled_share_curve(data: Data, searches: pd.DataFrame, kind: str | None, split: int, budget: int,
                         shares: Sequence[float] = LABELLED_SHARES) -> list[dict]:
    """Test accuracy of ``kind`` trained on each share of the training labels of ``split``.

    ``kind`` ``None`` is label propagation, its α chosen on validation from
    ``budget`` draws of ``PROPAGATION_SPACE`` (the protocol's draws).
    """
    masks = stratified_masks(data.y, split)
    alphas = tuple(c["alpha"] for c in draw_configurations(PROPAGATION_SPACE, budget, 0))
    rows = []
    for share in shares:
        reduced = fewer_labels(masks, share, split)
        if kind is None:
            rows.append(_row("labelled share", label_propagation(data, reduced, split, alphas=alphas), None, reduced,
                             data.y, share=share))
        else:
            settings = chosen_settings(searches, kind, split)
            run = train_node_classifier(data, reduced, kind, split, settings)
            rows.append(_row("labelled share", run, settings, reduced, data.y, share=share,
                             parameters=_parameters(data, kind, settings)))
    return rows


def model_size_curve(data: Data, searches: pd.DataFrame, kind: str, split: int,
                     widths: Sequence[int] = WIDTHS, depths: Sequence[int] = DEPTHS) -> list[dict]:
    """Test accuracy of ``kind`` at each width (two layers), then at each depth (the chosen width)."""
    masks = stratified_masks(data.y, split)
    chosen = chosen_settings(searches, kind, split)
    shapes = dict.fromkeys([(width, 2) for width in widths] + [(chosen.hidden, depth) for depth in depths])
    rows = []
    for hidden, layers in shapes:
        settings = dataclasses.replace(chosen, hidden=hidden, layers=layers)
        run = train_node_classifier(data, masks, kind, split, settings)
        rows.append(_row("model size", run, settings, masks, data.y, share=1.0,
                         parameters=_parameters(data, kind, settings)))
    return rows


def input_comparison(data: Data, searches: pd.DataFrame, kind: str, split: int) -> list[dict]:
    """Test accuracy of ``kind`` reading the features, a learned product-id embedding, or both."""
    masks = stratified_masks(data.y, split)
    chosen = chosen_settings(searches, kind, split)
    rows = []
    for inputs in NODE_INPUTS:
        settings = dataclasses.replace(chosen, inputs=inputs)
        run = train_node_classifier(data, masks, kind, split, settings)
        rows.append(_row("inputs", run, settings, masks, data.y, share=1.0,
                         parameters=_parameters(data, kind, settings)))
    return rows


def _unit(protocol: argparse.Namespace, searches: pd.DataFrame, experiment: str, kind: str | None,
          split: int) -> list[dict]:
    """One experiment for one method on one split (in a worker process with ``--jobs``)."""
    data = node_data_once(protocol.graph, protocol.weight, protocol.top_k, protocol.label)
    if experiment == "labelled share":
        return labelled_share_curve(data, searches, kind, split, protocol.search)
    if experiment == "model size":
        return model_size_curve(data, searches, kind, split)
    return input_comparison(data, searches, kind, split)


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m prodassoc_lab.nodes.claims``."""
    parser = argparse.ArgumentParser(
        prog="python -m prodassoc_lab.nodes.claims",
        description="Measure the source article's 'large model' claims on chapter 7's task: accuracy against the "
                    "share of labelled products, against model size, and with learned product-id embeddings.")
    parser.add_argument("--protocol", type=Path, required=True,
                        help="the results file of python -m prodassoc_lab.nodes --search (its .searches.csv beside "
                             "it gives each network's chosen configuration)")
    parser.add_argument("--experiment", choices=EXPERIMENTS, nargs="+", default=list(EXPERIMENTS),
                        help="which experiments (default: all three)")
    add_seed_argument(parser, "the splits, each also an initialization seed (default: 0)")
    parser.add_argument("--jobs", type=positive_integer, default=1, help="processes at once (default: 1)")
    parser.add_argument("--results", type=Path, required=True, help="the CSV file to write, one row per run")
    return parser


def _protocol_options(parser: argparse.ArgumentParser, protocol: Path) -> argparse.Namespace:
    """The options the protocol ran with, parsed from the command line in its provenance record."""
    from prodassoc_lab.nodes.cli import build_parser as protocol_parser

    try:
        command = json.loads(provenance_path(protocol).read_text(encoding="utf-8"))["command"]
    except (OSError, ValueError, KeyError) as error:
        parser.error(f"--protocol: cannot read the command line of {protocol} from its provenance record: {error}")
    try:
        options = protocol_parser().parse_args(command[1:])
    except SystemExit:
        parser.error(f"--protocol: the command line recorded for {protocol} does not parse: {command[1:]}")
    if options.search is None:
        parser.error(f"--protocol: {protocol} was not made with --search, so it records no chosen configurations")
    return options


def main(argv: list[str] | None = None) -> int:
    """Run the chosen experiments on the chosen splits and write one row per trained model (exit code 2 on bad
    arguments)."""
    parser = build_parser()
    args = parse_arguments(parser, argv)
    check_output(parser, "--results", args.results, ".csv")
    searches_path = args.protocol.with_suffix(".searches.csv")
    for path in (args.protocol, searches_path):
        if not path.is_file():
            parser.error(f"--protocol: {path} does not exist; run python -m prodassoc_lab.nodes --search first")
    protocol_files = {path.resolve() for path in
                      (args.protocol, searches_path, args.protocol.with_suffix(".correct.csv"))}
    if args.results.resolve() in protocol_files:
        parser.error(f"--results: {args.results} is a file of the protocol run; write the claims elsewhere")
    options = _protocol_options(parser, args.protocol)
    protocol, searches = pd.read_csv(args.protocol), pd.read_csv(searches_path)
    try:
        best = best_network(protocol)
    except ValueError as error:
        parser.error(f"--protocol: {error}")
    splits = tuple(dict.fromkeys(args.seed))
    networks = list(dict.fromkeys(["mlp", best]))
    units = [(experiment, method, split) for experiment in args.experiment for split in splits
             for method in ([*networks, None] if experiment == "labelled share" else networks)]
    for _, method, split in units:
        if method is not None:
            try:
                chosen_settings(searches, method, split)
            except ValueError as error:
                parser.error(f"--protocol: {error}")
    print(f"best graph network on validation: {best}; {len(units)} units of work", flush=True)
    if args.jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_unit, *zip(*[(options, searches, *unit) for unit in units], strict=True)))
    else:
        parts = [_unit(options, searches, *unit) for unit in units]
    table = pd.DataFrame([row for part in parts for row in part])
    table.insert(2, "best graph network", best)
    write_table(table, args.results)
    print(f"{len(table)} rows written to {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
