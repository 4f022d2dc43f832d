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
changes. Label propagation chooses its α on validation at every share. The
command is ``python -m prodassoc_lab.nodes.claims --help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from torch_geometric.data import Data

from prodassoc_lab.cli import add_seed_argument, check_output, parse_arguments, positive_integer, write_table
from prodassoc_lab.nodes.baselines import label_propagation
from prodassoc_lab.nodes.evaluation import Masks, RunResult, stratified_masks
from prodassoc_lab.nodes.experiment import (
    NODE_INPUTS,
    PROPAGATION_SPACE,
    SEARCH_EPOCHS,
    SEARCH_PATIENCE,
    NodeTraining,
    train_node_classifier,
)
from prodassoc_lab.nodes.models import MODELS
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
                    "the protocol's searches", "give the <results>.searches.csv of python -m prodassoc_lab.nodes --search")
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
    """
    share = bounded_float(share, "share", 0, 1, low_open=True)
    train = masks.train.nonzero().view(-1)
    order = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))]
    kept = torch.zeros_like(masks.train)
    kept[order[: max(1, round(share * len(train)))]] = True
    return Masks(kept, masks.validation, masks.test)


def _row(experiment: str, run: RunResult, settings: NodeTraining | None, masks: Masks, **extra: object) -> dict:
    return {"experiment": experiment, "method": run.model.removesuffix(" + label trick"), "split": run.seed,
            "training products": int(masks.train.sum()), **extra, "accuracy": run.accuracy,
            "macro-F1": run.macro_f1, "best epoch": run.best_epoch, "epochs run": run.epochs_run,
            "hidden": settings.hidden if settings else None, "layers": settings.layers if settings else None,
            "inputs": settings.inputs if settings else None}


def _parameters(data: Data, kind: str, settings: NodeTraining) -> int:
    from prodassoc_lab.nodes.models import NodeClassifier

    model = NodeClassifier(kind, 0 if settings.inputs == "ids" else data.num_features, settings.hidden,
                           int(data.y.max()) + 1, layers=settings.layers,
                           embedded_nodes=data.num_nodes if settings.inputs != "features" else 0)
    return sum(p.numel() for p in model.parameters())


def labelled_share_curve(data: Data, searches: pd.DataFrame, kind: str | None, split: int,
                         shares: Sequence[float] = LABELLED_SHARES) -> list[dict]:
    """Test accuracy of ``kind`` (``None``: label propagation) trained on each share of the labels of ``split``."""
    masks = stratified_masks(data.y, split)
    alphas = tuple(c["alpha"] for c in draw_configurations(PROPAGATION_SPACE, 8, 0))
    rows = []
    for share in shares:
        reduced = fewer_labels(masks, share, split)
        if kind is None:
            rows.append(_row("labelled share", label_propagation(data, reduced, split, alphas=alphas), None, reduced,
                             share=share))
        else:
            settings = chosen_settings(searches, kind, split)
            run = train_node_classifier(data, reduced, kind, split, settings)
            rows.append(_row("labelled share", run, settings, reduced, share=share,
                             parameters=_parameters(data, kind, settings)))
    return rows


def model_size_curve(data: Data, searches: pd.DataFrame, kind: str, split: int,
                     widths: Sequence[int] = WIDTHS, depths: Sequence[int] = DEPTHS) -> list[dict]:
    """Test accuracy of ``kind`` at each width (two layers), then at each depth (the chosen width)."""
    masks = stratified_masks(data.y, split)
    chosen = chosen_settings(searches, kind, split)
    shapes = [(width, 2) for width in widths] + [(chosen.hidden, depth) for depth in depths if depth != 2]
    rows = []
    for hidden, layers in shapes:
        settings = NodeTraining(**{**chosen.__dict__, "hidden": hidden, "layers": layers})
        run = train_node_classifier(data, masks, kind, split, settings)
        rows.append(_row("model size", run, settings, masks, share=1.0, parameters=_parameters(data, kind, settings)))
    return rows


def input_comparison(data: Data, searches: pd.DataFrame, kind: str, split: int) -> list[dict]:
    """Test accuracy of ``kind`` reading the features, a learned product-id embedding, or both."""
    masks = stratified_masks(data.y, split)
    chosen = chosen_settings(searches, kind, split)
    rows = []
    for inputs in NODE_INPUTS:
        settings = NodeTraining(**{**chosen.__dict__, "inputs": inputs})
        run = train_node_classifier(data, masks, kind, split, settings)
        rows.append(_row("inputs", run, settings, masks, share=1.0, parameters=_parameters(data, kind, settings)))
    return rows


def _unit(graph: str, weight: str, top_k: int, label: str, searches: pd.DataFrame, experiment: str,
          kind: str | None, split: int) -> list[dict]:
    """One experiment for one method on one split, in a worker process."""
    from prodassoc_lab.pyg_data import load_node_data

    data = load_node_data(graph, weight, top_k, label)
    if experiment == "labelled share":
        return labelled_share_curve(data, searches, kind, split)
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
    protocol, searches = pd.read_csv(args.protocol), pd.read_csv(searches_path)
    try:
        best = best_network(protocol)
    except ValueError as error:
        parser.error(f"--protocol: {error}")
    try:  # the claims run on the graph and labels the protocol ran on
        command = json.loads(provenance_path(args.protocol).read_text(encoding="utf-8"))["command"]
    except (OSError, ValueError, KeyError) as error:
        parser.error(f"--protocol: cannot read the command line from its provenance record: {error}")
    graph = _option(command, "--graph", "household")
    weight, top_k = _option(command, "--weight", "npmi"), int(_option(command, "--top-k", "10"))
    label = _option(command, "--label", "product_category")
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
    common = (graph, weight, top_k, label, searches)
    print(f"best graph network on validation: {best}; {len(units)} units of work", flush=True)
    if args.jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_unit, *zip(*[(*common, *unit) for unit in units], strict=True)))
    else:
        parts = [_unit(*common, *unit) for unit in units]
    table = pd.DataFrame([row for part in parts for row in part])
    table.insert(2, "best graph network", best)
    write_table(table, args.results)
    print(f"{len(table)} rows written to {args.results}", file=sys.stderr)
    return 0


def _option(command: list[str], name: str, default: str) -> str:
    """The value of ``name`` in a recorded command line, or ``default``."""
    return command[command.index(name) + 1] if name in command else default


if __name__ == "__main__":
    raise SystemExit(main())
