"""Scoring the node classifiers of chapter 7: splits, accuracy and result tables.

Every method of a comparison is scored here, on the same masks or the same
held-out baskets, so that a table compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from torch import Tensor
from torch_geometric.data import Data

from prodassoc_lab.protocol import SearchRecord
from prodassoc_lab.tensors import node_indices, require_finite
from prodassoc_lab.training import TrainingRun
from prodassoc_lab.validation import bounded_float, require_columns, seed_value

MIN_PER_CLASS = 5  # classes with fewer labelled products are used for training only


class Masks(NamedTuple):
    """Boolean node masks of one split: train, validation and test (disjoint)."""

    train: Tensor
    validation: Tensor
    test: Tensor


def stratified_masks(y: Tensor, seed: int, train: float = 0.6, val: float = 0.2) -> Masks:
    """Boolean train/validation/test masks over the labelled nodes (``y >= 0``), stratified by class.

    Unlike the article's ``train_test_split`` on adjacency rows, the graph stays whole:
    only the *labels* are split. Classes with fewer than ``MIN_PER_CLASS`` labelled
    nodes cannot be stratified and go to training.
    """
    seed = seed_value(seed)
    if not isinstance(y, Tensor) or y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"y must be a 1-D integer torch.Tensor of class codes (-1 = no label), got "
                        f"{y.dtype if isinstance(y, Tensor) else type(y).__name__}")
    train = bounded_float(train, "train", 0, 1, low_open=True, high_open=True)
    val = bounded_float(val, "val", 0, 1, low_open=True, high_open=True)
    if not train + val < 1:
        raise ValueError(f"train + val must leave a test share: got train={train}, val={val}")
    labels = y.numpy()
    labelled = np.flatnonzero(labels >= 0)
    if len(labelled) == 0:
        raise ValueError("no node has a label (y >= 0): there is nothing to split")
    classes, counts = np.unique(labels[labelled], return_counts=True)
    rare = np.isin(labels[labelled], classes[counts < MIN_PER_CLASS])
    common = labelled[~rare]
    if len(common) == 0:
        raise ValueError(f"no class has {MIN_PER_CLASS} or more labelled nodes, so none can be split "
                         "into training, validation and test")
    train_idx, rest = train_test_split(common, train_size=train, stratify=labels[common], random_state=seed)
    val_idx, test_idx = train_test_split(
        rest, train_size=val / (1 - train), stratify=labels[rest], random_state=seed
    )
    masks = []
    for idx in (np.concatenate([train_idx, labelled[rare]]), val_idx, test_idx):
        mask = torch.zeros(len(labels), dtype=torch.bool)
        mask[torch.from_numpy(idx)] = True
        masks.append(mask)
    return Masks(*masks)


def as_masks(masks: tuple[Tensor, Tensor, Tensor], data: Data) -> Masks:
    """``masks`` as :class:`Masks`, after checking them.

    Refused: anything but three disjoint boolean node masks that each select at
    least one node, and only labelled ones. One exception: the test mask may be
    the validation mask itself, as in a validation search
    (:func:`~prodassoc_lab.nodes.experiment.hide_test_labels`).
    """
    names = Masks._fields
    if getattr(data, "y", None) is None:
        raise ValueError("data has no labels y; masks select labelled nodes")
    if len(masks) != 3:
        raise ValueError(f"masks must be (train, validation, test), got {len(masks)} mask(s)")
    for name, mask in zip(names, masks, strict=True):
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != (data.num_nodes,):
            raise ValueError(f"the {name} mask must be a boolean tensor of {data.num_nodes} entries (one per node)")
        if not mask.any():
            raise ValueError(f"the {name} mask selects no node")
        if (data.y[mask] < 0).any():
            raise ValueError(f"the {name} mask selects {int((data.y[mask] < 0).sum())} node(s) without a label")
    for first, second in ((0, 1), (0, 2), (1, 2)):
        if (first, second) == (1, 2) and masks[1].equal(masks[2]):
            continue
        shared = int((masks[first] & masks[second]).sum())
        if shared:
            raise ValueError(f"the {names[first]} and {names[second]} masks share {shared} node(s)")
    return Masks(*masks)


def accuracy_and_macro_f1(y_true: Tensor, y_pred: Tensor) -> tuple[float, float]:
    """Accuracy and macro-F1 (every class present in ``y_true`` or ``y_pred`` weighs the same)."""
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or not len(y_true):
        raise ValueError(f"y_true and y_pred must be one class per item, of equal length; got shapes "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    true, pred = y_true.numpy(), y_pred.numpy()
    return float((true == pred).mean()), float(f1_score(true, pred, average="macro", zero_division=0))


def accuracy(scores: Tensor, y: Tensor, mask: Tensor) -> float:
    """Share of the nodes in ``mask`` whose highest-scoring class is their label ``y``.

    ``mask`` is a boolean node mask or a tensor of distinct node indices in
    range; it must select a node, and only labelled ones; scores must be finite.
    """
    if not all(isinstance(t, Tensor) for t in (scores, y, mask)):
        raise TypeError("scores, y and mask must be torch tensors")
    if scores.dim() != 2 or scores.size(0) != y.size(0):
        raise ValueError(f"scores (nodes × classes) {tuple(scores.shape)} and y {tuple(y.shape)} "
                         "must have one row per node")
    if mask.dtype == torch.bool and mask.shape != y.shape:
        raise ValueError(f"a boolean mask needs one entry per node ({y.size(0)}), got {tuple(mask.shape)}")
    if mask.dtype != torch.bool and (mask.is_floating_point() or mask.dim() != 1):
        raise ValueError("mask must be a boolean node mask or a 1-D tensor of node indices")
    if (mask.dtype == torch.bool and not mask.any()) or mask.numel() == 0:
        raise ValueError("mask selects no node")
    if mask.dtype != torch.bool:
        mask = node_indices(mask, y.size(0), "mask")
        if len(mask.unique()) != len(mask):
            raise ValueError("mask names a node more than once; each node counts once")
    require_finite(scores[mask], "scores")
    if (y[mask] < 0).any():
        raise ValueError(f"mask selects {int((y[mask] < 0).sum())} node(s) without a label (y < 0)")
    return (scores[mask].argmax(dim=1) == y[mask]).float().mean().item()


@dataclass
class RunResult:
    """Test accuracy and macro-F1 of one method on one split, with its training record.

    ``training`` is the record of the training run (``None`` for the baselines,
    which are not trained); ``history`` holds one row per validated epoch with
    the training loss and the validation metrics; ``probabilities`` (nodes ×
    classes) are what Correct & Smooth starts from; ``setting`` names a
    hyperparameter chosen on the validation set, if any, and ``search`` is the
    record of that validation search.
    """

    model: str
    seed: int
    accuracy: float
    macro_f1: float
    training: TrainingRun | None = field(default=None, repr=False)
    setting: str = ""
    history: list[dict] = field(default_factory=list, repr=False)
    probabilities: Tensor | None = field(default=None, repr=False)
    search: SearchRecord | None = field(default=None, repr=False)

    @property
    def best_epoch(self) -> int:
        """The kept epoch (0 for a baseline)."""
        return self.training.best_epoch if self.training is not None else 0

    @property
    def epochs_run(self) -> int:
        """The epochs trained (0 for a baseline)."""
        return self.training.epochs_run if self.training is not None else 0

    @property
    def seconds_per_epoch(self) -> float:
        """Wall-clock seconds per epoch, validation included (0 for a baseline)."""
        return self.training.seconds_per_epoch if self.training is not None else 0.0

    @property
    def predictions(self) -> Tensor:
        """The predicted class of every node."""
        return self.probabilities.argmax(dim=1)


def run_result(name: str, data: Data, masks: Masks, seed: int, probabilities: Tensor, **record) -> RunResult:
    """The :class:`RunResult` of ``probabilities``, scored on the test mask.

    Args:
        name: the method's name.
        data: the graph with its labels ``y``.
        masks: the split; accuracy and macro-F1 are on ``masks.test``.
        seed: the split's seed.
        probabilities: nodes × classes predicted probabilities.
        **record: further :class:`RunResult` fields (best epoch, history, ...).
    """
    test = masks.test
    test_accuracy, macro_f1 = accuracy_and_macro_f1(data.y[test], probabilities.argmax(dim=1)[test])
    return RunResult(name, seed, test_accuracy, macro_f1, probabilities=probabilities, **record)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sample standard deviation (in %) over seeds, in the order the methods were run.

    Needs two or more runs of every method (a standard deviation of one run is undefined).
    """
    require_columns(runs, ("method", "accuracy", "macro-F1"), "runs")
    for column in ("accuracy", "macro-F1"):
        if not pd.api.types.is_numeric_dtype(runs[column]):
            raise ValueError(f"runs: column {column!r} must hold numbers, got {runs[column].dtype}")
    if runs[["accuracy", "macro-F1"]].isna().any().any():
        raise ValueError("runs holds missing accuracies or macro-F1 scores")
    if (runs.groupby("method").size() < 2).any():
        raise ValueError("every method needs two or more runs (seeds) for a mean ± standard deviation")
    order = list(dict.fromkeys(runs.method))
    stats = runs.groupby("method", sort=False)[["accuracy", "macro-F1"]].agg(["mean", "std"]).loc[order]
    return pd.DataFrame(
        {metric: [f"{100 * m:.1f} ± {100 * s:.1f}"
                  for m, s in zip(stats[metric]["mean"], stats[metric]["std"], strict=True)]
         for metric in ("accuracy", "macro-F1")},
        index=pd.Index(order, name="method"),
    )
