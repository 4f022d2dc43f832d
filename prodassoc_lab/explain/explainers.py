"""Explanations of the book's graph models, tested against chance: fidelity versus a random explanation (chapter 10).

PyG's :class:`~torch_geometric.explain.Explainer` returns masks over edges
(which neighbours matter) and over node attributes (which features matter).
A mask is only an explanation if the model's decision depends on what it
keeps: PyG's ``fidelity`` (in ``torch_geometric.explain.metric``) removes the
explanation (fidelity+, the decision should change) or keeps only it
(fidelity−, the decision should stay). This module supplies the yardstick —
a random explanation of the same size, drawn from the edges that can reach
the explained prediction at all — and the wrapper that turns chapter 8's
pair scores into a decision PyG can explain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.explain import Explainer, Explanation
from torch_geometric.explain.algorithm import ExplainerAlgorithm
from torch_geometric.explain.algorithm.utils import clear_masks, set_masks
from torch_geometric.explain.config import MaskType, ModelMode
from torch_geometric.explain.metric import characterization_score, fidelity
from torch_geometric.utils import k_hop_subgraph

from prodassoc_lab.links.models import LinkEncoder, pair_scores
from prodassoc_lab.tensors import node_indices
from prodassoc_lab.validation import positive_int


def computation_edges(edge_index: Tensor, nodes: Tensor, num_layers: int = 2, num_nodes: int | None = None) -> Tensor:
    """Boolean mask of the edges whose messages reach ``nodes`` through ``num_layers`` message-passing layers.

    A message along :math:`j \\to i` reaches a target :math:`t` in :math:`L`
    layers when :math:`i` is at most :math:`L - 1` hops upstream of :math:`t`;
    no other edge can change :math:`t`'s output, so a fair random explanation
    draws its edges from these.
    """
    num_layers = positive_int(num_layers, "num_layers")
    num_nodes = num_nodes if num_nodes is not None else int(edge_index.max()) + 1
    node_indices(edge_index, num_nodes, "edge_index")
    nodes = node_indices(nodes, num_nodes, "nodes").view(-1)
    if num_layers == 1:
        receivers = nodes
    else:
        receivers, _, _, _ = k_hop_subgraph(nodes, num_layers - 1, edge_index, num_nodes=num_nodes)
    return torch.isin(edge_index[1], receivers)


@dataclass(frozen=True)
class LocalGraph:
    """The part of a graph that decides the outputs at some target nodes, with nodes renumbered from 0.

    ``nodes`` maps new numbers to the original ones and ``edges`` holds the
    original edge numbers; ``targets`` are the explained nodes' new numbers.
    """

    x: Tensor
    edge_index: Tensor
    edge_weight: Tensor
    nodes: Tensor
    edges: Tensor
    targets: Tensor


def local_graph(x: Tensor, edge_index: Tensor, edge_weight: Tensor, targets: Tensor, hops: int) -> LocalGraph:
    """Cut out every edge into a node at most ``hops`` hops upstream of ``targets`` (``hops`` ≥ 0).

    For a model of :math:`L` message-passing layers, ``hops = L - 1`` keeps
    exactly the edges whose messages reach the targets, which is enough when a
    layer sums its messages (the article's layer); ``hops = L`` also keeps the
    edges into the nodes those messages come from, which GCN needs for their
    degrees. Either way the outputs at ``targets`` equal the full graph's
    (chapter 10 asserts it), and an explainer's steps cost the cut-out's edges
    instead of the whole graph's.
    """
    targets = node_indices(targets, x.size(0), "targets").view(-1)
    node_indices(edge_index, x.size(0), "edge_index")
    if edge_weight.shape != (edge_index.size(1),):
        raise ValueError(f"edge_weight must have one entry per edge ({edge_index.size(1)}), "
                         f"got {tuple(edge_weight.shape)}")
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise ValueError(f"hops must be an integer ≥ 0, got {hops!r}")
    within = targets if hops == 0 else k_hop_subgraph(targets, hops, edge_index, num_nodes=x.size(0))[0]
    edges = torch.isin(edge_index[1], within).nonzero().view(-1)
    nodes = torch.unique(torch.cat([within, edge_index[0, edges]]))
    renumber = torch.full((x.size(0),), -1, dtype=torch.long)
    renumber[nodes] = torch.arange(len(nodes))
    return LocalGraph(x[nodes], renumber[edge_index[:, edges]], edge_weight[edges], nodes, edges, renumber[targets])


def random_explanation(explanation: Explanation, candidates: Tensor | None, generator: torch.Generator) -> Explanation:
    """An explanation of the same size as ``explanation``, drawn uniformly at random.

    It keeps as many edges as ``explanation.edge_mask`` does, drawn among the
    ``candidates`` edges, and as many attributes as a ``common_attributes``
    node mask (shape ``(1, F)``) does, drawn among all ``F``. Masks must be
    hard (0/1), as a ``topk_hard`` threshold makes them.
    """
    masks = {}
    edge_mask = explanation.get("edge_mask")
    if edge_mask is not None:
        if candidates is None or candidates.shape != edge_mask.shape:
            raise ValueError("candidates must be a boolean mask with one entry per edge of the explanation")
        masks["edge_mask"] = _same_size(edge_mask, candidates.nonzero().view(-1), generator)
    node_mask = explanation.get("node_mask")
    if node_mask is not None:
        if node_mask.dim() != 2 or node_mask.size(0) != 1:
            raise ValueError(f"random_explanation needs a common_attributes node mask of shape (1, F), "
                             f"got {tuple(node_mask.shape)}")
        masks["node_mask"] = _same_size(node_mask.view(-1), torch.arange(node_mask.numel()), generator).view(1, -1)
    if not masks:
        raise ValueError("the explanation has neither an edge mask nor a node mask")
    drawn = explanation.clone()
    for name, mask in masks.items():
        drawn[name] = mask
    return drawn


def _same_size(mask: Tensor, pool: Tensor, generator: torch.Generator) -> Tensor:
    if not ((mask == 0) | (mask == 1)).all():
        raise ValueError("random_explanation needs hard 0/1 masks; use threshold_config "
                         "dict(threshold_type='topk_hard', value=k)")
    size = int(mask.sum())
    if size > len(pool):
        raise ValueError(f"the explanation keeps {size} entries but only {len(pool)} can be drawn")
    drawn = torch.zeros_like(mask)
    drawn[pool[torch.randperm(len(pool), generator=generator)[:size]]] = 1.0
    return drawn


def fidelity_table(explainer: Explainer, explanations: list[Explanation]) -> pd.DataFrame:
    """PyG's ``fidelity+`` and ``fidelity-`` of each explanation, one row each."""
    if not explanations:
        raise ValueError("give at least one explanation")
    return pd.DataFrame([fidelity(explainer, explanation) for explanation in explanations],
                        columns=["fidelity+", "fidelity-"])


def random_fidelity(explainer: Explainer, explanations: list[Explanation], candidates: list[Tensor | None],
                    draws: int, seed: int) -> pd.DataFrame:
    """For each explanation, the mean fidelity± of ``draws`` random explanations of its size
    (see :func:`random_explanation`).

    This is the yardstick: a useful explanation has a higher fidelity+
    (removing it changes the decision more often) and a lower fidelity− (it
    alone keeps the decision more often) than chance.
    """
    draws = positive_int(draws, "draws")
    if len(explanations) != len(candidates) or not explanations:
        raise ValueError("give one candidate mask (or None) per explanation, and at least one explanation")
    generator = torch.Generator().manual_seed(seed)
    rows = [np.mean([fidelity(explainer, random_explanation(explanation, pool, generator)) for _ in range(draws)],
                    axis=0) for explanation, pool in zip(explanations, candidates, strict=True)]
    return pd.DataFrame(rows, columns=["fidelity+", "fidelity-"])


def fidelity_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Mean fidelity± of each table (one per method), with PyG's characterization score of the means."""
    if not tables or any(table.empty for table in tables.values()):
        raise ValueError("fidelity_summary needs one non-empty table per method")
    rows = {}
    for name, table in tables.items():
        plus, minus = (torch.tensor(table[column].mean(), dtype=torch.float64) for column in ("fidelity+", "fidelity-"))
        rows[name] = {"fidelity+": float(plus), "fidelity-": float(minus),
                      "characterization": float(characterization_score(plus, minus))}
    return pd.DataFrame(rows).T


class MaskGradient(ExplainerAlgorithm):
    r"""Importance of each edge and attribute as the gradient of the explained output with respect to its mask.

    With every mask entry :math:`m_e = 1` (nothing removed), the first-order
    change of the output :math:`f` when entry :math:`e` is removed is
    :math:`-\partial f / \partial m_e`, so the entries with the largest gradient
    are those whose removal should hurt the decision most:

    .. math::
        \operatorname{importance}_e = \left.\frac{\partial f}{\partial m_e}\right|_{\mathbf{m} = \mathbf{1}}

    :math:`f` is the log-probability of the explained class for a multi-class
    model and the raw score for a binary one. One backward pass per
    explanation, against ``GNNExplainer``'s hundred optimization steps. PyG's
    own gradient methods need Captum, which the book does not install, so this
    one is written here (chapter 10).
    """

    def forward(self, model: torch.nn.Module, x: Tensor, edge_index: Tensor, *, target: Tensor,
                index: int | Tensor | None = None, **kwargs) -> Explanation:
        """The gradient of the explained output with respect to an all-ones edge mask and/or attribute mask.

        Args:
            model: the model explained; its message-passing layers get the edge mask for this call.
            x: node features.
            edge_index: the edges, each weighted by its mask entry.
            target: the class whose log-probability is explained (multiclass models).
            index: the output entries explained (``None``: all of them, summed).
            **kwargs: further arguments of ``model``.
        """
        node_type, edge_type = self.explainer_config.node_mask_type, self.explainer_config.edge_mask_type
        if node_type not in (None, MaskType.common_attributes) or edge_type not in (None, MaskType.object):
            raise ValueError("MaskGradient explains edges (edge_mask_type='object') and/or attributes "
                             "(node_mask_type='common_attributes')")
        # Parameters, because set_masks turns a plain tensor into a new Parameter (cut off from our
        # gradient) once an explainer such as GNNExplainer has registered one on the model
        node_mask = torch.nn.Parameter(torch.ones(1, x.size(1))) if node_type is not None else None
        edge_mask = torch.nn.Parameter(torch.ones(edge_index.size(1))) if edge_type is not None else None
        if edge_mask is not None:
            set_masks(model, edge_mask, edge_index, apply_sigmoid=False)
        try:
            out = model(x if node_mask is None else x * node_mask, edge_index, **kwargs)
        finally:
            clear_masks(model)
        if self.model_config.mode == ModelMode.multiclass_classification:
            out = torch.log_softmax(out, dim=-1).gather(-1, target.view(-1, 1)).view(-1)
        selected = out.view(-1) if index is None else out.view(-1)[node_indices(index, out.numel(), "index")]
        masks = [mask for mask in (node_mask, edge_mask) if mask is not None]
        gradients = iter(torch.autograd.grad(selected.sum(), masks))
        return Explanation(node_mask=next(gradients) if node_mask is not None else None,
                           edge_mask=next(gradients) if edge_mask is not None else None)

    def supports(self) -> bool:
        return self.model_config.mode in (ModelMode.multiclass_classification, ModelMode.binary_classification)


class PairDecision(torch.nn.Module):
    r"""Chapter 8's pair score as a yes/no decision that PyG's explainers and fidelity can handle.

    .. math::
        d(u, v) = s(u, v) - s(u, w), \qquad s(u, v) = \mathbf{z}_u^\top \mathbf{z}_v + b_u + b_v

    with :math:`w` a fixed rival of :math:`v` in :math:`u`'s list, e.g. the
    candidate at :math:`u`'s :math:`K`-th place on the full graph, so that
    :math:`d > 0` reads "v ranks above w". Comparing two candidates of the same
    query, not a score with a frozen threshold, matters: :math:`b_u` cancels,
    as it does in :math:`u`'s ranking, so masking :math:`u`'s own features
    cannot flip the decision without changing the list. Use it with
    ``mode="binary_classification"``, ``task_level="edge"`` and ``return_type="raw"``.

    Args:
        encoder (LinkEncoder): a trained chapter 8 encoder.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, edge indices
          :math:`(2, |\mathcal{E}|)`, edge weights :math:`(|\mathcal{E}|)`, the
          pairs :math:`(2, P)` as rows :math:`(u, v)` and the rivals :math:`w` :math:`(P)`
        - **output:** :math:`(P)` decisions :math:`d`
    """

    def __init__(self, encoder: LinkEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor, pairs: Tensor, rivals: Tensor) -> Tensor:
        if pairs.dim() != 2 or pairs.size(0) != 2 or rivals.shape != (pairs.size(1),):
            raise ValueError(f"pairs must have shape (2, P) and rivals (P,); got {tuple(pairs.shape)} and "
                             f"{tuple(rivals.shape)}")
        embeddings, bias = self.encoder(x, edge_index, edge_weight)
        return pair_scores(embeddings, bias, pairs) - pair_scores(embeddings, bias, torch.stack([pairs[0], rivals]))
