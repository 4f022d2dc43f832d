"""SeedGraphConv equals PyG's GraphConv; the exact layer equals the float64 PyG layers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv, GraphConv
from torch_geometric.utils import to_dense_adj, to_torch_csr_tensor

from prodassoc_lab.datasets import popular_product_graph
from prodassoc_lab.exact import article_path, gcn_conv_exact, graph_conv_exact
from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.pyg_data import sparse_adjacency


@pytest.fixture(scope="module")
def real_subgraph():
    """The NPMI basket graph of the 300 most popular products with at least 50 baskets."""
    return popular_product_graph(300).to_pyg("department")


def copy_into_graphconv(seed: SeedGraphConv, reference: GraphConv) -> None:
    with torch.no_grad():
        reference.lin_root.weight.copy_(seed.lin_self.weight)
        reference.lin_rel.weight.copy_(seed.lin_neigh.weight)
        reference.lin_rel.bias.copy_(seed.lin_neigh.bias)


@pytest.mark.real_data
@pytest.mark.parametrize("weighted", [False, True])
def test_seed_graph_conv_equals_pyg_graph_conv(real_subgraph, weighted):
    """Float32, on a real product subgraph, to 1e-6."""
    torch.manual_seed(0)
    data = real_subgraph
    x = torch.randn(data.num_nodes, 16)
    seed = SeedGraphConv(16, 8)
    reference = GraphConv(16, 8, aggr="add")
    copy_into_graphconv(seed, reference)
    weight = data.edge_weight if weighted else None
    ours, theirs = seed(x, data.edge_index, weight), reference(x, data.edge_index, weight)
    assert data.num_edges > 1000
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


@pytest.mark.real_data
def test_seed_graph_conv_matches_its_formula_densely(real_subgraph):
    torch.manual_seed(1)
    data = real_subgraph
    x = torch.randn(data.num_nodes, 4, dtype=torch.float64)
    seed = SeedGraphConv(4, 3).double()
    A = to_dense_adj(data.edge_index, edge_attr=data.edge_weight.double(), max_num_nodes=data.num_nodes)[0]
    # to_dense_adj puts edge (i -> j) at A[i, j]; node j sums over column j, i.e. Aᵀ x.
    expected = x @ seed.lin_self.weight.T + A.T @ x @ seed.lin_neigh.weight.T + seed.lin_neigh.bias
    torch.testing.assert_close(seed(x, data.edge_index, data.edge_weight.double()), expected)


@pytest.mark.real_data
def test_sparse_adjacency_equals_edge_messages(real_subgraph):
    """One sparse product A @ X (chapter 7's fast path) gives the per-edge messages' result."""
    torch.manual_seed(2)
    data = real_subgraph
    assert (data.edge_weight < 0).any()  # the layer itself takes negative weights (sum, no normalization)
    adj_t = to_torch_csr_tensor(data.edge_index.flip(0), data.edge_weight, size=(data.num_nodes, data.num_nodes))
    x = torch.randn(data.num_nodes, 16)
    layer = SeedGraphConv(16, 8)
    torch.testing.assert_close(layer(x, adj_t), layer(x, data.edge_index, data.edge_weight), atol=1e-5, rtol=1e-5)
    # A directed graph checks the orientation: node 1 receives from node 0, not the reverse.
    one_way = sparse_adjacency(Data(edge_index=torch.tensor([[0], [1]]), edge_weight=torch.tensor([2.0]), num_nodes=2))
    layer = SeedGraphConv(1, 1, bias=False)
    with torch.no_grad():
        layer.lin_self.weight.zero_()
        layer.lin_neigh.weight.fill_(1.0)
    assert layer(torch.tensor([[3.0], [5.0]]), one_way.adj_t).flatten().tolist() == [0.0, 6.0]


def test_sparse_adjacency_errors():
    layer = SeedGraphConv(1, 1)
    adjacency = sparse_adjacency(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=3)).adj_t
    with pytest.raises(ValueError, match="the sparse adjacency must be 2×2 to match x, got \\(3, 3\\)"):
        layer(torch.zeros(2, 1), adjacency)
    with pytest.raises(ValueError, match="carries its own weights"):
        layer(torch.zeros(3, 1), adjacency, torch.ones(1))


def test_without_bias():
    layer = SeedGraphConv(3, 2, bias=False)
    assert layer.lin_self.bias is None and layer.lin_neigh.bias is None
    assert repr(layer) == "SeedGraphConv(3, 2)"


def test_shape_errors_name_the_shapes():
    layer = SeedGraphConv(3, 2)
    edge_index = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"x must have shape \(num_nodes, 3\), got \(2, 5\)"):
        layer(torch.zeros(2, 5), edge_index)
    with pytest.raises(ValueError, match=r"edge_index must have shape \(2, num_edges\), got \(3, 2\)"):
        layer(torch.zeros(2, 3), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"edge_weight must have shape \(2,\) .* got \(3,\)"):
        layer(torch.zeros(2, 3), edge_index, torch.ones(3))


PATH = article_path()


def path_edge_index() -> torch.Tensor:
    rows, cols = np.nonzero(np.array(PATH))
    return torch.tensor(np.stack([rows, cols]), dtype=torch.long)


def test_exact_layer_equals_float64_seed_layer():
    torch.manual_seed(2)
    H = [[1, -2, 3], [0, 1, 1], [2, 2, -1], [-1, 0, 4], [3, 1, 0]]
    W_self = [[1, 0, -1], [2, 1, 0]]
    W_neigh = [[0, 1, 1], [-1, 0, 2]]
    b = [1, -3]
    exact = graph_conv_exact(PATH, H, W_self, W_neigh, b, activation="identity")
    layer = SeedGraphConv(3, 2).double()
    with torch.no_grad():
        layer.lin_self.weight.copy_(torch.tensor(W_self, dtype=torch.float64))
        layer.lin_neigh.bias.copy_(torch.tensor(b, dtype=torch.float64))
        layer.lin_neigh.weight.copy_(torch.tensor(W_neigh, dtype=torch.float64))
    floats = layer(torch.tensor(H, dtype=torch.float64), path_edge_index())
    np.testing.assert_allclose(np.array(exact, dtype=float), floats.detach().numpy(), rtol=0, atol=1e-12)
    relu = graph_conv_exact(PATH, H, W_self, W_neigh, b)
    assert relu == exact.applyfunc(lambda v: max(v, 0))


def test_exact_gcn_equals_float64_gcnconv():
    H = [[sympy.Rational(1, 2)] * 3] * 5
    W = [[1, 2, 0], [0, -1, 3]]
    exact = gcn_conv_exact(PATH, H, W, activation="identity")
    conv = GCNConv(3, 2, bias=False).double()
    with torch.no_grad():
        conv.lin.weight.copy_(torch.tensor(W, dtype=torch.float64))
    floats = conv(torch.full((5, 3), 0.5, dtype=torch.float64), path_edge_index())
    np.testing.assert_allclose(np.array(exact.evalf(30), dtype=float), floats.detach().numpy(), atol=1e-12)
    # end node: (1/2 + 1/√6) · (1/2)(1 + 2 + 0) = 3/4 + √6/4
    assert exact[0, 0] == sympy.Rational(3, 4) + sympy.sqrt(6) / 4


def test_exact_inputs_are_exact():
    out = graph_conv_exact([[0, 1], [1, 0]], [[0.1], [0.2]], [[1]], [[1]], activation="identity")
    assert out == sympy.Matrix([[sympy.Rational(3, 10)], [sympy.Rational(3, 10)]])


def test_the_articles_shape_mistake_is_caught():
    A = PATH
    h = [0.5, 0.5, 0.5]  # one 3-dimensional feature vector, not one row per node
    with pytest.raises(ValueError, match="A is 5×5 but H is 3×1: A H needs one row of H per node"):
        graph_conv_exact(A, h, [[1]], [[1]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"A": [[0, 1, 0], [1, 0, 1]]}, "A must be square .* got 2×3"),
        ({"W_neigh": [[1, 0], [0, 1]]}, "W_self is 3×3 but W_neigh is 2×2"),
        ({"W_self": [[1, 0], [0, 1]], "W_neigh": [[1, 0], [0, 1]]}, "W_self is 2×2 but H is 5×3"),
        ({"b": [1, 2]}, "b must have 3 entries"),
        ({"activation": "tanh"}, "unknown activation 'tanh'"),
    ],
)
def test_exact_errors(kwargs, message):
    args = {"A": PATH, "H": [[1, 2, 3]] * 5, "W_self": np.eye(3, dtype=int), "W_neigh": np.eye(3, dtype=int)}
    args |= kwargs
    with pytest.raises(ValueError, match=message):
        graph_conv_exact(**args)


def test_exact_rejects_non_numbers():
    with pytest.raises(TypeError, match="cannot make"):
        graph_conv_exact(PATH, [[object()]] * 5, [[1]], [[1]])
    with pytest.raises(ValueError, match="has no exact value"):
        graph_conv_exact(PATH, [[float("nan")]] * 5, [[1]], [[1]])


def test_exact_gcn_keeps_an_existing_self_loop_as_gcnconv_does():
    looped = [[2, 1, 0], [1, 0, 1], [0, 1, 0]]  # node 0 has a self-loop of weight 2
    H = [[1, 0], [0, 1], [1, 1]]
    W = [[1, 0], [0, 1]]
    exact = gcn_conv_exact(looped, H, W, activation="identity")
    conv = GCNConv(2, 2, bias=False).double()
    with torch.no_grad():
        conv.lin.weight.copy_(torch.eye(2, dtype=torch.float64))
    A = torch.tensor(looped, dtype=torch.float64)
    edge_index = A.nonzero().T
    floats = conv(torch.tensor(H, dtype=torch.float64), edge_index, A[edge_index[0], edge_index[1]])
    np.testing.assert_allclose(np.array(exact.evalf(30), dtype=float), floats.detach().numpy(), atol=1e-12)
