"""Chapter 10: the edge_index path of the models, explanations tested against chance, and the saved weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.explain import Explainer, Explanation, GNNExplainer
from torch_geometric.explain.metric import characterization_score, fidelity
from torch_geometric.utils import erdos_renyi_graph

from prodassoc_lab.explain import saved_models
from prodassoc_lab.explain.cli import main as explain_main
from prodassoc_lab.explain.explainers import (
    MaskGradient,
    PairDecision,
    computation_edges,
    fidelity_summary,
    fidelity_table,
    local_graph,
    random_explanation,
    random_fidelity,
)
from prodassoc_lab.explain.saved_models import load_basket_sasrec, load_link_encoder
from prodassoc_lab.links.models import LinkEncoder, pair_scores
from prodassoc_lab.next_basket.models import BasketSASRec
from prodassoc_lab.nodes.models import NodeClassifier
from prodassoc_lab.pyg_data import sparse_adjacency
from prodassoc_lab.training import save_checkpoint

WEIGHTS = Path(__file__).resolve().parents[1] / "book" / "results" / "weights"
N, F = 40, 5  # nodes and features of the random graph


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The graphs are tiny: one thread avoids the cost of waking others on a busy machine (100× here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_graph(n: int = N, p: float = 0.06, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A directed Erdős–Rényi graph without self-loops, positive edge weights and random features."""
    torch.manual_seed(seed)
    edge_index = erdos_renyi_graph(n, p, directed=True)
    generator = torch.Generator().manual_seed(seed)
    weight = torch.rand(edge_index.size(1), generator=generator) + 0.5
    x = torch.randn(n, F, generator=generator)
    return x, edge_index, weight


def csr(edge_index: torch.Tensor, weight: torch.Tensor, n: int) -> torch.Tensor:
    return sparse_adjacency(Data(edge_index=edge_index, edge_weight=weight, num_nodes=n)).adj_t


def classifier(kind: str, seed: int = 0, in_channels: int = F, classes: int = 3) -> NodeClassifier:
    """A fresh model (a fresh cache for the cached GCN) with weights fixed by ``seed``."""
    torch.manual_seed(seed)
    return NodeClassifier(kind, in_channels, 16, classes, dropout=0.0).eval()


def upstream_hops(edge_index: torch.Tensor, targets: list[int], n: int) -> list[float]:
    """Brute force: the fewest edges from each node to one of ``targets``, following the edges' direction."""
    hops = [float("inf")] * n
    for t in targets:
        hops[t] = 0
    for _ in range(n):
        for j, i in edge_index.T.tolist():
            hops[j] = min(hops[j], hops[i] + 1)
    return hops


