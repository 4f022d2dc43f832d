"""The corrected training script: splits, training, baselines, features and the command line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import torch
from torch_geometric.data import Data

from prodassoc_lab.features import FEATURES, product_features
from prodassoc_lab.graph import ProductGraph
from prodassoc_lab.nodes.baselines import correct_and_smooth, label_propagation, majority_baseline
from prodassoc_lab.nodes.cli import MODEL_CHOICES, main
from prodassoc_lab.nodes.evaluation import MIN_PER_CLASS, stratified_masks, summarize
from prodassoc_lab.nodes.experiment import (
    NodeTraining,
    compare_models,
    hide_test_labels,
    protocol_comparison,
    search_node_classifier,
    train_node_classifier,
)
from prodassoc_lab.nodes.models import NodeClassifier, _dropout
from prodassoc_lab.pyg_data import node_data, sparse_adjacency


def test_masks_are_disjoint_stratified_and_cover_the_labelled_nodes():
    y = torch.cat([torch.full((50,), 0), torch.full((30,), 1), torch.full((MIN_PER_CLASS - 1,), 2),
                   torch.tensor([-1] * 3)])
    train, val, test = stratified_masks(y, seed=0)
    assert not (train & val).any() and not (train & test).any() and not (val & test).any()
    assert ((train | val | test) == (y >= 0)).all()
    assert (y[val | test] != 2).all()  # too rare to stratify: training only
    assert (y[test] == 0).sum() == 10 and (y[test] == 1).sum() == 6
    assert stratified_masks(y, seed=0)[2].equal(test) and not stratified_masks(y, seed=1)[2].equal(test)


def test_graph_models_beat_the_mlp_when_only_the_graph_is_informative(tmp_path, planted_communities):
    data = planted_communities(60, 0.15, 0.005, 8, seed=0)
    masks = stratified_masks(data.y, seed=0)
    checkpoint = tmp_path / "best.pt"
    settings = NodeTraining(hidden=16, epochs=100, patience=100)
    gcn = train_node_classifier(data, masks, "gcn", seed=0, settings=settings, checkpoint=checkpoint)
    mlp = train_node_classifier(data, masks, "mlp", seed=0, settings=settings)
    assert mlp.accuracy < 0.5 and gcn.accuracy > mlp.accuracy + 0.25
    state = torch.load(checkpoint, weights_only=True)
    assert set(state) >= {"layers.0.lin.weight", "layers.1.lin.weight"}
    propagated = label_propagation(data, masks, seed=0)
    assert propagated.accuracy > 0.9 and propagated.setting.startswith("α = ")
    assert majority_baseline(data, masks, seed=0).accuracy == pytest.approx(1 / 3, abs=0.05)
    smoothed = correct_and_smooth(mlp, data, masks)
    assert smoothed.model == "mlp + C&S" and smoothed.accuracy > mlp.accuracy + 0.3
    assert smoothed.probabilities.shape == mlp.probabilities.shape


def test_comparison_table_has_every_method_and_seed(planted_communities):
    data = planted_communities(20, 0.15, 0.005, 8, seed=0)
    table, runs = compare_models(data, ("mlp", "seed"), seeds=(0, 1), hidden=8, epochs=5, patience=5)
    methods = ["majority", "label propagation", "mlp", "seed", "mlp + C&S", "seed + C&S"]
    assert list(dict.fromkeys(table.method)) == methods and len(table) == len(runs) == 12
    assert list(summarize(table).index) == methods
    assert (table[table.method == "seed"]["epochs run"] == 5).all()
    seed0 = {run.model: run for run in runs if run.seed == 0}
    assert seed0["seed"].training.epochs_run == 5 and seed0["seed"].best_epoch == seed0["seed"].training.best_epoch
    assert all(seed0[name].training is None and seed0[name].epochs_run == 0
               for name in ("majority", "label propagation", "seed + C&S"))


def test_training_needs_the_sparse_adjacency(planted_communities):
    data = planted_communities(10, 0.15, 0.005, 8, seed=0)
    del data.adj_t
    with pytest.raises(ValueError, match="data has no adj_t; add it with prodassoc_lab.pyg_data.sparse_adjacency"):
        train_node_classifier(data, stratified_masks(data.y, seed=0), "gcn", seed=0)


def test_negative_weights_are_refused_by_the_adjacency_and_dropped_by_node_data():
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    weights = torch.tensor([0.5, 0.5, -0.1, -0.1])
    with pytest.raises(ValueError, match=r"2 edge weight\(s\) are negative \(smallest -0.1\)"):
        sparse_adjacency(Data(edge_index=edge_index, edge_weight=weights, num_nodes=3))
    nodes = pd.DataFrame({"product_id": [10, 11, 12], "frequency": [5, 5, 5], "department": ["A", "A", "B"],
                          "product_category": ["x", "x", "y"], "product_type": ["t", "t", "u"]})
    edges = pd.DataFrame({"source": [0, 1], "target": [1, 2], "count": [5, 5], "lift": [2.0, 0.5],
                          "npmi": [0.5, -0.1], "weight": [0.5, -0.1]})
    graph = ProductGraph(nodes, edges, "npmi")
    features = pd.DataFrame({"f": [1.0, 2.0, 3.0]}, index=pd.Index([10, 11, 12], name="product_id"))
    data = node_data(graph, "product_category", features)
    assert data.edge_index.tolist() == [[0, 1], [1, 0]] and data.adj_t.to_dense()[1, 2] == 0
    assert data.x.dtype == torch.float32 and data.feature_names == ["f"]
    with pytest.raises(ValueError, match="one row per graph node, indexed by product_id in node order"):
        node_data(graph, "product_category", features.iloc[::-1])


def test_sparse_adjacency_keeps_the_weights_and_sage_ignores_them():
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 2, 0, 0]])
    data = sparse_adjacency(Data(edge_index=edge_index, edge_weight=torch.tensor([2.0, 3.0, 2.0, 3.0]), num_nodes=3))
    assert data.adj_t.to_dense().equal(torch.tensor([[0.0, 2.0, 3.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.0]]))
    sage = NodeClassifier("sage", 1, 2, 2)
    x = torch.tensor([[1.0], [10.0], [100.0]])
    sage.eval()
    with torch.no_grad():
        assert torch.allclose(sage(x, data.adj_t), sage(x, edge_index))  # plain mean over neighbours


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs: must be a positive integer, got 0"),
        (["--lr", "-1"], "--lr: must be a finite positive number, got -1"),
        (["--lr", "inf"], "--lr: must be a finite positive number, got inf"),
        (["--model", "transformer"], "--model: invalid choice: 'transformer'"),
        (["--graph", "store"], "--graph: invalid choice: 'store'"),
        (["--checkpoint", "/no/such/folder/best.pt"], "--checkpoint: folder /no/such/folder does not exist"),
        (["--results", "/no/such/folder/runs.csv"], "--results: folder /no/such/folder does not exist"),
        (["--seed", "0", "-1"], "argument --seed: seeds must be integers in [0, 2**32), got -1"),
        (["--seed", "4294967296"], "argument --seed: seeds must be integers in [0, 2**32), got 4294967296"),
        (["--epochs", "many"], "--epochs: invalid positive_integer value: 'many'"),
        (["--checkpoint", "."], "--checkpoint must be a file path, got PosixPath('.')"),
        (["--results", "/tmp"], "--results must name a .csv file, got /tmp"),
        (["--checkpoint", "out.pt", "--results", "out.pt"], "--results must name a .csv file, got out.pt"),
        (["--checkpoint", "out.csv", "--results", "out.csv"], "--results: the same file as --checkpoint"),
        (["--model", "gat", "--hidden", "30"], "--hidden: gat splits the hidden layer over 4 heads"),
        (["--model", "gcn", "mlp", "--checkpoint", "best.pt"], "--checkpoint: saves one model's weights"),
        (["--seed", "0", "1", "--checkpoint", "best.pt"], "--checkpoint: saves one model's weights"),
        (["--search", "4", "--checkpoint", "best.pt"], "--checkpoint: a search trains many models"),
        (["--jobs", "2"], "--jobs: only a --search trains in parallel"),
        (["--label-trick", "seed"], "--label-trick: only a --search runs the label trick"),
        (["--search", "0"], "--search: must be a positive integer"),
        (["--search", "2", "--results", "out.csv", "--device", "cuda"], "--search runs on the CPU"),
        (["--search", "20", "--model", "mlp"], "--search: budget=20 configurations, but the space holds only 19"),
    ],
)
def test_bad_arguments_exit_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
def test_cuda_without_a_gpu_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--device", "cuda"])
    assert "no CUDA device is available" in capsys.readouterr().err


def test_help_runs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "--graph {basket,household}" in capsys.readouterr().out


def test_features_hold_no_label_text():
    lines = pd.DataFrame({
        "product_id": [1, 1, 2, 2, 3], "basket_id": [10, 11, 10, 12, 12], "household_id": [7, 8, 7, 9, 9],
        "quantity": [1, 2, 1, 1, 3], "sales_value": [2.0, 4.0, 1.0, 1.5, 3.0], "retail_disc": [0.5, 0, 0, 0.2, 0],
        "coupon_disc": [0, 0, 0, 0, 0.3],
        "transaction_timestamp": pd.to_datetime(["2017-01-07", "2017-01-09", "2017-01-07", "2017-01-10", "2017-01-10"]),
    })
    products = pd.DataFrame({"product_id": [1, 2, 3], "brand": ["Private", "National", "National"],
                             "package_size": ["12 OZ", None, "2 LB"], "department": ["A", "B", "C"],
                             "product_category": ["x", "y", "z"]})
    features = product_features(lines, products, pd.Index([1, 2, 3]))
    assert list(features.columns) == FEATURES
    assert not any(word in name for name in features.columns for word in ("department", "category", "type"))
    assert features.mean().abs().max() < 1e-12
    with pytest.raises(ValueError, match=r"1 product\(s\) have no purchase line, e\.g\. \[4\]"):
        product_features(lines, products, pd.Index([1, 4]))
    with pytest.raises(ValueError, match=r"transactions: missing column\(s\) \['retail_disc'\]"):
        product_features(lines.drop(columns="retail_disc"), products, pd.Index([1, 2]))


def test_label_propagation_follows_its_formula_with_edge_weights(planted_communities):
    """Y ← clip(α D^-1/2 A D^-1/2 Y + (1 − α) Y0), computed densely in float64, on a weighted graph."""
    data = planted_communities(15, 0.15, 0.005, 8, seed=1)
    generator = torch.Generator().manual_seed(3)
    upper = data.edge_index[0] < data.edge_index[1]
    weight = torch.rand(int(upper.sum()), generator=generator) + 0.1
    edge_index = torch.cat([data.edge_index[:, upper], data.edge_index[:, upper].flip(0)], dim=1)
    data.edge_index, data.edge_weight = edge_index, torch.cat([weight, weight])
    data = sparse_adjacency(data)
    masks = stratified_masks(data.y, seed=0)
    result = label_propagation(data, masks, seed=0, alphas=(0.3,), num_layers=5)
    A = torch.zeros(data.num_nodes, data.num_nodes, dtype=torch.float64)
    A[edge_index[1], edge_index[0]] = data.edge_weight.double()
    degree = A.sum(dim=1)
    scale = torch.where(degree > 0, degree.rsqrt(), torch.zeros_like(degree))
    A_hat = scale[:, None] * A * scale[None, :]
    Y0 = torch.zeros(data.num_nodes, 3, dtype=torch.float64)
    Y0[masks[0], data.y[masks[0]]] = 1.0
    Y = Y0
    for _ in range(5):
        Y = (0.3 * A_hat @ Y + 0.7 * Y0).clamp(0, 1)
    torch.testing.assert_close(result.probabilities.double(), Y, atol=1e-6, rtol=0)
    assert result.setting == "α = 0.3"


def _gcn_normalized_dense(data: Data) -> torch.Tensor:
    """D̃^-1/2 (A + I) D̃^-1/2 in float64, from the weighted sparse adjacency."""
    A = data.adj_t.to_dense().double() + torch.eye(data.num_nodes, dtype=torch.float64)
    scale = A.sum(dim=1).rsqrt()
    return scale[:, None] * A * scale[None, :]


def test_sgc_is_linear_in_the_propagated_features(planted_communities):
    from prodassoc_lab.nodes.models import SGC_HOPS

    data = sparse_adjacency(planted_communities(10, 0.2, 0.01, 4, seed=0))
    model = NodeClassifier("sgc", 4, 8, 3).double().eval()
    A_hat, x = _gcn_normalized_dense(data), data.x.double()
    propagated = torch.linalg.matrix_power(A_hat, SGC_HOPS) @ x
    expected = model.layers[1](propagated @ model.layers[0].lin.weight.T + model.layers[0].lin.bias)
    with torch.no_grad():
        torch.testing.assert_close(model(x, data.adj_t.double()), expected, atol=1e-10, rtol=0)


def test_appnp_propagates_the_mlp_scores(planted_communities):
    from prodassoc_lab.nodes.models import APPNP_ALPHA, APPNP_STEPS

    data = sparse_adjacency(planted_communities(10, 0.2, 0.01, 4, seed=0))
    model = NodeClassifier("appnp", 4, 8, 3).double().eval()
    A_hat, x = _gcn_normalized_dense(data), data.x.double()
    z0 = model.layers[1](torch.relu(model.layers[0](x)))
    z = z0
    for _ in range(APPNP_STEPS):
        z = (1 - APPNP_ALPHA) * A_hat @ z + APPNP_ALPHA * z0
    with torch.no_grad():
        torch.testing.assert_close(model(x, data.adj_t.double()), z, atol=1e-10, rtol=0)


def test_dropout_keeps_the_expected_value_and_is_off_in_evaluation():
    torch.manual_seed(0)
    x = torch.ones(100_000)
    dropped = _dropout(x, 0.3, training=True)
    assert torch.allclose(dropped.unique(), torch.tensor([0.0, 1 / 0.7]))
    assert (dropped == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert dropped.mean().item() == pytest.approx(1.0, abs=0.02)
    assert _dropout(x, 0.3, training=False) is x


def test_the_command_line_knows_every_model_kind():
    from prodassoc_lab.nodes import cli, models

    assert MODEL_CHOICES == models.MODELS and cli.GAT_HEADS == models.GAT_HEADS


def test_argument_errors_come_before_pytorch_is_imported():
    code = ("import sys\nfrom prodassoc_lab.nodes.cli import main\ntry:\n    main(['--epochs', '0'])\n"
            "except SystemExit as exit:\n    print(exit.code, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["2", "False"] and "--epochs: must be a positive integer" in run.stderr


def test_a_search_never_reads_a_test_label(planted_communities):
    data = planted_communities(20, 0.15, 0.01, 8, seed=0)
    masks = stratified_masks(data.y, seed=0)
    visible, search_masks = hide_test_labels(data, masks)
    assert (visible.y[masks.test] == -1).all() and visible.y[~masks.test].equal(data.y[~masks.test])
    assert search_masks.test.equal(masks.validation) and data.y[masks.test].ge(0).all()  # data itself unchanged
    configurations = [{"lr": 0.01, "hidden": 8}, {"lr": 0.1, "hidden": 16}]
    shuffled = data.clone()
    shuffled.y[masks.test] = (data.y[masks.test] + 1) % 3  # other test labels, same everything else
    searched, tested = search_node_classifier(data, masks, "gcn", configurations, seed=0, epochs=20, patience=5)
    searched_again, tested_again = search_node_classifier(shuffled, masks, "gcn", configurations, seed=0, epochs=20,
                                                          patience=5)
    assert searched.search.scores == searched_again.search.scores and searched.setting == searched_again.setting
    assert searched.probabilities.equal(searched_again.probabilities)
    assert tested.accuracy != tested_again.accuracy  # only the final scoring reads the test labels


def test_protocol_comparison_gives_every_method_the_same_budget(planted_communities):
    data = planted_communities(15, 0.15, 0.01, 8, seed=1)
    data.product_id = torch.arange(data.num_nodes) + 1000
    result = protocol_comparison(data, ("mlp", "sgc"), splits=(0, 1), budget=3, epochs=15, patience=5)
    methods = ["majority", "label propagation", "mlp", "mlp + C&S", "sgc", "sgc + C&S"]
    assert list(dict.fromkeys(result.table.method)) == methods and len(result.table) == 12
    assert (result.searches.groupby(["method", "split"]).size() == 3).all()
    assert set(result.searches.method) == set(methods) - {"majority"}
    assert (result.searches.groupby(["method", "split"]).chosen.sum() == 1).all()
    networks = result.searches[result.searches.method.isin(["mlp", "sgc"])]
    assert networks.groupby("split").apply(lambda t: t[t.method == "mlp"][["lr", "hidden"]].values.tolist()
                                           == t[t.method == "sgc"][["lr", "hidden"]].values.tolist()).all()
    assert result.table.set_index("method").loc["sgc", "graph"].tolist() == ["weighted"] * 2
    assert result.table.set_index("method").loc["mlp + C&S", "graph"].tolist() == ["none; C&S: weighted"] * 2
    for split, outcomes in result.correct.groupby("split"):
        test = stratified_masks(data.y, split).test
        assert len(outcomes) == int(test.sum()) and (outcomes.product_id - 1000).tolist() == outcomes.node.tolist()
        rows = result.table[result.table.split == split].set_index("method")
        assert all(outcomes[m].mean() == pytest.approx(rows.loc[m, "accuracy"]) for m in methods)


def test_the_label_trick_shows_training_labels_only(planted_communities):
    data = planted_communities(20, 0.05, 0.01, 8, seed=2)
    masks = stratified_masks(data.y, seed=0)
    settings = NodeTraining(hidden=16, epochs=60, patience=60, label_trick=True)
    trick = train_node_classifier(data, masks, "mlp", seed=0, settings=settings)
    assert trick.model == "mlp + label trick"
    plain = train_node_classifier(data, masks, "mlp", seed=0, settings=NodeTraining(hidden=16, epochs=60, patience=60))
    # an MLP sees no graph: a product's own label is shown only if it is a training product, so the
    # test predictions gain nothing from the trick (the features are noise)
    assert trick.accuracy < 0.6 and plain.accuracy < 0.6
    shuffled = data.clone()
    shuffled.y[masks.test] = (data.y[masks.test] + 1) % 3
    again = train_node_classifier(shuffled, masks, "gcn", seed=0, settings=settings)
    first = train_node_classifier(data, masks, "gcn", seed=0, settings=settings)
    assert again.probabilities.equal(first.probabilities)  # test labels never enter the inputs
    with pytest.raises(TypeError, match="label_trick must be True or False"):
        NodeTraining(label_trick=1)
