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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import ToSparseTensor

from prodassoc_lab.data import clean_transactions, load_complete_journey
from prodassoc_lab.datasets import GRAPH_KINDS, load_product_graph
from prodassoc_lab.features import product_features
from prodassoc_lab.graph import WEIGHTS, ProductGraph
from prodassoc_lab.models import MODELS, NodeClassifier
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.validation import SEED_LIMIT, non_negative_float, positive_float, positive_int, seed_value

LABELS = ("product_category", "department")
MIN_PER_CLASS = 5  # classes with fewer labelled products are used for training only
ALPHAS = (0.1, 0.3, 0.5, 0.7, 0.9)  # propagation strengths tried on the validation set


def load_node_data(
    graph: str = "household", weight: str = "npmi", top_k: int = 10, label: str = "product_category"
) -> Data:
    """The Complete Journey product graph as a PyG ``Data`` ready for node classification.

    See :func:`node_data`; the features are :func:`~prodassoc_lab.features.product_features`.
    """
    product_graph = load_product_graph(kind=graph, weight=weight, top_k=top_k)
    transactions, products = load_complete_journey()
    clean, _ = clean_transactions(transactions, products)
    return node_data(product_graph, label, product_features(clean, products, pd.Index(product_graph.nodes.product_id)))


def node_data(product_graph: ProductGraph, label: str, features: pd.DataFrame) -> Data:
    """``Data`` with features ``x`` (rows of ``features``, indexed by product id), labels ``y`` and ``adj_t``.

    Edges with a weight ≤ 0 are dropped: a pair bought together less often
    than chance (negative NPMI) is no evidence of similarity, and negative
    weights make the normalization D^-1/2 of GCN and label propagation
    undefined. ``adj_t`` is added by :func:`sparse_adjacency`.
    """
    if not features.index.equals(pd.Index(product_graph.nodes.product_id)):
        raise ValueError("features must have one row per graph node, indexed by product_id in node order")
    data = product_graph.to_pyg(label)
    keep = data.edge_weight > 0
    data.edge_index, data.edge_weight = data.edge_index[:, keep], data.edge_weight[keep]
    data.x = torch.tensor(features.to_numpy(), dtype=torch.float32)
    data.feature_names = list(features.columns)
    return sparse_adjacency(data)


def sparse_adjacency(data: Data) -> Data:
    """Add ``adj_t`` to ``data`` and return it: the (weighted) adjacency as a sparse CSR matrix, rows = targets.

    One sparse matrix product per layer replaces one message per edge, which
    makes GCN training several times faster on a CPU (chapter 7 measures it).
    Edge weights come from ``edge_weight`` when present and must not be negative.
    """
    weight = data.edge_weight if "edge_weight" in data else None
    if weight is not None and not torch.isfinite(weight).all():
        raise ValueError(f"{int((~torch.isfinite(weight)).sum())} edge weight(s) are NaN or infinite; "
                         "every edge weight must be a finite number")
    if weight is not None and (weight < 0).any():
        raise ValueError(
            f"{int((weight < 0).sum())} edge weight(s) are negative (smallest {weight.min().item():.3g}); "
            "normalized propagation needs non-negative weights, so drop those edges first"
        )
    with warnings.catch_warnings():
        # torch flags CSR support as beta; PyG's conversion triggers the notice on every call
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        warnings.filterwarnings("ignore", message="Sparse invariant checks", category=UserWarning)
        # Converting a bare copy keeps PyG from sorting other attributes that merely have E entries.
        bare = Data(edge_index=data.edge_index, edge_weight=weight, num_nodes=data.num_nodes)
        data.adj_t = ToSparseTensor(layout=torch.sparse_csr)(bare).adj_t
    return data


def stratified_masks(y: Tensor, seed: int, train: float = 0.6, val: float = 0.2) -> tuple[Tensor, Tensor, Tensor]:
    """Boolean train/validation/test masks over the labelled nodes (``y >= 0``), stratified by class.

    Unlike the article's ``train_test_split`` on adjacency rows, the graph stays whole:
    only the *labels* are split. Classes with fewer than ``MIN_PER_CLASS`` labelled
    nodes cannot be stratified and go to training.
    """
    seed = seed_value(seed)
    labels = y.numpy()
    labelled = np.flatnonzero(labels >= 0)
    if len(labelled) == 0:
        raise ValueError("no node has a label (y >= 0): there is nothing to split")
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


def _check_masks(masks: tuple[Tensor, Tensor, Tensor], data: Data) -> None:
    if len(masks) != 3:
        raise ValueError(f"masks must be (train, validation, test), got {len(masks)} mask(s)")
    for name, mask in zip(("train", "validation", "test"), masks):
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != (data.num_nodes,):
            raise ValueError(f"the {name} mask must be a boolean tensor of {data.num_nodes} entries (one per node)")
        if not mask.any():
            raise ValueError(f"the {name} mask selects no node")
        if (data.y[mask] < 0).any():
            raise ValueError(f"the {name} mask selects {int((data.y[mask] < 0).sum())} node(s) without a label")


def _scores(y_true: Tensor, y_pred: Tensor) -> tuple[float, float]:
    true, pred = y_true.numpy(), y_pred.numpy()
    return float((true == pred).mean()), float(f1_score(true, pred, average="macro", zero_division=0))


def _accuracy(probabilities: Tensor, y: Tensor, mask: Tensor) -> float:
    return (probabilities[mask].argmax(dim=1) == y[mask]).float().mean().item()


