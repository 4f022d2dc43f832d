"""Partners for a product nobody has bought yet: its catalogue attributes mapped into a trained encoder's space
(chapter 8).

A transductive GCN has nothing to say about a product without baskets: it has
no edges, and its traffic features do not exist yet. What it does have are
catalogue attributes (:mod:`prodassoc_lab.links.features`). An
:class:`AttributeEncoder` :math:`g` maps them to a query vector scored against
the known products' embeddings :math:`\\mathbf{z}_v` and popularity terms
:math:`b_v` from a trained :class:`~prodassoc_lab.links.models.LinkEncoder`:
:math:`s(u, v) = g(\\mathbf{a}_u)^\\top \\mathbf{z}_v + b_v`. It is fitted on the
known products — each one pretends to be new, and must find its own partners
from its attributes alone — with the embeddings frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from prodassoc_lab.links.features import CatalogueFeatures
from prodassoc_lab.ranking import top_k
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.tensors import node_indices
from prodassoc_lab.training import EarlyStopping, train_with_early_stopping
from prodassoc_lab.validation import bounded_float, positive_float, positive_int


class AttributeEncoder(torch.nn.Module):
    r"""A two-layer MLP from catalogue features to the query space of a trained link encoder (chapter 8).

    .. math::
        \mathbf{q}_u = \mathbf{W}_2 \operatorname{ReLU}(\mathbf{W}_1 \mathbf{a}_u + \mathbf{c}_1) + \mathbf{c}_2,
        \qquad s(u, v) = \mathbf{q}_u^\top \mathbf{z}_v + b_v

    Args:
        in_channels (int): catalogue features per product, :math:`F`.
        out_channels (int): size of the embeddings it is scored against, :math:`D`.
        hidden (int, optional): hidden units. (default: ``128``)

    Shapes:
        - **input:** catalogue features :math:`(N, F)`
        - **output:** query vectors :math:`(N, D)`
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(positive_int(in_channels, "in_channels"), positive_int(hidden, "hidden")),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, positive_int(out_channels, "out_channels")),
        )

    def forward(self, attributes: Tensor) -> Tensor:
        return self.net(attributes)


@dataclass(frozen=True)
class AttributeTraining:
    """The settings of :func:`fit_attribute_encoder`, checked when made (chapter 8).

    Attributes:
        epochs (int): epochs to train; the one with the lowest validation loss is kept. (default: ``300``)
        lr (float): Adam's learning rate. (default: ``0.01``)
        val_share (float): share of the products with partners held out as if new, in (0, 1). (default: ``0.1``)
    """

    epochs: int = 300
    lr: float = 0.01
    val_share: float = 0.1

    def __post_init__(self) -> None:
        positive_int(self.epochs, "epochs")
        positive_float(self.lr, "lr")
        bounded_float(self.val_share, "val_share", 0, 1, low_open=True, high_open=True)


def fit_attribute_encoder(features: Tensor, embeddings: Tensor, bias: Tensor, edge_index: Tensor, seed: int,
                          settings: AttributeTraining = AttributeTraining()) -> tuple[AttributeEncoder, float]:
    """Fit :math:`g` so that a known product's attributes rank its own partners above random products.

    ``edge_index`` holds the earlier graph's edges (both directions). A share
    ``val_share`` of the products with partners is held out as if new: the epoch whose
    validation loss on their edges is lowest is kept. Returns the encoder and
    that loss. ``settings`` are the :class:`AttributeTraining`.

    Args:
        features: catalogue features of the known products, one row each.
        embeddings: the trained link encoder's embeddings of the same products.
        bias: the encoder's popularity term of each product.
        edge_index: the earlier graph's edges, both directions.
        seed: seed of the held-out products and of the initialization.
        settings: the :class:`AttributeTraining` (hidden size, epochs, learning rate, validation share).
    """
    if not isinstance(settings, AttributeTraining):
        raise TypeError(f"settings must be an AttributeTraining, got {type(settings).__name__}")
    n = embeddings.size(0)
    if features.size(0) != n or bias.shape != (n,):
        raise ValueError(f"features ({features.size(0)} rows), embeddings ({n}) and bias {tuple(bias.shape)} "
                         "must describe the same products")
    rng = set_seed(seed)
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError("edge_index must be a tensor of shape (2, num_edges)")
    source, target = node_indices(edge_index, n, "edge_index")
    with_partners = np.unique(source.numpy())  # a product without partners has nothing to validate
    if len(with_partners) < 2:
        raise ValueError("fitting needs at least two products with partners: one to fit, one to validate")
    held_out = torch.zeros(n, dtype=torch.bool)
    size = min(max(1, int(settings.val_share * len(with_partners))), len(with_partners) - 1)
    held_out[torch.from_numpy(rng.choice(with_partners, size, replace=False))] = True
    splits = {name: edge_index[:, mask] for name, mask in (("train", ~held_out[source]), ("val", held_out[source]))}
    embeddings, bias = embeddings.detach(), bias.detach()
    encoder = AttributeEncoder(features.size(1), embeddings.size(1))
    optimizer = torch.optim.Adam(encoder.parameters(), lr=settings.lr, weight_decay=1e-4)
    negatives_val = torch.from_numpy(rng.integers(0, n, splits["val"].size(1)))

    def loss_of(pairs: Tensor, negatives: Tensor) -> Tensor:
        queries = encoder(features)[pairs[0]]  # encoding every product once is cheaper than once per edge
        positive = (queries * embeddings[pairs[1]]).sum(-1) + bias[pairs[1]]
        negative = (queries * embeddings[negatives]).sum(-1) + bias[negatives]
        logits = torch.cat([positive, negative])
        labels = torch.cat([torch.ones_like(positive), torch.zeros_like(negative)])
        return F.binary_cross_entropy_with_logits(logits, labels)

    def train_step() -> float:
        optimizer.zero_grad()
        negatives = torch.randint(0, n, (splits["train"].size(1),))
        loss = loss_of(splits["train"], negatives)
        loss.backward()
        optimizer.step()
        return loss.item()

    run = train_with_early_stopping(encoder, train_step, lambda: loss_of(splits["val"], negatives_val).item(),
                                    EarlyStopping(settings.epochs, higher_is_better=False), name="attribute encoder",
                                    lr=settings.lr)
    return encoder, run.best_score


