"""symmetric_spmm: the values and gradients of torch.sparse.mm on a symmetric matrix."""

from __future__ import annotations

import torch

from prodassoc_lab.propagation import symmetric_spmm


def _symmetric_csr(n: int = 12, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    dense = torch.rand(n, n, generator=generator, dtype=torch.float64) * (torch.rand(n, n, generator=generator) < 0.3)
    return (dense + dense.T).to_sparse_csr()


def test_values_and_gradient_equal_torch_sparse_mm():
    adjacency = _symmetric_csr()
    x = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(12, 5, dtype=torch.float64)
    theirs = (torch.sparse.mm(adjacency, x) * weights).sum()
    (expected,) = torch.autograd.grad(theirs, x)
    ours = (symmetric_spmm(adjacency, x) * weights).sum()
    (got,) = torch.autograd.grad(ours, x)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_gradient_passes_the_gradient_check():
    adjacency = _symmetric_csr(seed=1)
    x = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: symmetric_spmm(adjacency, t), (x,))
