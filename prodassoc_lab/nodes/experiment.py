"""The training loop of the source article's §5 script, corrected (chapter 7).

Node classification on the product graph of chapter 3: full-batch training
with early stopping on validation accuracy, an atomic checkpoint of the best
epoch, and the comparison of models and baselines on the same splits. The
command line is :mod:`prodassoc_lab.nodes.cli`.
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from prodassoc_lab.nodes.baselines import correct_and_smooth, label_propagation, majority_baseline
from prodassoc_lab.nodes.evaluation import Masks, RunResult, accuracy, as_masks, run_result, stratified_masks
from prodassoc_lab.nodes.models import MODELS, NodeClassifier
from prodassoc_lab.pyg_data import require_adjacency
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.training import save_checkpoint
from prodassoc_lab.validation import non_negative_float, positive_float, positive_int


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
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ValueError(f"checkpoint: folder {Path(checkpoint).parent} does not exist")
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


def compare_models(data: Data, models: tuple[str, ...], seeds: tuple[int, ...], smooth: bool = True,
                   **train_args) -> tuple[pd.DataFrame, list[RunResult]]:
    """Every baseline and model on the same splits (chapter 7).

    Returns one table row per (method, seed) and the runs themselves (with
    training histories and probabilities). ``smooth`` adds each model followed
    by Correct & Smooth.
    """
    if isinstance(models, str) or not models or not all(isinstance(m, str) for m in models):
        raise ValueError(f"models must be a non-empty tuple of model names, got {models!r}")
    if isinstance(seeds, int) or not seeds:
        raise ValueError(f"seeds must be a non-empty tuple of seeds, got {seeds!r}")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
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