@dataclass(frozen=True)
class PartnerPrediction:
    """Predicted partners (``query``, ``rank``, partner id and type, ``score``) and, as an explanation, the known
    products each query resembles."""

    partners: pd.DataFrame
    resembles: pd.DataFrame


@dataclass
class PartnerPredictor:
    """Predicts the partners of products from their catalogue attributes alone (chapter 8).

    ``known`` is the node table of the earlier graph (``product_id``,
    ``product_type`` …, node order); ``embeddings`` and ``bias`` come from a
    trained link encoder, ``catalogue`` and ``encoder`` from
    :func:`fit_attribute_encoder` on the same products.
    """

    catalogue: CatalogueFeatures
    encoder: AttributeEncoder
    embeddings: Tensor
    bias: Tensor
    known: pd.DataFrame
    known_features: Tensor

    def scores(self, attributes: pd.DataFrame) -> np.ndarray:
        """:math:`g(\\mathbf{a}_u)^\\top \\mathbf{z}_v + b_v` for each row of ``attributes`` and every known product."""
        with torch.no_grad():
            return (self._queries(attributes) @ self.embeddings.T + self.bias[None, :]).numpy()

    def predict_partners(self, attributes: pd.DataFrame, k: int = 10, n_similar: int = 3) -> PartnerPrediction:
        """The ``k`` best partners of each product in ``attributes`` (indexed by its id), and the ``n_similar``
        known products whose attributes the encoder maps closest to it (cosine of the query vectors)."""
        k, n_similar = positive_int(k, "k"), positive_int(n_similar, "n_similar")
        scores = self.scores(attributes)
        with torch.no_grad():
            similarity = (F.normalize(self._queries(attributes), dim=1)
                          @ F.normalize(self.encoder(self.known_features), dim=1).T).numpy()
        return PartnerPrediction(self._ranked(attributes.index, scores, k, "score"),
                                 self._ranked(attributes.index, similarity, n_similar, "similarity"))

    def _queries(self, attributes: pd.DataFrame) -> Tensor:
        if not isinstance(attributes, pd.DataFrame) or attributes.empty:
            raise ValueError("attributes must be a non-empty DataFrame, one row per product (see product_attributes)")
        return self.encoder(torch.from_numpy(self.catalogue.transform(attributes)))

    def _ranked(self, index: pd.Index, values: np.ndarray, k: int, column: str) -> pd.DataFrame:
        order = top_k(values, min(k, values.shape[1]))
        rows = np.repeat(np.arange(len(index)), order.shape[1])
        picked = self.known.iloc[order.ravel()]
        return pd.DataFrame({
            "query": index.to_numpy()[rows],
            "rank": np.tile(np.arange(1, order.shape[1] + 1), len(index)),
            "product_id": picked.product_id.to_numpy(),
            "product_type": picked.product_type.to_numpy(),
            column: values[rows, order.ravel()],
        })