# 1. the edge_index path equals the CSR path ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["seed", "gcn", "sage", "mlp", "gat"])
def test_node_classifier_edge_index_path_equals_the_csr_path(kind):
    x, edge_index, weight = random_graph()
    model = classifier(kind)
    with torch.no_grad():
        through_csr = model(x, csr(edge_index, weight, N))
        through_edges = model(x, edge_index, weight)
    torch.testing.assert_close(through_edges, through_csr, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        other_graph = classifier(kind)(x, edge_index[:, ::2], weight[::2])
    changed = not torch.allclose(other_graph, through_csr, atol=1e-4)
    assert changed == (kind != "mlp")  # the comparison sees the graph, except for the MLP, which ignores it


@pytest.mark.parametrize("kind", ["seed", "gcn", "sage"])
def test_link_encoder_edge_index_path_equals_the_csr_path(kind):
    x, edge_index, weight = random_graph()
    torch.manual_seed(1)
    encoder = LinkEncoder(kind, F, hidden=8).eval()
    with torch.no_grad():
        (z_csr, b_csr), (z_edges, b_edges) = encoder(x, csr(edge_index, weight, N)), encoder(x, edge_index, weight)
        z_half, _ = encoder(x, edge_index[:, ::2], weight[::2])
    torch.testing.assert_close(z_edges, z_csr, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b_edges, b_csr)
    assert not torch.allclose(z_half, z_csr, atol=1e-4)


def test_weighted_kinds_use_the_edge_weights_and_sage_ignores_them():
    x, edge_index, weight = random_graph()
    for kind, uses_weights in (("seed", True), ("gcn", True), ("sage", False)):
        with torch.no_grad():
            weighted = classifier(kind)(x, edge_index, weight)
            tripled = classifier(kind)(x, edge_index, 3 * weight)  # fresh model: the GCN caches its normalization
        assert (not torch.allclose(weighted, tripled, atol=1e-4)) == uses_weights, kind


@pytest.mark.parametrize("kind", ["seed", "gcn", "mlp", "gat", "sage"])
def test_node_classifier_refuses_edge_weight_with_a_csr_adjacency(kind):
    x, edge_index, weight = random_graph()
    with pytest.raises(ValueError, match="a sparse adjacency carries its own weights"):
        classifier(kind)(x, csr(edge_index, weight, N), weight)


@pytest.mark.parametrize("kind", ["seed", "gcn", "sage"])
def test_link_encoder_refuses_edge_weight_with_a_csr_adjacency(kind):
    x, edge_index, weight = random_graph()
    with pytest.raises(ValueError, match="a sparse adjacency carries its own weights"):
        LinkEncoder(kind, F, hidden=8)(x, csr(edge_index, weight, N), weight)


# 2. computation_edges --------------------------------------------------------------------------------------------

PATH = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])  # 0 → 1 → 2 → 3 → 4
STAR = torch.tensor([[1, 2, 3, 0, 0, 0, 4], [0, 0, 0, 1, 2, 3, 1]])  # leaves ⇄ centre 0, and 4 → leaf 1


@pytest.mark.parametrize("edge_index, n", [(PATH, 5), (STAR, 5), (random_graph()[1], N)])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("targets", [[4], [0], [1, 3]])
def test_computation_edges_equals_its_brute_force_definition(edge_index, n, num_layers, targets):
    hops = upstream_hops(edge_index, targets, n)
    expected = torch.tensor([hops[i] <= num_layers - 1 for i in edge_index[1].tolist()])
    got = computation_edges(edge_index, torch.tensor(targets), num_layers=num_layers, num_nodes=n)
    assert got.dtype == torch.bool
    assert torch.equal(got, expected)


def test_computation_edges_on_the_path_by_hand():
    assert computation_edges(PATH, torch.tensor([4]), num_layers=2).tolist() == [False, False, True, True]
    assert computation_edges(PATH, torch.tensor([0]), num_layers=3).tolist() == [False] * 4  # nothing flows into 0
    assert computation_edges(STAR, torch.tensor([2]), num_layers=2).tolist() == [True, True, True, False, True,
                                                                                  False, False]


def test_exactly_the_computation_edges_change_a_two_layer_seed_model():
    x, edge_index, weight = random_graph()
    model = classifier("seed")
    targets = torch.tensor([3, 17])
    reach = computation_edges(edge_index, targets, num_layers=2, num_nodes=N)
    assert 0 < int(reach.sum()) < edge_index.size(1)
    with torch.no_grad():
        base = model(x, edge_index, weight)[targets]
        changes = []
        for e in range(edge_index.size(1)):
            perturbed = weight.clone()
            perturbed[e] = 3.0 * perturbed[e] + 1.0
            changes.append(not torch.equal(model(x, edge_index, perturbed)[targets], base))
    assert torch.tensor(changes).equal(reach)


def test_computation_edges_refuses_zero_layers():
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        computation_edges(PATH, torch.tensor([4]), num_layers=0)


