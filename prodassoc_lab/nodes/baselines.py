"""Baselines that every model of chapter 7 must beat: majority class, label propagation, Correct & Smooth.

The two propagation methods use the graph and the *training labels* of the
neighbours, with no features and (label propagation) no training at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import CorrectAndSmooth, LabelPropagation

from prodassoc_lab.nodes.evaluation import Masks, RunResult, accuracy, as_masks, run_result
from prodassoc_lab.protocol import validation_search
from prodassoc_lab.pyg_data import require_adjacency
from prodassoc_lab.validation import positive_int

ALPHAS = (0.1, 0.3, 0.5, 0.7, 0.9)  # propagation strengths tried on the validation set
# Correct & Smooth's default search: every correction alpha with every smoothing alpha
SMOOTHING_GRID = tuple({"correction_alpha": correction, "smoothing_alpha": smoothing}
                       for correction in (0.2, 0.5, 0.8) for smoothing in ALPHAS)


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
    known = data.y.clamp(min=0)  # unlabelled nodes are outside the mask; any valid class will do

    def propagate(configuration: dict) -> tuple[float, Tensor]:
        out = LabelPropagation(num_layers=num_layers, alpha=configuration["alpha"])(
            known, require_adjacency(data), mask=masks.train)
        return accuracy(out, data.y, masks.validation), out

    search, out = validation_search([{"alpha": alpha} for alpha in alphas], propagate)
    return run_result("label propagation", data, masks, seed, out, setting=f"α = {search.chosen['alpha']}",
                      search=search)


def correct_and_smooth(result: RunResult, data: Data, masks: Masks,
                       configurations: Sequence[Mapping[str, float]] = SMOOTHING_GRID,
                       num_layers: int = 10) -> RunResult:
    """PyG's ``CorrectAndSmooth`` on a trained model's probabilities, alphas chosen on validation.

    Huang et al. (2021): spread the model's training-set errors over the graph
    (correct), then propagate the training labels from the corrected
    predictions (smooth). The graph is used after training, not inside the model.

    Args:
        result: the trained model's run, with its probabilities for every node.
        data: the graph (with ``adj_t``) and labels.
        masks: the train/validation/test masks of the split.
        configurations: the pairs of alphas to try, each a mapping with
            ``correction_alpha`` and ``smoothing_alpha`` in (0, 1].
        num_layers: propagation steps of each step.
    """
    masks = as_masks(masks, data)
    if isinstance(configurations, Mapping) or not configurations or not all(
            isinstance(c, Mapping) and set(c) == {"correction_alpha", "smoothing_alpha"} for c in configurations):
        raise ValueError("configurations must be a non-empty sequence of mappings with the keys correction_alpha "
                         f"and smoothing_alpha, got {configurations!r:.100}")
    for name in ("correction_alpha", "smoothing_alpha"):
        _alphas(tuple(c[name] for c in configurations), name)
    num_layers = positive_int(num_layers, "num_layers")
    if result.probabilities is None or result.probabilities.shape[0] != data.num_nodes:
        raise ValueError(f"result {result.model!r} carries no probabilities for the {data.num_nodes} nodes")
    train_mask = masks.train
    adjacency, y_train = require_adjacency(data), data.y[train_mask]
    corrected = {}  # the correction step does not depend on the smoothing alpha

    def smooth(configuration: dict) -> tuple[float, Tensor]:
        correction, smoothing = configuration["correction_alpha"], configuration["smoothing_alpha"]
        post = CorrectAndSmooth(num_layers, correction, num_layers, smoothing)
        if correction not in corrected:
            corrected[correction] = post.correct(result.probabilities, y_train, train_mask, adjacency)
        out = post.smooth(corrected[correction], y_train, train_mask, adjacency)
        return accuracy(out, data.y, masks.validation), out

    search, out = validation_search(configurations, smooth)
    chosen = search.chosen
    return run_result(f"{result.model} + C&S", data, masks, result.seed, out,
                      setting=f"α₁ = {chosen['correction_alpha']}, α₂ = {chosen['smoothing_alpha']}", search=search)
