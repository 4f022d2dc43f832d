"""The source article's §5 training script, corrected and complete (chapter 7).

Node classification on the product graph of chapter 3: predict a product's
category (or department) from label-free features and the graph, with
stratified train/validation/test masks, early stopping on validation, and
honest baselines. Run ``python -m prodassoc_lab.train --help``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from torch import Tensor

from prodassoc_lab.data import clean_transactions, load_complete_journey
from prodassoc_lab.datasets import GRAPH_KINDS, load_product_graph
from prodassoc_lab.features import product_features
from prodassoc_lab.graph import WEIGHTS
from prodassoc_lab.models import MODELS, NodeClassifier
from prodassoc_lab.reproducibility import set_seed

LABELS = ("product_category", "department")
MIN_PER_CLASS = 5  # classes with fewer labelled products are used for training only


def load_node_data(graph: str = "household", weight: str = "npmi", top_k: int = 10, label: str = "product_category"):
    """The product graph as a PyG ``Data`` with label-free features ``x`` and labels ``y``."""
    product_graph = load_product_graph(kind=graph, weight=weight, top_k=top_k)
    data = product_graph.to_pyg(label)
    transactions, products = load_complete_journey()
    clean, _ = clean_transactions(transactions, products)
    features = product_features(clean, products, pd.Index(product_graph.nodes.product_id))
    data.x = torch.tensor(features.to_numpy(), dtype=torch.float32)
    data.feature_names = list(features.columns)
    return data


def stratified_masks(y: Tensor, seed: int, train: float = 0.6, val: float = 0.2) -> tuple[Tensor, Tensor, Tensor]:
    """Boolean train/validation/test masks over the labelled nodes (``y >= 0``), stratified by class.

    Unlike the article's ``train_test_split`` on adjacency rows, the graph stays whole:
    only the *labels* are split. Classes with fewer than ``MIN_PER_CLASS`` labelled
    nodes cannot be stratified and go to training.
    """
    labels = y.numpy()
    labelled = np.flatnonzero(labels >= 0)
    classes, counts = np.unique(labels[labelled], return_counts=True)
    rare = np.isin(labels[labelled], classes[counts < MIN_PER_CLASS])
    common = labelled[~rare]
    train_idx, rest = train_test_split(common, train_size=train, stratify=labels[common], random_state=seed)
    val_idx, test_idx = train_test_split(
        rest, train_size=val / (1 - train), stratify=labels[rest], random_state=seed
    )
    masks = []
    for idx in (np.concatenate([train_idx, labelled[rare]]), val_idx, test_idx):
        mask = torch.zeros(len(labels), dtype=torch.bool)
        mask[torch.from_numpy(idx)] = True
        masks.append(mask)
    return masks[0], masks[1], masks[2]


def _scores(y_true: Tensor, y_pred: Tensor) -> tuple[float, float]:
    true, pred = y_true.numpy(), y_pred.numpy()
    return float((true == pred).mean()), float(f1_score(true, pred, average="macro", zero_division=0))


@dataclass
class RunResult:
    """Test accuracy and macro-F1 of one trained model, with its training record."""

    model: str
    seed: int
    accuracy: float
    macro_f1: float
    best_epoch: int
    epochs_run: int
    seconds_per_epoch: float
    history: list[dict] = field(default_factory=list, repr=False)
    predictions: Tensor | None = field(default=None, repr=False)


def train_node_classifier(
    data,
    masks: tuple[Tensor, Tensor, Tensor],
    kind: str,
    seed: int,
    hidden: int = 64,
    lr: float = 0.01,
    epochs: int = 200,
    patience: int = 50,
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

    set_seed(seed)
    train_mask, val_mask, test_mask = (m.to(device) for m in masks)
    x, y, edge_index = data.x.to(device), data.y.to(device), data.edge_index.to(device)
    num_classes = int(data.y.max()) + 1
    model = NodeClassifier(kind, x.size(1), hidden, num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_val, best_epoch, best_state, history = -1.0, 0, None, []
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=kind, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        optimizer.zero_grad()
        out = model(x, edge_index)
        loss = F.cross_entropy(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            predicted = model(x, edge_index).argmax(dim=1)
        train_acc = (predicted[train_mask] == y[train_mask]).float().mean().item()
        val_acc = (predicted[val_mask] == y[val_mask]).float().mean().item()
        history.append({"epoch": epoch, "loss": loss.item(), "train accuracy": train_acc, "validation accuracy": val_acc})
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{val_acc:.3f}")
        if val_acc > best_val:
            best_val, best_epoch, best_state = val_acc, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    seconds_per_epoch = (time.perf_counter() - start) / len(history)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(checkpoint) if checkpoint is not None else Path(tmp) / "best.pt"
        torch.save(best_state, path)
        restored = NodeClassifier(kind, x.size(1), hidden, num_classes).to(device)
        restored.load_state_dict(torch.load(path, weights_only=True, map_location=device))
    restored.eval()
    with torch.no_grad():
        predicted = restored(x, edge_index).argmax(dim=1).cpu()
    accuracy, macro_f1 = _scores(data.y[masks[2]], predicted[masks[2]])
    return RunResult(kind, seed, accuracy, macro_f1, best_epoch, len(history), seconds_per_epoch, history, predicted)


def majority_baseline(data, masks: tuple[Tensor, Tensor, Tensor], seed: int) -> RunResult:
    """Always predict the most frequent training class."""
    train_mask, _, test_mask = masks
    majority = torch.mode(data.y[train_mask]).values
    predicted = torch.full_like(data.y, int(majority))
    accuracy, macro_f1 = _scores(data.y[test_mask], predicted[test_mask])
    return RunResult("majority", seed, accuracy, macro_f1, 0, 0, 0.0, predictions=predicted)


def label_propagation(data, masks: tuple[Tensor, Tensor, Tensor], seed: int, num_layers: int = 10,
                      alpha: float = 0.9) -> RunResult:
    """PyG's ``LabelPropagation`` from the training labels; no features, no training."""
    from torch_geometric.nn import LabelPropagation

    train_mask, _, test_mask = masks
    known = data.y.clamp(min=0)  # unlabelled nodes are outside the mask; any valid class will do
    start = time.perf_counter()
    out = LabelPropagation(num_layers=num_layers, alpha=alpha)(known, data.edge_index, mask=train_mask)
    seconds = time.perf_counter() - start
    predicted = out.argmax(dim=1)
    accuracy, macro_f1 = _scores(data.y[test_mask], predicted[test_mask])
    return RunResult("label propagation", seed, accuracy, macro_f1, 0, num_layers, seconds / num_layers,
                     predictions=predicted)


