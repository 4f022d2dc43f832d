"""Baselines that every model of chapter 7 must beat: majority class, label propagation, Correct & Smooth.

The two propagation methods use the graph and the *training labels* of the
neighbours, with no features and (label propagation) no training at all.
"""

from __future__ import annotations

from numbers import Real

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import CorrectAndSmooth, LabelPropagation

from prodassoc_lab.nodes.evaluation import Masks, RunResult, accuracy, as_masks, run_result
from prodassoc_lab.pyg_data import require_adjacency
from prodassoc_lab.validation import positive_int

ALPHAS = (0.1, 0.3, 0.5, 0.7, 0.9)  # propagation strengths tried on the validation set


def _alphas(values: tuple[float, ...], name: str) -> tuple[float, ...]:
    if isinstance(values, str) or not values:
        raise ValueError(f"{name} must be a non-empty tuple of propagation strengths, got {values!r}")
    for alpha in values:
        if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha <= 1:
            raise ValueError(f"{name}: every alpha must be a number in (0, 1], got {alpha!r}")
    return tuple(float(alpha) for alpha in values)


def majority_baseline(data: Data, masks: Masks, seed: int) -> RunResult:
    """Always predict the most frequent training class."""
    masks = as_masks(masks, data)
    majority = int(torch.mode(data.y[masks.train]).values)
    probabilities = F.one_hot(torch.full_like(data.y, majority), int(data.y.max()) + 1).float()
    return run_result("majority", data, masks, seed, probabilities)


def label_propagation(data: Data, masks: Masks, seed: int,
                      alphas: tuple[float, ...] = ALPHAS, num_layers: int = 10) -> RunResult:
    """PyG's ``LabelPropagation`` from the training labels, ``alpha`` chosen on validation.

    No features, no training. The weighted ``adj_t`` is passed as a sparse
    matrix, which PyG normalizes to D^-1/2 A D^-1/2 itself; edge weights passed
    next to an ``edge_index`` would *not* be normalized (chapter 7 shows the trap).
    """
    masks = as_masks(masks, data)
    alphas, num_layers = _alphas(alphas, "alphas"), positive_int(num_layers, "num_layers")
    train_mask, val_mask = masks.train, masks.validation
    known = data.y.clamp(min=0)  # unlabelled nodes are outside the mask; any valid class will do
    best = None
    for alpha in alphas:
        out = LabelPropagation(num_layers=num_layers, alpha=alpha)(known, require_adjacency(data), mask=train_mask)
        score = accuracy(out, data.y, val_mask)
        if best is None or score > best[0]:
            best = (score, alpha, out)
    return run_result("label propagation", data, masks, seed, best[2], setting=f"α = {best[1]}")


def correct_and_smooth(result: RunResult, data: Data, masks: Masks,
                       correction_alphas: tuple[float, ...] = (0.2, 0.5, 0.8),
                       smoothing_alphas: tuple[float, ...] = ALPHAS, num_layers: int = 10) -> RunResult:
    """PyG's ``CorrectAndSmooth`` on a trained model's probabilities, alphas chosen on validation.

    Huang et al. (2021): spread the model's training-set errors over the graph
    (correct), then propagate the training labels from the corrected
    predictions (smooth). The graph is used after training, not inside the model.

    Args:
        result: the trained model's run, with its probabilities for every node.
        data: the graph (with ``adj_t``) and labels.
        masks: the train/validation/test masks of the split.
        correction_alphas: alphas of the correction step to try.
        smoothing_alphas: alphas of the smoothing step to try.
        num_layers: propagation steps of each step.
    """
    masks = as_masks(masks, data)
    correction_alphas = _alphas(correction_alphas, "correction_alphas")
    smoothing_alphas, num_layers = _alphas(smoothing_alphas, "smoothing_alphas"), positive_int(num_layers, "num_layers")
    if result.probabilities is None or result.probabilities.shape[0] != data.num_nodes:
        raise ValueError(f"result {result.model!r} carries no probabilities for the {data.num_nodes} nodes")
    train_mask, val_mask = masks.train, masks.validation
    adjacency, y_train = require_adjacency(data), data.y[train_mask]
    best = None
    for correction in correction_alphas:
        corrected = None
        for smoothing in smoothing_alphas:
            post = CorrectAndSmooth(num_layers, correction, num_layers, smoothing)
            if corrected is None:  # the correction step does not depend on the smoothing alpha
                corrected = post.correct(result.probabilities, y_train, train_mask, adjacency)
            out = post.smooth(corrected, y_train, train_mask, adjacency)
            score = accuracy(out, data.y, val_mask)
            if best is None or score > best[0]:
                best = (score, f"α₁ = {correction}, α₂ = {smoothing}", out)
    return run_result(f"{result.model} + C&S", data, masks, result.seed, best[2], setting=best[1])