def _adjacency(data: Data) -> Tensor:
    if getattr(data, "adj_t", None) is None:
        raise ValueError("data has no adj_t; add it with prodassoc_lab.train.sparse_adjacency(data)")
    return data.adj_t


@dataclass
class RunResult:
    """Test accuracy and macro-F1 of one method on one split, with its training record.

    ``probabilities`` (nodes × classes) are what Correct & Smooth starts from;
    ``setting`` names a hyperparameter chosen on the validation set, if any.
    """

    model: str
    seed: int
    accuracy: float
    macro_f1: float
    best_epoch: int = 0
    epochs_run: int = 0
    seconds_per_epoch: float = 0.0
    setting: str = ""
    history: list[dict] = field(default_factory=list, repr=False)
    probabilities: Tensor | None = field(default=None, repr=False)

    @property
    def predictions(self) -> Tensor:
        """The predicted class of every node."""
        return self.probabilities.argmax(dim=1)


def _result(name: str, data: Data, masks: tuple[Tensor, Tensor, Tensor], seed: int, probabilities: Tensor,
            **record) -> RunResult:
    test = masks[2]
    accuracy, macro_f1 = _scores(data.y[test], probabilities.argmax(dim=1)[test])
    return RunResult(name, seed, accuracy, macro_f1, probabilities=probabilities, **record)


def train_node_classifier(
    data: Data,
    masks: tuple[Tensor, Tensor, Tensor],
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
    _check_masks(masks, data)
    set_seed(seed)
    adjacency = _adjacency(data).to(device)
    x, y = data.x.to(device), data.y.to(device)
    train_idx, val_idx = (m.nonzero().view(-1).to(device) for m in masks[:2])
    # cross_entropy skips targets of -100: the loss over the training nodes, without the
    # slow backward pass of indexing rows out of the output
    train_target = torch.where(masks[0].to(device), y, -100)
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
        val_acc = _accuracy(out, y, val_idx)
        history.append({
            "epoch": epoch,
            "training loss": loss.item(),
            "validation loss": F.cross_entropy(out[val_idx], y[val_idx]).item(),
            "training accuracy": _accuracy(out, y, train_idx),
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
    return _result(kind, data, masks, seed, probabilities, best_epoch=best_epoch, epochs_run=len(history),
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


def majority_baseline(data: Data, masks: tuple[Tensor, Tensor, Tensor], seed: int) -> RunResult:
    """Always predict the most frequent training class."""
    majority = int(torch.mode(data.y[masks[0]]).values)
    probabilities = F.one_hot(torch.full_like(data.y, majority), int(data.y.max()) + 1).float()
    return _result("majority", data, masks, seed, probabilities)


def label_propagation(data: Data, masks: tuple[Tensor, Tensor, Tensor], seed: int,
                      alphas: tuple[float, ...] = ALPHAS, num_layers: int = 10) -> RunResult:
    """PyG's ``LabelPropagation`` from the training labels, ``alpha`` chosen on validation.

    No features, no training. The weighted ``adj_t`` is passed as a sparse
    matrix, which PyG normalizes to D^-1/2 A D^-1/2 itself; edge weights passed
    next to an ``edge_index`` would *not* be normalized (chapter 7 shows the trap).
    """
    from torch_geometric.nn import LabelPropagation

    train_mask, val_mask, _ = masks
    known = data.y.clamp(min=0)  # unlabelled nodes are outside the mask; any valid class will do
    best = None
    start = time.perf_counter()
    for alpha in alphas:
        out = LabelPropagation(num_layers=num_layers, alpha=alpha)(known, _adjacency(data), mask=train_mask)
        score = _accuracy(out, data.y, val_mask)
        if best is None or score > best[0]:
            best = (score, alpha, out)
    seconds = (time.perf_counter() - start) / len(alphas)
    return _result("label propagation", data, masks, seed, best[2], epochs_run=num_layers,
                   seconds_per_epoch=seconds / num_layers, setting=f"α = {best[1]}")


def correct_and_smooth(result: RunResult, data: Data, masks: tuple[Tensor, Tensor, Tensor],
                       correction_alphas: tuple[float, ...] = (0.2, 0.5, 0.8),
                       smoothing_alphas: tuple[float, ...] = ALPHAS, num_layers: int = 10) -> RunResult:
    """PyG's ``CorrectAndSmooth`` on a trained model's probabilities, alphas chosen on validation.

    Huang et al. (2021): spread the model's training-set errors over the graph
    (correct), then propagate the training labels from the corrected
    predictions (smooth). The graph is used after training, not inside the model.
    """
    from torch_geometric.nn import CorrectAndSmooth

    train_mask, val_mask, _ = masks
    adjacency, y_train = _adjacency(data), data.y[train_mask]
    best = None
    for correction in correction_alphas:
        corrected = None
        for smoothing in smoothing_alphas:
            post = CorrectAndSmooth(num_layers, correction, num_layers, smoothing)
            if corrected is None:  # the correction step does not depend on the smoothing alpha
                corrected = post.correct(result.probabilities, y_train, train_mask, adjacency)
            out = post.smooth(corrected, y_train, train_mask, adjacency)
            score = _accuracy(out, data.y, val_mask)
            if best is None or score > best[0]:
                best = (score, f"α₁ = {correction}, α₂ = {smoothing}", out)
    return _result(f"{result.model} + C&S", data, masks, result.seed, best[2], setting=best[1])


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


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sample standard deviation (in %) over seeds, in the order the methods were run."""
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
    parser.add_argument("--label", choices=LABELS, default="product_category", help="what to predict")
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