def compare_models(data, models: tuple[str, ...], seeds: tuple[int, ...], **train_args) -> pd.DataFrame:
    """Every baseline and model on the same splits, one row per (method, seed) (chapter 7)."""
    runs = []
    for seed in seeds:
        masks = stratified_masks(data.y, seed)
        runs.append(majority_baseline(data, masks, seed))
        runs.append(label_propagation(data, masks, seed))
        runs.extend(train_node_classifier(data, masks, kind, seed, **train_args) for kind in models)
    return pd.DataFrame(
        [{"method": r.model, "seed": r.seed, "accuracy": r.accuracy, "macro-F1": r.macro_f1,
          "best epoch": r.best_epoch, "seconds per epoch": r.seconds_per_epoch} for r in runs]
    )


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± standard deviation over seeds, in the order the methods were run."""
    order = list(dict.fromkeys(runs.method))
    stats = runs.groupby("method", sort=False)[["accuracy", "macro-F1"]].agg(["mean", "std"]).loc[order]
    return pd.DataFrame(
        {metric: [f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in zip(stats[metric]["mean"], stats[metric]["std"])]
         for metric in ("accuracy", "macro-F1")},
        index=pd.Index(order, name="method"),
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m prodassoc_lab.train",
        description="Train a node classifier on the Complete Journey product graph (chapter 7).",
    )
    parser.add_argument("--graph", choices=GRAPH_KINDS, default="household", help="which product graph (default: household)")
    parser.add_argument("--weight", choices=WEIGHTS, default="npmi", help="edge weight used for top-k (default: npmi)")
    parser.add_argument("--top-k", type=_positive_int, default=10, help="neighbours kept per product (default: 10)")
    parser.add_argument("--label", choices=LABELS, default="product_category", help="what to predict")
    parser.add_argument("--model", choices=MODELS, default="gcn", help="the classifier (default: gcn)")
    parser.add_argument("--epochs", type=_positive_int, default=200, help="maximum epochs (default: 200)")
    parser.add_argument("--patience", type=_positive_int, default=50, help="early-stopping patience (default: 50)")
    parser.add_argument("--hidden", type=_positive_int, default=64, help="hidden units (default: 64)")
    parser.add_argument("--lr", type=_positive_float, default=0.01, help="learning rate (default: 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for split and initialization (default: 0)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: cuda if available")
    parser.add_argument("--checkpoint", type=Path, default=None, help="where to save the best model's weights")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available on this machine")
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device)
    if args.checkpoint is not None and not args.checkpoint.parent.is_dir():
        parser.error(f"--checkpoint: folder {args.checkpoint.parent} does not exist")

    data = load_node_data(args.graph, args.weight, args.top_k, args.label)
    masks = stratified_masks(data.y, args.seed)
    print(f"{args.graph} graph: {data.num_nodes:,} products, {data.num_edges // 2:,} edges; "
          f"{len(data.label_names)} classes of {args.label}; {int(masks[0].sum())}/{int(masks[1].sum())}/"
          f"{int(masks[2].sum())} train/validation/test products; device {device}")
    result = train_node_classifier(
        data, masks, args.model, args.seed, hidden=args.hidden, lr=args.lr, epochs=args.epochs,
        patience=args.patience, device=device, progress=sys.stderr.isatty(), checkpoint=args.checkpoint,
    )
    rows = [majority_baseline(data, masks, args.seed), label_propagation(data, masks, args.seed), result]
    table = pd.DataFrame([{"method": r.model, "test accuracy": f"{100 * r.accuracy:.1f}%",
                           "test macro-F1": f"{100 * r.macro_f1:.1f}%"} for r in rows]).set_index("method")
    print(table.to_string())
    print(f"{args.model}: best validation epoch {result.best_epoch} of {result.epochs_run}, "
          f"{1000 * result.seconds_per_epoch:.1f} ms per epoch"
          + (f"; weights saved to {args.checkpoint}" if args.checkpoint else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
