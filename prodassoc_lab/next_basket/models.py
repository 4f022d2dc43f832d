"""The two trained models of chapter 9: a SASRec-style self-attention model over a household's
baskets, and LightGCN on the household–product graph.

SASRec (Kang & McAuley, 2018) reads a user's items in order and, at every
position, predicts the next one with causal self-attention. Here a position is
a whole basket — the mean of its products' embeddings — and the prediction is
a score for every catalogue product. The attention layer is chapter 6's
:class:`~prodassoc_lab.attention.MultiHeadSelfAttention`.

LightGCN (He et al., 2020) sees households and products as the two sides of one
bipartite graph; an edge says that the household bought the product before the
stage's target basket. The model is :class:`torch_geometric.nn.models.LightGCN`,
trained with its BPR loss on the graph before the validation targets. Its
scores rank every product, including those the household already bought: for a
next basket these *repeat* items are wanted, so nothing is removed here;
chapter 9 shows how many of its picks are repeats and removes them where only
new products are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor
from torch_geometric.nn import LGConv
from torch_geometric.nn.models import LightGCN
from torch_geometric.utils import to_torch_csr_tensor

from prodassoc_lab.attention import MultiHeadSelfAttention
from prodassoc_lab.next_basket.evaluation import NextBasketRun, train_on_validation
from prodassoc_lab.next_basket.task import NextBasketTask
from prodassoc_lab.propagation import symmetric_spmm
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.validation import non_negative_float, positive_float, positive_int


class BasketSASRec(torch.nn.Module):
    r"""Causal self-attention over basket embeddings, scoring every product for the next basket.

    .. math::
        \mathbf{x}_t = \frac{1}{|B_t|} \sum_{i \in B_t} \mathbf{e}_i + \mathbf{p}_t, \qquad
        \mathbf{h} = \operatorname{Block}^{(L)} \circ \dots \circ \operatorname{Block}^{(1)}(\mathbf{x}), \qquad
        s_{t, j} = \mathbf{h}_t^\top \mathbf{e}_j + c_j

    where each block is pre-norm multi-head self-attention (position :math:`t`
    attends to positions :math:`\le t` only) followed by a position-wise
    feed-forward layer, both with residual connections; :math:`\mathbf{e}` is
    the product embedding table (shared by input and output), :math:`\mathbf{p}_t`
    a learned position embedding (slot :math:`t` of the window, the newest
    basket in the last slot) and :math:`c_j` a learned popularity term.

    Args:
        n_products (int): catalogue size :math:`P`.
        window (int): number of most recent baskets read, :math:`T`.
        dim (int): embedding size :math:`d`.
        heads (int): attention heads; must divide ``dim``.
        blocks (int): number of blocks :math:`L`.
        dropout (float): dropout on the input and inside the blocks.

    Shapes:
        - **input:** baskets as a sparse :math:`(B \cdot T, P)` matrix whose rows sum
          to 1 (a padded slot is an empty row), and a padding mask :math:`(B, T)`,
          ``True`` at real baskets
        - **output:** :math:`(B, T, d)` states; :meth:`scores` maps states to
          :math:`(\dots, P)` product scores
    """

    def __init__(self, n_products: int, window: int = 16, dim: int = 64, heads: int = 2, blocks: int = 2,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.n_products, self.window = positive_int(n_products, "n_products"), positive_int(window, "window")
        self.products = torch.nn.Embedding(self.n_products, dim)
        self.positions = torch.nn.Embedding(self.window, dim)
        self.popularity = torch.nn.Parameter(torch.zeros(self.n_products))
        self.attention = torch.nn.ModuleList(MultiHeadSelfAttention(dim, heads) for _ in range(blocks))
        self.attention_norms = torch.nn.ModuleList(torch.nn.LayerNorm(dim) for _ in range(blocks))
        self.feed_forward = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.GELU(), torch.nn.Linear(dim, dim))
            for _ in range(blocks))
        self.feed_forward_norms = torch.nn.ModuleList(torch.nn.LayerNorm(dim) for _ in range(blocks))
        self.final_norm = torch.nn.LayerNorm(dim)
        self.dropout = torch.nn.Dropout(dropout)
        torch.nn.init.normal_(self.products.weight, std=0.05)
        torch.nn.init.normal_(self.positions.weight, std=0.05)

    def forward(self, baskets: Tensor, padding: Tensor) -> tuple[Tensor, list[Tensor]]:
        """States after the last block (batch, window, dim) and each block's attention weights."""
        batch, window = padding.shape
        if window != self.window or baskets.shape != (batch * window, self.n_products):
            raise ValueError(f"expected baskets of shape ({batch} * {self.window}, {self.n_products}) and padding "
                             f"(batch, {self.window}); got {tuple(baskets.shape)} and {tuple(padding.shape)}")
        x = torch.sparse.mm(baskets, self.products.weight).view(batch, window, -1) + self.positions.weight
        x = self.dropout(x)
        causal = torch.ones(window, window, dtype=torch.bool).tril()
        # a padded query attends to itself only: its state is never read, but softmax needs one key
        allowed = (causal & padding[:, None, :]) | torch.eye(window, dtype=torch.bool)
        weights = []
        for attend, norm1, feed, norm2 in zip(self.attention, self.attention_norms, self.feed_forward,
                                              self.feed_forward_norms, strict=True):
            out, w = attend(norm1(x), attn_mask=allowed[:, None])
            x = x + self.dropout(out)
            x = x + self.dropout(feed(norm2(x)))
            weights.append(w)
        return self.final_norm(x), weights

    def scores(self, states: Tensor) -> Tensor:
        """Product scores :math:`\\mathbf{h}^\\top \\mathbf{e}_j + c_j` for states of shape (..., dim)."""
        return states @ self.products.weight.T + self.popularity


