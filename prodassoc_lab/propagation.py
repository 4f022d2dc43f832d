"""Sparse propagation over an undirected graph, with a backward pass that uses the graph's symmetry.

PyTorch's backward of a sparse CSR product ``Â X`` multiplies by ``Âᵀ``, which it forms
from ``Â`` on each call. For an undirected graph ``Âᵀ = Â``, so that step is unnecessary:
:func:`symmetric_spmm` multiplies by ``Â`` in both directions. Chapter 9's LightGCN and
chapter 7's APPNP propagate through it.
"""

from __future__ import annotations

import torch
from torch import Tensor


class _SymmetricSparseProduct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, adjacency: Tensor, x: Tensor) -> Tensor:
        ctx.adjacency = adjacency
        return torch.sparse.mm(adjacency, x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.sparse.mm(ctx.adjacency, grad)


def symmetric_spmm(adjacency: Tensor, x: Tensor) -> Tensor:
    r"""The product :math:`\hat{A} X` for a *symmetric* sparse :math:`\hat{A}`, differentiable in :math:`X`.

    .. math::
        Y = \hat{A} X, \qquad \frac{\partial L}{\partial X} = \hat{A}^\top \frac{\partial L}{\partial Y}
        = \hat{A} \frac{\partial L}{\partial Y}

    The values equal ``torch.sparse.mm(adjacency, x)``; the gradient is right only when
    ``adjacency`` is symmetric (both directions of every edge, with equal weights), which the
    caller guarantees. No gradient flows to ``adjacency``.

    Shapes:
        - **input:** sparse :math:`\hat{A}` :math:`(N, N)`, dense :math:`X` :math:`(N, d)`
        - **output:** :math:`(N, d)`
    """
    return _SymmetricSparseProduct.apply(adjacency, x)
