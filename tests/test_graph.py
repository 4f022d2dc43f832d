"""The product graph: construction, sparsification, PyG conversion, homophily, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from prodassoc_lab.graph import product_graph
from prodassoc_lab.rules import cooccurring_pairs, pair_statistics


@pytest.fixture
def hub_baskets_and_products(basket_matrix_from_lists):
    # a "hub" product 0 bought with everything; 1-2 and 3-4 are pairs of the same department
    baskets = [[0, 1, 2], [0, 1, 2], [0, 3, 4], [0, 3, 4], [0, 1], [0, 3], [1, 2], [3, 4], [0, 5]]
    products = pd.DataFrame(
        {
            "product_id": [0, 1, 2, 3, 4, 5],
            "department": ["MISC", "DAIRY", "DAIRY", "BAKERY", "BAKERY", None],
            "product_category": ["A", "B", "B", "C", "C", "D"],
        }
    )
    return basket_matrix_from_lists(baskets), products


def test_edges_and_weights_come_from_pair_statistics(hub_baskets_and_products):
    baskets, products = hub_baskets_and_products
    graph = product_graph(baskets, products, weight="lift", min_count=1)
    pairs = pair_statistics(baskets)
    assert graph.num_nodes == 6 and graph.num_edges == len(pairs)
    adjacency = graph.adjacency().toarray()
    assert (adjacency == adjacency.T).all()
    one_two = pairs[(pairs.product_a == 1) & (pairs.product_b == 2)].lift.item()
    assert adjacency[1, 2] == adjacency[2, 1] == pytest.approx(one_two)
    assert graph.nodes.department.isna().sum() == 1  # product 5 has no department


def test_min_count_and_min_weight_sparsify(hub_baskets_and_products):
    baskets, products = hub_baskets_and_products
    counted = product_graph(baskets, products, weight="count", min_count=2)
    assert set(counted.edges["count"]) >= {2} and counted.edges["count"].min() >= 2
    positive = product_graph(baskets, products, weight="npmi", min_count=1, min_weight=0.0)
    assert (positive.edges.npmi >= 0).all() and positive.num_edges < counted.num_edges + 10


def test_top_k_keeps_an_edge_if_either_end_ranks_it(hub_baskets_and_products):
    baskets, products = hub_baskets_and_products
    full = product_graph(baskets, products, weight="count", min_count=1)
    top1 = product_graph(baskets, products, weight="count", min_count=1, top_k=1)
    adjacency = full.adjacency().toarray()
    kept = {tuple(edge) for edge in top1.edges[["source", "target"]].to_numpy()}
    for node in range(full.num_nodes):
        heaviest = int(np.argmax(adjacency[node]))  # argmax: ties go to the lowest position
        assert tuple(sorted((node, heaviest))) in kept
    assert top1.num_edges <= full.num_nodes  # at most one choice per node
    assert (top1.degrees() >= 1).all()


def test_to_pyg(hub_baskets_and_products):
    baskets, products = hub_baskets_and_products
    graph = product_graph(baskets, products, weight="npmi", min_count=1)
    data = graph.to_pyg("department")
    assert data.edge_index.shape == (2, 2 * graph.num_edges)
    assert data.edge_weight.dtype == torch.float32 and data.edge_index.dtype == torch.long
    assert data.is_undirected()
    assert data.label_names == ["BAKERY", "DAIRY", "MISC"]
    assert data.y.tolist() == [2, 1, 1, 0, 0, -1]
    assert data.product_id.tolist() == [0, 1, 2, 3, 4, 5]


def test_homophily_matches_a_direct_count(hub_baskets_and_products):
    baskets, products = hub_baskets_and_products
    graph = product_graph(baskets, products, weight="count", min_count=1)
    table = graph.homophily(("department", "product_category"))
    departments = graph.nodes.department.to_numpy()
    edges = graph.edges[["source", "target"]].to_numpy()
    labelled = [(s, t) for s, t in edges if pd.notna(departments[s]) and pd.notna(departments[t])]
    same = np.mean([departments[s] == departments[t] for s, t in labelled])
    assert table.loc["department", "homophily"] == pytest.approx(same)
    assert table.loc["department", "edges used"] == len(labelled)
    assert 0 < table.loc["department", "chance"] < 1


def test_unknown_weight(hub_baskets_and_products):
    with pytest.raises(ValueError, match=r"unknown weight 'pmi'; choose one of \['count', 'lift', 'npmi'\]"):
        product_graph(*hub_baskets_and_products, weight="pmi")


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_bad_top_k(hub_baskets_and_products, bad):
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        product_graph(*hub_baskets_and_products, top_k=bad)


def test_empty_graph_by_count(hub_baskets_and_products):
    with pytest.raises(ValueError, match="empty product graph: no product pair"):
        product_graph(*hub_baskets_and_products, min_count=50)


def test_empty_graph_by_weight(hub_baskets_and_products):
    with pytest.raises(ValueError, match="empty product graph: no edge has lift >= 100"):
        product_graph(*hub_baskets_and_products, weight="lift", min_count=1, min_weight=100)


def test_unknown_label(hub_baskets_and_products):
    graph = product_graph(*hub_baskets_and_products, min_count=1)
    with pytest.raises(KeyError, match="unknown label 'colour'"):
        graph.to_pyg("colour")


def test_reused_pairs_give_the_same_graph(hub_baskets_and_products):
    baskets, products = hub_baskets_and_products
    pairs = cooccurring_pairs(baskets, 1)
    for min_count in (1, 2):
        direct = product_graph(baskets, products, "npmi", min_count=min_count, top_k=2)
        reused = product_graph(baskets, products, "npmi", min_count=min_count, top_k=2, pairs=pairs)
        pd.testing.assert_frame_equal(reused.edges, direct.edges)


@pytest.mark.parametrize("pairs, message", [
    ([np.array([0]), np.array([1]), np.array([3])], "the \\(a, b, counts\\) tuple"),
    ((np.array([0, 1]), np.array([1]), np.array([3])), "of one length"),
    ((np.array([1]), np.array([0]), np.array([3])), "0 <= a < b <"),
    ((np.array([0]), np.array([99]), np.array([3])), "0 <= a < b <"),
    ((np.array([0]), np.array([1]), np.array([1])), "empty product graph"),
])
def test_bad_reused_pairs_are_refused(hub_baskets_and_products, pairs, message):
    baskets, products = hub_baskets_and_products
    with pytest.raises(ValueError, match=message):
        product_graph(baskets, products, min_count=2, pairs=pairs)
