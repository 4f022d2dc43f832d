"""The training loop of the source article's §5 script, corrected (chapter 7).

Node classification on the product graph of chapter 3: full-batch training
with early stopping on validation accuracy, an atomic checkpoint of the best
epoch, and the comparison of models and baselines on the same splits. The
command line is :mod:`prodassoc_lab.nodes.cli`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
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
from prodassoc_lab.training import EarlyStopping, train_with_early_stopping
from prodassoc_lab.validation import non_negative_float, positive_float, positive_int


@dataclass(frozen=True)
class NodeTraining:
    """The settings of :func:`train_node_classifier`, checked when made (chapter 7).

    ``hidden`` units, Adam with ``lr`` and ``weight_decay``, at most ``epochs``
    epochs with early stopping after ``patience`` epochs without a better
    validation accuracy, on ``device`` (``"cpu"``, ``"cuda"`` or ``"cuda:N"``).
    """

    hidden: int = 64
    lr: float = 0.03
    epochs: int = 100
    patience: int = 30
    weight_decay: float = 5e-4
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("hidden", "epochs", "patience"):
            positive_int(getattr(self, name), name)
        positive_float(self.lr, "lr")
        non_negative_float(self.weight_decay, "weight_decay")
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}") from None
        if device.type == "cuda" and (not torch.cuda.is_available()
                                      or (device.index or 0) >= torch.cuda.device_count()):
            raise ValueError(f"device {self.device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def train_node_classifier(
    data: Data,
    masks: Masks,
    kind: str,
    seed: int,
    settings: NodeTraining | None = None,
    *,
    progress: bool = False,
    checkpoint: Path | None = None,
) -> RunResult:
    """Full-batch training with early stopping on validation accuracy (chapter 7).

    ``settings`` defaults to ``NodeTraining()``. The loop is
    :func:`prodassoc_lab.training.train_with_early_stopping`: the best model
    (by validation accuracy; ties keep the first epoch) is saved to
    ``checkpoint`` — a temporary file if none is given — and loaded back with
    ``torch.load(weights_only=True)`` before the test set is scored.

    Args:
        data: the product graph with features ``x``, labels ``y`` and ``adj_t``.
        masks: train, validation and test masks over the nodes.
        kind: the model, one of ``nodes.models.MODELS``.
        seed: seed of the initialisation and of dropout.
        settings: width, learning rate, epochs, patience, weight decay, device.
        progress: show a progress bar.
        checkpoint: where to save the best epoch's weights (atomically).
    """
    settings = NodeTraining() if settings is None else settings
    if not isinstance(settings, NodeTraining):
        raise TypeError(f"settings must be a NodeTraining, got {type(settings).__name__}")
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
    device = torch.device(settings.device)
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
    model = NodeClassifier(kind, x.size(1), settings.hidden, num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    metrics = []

    def train_step() -> float:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x, adjacency), train_target)
        loss.backward()
        optimizer.step()
        return loss.item()

    def validate() -> float:
        out = model(x, adjacency)
        metrics.append({
            "validation loss": F.cross_entropy(out[val_idx], y[val_idx]).item(),
            "training accuracy": accuracy(out, y, train_idx),
            "validation accuracy": accuracy(out, y, val_idx),
        })
        return metrics[-1]["validation accuracy"]

    with tempfile.TemporaryDirectory() as tmp:
        training = train_with_early_stopping(
            model, train_step, validate, EarlyStopping(settings.epochs, patience=settings.patience),
            checkpoint=Path(checkpoint) if checkpoint is not None else Path(tmp) / "best.pt",
            name=kind, lr=settings.lr, progress=progress)
    history = [{"epoch": epoch, "training loss": loss, **row}
               for epoch, loss, row in zip(training.validated_epochs, training.losses, metrics, strict=True)]
    with torch.no_grad():
        probabilities = model(x, adjacency).softmax(dim=1).cpu()
    return run_result(kind, data, masks, seed, probabilities, training=training, history=history)


def compare_models(data: Data, models: tuple[str, ...], seeds: tuple[int, ...], smooth: bool = True,
                   progress: bool = False, checkpoint: Path | None = None,
                   **settings) -> tuple[pd.DataFrame, list[RunResult]]:
    """Every baseline and model on the same splits (chapter 7).

    Returns one table row per (method, seed) and the runs themselves (with
    training histories and probabilities). ``smooth`` adds each model followed
    by Correct & Smooth. ``settings`` are the fields of :class:`NodeTraining`.

    Args:
        data: the product graph with features and labels.
        models: names of the models to train (keys of ``MODELS``).
        seeds: one split and initialization per seed.
        smooth: also run each model followed by Correct & Smooth.
        progress: show a progress bar for each training.
        checkpoint: file for the best epoch's weights, written atomically.
        **settings: fields of :class:`NodeTraining`.
    """
    if isinstance(models, str) or not models or not all(isinstance(m, str) for m in models):
        raise ValueError(f"models must be a non-empty tuple of model names, got {models!r}")
    if isinstance(seeds, int) or not seeds:
        raise ValueError(f"seeds must be a non-empty tuple of seeds, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats a run and shrinks the spread), got {seeds}")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    training = NodeTraining(**settings)
    runs = []
    for seed in seeds:
        masks = stratified_masks(data.y, seed)
        runs.append(majority_baseline(data, masks, seed))
        runs.append(label_propagation(data, masks, seed))
        trained = [train_node_classifier(data, masks, kind, seed, training, progress=progress, checkpoint=checkpoint)
                   for kind in models]
        runs.extend(trained)
        if smooth:
            runs.extend(correct_and_smooth(result, data, masks) for result in trained)
    table = pd.DataFrame(
        [{"method": r.model, "seed": r.seed, "accuracy": r.accuracy, "macro-F1": r.macro_f1,
          "best epoch": r.best_epoch, "epochs run": r.epochs_run, "seconds per epoch": r.seconds_per_epoch,
          "setting": r.setting} for r in runs]
    )
    return table, runs
