"""Exact arithmetic for graph convolutions, for teaching (chapters 4 and 5).

Integer and rational inputs give exact rational results; the symmetric
normalization gives exact radicals. Shapes are checked before anything is
multiplied, and a mismatch names both shapes — the article's worked example
multiplies a 5 × 5 matrix by a 3-vector.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Rational as RationalNumber
from typing import Any

import numpy as np
import sympy

ACTIVATIONS = ("relu", "identity")


def article_path() -> sympy.Matrix:
    """The adjacency of the source article's §4.3 example: five products on a path, 1 – 2 – 3 – 4 – 5 (chapter 5).

    A new matrix on every call (sympy matrices can be changed in place).
    """
    return sympy.Matrix(5, 5, lambda i, j: int(abs(i - j) == 1))


def to_exact(values: Any, name: str = "matrix") -> sympy.Matrix:
    """A sympy Matrix of exact numbers from nested lists, NumPy arrays or sympy matrices.

    Integers, fractions and sympy numbers are kept exact; a float is read by its
    shortest decimal form (0.5 → 1/2, 0.1 → 1/10), never by its binary value.
    A 1-D input becomes a column vector.
    """
    if isinstance(values, sympy.MatrixBase):
        matrix = sympy.Matrix(values)
    else:
        array = np.asarray(values, dtype=object)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2:
            raise ValueError(f"{name} must be a vector or a matrix, got {array.ndim} dimensions")
        matrix = sympy.Matrix(array.shape[0], array.shape[1], [_exact(v, name) for v in array.ravel()])
    return matrix.applyfunc(lambda v: _exact(v, name))


def _exact(value: Any, name: str) -> sympy.Expr:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: booleans are not numbers here, got {value!r}")
    if isinstance(value, sympy.Basic):
        if value.has(sympy.nan, sympy.oo, -sympy.oo, sympy.zoo):
            raise ValueError(f"{name}: {value} has no exact finite value")
        return value
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    if isinstance(value, (Fraction, RationalNumber)):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ValueError(f"{name}: {value!r} has no exact value")
        return sympy.Rational(repr(float(value)))
    if isinstance(value, str):
        try:
            return sympy.Rational(value)
        except (TypeError, ValueError, ZeroDivisionError):
            raise ValueError(f"{name}: the text {value!r} is not an exact number "
                             "(write e.g. '1/3' or '0.25')") from None
    raise TypeError(f"{name}: cannot make {value!r} ({type(value).__name__}) exact")


def _shape(matrix: sympy.Matrix) -> str:
    return f"{matrix.rows}×{matrix.cols}"


def graph_conv_exact(
    A: Any,
    H: Any,
    W_self: Any,
    W_neigh: Any,
    b: Any = None,
    activation: str = "relu",
) -> sympy.Matrix:
    """One layer ``σ(H W_selfᵀ + A H W_neighᵀ + 1 bᵀ)``, exactly (chapter 5).

    ``A`` is the n × n (weighted) adjacency matrix with ``A[j, i] = a_ij`` the
    weight of the message from ``i`` to ``j``; ``H`` is n × d with one row per
    node; ``W_self`` and ``W_neigh`` are d_out × d as in ``torch.nn.Linear``;
    ``b`` has d_out entries. Equal to :class:`prodassoc_lab.layers.SeedGraphConv`.

    Args:
        A: n × n adjacency, ``A[j, i]`` the weight of the message from ``i`` to ``j``.
        H: n × d node features, one row per node.
        W_self: d_out × d weights applied to a node's own features.
        W_neigh: d_out × d weights applied to the weighted neighbour sum.
        b: d_out biases, or ``None`` for none.
        activation: σ, ``"relu"`` or ``"identity"``.
    """
    A, H = to_exact(A, "A"), to_exact(H, "H")
    W_self, W_neigh = to_exact(W_self, "W_self"), to_exact(W_neigh, "W_neigh")
    _check_adjacency(A, H)
    if W_self.shape != W_neigh.shape:
        raise ValueError(
            f"W_self is {_shape(W_self)} but W_neigh is {_shape(W_neigh)}: both map the same "
            "features to the same output size, so they must have the same shape"
        )
    if W_self.cols != H.cols:
        raise ValueError(
            f"W_self is {_shape(W_self)} but H is {_shape(H)}: H W_selfᵀ needs one weight column "
            f"per feature ({H.cols}), got {W_self.cols}"
        )
    out = H * W_self.T + A * H * W_neigh.T
    return _activate(_add_bias(out, b), activation)


def sym_norm_adjacency_exact(A: Any) -> sympy.Matrix:
    """The renormalized adjacency ``D̃^{-1/2} Ã D̃^{-1/2}`` in exact radicals (chapter 4).

    ``Ã = A + I`` (Kipf & Welling's renormalization trick) and ``D̃`` its degree
    matrix. A node that already has a self-loop keeps its weight instead of
    gaining 1, as PyG's ``GCNConv`` does (``add_remaining_self_loops``).
    """
    A = to_exact(A, "A")
    if A.rows != A.cols:
        raise ValueError(f"A must be square, got {_shape(A)}")
    if A.free_symbols:
        raise ValueError(f"A must hold numbers, not symbols {sorted(map(str, A.free_symbols))}: the degrees are "
                         "checked to be positive")
    A_tilde = A + sympy.diag(*[1 if A[i, i] == 0 else 0 for i in range(A.rows)])
    degree = [sum(A_tilde.row(i)) for i in range(A.rows)]
    if any(d <= 0 for d in degree):
        raise ValueError(f"A + I has a row with non-positive degree: {degree}")
    inv_sqrt = sympy.diag(*[1 / sympy.sqrt(d) for d in degree])
    return (inv_sqrt * A_tilde * inv_sqrt).applyfunc(sympy.radsimp)


def gcn_conv_exact(A: Any, H: Any, W: Any, b: Any = None, activation: str = "relu") -> sympy.Matrix:
    """One Kipf–Welling layer ``σ(D̃^{-1/2} Ã D̃^{-1/2} H Wᵀ + 1 bᵀ)``, exactly (chapter 5)."""
    H, W = to_exact(H, "H"), to_exact(W, "W")
    A_hat = sym_norm_adjacency_exact(A)
    _check_adjacency(A_hat, H)
    if W.cols != H.cols:
        raise ValueError(f"W is {_shape(W)} but H is {_shape(H)}: H Wᵀ needs W to have {H.cols} columns")
    # expand after radsimp: a sum of rational multiples of radicals, the readable normal form
    out = (A_hat * H * W.T).applyfunc(lambda v: sympy.expand(sympy.radsimp(v)))
    return _activate(_add_bias(out, b), activation)


def _check_adjacency(A: sympy.Matrix, H: sympy.Matrix) -> None:
    if A.rows != A.cols:
        raise ValueError(f"A must be square (one row and column per node), got {_shape(A)}")
    if A.cols != H.rows:
        raise ValueError(
            f"A is {_shape(A)} but H is {_shape(H)}: A H needs one row of H per node "
            f"({A.cols}), got {H.rows}"
        )


def _add_bias(out: sympy.Matrix, b: Any) -> sympy.Matrix:
    if b is None:
        return out
    b = to_exact(b, "b")
    if b.shape != (out.cols, 1):
        raise ValueError(f"b must have {out.cols} entries (one per output feature), got {_shape(b)}")
    return out + sympy.ones(out.rows, 1) * b.T


def _activate(out: sympy.Matrix, activation: str) -> sympy.Matrix:
    if activation == "relu":
        return out.applyfunc(lambda v: sympy.Max(v, 0))
    if activation == "identity":
        return out
    raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")