# 3. local_graph --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hops", [0, 1, 2])
def test_local_graph_maps_back_to_the_original_graph(hops):
    x, edge_index, weight = random_graph()
    targets = torch.tensor([5, 0])
    part = local_graph(x, edge_index, weight, targets, hops=hops)
    distance = upstream_hops(edge_index, targets.tolist(), N)
    expected_edges = [e for e, i in enumerate(edge_index[1].tolist()) if distance[i] <= hops]
    assert part.edges.tolist() == expected_edges
    assert torch.equal(part.nodes[part.edge_index], edge_index[:, part.edges])
    assert torch.equal(part.nodes[part.targets], targets)
    assert torch.equal(part.x, x[part.nodes]) and torch.equal(part.edge_weight, weight[part.edges])
    within = {v for v in range(N) if distance[v] <= hops}
    assert set(part.nodes.tolist()) == within | set(edge_index[0, part.edges].tolist())
    assert part.nodes.tolist() == sorted(set(part.nodes.tolist()))  # renumbered in order, no repeats
    assert len(part.nodes) < N


def test_local_graph_keeps_a_seed_models_outputs_with_one_hop():
    x, edge_index, weight = random_graph()
    targets = torch.tensor([5, 0, 22])
    model = classifier("seed")
    part = local_graph(x, edge_index, weight, targets, hops=1)
    with torch.no_grad():
        full = model(x, edge_index, weight)[targets]
        cut = model(part.x, part.edge_index, part.edge_weight)[part.targets]
        too_small = local_graph(x, edge_index, weight, targets, hops=0)
        wrong = model(too_small.x, too_small.edge_index, too_small.edge_weight)[too_small.targets]
    torch.testing.assert_close(cut, full, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(wrong, full, atol=1e-3)  # two layers need the edges one hop further out


def test_local_graph_needs_two_hops_for_a_two_layer_gcn():
    x, edge_index, weight = random_graph()
    targets = torch.tensor([5, 0, 22])
    with torch.no_grad():
        full = classifier("gcn")(x, edge_index, weight)[targets]
        outputs = {}
        for hops in (1, 2):
            part = local_graph(x, edge_index, weight, targets, hops=hops)
            # a fresh model for each graph: NodeClassifier's GCN caches its normalized adjacency
            outputs[hops] = classifier("gcn")(part.x, part.edge_index, part.edge_weight)[part.targets]
    torch.testing.assert_close(outputs[2], full, atol=1e-5, rtol=1e-5)
    # with one hop, the degrees of the two-hop neighbours are cut off, so GCN's normalization differs
    assert not torch.allclose(outputs[1], full, atol=1e-3)


@pytest.mark.parametrize("hops", [-1, True, 1.0, "1"])
def test_local_graph_refuses_bad_hops(hops):
    x, edge_index, weight = random_graph()
    with pytest.raises(ValueError, match="hops must be an integer ≥ 0"):
        local_graph(x, edge_index, weight, torch.tensor([0]), hops=hops)


# 4. random_explanation -------------------------------------------------------------------------------------------

def hard_explanation(edge_keep: tuple[int, ...] | None = (0, 2, 5), attribute_keep: tuple[int, ...] | None = (1, 3),
                     num_edges: int = 8, num_features: int = F) -> Explanation:
    masks = {}
    if edge_keep is not None:
        masks["edge_mask"] = torch.zeros(num_edges).index_fill_(0, torch.tensor(edge_keep, dtype=torch.long), 1.0)
    if attribute_keep is not None:
        masks["node_mask"] = torch.zeros(1, num_features).index_fill_(1, torch.tensor(attribute_keep,
                                                                                      dtype=torch.long), 1.0)
    return Explanation(x=torch.zeros(3, num_features), edge_index=torch.zeros(2, num_edges, dtype=torch.long), **masks)


def test_random_explanation_keeps_the_sizes_and_draws_among_the_candidates():
    explanation = hard_explanation()
    candidates = torch.tensor([True, True, False, True, False, True, True, False])
    generator = torch.Generator().manual_seed(0)
    edge_counts, attribute_counts = torch.zeros(8), torch.zeros(F)
    draws = 300
    for _ in range(draws):
        drawn = random_explanation(explanation, candidates, generator)
        assert set(drawn.edge_mask.unique().tolist()) <= {0.0, 1.0} and drawn.edge_mask.sum() == 3
        assert drawn.node_mask.shape == (1, F) and drawn.node_mask.sum() == 2
        edge_counts += drawn.edge_mask
        attribute_counts += drawn.node_mask.view(-1)
    assert edge_counts[~candidates].sum() == 0
    # uniform: each of the 5 candidates is kept with probability 3/5, each attribute with 2/5
    torch.testing.assert_close(edge_counts[candidates] / draws, torch.full((5,), 0.6), atol=0.1, rtol=0)
    torch.testing.assert_close(attribute_counts / draws, torch.full((F,), 0.4), atol=0.1, rtol=0)
    # the given explanation is left as it was, and the rest of it is carried over
    assert explanation.edge_mask.nonzero().view(-1).tolist() == [0, 2, 5]
    assert torch.equal(drawn.x, explanation.x) and torch.equal(drawn.edge_index, explanation.edge_index)


def test_random_explanation_with_one_mask_only_and_all_candidates():
    edges_only = hard_explanation(attribute_keep=None)
    drawn = random_explanation(edges_only, torch.ones(8, dtype=torch.bool), torch.Generator().manual_seed(1))
    assert drawn.get("node_mask") is None and drawn.edge_mask.sum() == 3
    attributes_only = hard_explanation(edge_keep=None)
    drawn = random_explanation(attributes_only, None, torch.Generator().manual_seed(1))
    assert drawn.get("edge_mask") is None and drawn.node_mask.sum() == 2
    a = random_explanation(edges_only, torch.ones(8, dtype=torch.bool), torch.Generator().manual_seed(5)).edge_mask
    b = random_explanation(edges_only, torch.ones(8, dtype=torch.bool), torch.Generator().manual_seed(5)).edge_mask
    assert torch.equal(a, b)


def soft(explanation: Explanation, name: str, value: torch.Tensor) -> Explanation:
    explanation[name] = value
    return explanation


@pytest.mark.parametrize("make, candidates, message", [
    (lambda: soft(hard_explanation(), "edge_mask", torch.tensor([0.9, 0, 1, 0, 0, 1, 0, 0])),
     torch.ones(8, dtype=torch.bool), "needs hard 0/1 masks"),
    (lambda: soft(hard_explanation(), "node_mask", torch.tensor([[0.0, 0.2, 1.0, 0.0, 0.0]])),
     torch.ones(8, dtype=torch.bool), "needs hard 0/1 masks"),
    (lambda: hard_explanation(), torch.ones(7, dtype=torch.bool), "candidates must be a boolean mask with one entry"),
    (lambda: hard_explanation(), None, "candidates must be a boolean mask with one entry"),
    (lambda: soft(hard_explanation(), "node_mask", torch.ones(3, F)), torch.ones(8, dtype=torch.bool),
     r"common_attributes node mask of shape \(1, F\), got \(3, 5\)"),
    (lambda: soft(hard_explanation(), "node_mask", torch.ones(F)), torch.ones(8, dtype=torch.bool),
     r"common_attributes node mask of shape \(1, F\), got \(5,\)"),
    (lambda: hard_explanation(edge_keep=None, attribute_keep=None), None, "neither an edge mask nor a node mask"),
    (lambda: hard_explanation(), torch.tensor([True, False, True, False, False, False, False, False]),
     "keeps 3 entries but only 2 can be drawn"),
])
def test_random_explanation_refuses_bad_inputs(make, candidates, message):
    with pytest.raises(ValueError, match=message):
        random_explanation(make(), candidates, torch.Generator().manual_seed(0))


# 5. fidelity -----------------------------------------------------------------------------------------------------

EXPLAINED = [3, 5, 17, 22, 0, 30]


@pytest.fixture(scope="module")
def explained():
    """Hard (top-3) edge explanations of a seed classifier by MaskGradient, with each node's computation edges."""
    x, edge_index, weight = random_graph()
    model = classifier("seed", seed=2, classes=4)
    explainer = Explainer(model, algorithm=MaskGradient(), explanation_type="model", edge_mask_type="object",
                          node_mask_type=None, threshold_config=dict(threshold_type="topk_hard", value=3),
                          model_config=dict(mode="multiclass_classification", task_level="node", return_type="raw"))
    explanations = [explainer(x, edge_index, index=node, edge_weight=weight) for node in EXPLAINED]
    pools = [computation_edges(edge_index, torch.tensor([node]), num_layers=2, num_nodes=N) for node in EXPLAINED]
    return explainer, explanations, pools


def test_fidelity_table_equals_pyg_fidelity_per_explanation(explained):
    explainer, explanations, _ = explained
    table = fidelity_table(explainer, explanations)
    assert list(table.columns) == ["fidelity+", "fidelity-"] and len(table) == len(explanations)
    expected = [tuple(float(v) for v in fidelity(explainer, e)) for e in explanations]
    np.testing.assert_allclose(table.to_numpy(), np.array(expected), rtol=1e-12, atol=0)
    assert any(plus != minus for plus, minus in expected)  # the columns cannot be swapped unnoticed
    with pytest.raises(ValueError, match="give at least one explanation"):
        fidelity_table(explainer, [])


def test_random_fidelity_is_the_mean_over_seeded_draws(explained):
    explainer, explanations, pools = explained
    table = random_fidelity(explainer, explanations, pools, draws=4, seed=7)
    assert list(table.columns) == ["fidelity+", "fidelity-"] and len(table) == len(explanations)
    pd.testing.assert_frame_equal(random_fidelity(explainer, explanations, pools, draws=4, seed=7), table)
    generator = torch.Generator().manual_seed(7)
    for row, (explanation, pool) in enumerate(zip(explanations, pools, strict=True)):
        draws = [fidelity(explainer, random_explanation(explanation, pool, generator)) for _ in range(4)]
        assert table.iloc[row].tolist() == pytest.approx([sum(d[k] for d in draws) / 4 for k in (0, 1)])
    assert ((0 <= table.to_numpy()) & (table.to_numpy() <= 1)).all()


@pytest.mark.parametrize("candidates, draws, message", [
    ("one less", 2, "give one candidate mask \\(or None\\) per explanation"),
    ("none", 2, "give one candidate mask \\(or None\\) per explanation"),
    ("all", 0, "draws must be a positive integer, got 0"),
    ("all", True, "draws must be a positive integer, got True"),
])
def test_random_fidelity_refuses_bad_arguments(explained, candidates, draws, message):
    explainer, explanations, pools = explained
    if candidates == "none":
        explanations, pools = [], []
    elif candidates == "one less":
        pools = pools[:-1]
    with pytest.raises(ValueError, match=message):
        random_fidelity(explainer, explanations, pools, draws=draws, seed=0)


def test_fidelity_summary_is_the_mean_and_its_characterization_score():
    tables = {"a": pd.DataFrame({"fidelity+": [0.5, 1.0], "fidelity-": [0.0, 0.5]}),
              "b": pd.DataFrame({"fidelity+": [0.2, 0.4, 0.3], "fidelity-": [0.1, 0.3, 0.8]})}
    summary = fidelity_summary(tables)
    assert list(summary.index) == ["a", "b"] and list(summary.columns) == ["fidelity+", "fidelity-", "characterization"]
    assert summary.loc["a"].tolist() == pytest.approx([0.75, 0.25, 0.75])  # 1 / (0.5 / 0.75 + 0.5 / 0.75)
    plus, minus = 0.3, 0.4
    assert summary.loc["b", "characterization"] == pytest.approx(1 / (0.5 / plus + 0.5 / (1 - minus)))
    pyg = characterization_score(torch.tensor(plus, dtype=torch.float64), torch.tensor(minus, dtype=torch.float64))
    assert summary.loc["b", "characterization"] == pytest.approx(float(pyg))


# 6. MaskGradient -------------------------------------------------------------------------------------------------

def gradient_explainer(model, edges: bool, attributes: bool, algorithm=None, mode="multiclass_classification",
                       level="node") -> Explainer:
    return Explainer(model, algorithm=algorithm or MaskGradient(), explanation_type="model",
                     edge_mask_type="object" if edges else None,
                     node_mask_type="common_attributes" if attributes else None, threshold_config=None,
                     model_config=dict(mode=mode, task_level=level, return_type="raw"))


def autograd_gradients(model, x, edge_index, weight, index):
    """∂ log p(predicted class) / ∂ mask by hand: w_e ∂f/∂w_e for the edges (the message is linear in w_e),
    ∂f/∂m for a multiplier x · m of the attributes."""
    weight = weight.clone().requires_grad_()
    multiplier = torch.ones(1, x.size(1), requires_grad=True)
    with torch.no_grad():
        predicted = model(x, edge_index, weight).argmax(-1)
    log_p = torch.log_softmax(model(x * multiplier, edge_index, weight), dim=-1)
    f = log_p[index, predicted[index]].sum()
    d_weight, d_multiplier = torch.autograd.grad(f, (weight, multiplier))
    return weight.detach() * d_weight, d_multiplier


@pytest.mark.parametrize("index", [17, torch.tensor([3, 22])])
def test_mask_gradient_equals_the_autograd_gradient(index):
    x, edge_index, weight = random_graph()
    model = classifier("seed", seed=3, classes=4)
    expected_edges, expected_attributes = autograd_gradients(model, x, edge_index, weight, index)
    explanation = gradient_explainer(model, True, True)(x, edge_index, index=index, edge_weight=weight)
    torch.testing.assert_close(explanation.edge_mask, expected_edges, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(explanation.node_mask, expected_attributes, atol=1e-6, rtol=1e-4)
    reach = computation_edges(edge_index, torch.as_tensor(index).view(-1), num_layers=2, num_nodes=N)
    assert (explanation.edge_mask[~reach] == 0).all() and (explanation.edge_mask[reach] != 0).any()
    edges_only = gradient_explainer(model, True, False)(x, edge_index, index=index, edge_weight=weight)
    assert edges_only.get("node_mask") is None
    torch.testing.assert_close(edges_only.edge_mask, expected_edges, atol=1e-6, rtol=1e-4)
    attributes_only = gradient_explainer(model, False, True)(x, edge_index, index=index, edge_weight=weight)
    assert attributes_only.get("edge_mask") is None
    torch.testing.assert_close(attributes_only.node_mask, expected_attributes, atol=1e-6, rtol=1e-4)
    for layer in model.layers:  # the masks are taken off again
        assert layer._edge_mask is None and not layer.explain


def test_mask_gradient_still_works_after_gnnexplainer():
    x, edge_index, weight = random_graph()
    model = classifier("seed", seed=4, classes=4)
    torch.manual_seed(0)
    gradient_explainer(model, True, True, algorithm=GNNExplainer(epochs=3))(x, edge_index, index=5,
                                                                             edge_weight=weight)
    assert "_edge_mask" in model.layers[0]._parameters  # GNNExplainer registered its mask as a parameter
    expected_edges, expected_attributes = autograd_gradients(model, x, edge_index, weight, 5)
    explanation = gradient_explainer(model, True, True)(x, edge_index, index=5, edge_weight=weight)
    torch.testing.assert_close(explanation.edge_mask, expected_edges, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(explanation.node_mask, expected_attributes, atol=1e-6, rtol=1e-4)


def test_mask_gradient_of_a_binary_pair_decision_is_the_raw_score_gradient():
    x, edge_index, weight = random_graph()
    torch.manual_seed(5)
    decision = PairDecision(LinkEncoder("seed", F, hidden=8)).eval()
    pairs, rivals = torch.tensor([[3], [17]]), torch.tensor([8])
    explanation = gradient_explainer(decision, True, False, mode="binary_classification", level="edge")(
        x, edge_index, index=0, edge_weight=weight, pairs=pairs, rivals=rivals)
    leaf = weight.clone().requires_grad_()
    (d_weight,) = torch.autograd.grad(decision(x, edge_index, leaf, pairs, rivals).sum(), leaf)
    torch.testing.assert_close(explanation.edge_mask, weight * d_weight, atol=1e-6, rtol=1e-4)
    assert (explanation.edge_mask != 0).any()


@pytest.mark.parametrize("mask_types", [dict(node_mask_type="attributes", edge_mask_type=None),
                                        dict(node_mask_type="object", edge_mask_type="object")])
def test_mask_gradient_refuses_other_mask_types(mask_types):
    x, edge_index, weight = random_graph()
    explainer = Explainer(classifier("seed"), algorithm=MaskGradient(), explanation_type="model", **mask_types,
                          model_config=dict(mode="multiclass_classification", task_level="node", return_type="raw"))
    with pytest.raises(ValueError, match="MaskGradient explains edges .* and/or attributes"):
        explainer(x, edge_index, index=0, edge_weight=weight)


def test_mask_gradient_does_not_support_regression():
    with pytest.raises(ValueError, match="support"):
        Explainer(classifier("seed"), algorithm=MaskGradient(), explanation_type="model", edge_mask_type="object",
                  model_config=dict(mode="regression", task_level="node", return_type="raw"))


# 7. PairDecision -------------------------------------------------------------------------------------------------

def test_pair_decision_is_the_score_gap_to_the_rival():
    x, edge_index, weight = random_graph()
    torch.manual_seed(6)
    encoder = LinkEncoder("gcn", F, hidden=8).eval()
    pairs, rivals = torch.tensor([[0, 3, 3], [5, 17, 0]]), torch.tensor([9, 2, 17])
    with torch.no_grad():
        embeddings, bias = encoder(x, csr(edge_index, weight, N))
        got = PairDecision(encoder)(x, edge_index, weight, pairs, rivals)
    u, v = pairs
    by_hand = (embeddings[u] * (embeddings[v] - embeddings[rivals])).sum(-1) + bias[v] - bias[rivals]  # b_u cancels
    torch.testing.assert_close(got, by_hand, atol=1e-5, rtol=1e-5)
    scores = pair_scores(embeddings, bias, pairs) - pair_scores(embeddings, bias, torch.stack([u, rivals]))
    torch.testing.assert_close(got, scores, atol=1e-5, rtol=1e-5)


def test_pair_decision_does_not_depend_on_the_querys_own_popularity_term():
    x, edge_index, weight = random_graph()
    torch.manual_seed(7)
    encoder = LinkEncoder("seed", F, hidden=8).eval()
    pairs, rivals = torch.tensor([[3], [17]]), torch.tensor([8])
    with torch.no_grad():
        before = PairDecision(encoder)(x, edge_index, weight, pairs, rivals)
        encoder.popularity.bias += 5.0  # moves every b by the same amount
        after = PairDecision(encoder)(x, edge_index, weight, pairs, rivals)
    torch.testing.assert_close(before, after, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pairs, rivals, shapes", [
    (torch.tensor([0, 3]), torch.tensor([0.0]), r"\(2,\) and \(1,\)"),
    (torch.tensor([[0, 3], [1, 2], [4, 5]]), torch.tensor([0.0, 0.0]), r"\(3, 2\) and \(2,\)"),
    (torch.tensor([[0, 3], [1, 2]]), torch.tensor([0]), r"\(2, 2\) and \(1,\)"),
    (torch.tensor([[0, 3], [1, 2]]), torch.zeros(2, 1, dtype=torch.long), r"\(2, 2\) and \(2, 1\)"),
])
def test_pair_decision_refuses_wrong_shapes(pairs, rivals, shapes):
    x, edge_index, weight = random_graph()
    with pytest.raises(ValueError, match=r"pairs must have shape \(2, P\) and rivals \(P,\); got " + shapes):
        PairDecision(LinkEncoder("gcn", F, hidden=8))(x, edge_index, weight, pairs, rivals)


# 8. saved_models -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("load, size", [(load_link_encoder, F), (load_basket_sasrec, 10)])
def test_a_missing_weight_file_names_the_command(tmp_path, load, size):
    with pytest.raises(FileNotFoundError, match=f"python -m prodassoc_lab.explain --out {tmp_path}"):
        load(tmp_path / "nothing.pt", size)


@pytest.mark.parametrize("load, model, size", [
    (load_link_encoder, lambda: LinkEncoder("gcn", F + 1), F),  # another catalogue's features
    (load_link_encoder, lambda: LinkEncoder("seed", F), F),  # another kind of layer
    (load_basket_sasrec, lambda: BasketSASRec(12), 10),  # another catalogue
])
def test_weights_of_another_model_are_refused(tmp_path, load, model, size):
    path = tmp_path / "other.pt"
    save_checkpoint(model().state_dict(), path)
    with pytest.raises(ValueError, match="does not hold weights of a .* of this shape"):
        load(path, size)


def test_saved_weights_round_trip(tmp_path):
    x, edge_index, weight = random_graph()
    torch.manual_seed(8)
    encoder = LinkEncoder("gcn", F).eval()
    save_checkpoint(encoder.state_dict(), tmp_path / saved_models.LINK_ENCODER)
    loaded = load_link_encoder(tmp_path / saved_models.LINK_ENCODER, F)
    assert isinstance(loaded, LinkEncoder) and not loaded.training
    with torch.no_grad():
        for ours, theirs in zip(loaded(x, edge_index, weight), encoder(x, edge_index, weight), strict=True):
            assert torch.equal(ours, theirs)
        assert not torch.equal(LinkEncoder("gcn", F)(x, edge_index, weight)[0], encoder(x, edge_index, weight)[0])
    sequence = BasketSASRec(10)
    save_checkpoint(sequence.state_dict(), tmp_path / saved_models.BASKET_SASREC)
    loaded = load_basket_sasrec(str(tmp_path / saved_models.BASKET_SASREC), 10)
    assert isinstance(loaded, BasketSASRec) and not loaded.training
    state = loaded.state_dict()
    assert state.keys() == sequence.state_dict().keys()
    assert all(torch.equal(state[name], value) for name, value in sequence.state_dict().items())


@pytest.mark.real_data
def test_the_committed_weights_fit_their_models():
    link = torch.load(WEIGHTS / saved_models.LINK_ENCODER, weights_only=True)
    in_channels = link["first.lin.weight"].shape[1]
    expected = LinkEncoder("gcn", in_channels).state_dict()
    assert {k: v.shape for k, v in link.items()} == {k: v.shape for k, v in expected.items()}
    assert all(torch.isfinite(v).all() for v in link.values())
    assert not load_link_encoder(WEIGHTS / saved_models.LINK_ENCODER, in_channels).training
    basket = torch.load(WEIGHTS / saved_models.BASKET_SASREC, weights_only=True)
    expected = BasketSASRec(5000).state_dict()
    assert {k: v.shape for k, v in basket.items()} == {k: v.shape for k, v in expected.items()}
    assert all(torch.isfinite(v).all() for v in basket.values())
    load_basket_sasrec(WEIGHTS / saved_models.BASKET_SASREC, 5000)


def test_main_refuses_a_missing_folder_before_training(tmp_path, monkeypatch, capsys):
    def must_not_run(*args, **kwargs):
        raise AssertionError("main trained or loaded data before checking --out")

    import prodassoc_lab.datasets
    monkeypatch.setattr(prodassoc_lab.datasets, "cleaned_complete_journey", must_not_run)
    monkeypatch.setattr(saved_models, "train_link_encoder", must_not_run)
    monkeypatch.setattr(saved_models, "train_basket_sasrec", must_not_run)
    missing = tmp_path / "missing"
    with pytest.raises(SystemExit) as exit_info:
        explain_main(["--out", str(missing)])
    assert exit_info.value.code == 2
    assert f"--out: folder {missing} does not exist" in capsys.readouterr().err
    assert not missing.exists()
    with pytest.raises(SystemExit) as exit_info:
        explain_main([])
    assert exit_info.value.code == 2 and "--out" in capsys.readouterr().err


def test_the_explain_command_checks_out_before_pytorch_is_imported(tmp_path):
    code = ("import sys\nfrom prodassoc_lab.explain.cli import main\ntry:\n    main(['--out', 'no/such/folder'])\n"
            "except SystemExit as exit:\n    print(exit.code, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.stdout.split() == ["2", "False"] and "--out: folder no/such/folder does not exist" in run.stderr
