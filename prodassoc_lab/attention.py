"""Scaled dot-product attention and multi-head self-attention, from scratch (chapter 6).

Written out for teaching and checked against ``torch.nn.functional.scaled_dot_product_attention``
and ``torch.nn.MultiheadAttention``. Masks follow PyTorch's boolean ``attn_mask``
convention: ``True`` means "may attend".
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from prodassoc_lab.tensors import require_finite
from prodassoc_lab.validation import positive_int


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """``softmax(q kᵀ / √d_k) v`` and the attention weights (chapter 6).

    Shapes: ``q`` (..., L, d_k), ``k`` (..., S, d_k), ``v`` (..., S, d_v); ``mask``
    boolean, broadcastable to (..., L, S), ``True`` where a query may attend to a
    key. A query whose keys are all masked has no defined softmax (0/0): it
    raises ``ValueError`` instead of returning NaN or a silent row of zeros;
    so does a NaN or infinite entry of ``q``, ``k`` or ``v`` (mask a key instead
    of setting it to ``-inf``).
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got "
                            f"{t.dtype if isinstance(t, Tensor) else type(t).__name__}")
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"q, k, v must share one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(
            f"q, k, v need at least 2 dimensions (..., length, features); got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    for name, t in (("q", q), ("k", k), ("v", v)):
        require_finite(t, name)  # one -inf key would turn its query's softmax into NaN
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"q has {q.size(-1)} features per position (shape {tuple(q.shape)}) but k has "
            f"{k.size(-1)} (shape {tuple(k.shape)}); q kᵀ needs them equal"
        )
    if q.size(-1) == 0 or k.size(-2) == 0:
        raise ValueError("attention needs at least one feature and one key; "
                         f"got q {tuple(q.shape)}, k {tuple(k.shape)}")
    if k.size(-2) != v.size(-2):
        raise ValueError(
            f"k has {k.size(-2)} positions (shape {tuple(k.shape)}) but v has {v.size(-2)} "
            f"(shape {tuple(v.shape)}); every key needs a value"
        )
    try:
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    except RuntimeError as exc:
        raise ValueError(f"the leading (batch) dimensions of q {tuple(q.shape)} and k {tuple(k.shape)} "
                         f"do not match: {exc}") from None
    require_finite(scores, "the scores q kᵀ / √d_k (they overflowed)")
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            raise TypeError("mask must be a boolean torch.Tensor (True = may attend), got "
                            f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
        try:
            mask = torch.broadcast_to(mask, scores.shape)
        except RuntimeError as exc:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
                f"{tuple(scores.shape)} (..., queries, keys)"
            ) from exc
        empty = ~mask.any(dim=-1)
        if empty.any():
            where = tuple(int(i) for i in empty.nonzero()[0])
            raise ValueError(
                f"{int(empty.sum())} query row(s) may attend to no key (first at index {where}); "
                "softmax over no key is undefined — mask keys, not whole rows"
            )
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class MultiHeadSelfAttention(torch.nn.Module):
    r"""Multi-head self-attention written out (chapter 6).

    .. math::
        \operatorname{MultiHead}(\mathbf{X}) = [\text{head}_1, \dots, \text{head}_h]\,\mathbf{W}_o^\top,
        \qquad \text{head}_m = \operatorname{softmax}\Big(\frac{\mathbf{Q}_m \mathbf{K}_m^\top}{\sqrt{d/h}}\Big)
        \mathbf{V}_m

    with :math:`\mathbf{Q}, \mathbf{K}, \mathbf{V} = \mathbf{X}\mathbf{W}_q^\top,
    \mathbf{X}\mathbf{W}_k^\top, \mathbf{X}\mathbf{W}_v^\top` split into :math:`h`
    heads of :math:`d/h` features. ``in_proj`` stacks :math:`\mathbf{W}_q,
    \mathbf{W}_k, \mathbf{W}_v` as rows, in the layout of
    ``torch.nn.MultiheadAttention.in_proj_weight``, so weights copy across.

    Args:
        embed_dim (int): features per position, :math:`d`.
        num_heads (int): heads, :math:`h`; must divide :math:`d`.
        bias (bool, optional): learn biases in the projections. (default: ``True``)

    Shapes:
        - **input:** :math:`(B, L, d)`, batch first, like
          ``torch.nn.MultiheadAttention(batch_first=True)``; optional padding
          mask :math:`(B, L)`, ``True`` at real positions
        - **output:** :math:`(B, L, d)`, and the weights per head :math:`(B, h, L, L)`
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        embed_dim, num_heads = positive_int(embed_dim, "embed_dim"), positive_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.in_proj = torch.nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x: Tensor, padding_mask: Tensor | None = None,
                attn_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Attend within each sequence of ``x`` (batch, length, embed_dim).

        ``padding_mask`` (batch, length) is ``True`` at real positions and ``False``
        at padding, which no query may attend to. ``attn_mask``, boolean and
        broadcastable to (batch, heads, length, length), is ``True`` where a query
        may attend to a key, e.g. a causal mask that hides later positions
        (chapter 9); both masks apply together. Returns the output (batch, length,
        embed_dim) and the weights per head (batch, heads, length, length).
        """
        if not isinstance(x, Tensor) or x.dtype != self.in_proj.weight.dtype:
            raise TypeError(f"x must be a torch.Tensor of the layer's dtype {self.in_proj.weight.dtype}, got "
                            f"{x.dtype if isinstance(x, Tensor) else type(x).__name__}")
        if x.dim() != 3 or x.size(-1) != self.embed_dim:
            raise ValueError(f"x must have shape (batch, length, {self.embed_dim}), batch first, "
                             f"got {tuple(x.shape)}")
        batch, length, _ = x.shape
        mask = None
        if padding_mask is not None:
            if padding_mask.shape != (batch, length):
                raise ValueError(
                    f"padding_mask must have shape (batch, length) = {(batch, length)}, "
                    f"got {tuple(padding_mask.shape)}"
                )
            mask = padding_mask[:, None, None, :]  # same keys for every head and query
        if attn_mask is not None:
            if not isinstance(attn_mask, Tensor) or attn_mask.dtype != torch.bool:
                raise TypeError("attn_mask must be a boolean torch.Tensor (True = may attend), got "
                                f"{attn_mask.dtype if isinstance(attn_mask, Tensor) else type(attn_mask).__name__}")
            try:
                mask = attn_mask if mask is None else mask & attn_mask
            except RuntimeError as exc:
                raise ValueError(f"attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to "
                                 f"(batch, heads, length, length) = {(batch, self.num_heads, length, length)}") from exc
        # B batch, T length, H heads, D head_dim, C = H * D = embed_dim
        qkv = self.in_proj(x)  # (B, T, C) -> (B, T, 3C)
        q, k, v = qkv.chunk(3, dim=-1)  # (B, T, 3C) -> three (B, T, C)
        q = q.view(batch, length, self.num_heads, self.head_dim)  # (B, T, C) -> (B, T, H, D)
        q = q.transpose(1, 2)  # (B, T, H, D) -> (B, H, T, D)
        k = k.view(batch, length, self.num_heads, self.head_dim)  # (B, T, C) -> (B, T, H, D)
        k = k.transpose(1, 2)  # (B, T, H, D) -> (B, H, T, D)
        v = v.view(batch, length, self.num_heads, self.head_dim)  # (B, T, C) -> (B, T, H, D)
        v = v.transpose(1, 2)  # (B, T, H, D) -> (B, H, T, D)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, D), weights (B, H, T, T)
        heads = heads.transpose(1, 2)  # (B, H, T, D) -> (B, T, H, D)
        concatenated = heads.reshape(batch, length, self.embed_dim)  # (B, T, H, D) -> (B, T, C): heads side by side
        output = self.out_proj(concatenated)  # (B, T, C) -> (B, T, C)
        return output, weights