def basket_windows(baskets: sp.csr_array, first: np.ndarray, ends: np.ndarray, window: int) -> tuple[Tensor, Tensor]:
    """For each sequence, the (at most ``window``) basket rows in ``[first, end)``, newest last, left-padded.

    ``first`` and ``ends`` give, per sequence, its household's first basket row
    and the row its window stops before. Returns the sparse (sequences · window)
    × products matrix of baskets scaled to rows summing to 1, and the padding
    mask (sequences × window), ``True`` at real baskets.
    """
    slots, rows = _window_rows(first, ends, positive_int(window, "window"))
    picked = sp.coo_array(baskets[rows].astype(np.float32))
    sizes = np.bincount(picked.row, minlength=len(rows))
    index = torch.from_numpy(np.vstack([slots[picked.row], picked.col]).astype(np.int64))
    values = torch.from_numpy((picked.data / sizes[picked.row]).astype(np.float32))
    matrix = torch.sparse_coo_tensor(index, values, (len(ends) * window, baskets.shape[1])).coalesce()
    padding = torch.zeros(len(ends) * window, dtype=torch.bool)
    padding[torch.from_numpy(slots)] = True
    return matrix, padding.view(len(ends), window)


def _window_rows(first: np.ndarray, ends: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Slot (sequence · window + place) and basket row of every real basket in the windows."""
    first, ends = np.asarray(first), np.asarray(ends)
    if first.shape != ends.shape or first.ndim != 1 or (ends <= first).any():
        raise ValueError("first and ends must be equal-length vectors with every end after its first row")
    starts = np.maximum(ends - window, first)
    slots = np.concatenate([i * window + window - (e - s) + np.arange(e - s)
                            for i, (s, e) in enumerate(zip(starts, ends, strict=True))])
    rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
    return slots, rows


def _next_baskets(baskets: sp.csr_array, first: np.ndarray, ends: np.ndarray, window: int, last: int) -> Tensor:
    """Multi-hot target of the ``last`` slots of each window: the basket after each, (sequences, last, products)."""
    slots, rows = _window_rows(first, ends, window)
    place = slots % window - (window - last)
    keep = place >= 0
    coo = sp.coo_array(baskets[rows[keep] + 1])
    wanted = torch.zeros(len(ends) * last, baskets.shape[1])
    target_slots = (slots[keep] // window) * last + place[keep]
    wanted[torch.from_numpy(target_slots[coo.row]), torch.from_numpy(coo.col.astype(np.int64))] = 1.0
    return wanted.view(len(ends), last, -1)


def sequence_scores(model: BasketSASRec, task: NextBasketTask, stage: str) -> np.ndarray:
    """Households × products scores for each household's ``stage`` target, from the baskets before it."""
    model.eval()
    with torch.no_grad():
        baskets, padding = basket_windows(task.baskets, task.offsets[:-1], task.target_rows(stage), model.window)
        states, _ = model(baskets, padding)
        return model.scores(states[:, -1]).numpy().astype(np.float64)


@dataclass(frozen=True)
class SASRecTraining:
    """The settings of :func:`train_basket_sasrec`, checked when made (chapter 9).

    Attributes:
        epochs (int): epochs to train; the best one by validation Recall@``k`` is kept. (default: ``20``)
        window (int): baskets the model reads, the last ``window`` before the one it predicts. (default: ``16``)
        dim (int): size of the product and basket embeddings. (default: ``64``)
        lr (float): Adam's learning rate. (default: ``5e-3``)
        batch_size (int): households per mini-batch, at least. (default: ``256``)
        loss_slots (int): the last window slots whose next baskets enter the loss. (default: ``4``)
        k (int): length of the validation lists. (default: ``10``)
    """

    epochs: int = 20
    window: int = 16
    dim: int = 64
    lr: float = 5e-3
    batch_size: int = 256
    loss_slots: int = 4
    k: int = 10

    def __post_init__(self) -> None:
        for name in ("epochs", "window", "dim", "batch_size", "loss_slots", "k"):
            positive_int(getattr(self, name), name)
        positive_float(self.lr, "lr")


def train_basket_sasrec(task: NextBasketTask, seed: int, settings: SASRecTraining = SASRecTraining()) -> NextBasketRun:
    """Train :class:`BasketSASRec` on the baskets before the validation targets; keep the best epoch.

    Each epoch cuts every household's history at a random basket and, in
    mini-batches of at least ``batch_size`` households, asks the model for the
    baskets that follow its last ``loss_slots`` slots (softmax
    cross-entropy against the basket's products, each weighted ``1/|B|``).
    The epoch with the best validation Recall@``k`` is kept. ``settings`` are
    the :class:`SASRecTraining`.
    """
    if not isinstance(settings, SASRecTraining):
        raise TypeError(f"settings must be a SASRecTraining, got {type(settings).__name__}")
    rng = set_seed(seed)
    window, batch_size, loss_slots = settings.window, settings.batch_size, settings.loss_slots
    if task.history_lengths("validation").min() < 2:
        raise ValueError("train_basket_sasrec needs at least 2 baskets before each validation basket (one to read, "
                         "one to predict); build the task with min_history=2 or more")
    model = BasketSASRec(task.n_products, window=window, dim=settings.dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    first, validation = task.offsets[:-1], task.target_rows("validation")

    def train_epoch() -> float:
        # an input window ends at a random basket e (exclusive) and is followed by basket e
        ends = rng.integers(first + 1, validation)  # high exclusive: the last input ends before the last history basket
        order = rng.permutation(task.n_households)
        losses = []
        for batch in np.array_split(order, max(1, len(order) // batch_size)):
            baskets, padding = basket_windows(task.baskets, first[batch], ends[batch], window)
            wanted = _next_baskets(task.baskets, first[batch], ends[batch], window, loss_slots)
            states, _ = model(baskets, padding)
            logits = model.scores(states[:, -loss_slots:])
            real = wanted.sum(-1) > 0
            loss = -(torch.log_softmax(logits, -1) * wanted).sum(-1)[real] / wanted.sum(-1)[real]
            optimizer.zero_grad()
            loss.mean().backward()
            optimizer.step()
            losses.append(loss.mean().item())
        return float(np.mean(losses))  # the mean of the batches' losses

    return train_on_validation(model, settings.epochs, train_epoch, lambda: sequence_scores(model, task, "validation"),
                               task, settings.k, lr=settings.lr)


def household_product_edges(task: NextBasketTask, stage: str) -> Tensor:
    """Undirected edges (both directions) of the bipartite graph before the ``stage`` targets, as ``edge_index``.

    Node ``h`` (``0 ≤ h < H``) is household ``h``; node ``H + p`` is catalogue product ``p``.
    """
    bought = task.history_counts(stage).tocoo()
    households = torch.from_numpy(bought.row.astype(np.int64))
    products = torch.from_numpy(bought.col.astype(np.int64)) + task.n_households
    return torch.stack([torch.cat([households, products]), torch.cat([products, households])])


def household_product_adjacency(task: NextBasketTask, stage: str) -> Tensor:
    """The same graph as a sparse CSR adjacency: PyG's propagation then does one sparse matrix product per
    layer instead of one message per edge, so LightGCN trains on it rather than on ``edge_index``."""
    size = task.n_households + task.n_products
    return to_torch_csr_tensor(household_product_edges(task, stage), size=(size, size))


def lightgcn_scores(model: LightGCN, task: NextBasketTask, stage: str, adjacency: Tensor | None = None) -> np.ndarray:
    """Households × products scores: dot products of the propagated embeddings on the ``stage`` graph.

    ``adjacency`` is that graph (:func:`household_product_adjacency`) if the caller has built it already.
    """
    model.eval()
    if adjacency is None:
        adjacency = household_product_adjacency(task, stage)
    with torch.no_grad():
        embedding = model.get_embedding(adjacency)
        return (embedding[: task.n_households] @ embedding[task.n_households:].T).numpy().astype(np.float64)


class SymmetricLGConv(LGConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.LGConv` for an undirected graph given as a sparse adjacency.

    .. math::
        \mathbf{X}' = \hat{A} \mathbf{X}, \qquad \hat{A} = D^{-1/2} A D^{-1/2}

    The same outputs as ``LGConv``; the backward pass uses :math:`\hat{A}^\top = \hat{A}`,
    which holds only when the adjacency is symmetric (both directions of every edge, equal
    weights), as :func:`household_product_adjacency` builds it. An ``edge_index`` input
    takes ``LGConv``'s message-passing path unchanged.

    Shapes:
        - **input:** node features :math:`(N, d)`, a symmetric sparse adjacency :math:`(N, N)`
        - **output:** node features :math:`(N, d)`
    """

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return symmetric_spmm(adj_t, x)


def symmetric_lightgcn(num_nodes: int, embedding_dim: int, num_layers: int) -> LightGCN:
    r"""PyG's :class:`~torch_geometric.nn.models.LightGCN` whose layers are :class:`SymmetricLGConv`.

    Its final embedding is the mean of the layer embeddings,
    :math:`\mathbf{E} = \frac{1}{L+1}\sum_{l=0}^{L} \hat{A}^l \mathbf{E}^{(0)}`; the model, its
    parameters and its outputs are PyG's, only the gradient of each propagation is computed
    through the symmetry of :math:`\hat{A}`.
    """
    model = LightGCN(num_nodes, embedding_dim, num_layers)
    model.convs = torch.nn.ModuleList(SymmetricLGConv() for _ in range(num_layers))
    return model


@dataclass(frozen=True)
class LightGCNTraining:
    """The settings of :func:`train_lightgcn`, checked when made (chapter 9).

    Attributes:
        epochs (int): epochs to train; the best one by validation Recall@``k`` is kept. (default: ``12``)
        dim (int): size of the household and product embeddings. (default: ``64``)
        layers (int): propagation layers. (default: ``2``)
        lr (float): Adam's learning rate. (default: ``0.005``)
        batch_size (int): bought pairs per mini-batch. (default: ``65536``)
        lambda_reg (float): weight of the embeddings' L2 term in the BPR loss, ≥ 0. (default: ``1e-4``)
        k (int): length of the validation lists. (default: ``10``)
    """

    epochs: int = 12
    dim: int = 64
    layers: int = 2
    lr: float = 0.005
    batch_size: int = 65536
    lambda_reg: float = 1e-4
    k: int = 10

    def __post_init__(self) -> None:
        for name in ("epochs", "dim", "layers", "batch_size", "k"):
            positive_int(getattr(self, name), name)
        positive_float(self.lr, "lr")
        non_negative_float(self.lambda_reg, "lambda_reg")


def train_lightgcn(task: NextBasketTask, seed: int, settings: LightGCNTraining = LightGCNTraining()) -> NextBasketRun:
    """Train LightGCN with BPR (one random product as the negative of each bought pair); keep the best epoch.

    The graph and the positive pairs are the purchases before the validation
    targets; the epoch with the best validation Recall@``k`` is kept.
    ``settings`` are the :class:`LightGCNTraining`.
    """
    if not isinstance(settings, LightGCNTraining):
        raise TypeError(f"settings must be a LightGCNTraining, got {type(settings).__name__}")
    set_seed(seed)
    batch_size, lambda_reg = settings.batch_size, settings.lambda_reg
    n_households = task.n_households
    model = symmetric_lightgcn(n_households + task.n_products, settings.dim, settings.layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    edges = household_product_edges(task, "validation")
    positives = edges[:, edges[0] < n_households]
    adjacency = household_product_adjacency(task, "validation")

    def train_epoch() -> float:
        losses = []
        for batch in torch.randperm(positives.size(1)).split(batch_size):
            pos = positives[:, batch]
            neg = torch.stack([pos[0], torch.randint(n_households, n_households + task.n_products, (len(batch),))])
            pairs = torch.cat([pos, neg], dim=1)
            pos_rank, neg_rank = model(adjacency, pairs).chunk(2)
            loss = model.recommendation_loss(pos_rank, neg_rank, node_id=pairs.unique(), lambda_reg=lambda_reg)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return float(np.mean(losses))  # the mean of the batches' losses

    def validation_scores() -> np.ndarray:
        return lightgcn_scores(model, task, "validation", adjacency)

    return train_on_validation(model, settings.epochs, train_epoch, validation_scores, task, settings.k, lr=settings.lr)
