"""Attention from scratch equals PyTorch's; bad shapes and empty masks raise clear errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from prodassoc_lab.attention import MultiHeadSelfAttention, scaled_dot_product_attention


@pytest.fixture
def qkv():
    torch.manual_seed(0)
    return torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)


def test_equals_torch_without_mask(qkv):
    out, weights = scaled_dot_product_attention(*qkv)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(*qkv), atol=1e-5, rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))


def test_equals_torch_with_padding_mask(qkv):
    q, k, v = qkv
    lengths = torch.tensor([7, 4])
    mask = (torch.arange(7)[None, :] < lengths[:, None])[:, None, None, :]  # (2, 1, 1, 7)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-5, rtol=0)
    assert (weights[1, :, :, 4:] == 0).all()


def test_fully_masked_row_is_an_error(qkv):
    q, k, v = qkv
    mask = torch.ones(5, 7, dtype=torch.bool)
    mask[2] = False
    with pytest.raises(ValueError, match=r"3 query row\(s\) may attend to no key \(first at index \(0, 2\)\)"):
        scaled_dot_product_attention(q[0], k[0], v[0], mask)


def test_shape_errors_name_the_shapes(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match=r"q has 8 features .*\(2, 3, 5, 8\).* k has 6 .*\(2, 3, 7, 6\)"):
        scaled_dot_product_attention(q, k[..., :6], v)
    with pytest.raises(ValueError, match=r"k has 7 positions .* v has 6"):
        scaled_dot_product_attention(q, k, v[..., :6, :])
    with pytest.raises(ValueError, match=r"mask of shape \(4,\) does not broadcast"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask must be a boolean torch.Tensor"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 7))


def copy_into_torch(ours: MultiHeadSelfAttention, theirs: torch.nn.MultiheadAttention) -> None:
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.in_proj.weight)
        theirs.in_proj_bias.copy_(ours.in_proj.bias)
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)


@pytest.mark.parametrize("padded", [False, True])
def test_multi_head_equals_torch(padded):
    torch.manual_seed(1)
    ours = MultiHeadSelfAttention(16, 4)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    copy_into_torch(ours, theirs)
    x = torch.randn(3, 6, 16)
    real = torch.arange(6)[None, :] < torch.tensor([6, 3, 1])[:, None] if padded else None
    out, weights = ours(x, real)
    expected, expected_weights = theirs(x, x, x, key_padding_mask=None if real is None else ~real,
                                        average_attn_weights=False)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(weights, expected_weights, atol=1e-5, rtol=0)


def test_multi_head_is_permutation_equivariant():
    torch.manual_seed(2)
    attention = MultiHeadSelfAttention(8, 2)
    x = torch.randn(1, 5, 8)
    permutation = torch.tensor([3, 0, 4, 1, 2])
    out, _ = attention(x)
    permuted, _ = attention(x[:, permutation])
    torch.testing.assert_close(permuted, out[:, permutation], atol=1e-6, rtol=0)


def test_multi_head_errors():
    with pytest.raises(ValueError, match="embed_dim=10 is not divisible by num_heads=4"):
        MultiHeadSelfAttention(10, 4)
    attention = MultiHeadSelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, length, 8\), batch first, got \(5, 8\)"):
        attention(torch.randn(5, 8))
    with pytest.raises(ValueError, match=r"padding_mask must have shape \(batch, length\) = \(2, 5\), got \(5,\)"):
        attention(torch.randn(2, 5, 8), torch.ones(5, dtype=torch.bool))
