"""The source article's §5 training script, corrected and complete (chapter 7).

Node classification on the product graph of chapter 3: predict a product's
category (or department) from label-free features and the graph, with
stratified train/validation/test masks, early stopping on validation, and
honest baselines. Run ``python -m prodassoc_lab.train --help``.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from prodassoc_lab.baselines import correct_and_smooth, label_propagation, majority_baseline
from prodassoc_lab.datasets import GRAPH_KINDS
from prodassoc_lab.evaluation import Masks, RunResult, accuracy, as_masks, run_result, stratified_masks, summarize
from prodassoc_lab.graph import LABELS, WEIGHTS
from prodassoc_lab.models import MODELS, NodeClassifier
from prodassoc_lab.pyg_data import load_node_data, require_adjacency
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.validation import SEED_LIMIT, non_negative_float, positive_float, positive_int


def train_node_classifier(
    data: Data,
    masks: Masks,
    kind: str,
    seed: int,
    hidden: int = 64,
    lr: float = 0.03,
    epochs: int = 100,
    patience: int = 30,
    weight_decay: float = 5e-4,
    device: str = "cpu",
    progress: bool = False,
    checkpoint: Path | None = None,
) -> RunResult:
    """Full-batch training with early stopping on validation accuracy (chapter 7).

    The best model (by validation accuracy) is saved to ``checkpoint`` — a
    temporary file if none is given — and loaded back with
    ``torch.load(weights_only=True)`` before the test set is scored.
    """
    from tqdm.auto import tqdm

    for name, value in (("hidden", hidden), ("epochs", epochs), ("patience", patience)):
        positive_int(value, name)
    positive_float(lr, "lr")
    non_negative_float(weight_decay, "weight_decay")
    masks = as_masks(masks, data)
    set_seed(seed)
    adjacency = require_adjacency(data).to(device)
    x, y = data.x.to(device), data.y.to(device)
    train_idx, val_idx = (m.nonzero().view(-1).to(device) for m in (masks.train, masks.validation))
    # cross_entropy skips targets of -100: the loss over the training nodes, without the
    # slow backward pass of indexing rows out of the output
    train_target = torch.where(masks.train.to(device), y, -100)
    num_classes = int(data.y.max()) + 1
    model = NodeClassifier(kind, x.size(1), hidden, num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_val, best_epoch, best_state, history = -1.0, 0, None, []
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=kind, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        optimizer.zero_grad()
        out = model(x, adjacency)
        loss = F.cross_entropy(out, train_target)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{kind}: the training loss is {loss.item()} at epoch {epoch}; "
                                     f"training diverged (try a smaller lr than {lr})")
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            out = model(x, adjacency)
        val_acc = accuracy(out, y, val_idx)
        history.append({
            "epoch": epoch,
            "training loss": loss.item(),
            "validation loss": F.cross_entropy(out[val_idx], y[val_idx]).item(),
            "training accuracy": accuracy(out, y, train_idx),
            "validation accuracy": val_acc,
        })
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{val_acc:.3f}")
        if val_acc > best_val:
            best_val, best_epoch, best_state = val_acc, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    seconds_per_epoch = (time.perf_counter() - start) / len(history)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(checkpoint) if checkpoint is not None else Path(tmp) / "best.pt"
        save_checkpoint(best_state, path)
        restored = NodeClassifier(kind, x.size(1), hidden, num_classes).to(device)
        restored.load_state_dict(torch.load(path, weights_only=True, map_location=device))
    restored.eval()
    with torch.no_grad():
        probabilities = restored(x, adjacency).softmax(dim=1).cpu()
    return run_result(kind, data, masks, seed, probabilities, best_epoch=best_epoch, epochs_run=len(history),
                      seconds_per_epoch=seconds_per_epoch, history=history)


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` atomically: a failed write (a full disk) keeps the previous file.

    The weights go to a temporary file in the same folder, which then replaces
    ``path`` in one step. A symbolic link at ``path`` is refused rather than
    followed, so the file it points to is never overwritten.
    """
    path = Path(path)
    if path.is_symlink():
        raise ValueError(f"checkpoint {path} is a symbolic link; give the path of a regular file")
    if path.exists() and not path.is_file():
        raise ValueError(f"checkpoint {path} exists and is not a file")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        torch.save(state, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def compare_models(data: Data, models: tuple[str, ...], seeds: tuple[int, ...], smooth: bool = True,
                   **train_args) -> tuple[pd.DataFrame, list[RunResult]]:
    """Every baseline and model on the same splits (chapter 7).

    Returns one table row per (method, seed) and the runs themselves (with
    training histories and probabilities). ``smooth`` adds each model followed
    by Correct & Smooth.
    """
    runs = []
    for seed in seeds:
        masks = stratified_masks(data.y, seed)
        runs.append(majority_baseline(data, masks, seed))
        runs.append(label_propagation(data, masks, seed))
        trained = [train_node_classifier(data, masks, kind, seed, **train_args) for kind in models]
        runs.extend(trained)
        if smooth:
            runs.extend(correct_and_smooth(result, data, masks) for result in trained)
    table = pd.DataFrame(
        [{"method": r.model, "seed": r.seed, "accuracy": r.accuracy, "macro-F1": r.macro_f1,
          "best epoch": r.best_epoch, "epochs run": r.epochs_run, "seconds per epoch": r.seconds_per_epoch,
          "setting": r.setting} for r in runs]
    )
    return table, runs


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m prodassoc_lab.train`` (printed in chapter 7)."""
    parser = argparse.ArgumentParser(
        prog="python -m prodassoc_lab.train",
        description="Train node classifiers on the Complete Journey product graph and compare them "
                    "with baselines (chapter 7).",
    )
    parser.add_argument("--graph", choices=GRAPH_KINDS, default="household",
                        help="which product graph (default: household)")
    parser.add_argument("--weight", choices=WEIGHTS, default="npmi", help="edge weight used for top-k (default: npmi)")
    parser.add_argument("--top-k", type=_positive_int, default=10, help="neighbours kept per product (default: 10)")
    parser.add_argument("--label", choices=LABELS, default="product_category",
                        help="the node label to predict (default: product_category)")
    parser.add_argument("--model", choices=MODELS, nargs="+", default=["gcn"],
                        help="one or more classifiers (default: gcn)")
    parser.add_argument("--epochs", type=_positive_int, default=100, help="maximum epochs (default: 100)")
    parser.add_argument("--patience", type=_positive_int, default=30, help="early-stopping patience (default: 30)")
    parser.add_argument("--hidden", type=_positive_int, default=64, help="hidden units (default: 64)")
    parser.add_argument("--lr", type=_positive_float, default=0.03, help="learning rate (default: 0.03)")
    parser.add_argument("--seed", type=int, nargs="+", default=[0],
                        help="one or more seeds, each a split and an initialization (default: 0); "
                             "with several, the table shows mean ± std over them")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: cuda if available")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="where to save the best model's weights (one model and one seed only)")
    parser.add_argument("--results", type=Path, default=None,
                        help="write one row per method and seed to this CSV file (chapter 7 reads such a file)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train the chosen models with their baselines on the chosen splits and print the results table.

    Bad arguments end the program with exit code 2 and a message naming the argument.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available on this machine")
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if any(not 0 <= seed < SEED_LIMIT for seed in args.seed):
        parser.error(f"--seed: seeds must be integers in [0, 2**32), got {args.seed}")
    if args.checkpoint is not None and (len(args.model) > 1 or len(args.seed) > 1):
        parser.error("--checkpoint: saves one model's weights; give one --model and one --seed")
    for option, path in (("--checkpoint", args.checkpoint), ("--results", args.results)):
        if path is not None and not path.parent.is_dir():
            parser.error(f"{option}: folder {path.parent} does not exist")
        if path is not None and path.is_symlink():
            parser.error(f"{option}: {path} is a symbolic link; give the path of a regular file")

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
        table.to_csv(args.results, index=False, float_format="%.6f")
        print(f"{len(table)} rows written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
