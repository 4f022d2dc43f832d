"""Chapter 7's measurements of the article's "large model" claims: fewer labels, deeper and wider
networks, learned product-id embeddings, and the command that runs them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from prodassoc_lab.nodes.claims import best_network, chosen_settings, fewer_labels, main
from prodassoc_lab.nodes.evaluation import stratified_masks
from prodassoc_lab.nodes.experiment import NodeTraining, train_node_classifier
from prodassoc_lab.nodes.models import MODELS, NodeClassifier
from prodassoc_lab.provenance import provenance_path
from prodassoc_lab.pyg_data import sparse_adjacency


def test_fewer_labels_nests_the_shares_and_keeps_validation_and_test(planted_communities):
    data = planted_communities(30, 0.15, 0.01, 4, seed=0)
    masks = stratified_masks(data.y, seed=0)
    kept = {share: fewer_labels(masks, share, seed=3) for share in (0.1, 0.5, 1.0)}
    n_train = int(masks.train.sum())
    assert [int(m.train.sum()) for m in kept.values()] == [round(0.1 * n_train), round(0.5 * n_train), n_train]
    assert (kept[0.1].train <= kept[0.5].train).all() and (kept[0.5].train <= masks.train).all()
    assert all(m.validation.equal(masks.validation) and m.test.equal(masks.test) for m in kept.values())
    assert int(fewer_labels(masks, 1e-6, seed=3).train.sum()) == 1  # never an empty training set
    assert not fewer_labels(masks, 0.5, seed=4).train.equal(kept[0.5].train)  # the seed draws the subset
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\], got 0"):
        fewer_labels(masks, 0, seed=0)


def test_depth_adds_hidden_to_hidden_layers():
    two, four = (NodeClassifier("gcn", 5, 8, 3, layers=layers) for layers in (2, 4))
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert len(two.layers) == 2 and len(four.layers) == 4
    assert count(four) - count(two) == 2 * (8 * 8 + 8)  # two more 8→8 layers, weights and biases
    with pytest.raises(ValueError, match="layers must be an integer ≥ 2, got 1"):
        NodeClassifier("gcn", 5, 8, 3, layers=1)
    with pytest.raises(ValueError, match="layers must be an integer ≥ 2, got 1"):
        NodeTraining(layers=1)


def test_an_id_embedding_is_a_learned_input_per_node(planted_communities):
    data = sparse_adjacency(planted_communities(10, 0.3, 0.01, 4, seed=0))
    model = NodeClassifier("mlp", 0, 8, 3, embedded_nodes=data.num_nodes, dropout=0.0)
    assert model.embedding.weight.shape == (data.num_nodes, 8) and model.layers[0].in_features == 8
    out = model(data.x[:, :0], data.adj_t)
    expected = model.layers[1](torch.relu(model.layers[0](model.embedding.weight)))
    torch.testing.assert_close(out, expected)
    both = NodeClassifier("gcn", 4, 8, 3, embedded_nodes=data.num_nodes)
    assert both.layers[0].lin.in_channels == 4 + 8
    with pytest.raises(ValueError, match=f"the model embeds {data.num_nodes} nodes, x has 5 rows"):
        model(data.x[:5, :0], torch.empty(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="in_channels is 0 and embedded_nodes is 0"):
        NodeClassifier("mlp", 0, 8, 3)
    with pytest.raises(ValueError, match=r"inputs must be one of \['features', 'ids', 'both'\], got 'id'"):
        NodeTraining(inputs="id")


def test_learned_ids_carry_no_information_to_unseen_products_without_a_graph(planted_communities):
    # features are noise here, the communities are in the graph: a GCN can spread the ids it
    # learned from training products to their neighbours, an MLP cannot reach a test product at all
    data = planted_communities(40, 0.2, 0.005, 4, seed=1)
    masks = stratified_masks(data.y, seed=0)
    settings = NodeTraining(hidden=16, epochs=150, patience=150, inputs="ids", dropout=0.0)
    mlp = train_node_classifier(data, masks, "mlp", seed=0, settings=settings)
    gcn = train_node_classifier(data, masks, "gcn", seed=0, settings=settings)
    assert gcn.accuracy > 0.8 and mlp.accuracy < 0.6


def test_the_claims_read_the_configuration_the_protocol_chose():
    searches = pd.DataFrame({"method": ["gcn"] * 3 + ["mlp"], "split": [0, 0, 1, 0],
                             "chosen": [False, True, True, True], "lr": [0.1, 0.01, 0.03, 0.003],
                             "hidden": [32, 64, 128, 256], "dropout": [0.0, 0.25, 0.5, 0.0],
                             "weight_decay": [0.0, 5e-5, 5e-4, 0.0]})
    settings = chosen_settings(searches, "gcn", 0)
    assert (settings.lr, settings.hidden, settings.dropout, settings.weight_decay) == (0.01, 64, 0.25, 5e-5)
    assert settings.epochs == 500 and settings.patience == 50
    with pytest.raises(ValueError, match="0 chosen configurations of 'sage' on split 0"):
        chosen_settings(searches, "sage", 0)
    with pytest.raises(ValueError, match=r"the protocol's searches: missing column\(s\) \['lr'\]"):
        chosen_settings(searches.drop(columns="lr"), "gcn", 0)
    table = pd.DataFrame({"method": ["gcn", "gcn", "sgc", "mlp", "label propagation"],
                          "validation accuracy": [0.70, 0.72, 0.73, 0.9, 0.95]})
    assert best_network(table) == "sgc"  # a graph network, by validation: not the MLP, not a baseline
    with pytest.raises(ValueError, match="holds no graph network"):
        best_network(table[table.method == "mlp"])


def test_the_command_needs_a_protocol_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--protocol", str(tmp_path / "none.csv"), "--results", str(tmp_path / "claims.csv")])
    assert stopped.value.code == 2
    assert f"--protocol: {tmp_path / 'none.csv'} does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("features", [0, 4])
def test_every_kind_learns_its_id_embedding(planted_communities, kind, features):
    # a layer that caches its propagated input (as PyG's SGConv can) would detach the
    # embedding after the first call: the second call must still reach it
    data = planted_communities(5, 0.3, 0.05, 4, seed=0)
    torch.manual_seed(0)
    model = NodeClassifier(kind, features, 8, 3, embedded_nodes=data.num_nodes, layers=3).train()
    x = data.x[:, :features]
    model(x, data.adj_t)
    model(x, data.adj_t).logsumexp(dim=1).sum().backward()
    assert model.embedding.weight.grad is not None and model.embedding.weight.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.layers[0].parameters()
               if p.requires_grad and p.dim() > 1)


def test_sgc_reads_a_changed_input(planted_communities):
    # the label trick shows other labels in every epoch: SGC must propagate what it is given now
    data = planted_communities(5, 0.3, 0.05, 4, seed=0)
    model = NodeClassifier("sgc", 4, 8, 3, dropout=0.0).eval()
    with torch.no_grad():
        assert not torch.allclose(model(data.x, data.adj_t), model(2 * data.x, data.adj_t))


def _protocol_files(tmp_path, monkeypatch, planted_communities):
    """A protocol run of the command on a small planted graph (one process), with its provenance command."""
    from prodassoc_lab.nodes import cli

    data = planted_communities(15, 0.2, 0.01, 4, seed=1)
    data.product_id = torch.arange(data.num_nodes) + 1000
    monkeypatch.setattr(cli, "is_cached", lambda folder: True)
    monkeypatch.setattr(cli, "node_data_once", lambda *options: data)
    results = tmp_path / "protocol.csv"
    command = ["--model", "mlp", "sgc", "--search", "2", "--seed", "0", "1", "--results", str(results)]
    assert cli.main(command) == 0
    record = json.loads(provenance_path(results).read_text(encoding="utf-8"))
    record["command"] = ["prodassoc_lab/nodes/__main__.py", *command]  # pytest's own argv was recorded
    provenance_path(results).write_text(json.dumps(record), encoding="utf-8")
    return data, results


def test_the_protocol_command_writes_every_split_with_its_search(tmp_path, monkeypatch, planted_communities, capsys):
    data, results = _protocol_files(tmp_path, monkeypatch, planted_communities)
    assert "split 0 done (1 of 2)" in capsys.readouterr().out
    table, searches, correct = (pd.read_csv(tmp_path / name) for name in
                                ("protocol.csv", "protocol.searches.csv", "protocol.correct.csv"))
    assert sorted(set(table.split)) == [0, 1] and len(table) == 2 * 6
    assert (searches.groupby(["method", "split"]).size() == 2).all()
    assert set(correct.columns) >= {"mlp", "sgc + C&S", "label propagation"} and len(correct) == sum(
        int(stratified_masks(data.y, split).test.sum()) for split in (0, 1))


def test_the_claims_command_runs_on_a_protocol(tmp_path, monkeypatch, planted_communities):
    from prodassoc_lab.nodes import claims

    data, results = _protocol_files(tmp_path, monkeypatch, planted_communities)
    monkeypatch.setattr(claims, "node_data_once", lambda *options: data)
    out = tmp_path / "claims.csv"
    assert main(["--protocol", str(results), "--experiment", "inputs", "--seed", "0", "--results", str(out)]) == 0
    table = pd.read_csv(out)
    best = table["best graph network"].iloc[0]
    assert best == "sgc" and sorted(set(table.method)) == ["mlp", "sgc"]  # the only graph network run
    assert table.groupby("method").inputs.apply(sorted).tolist() == [["both", "features", "ids"]] * 2
    params, h = table.set_index(["method", "inputs"]).parameters, int(table[table.method == "mlp"].hidden.iloc[0])
    # ids: an embedding of h per node, and a first layer reading h numbers instead of 4 features
    assert params["mlp", "ids"] - params["mlp", "features"] == data.num_nodes * h + h * h - 4 * h
    assert params["mlp", "both"] - params["mlp", "ids"] == 4 * h
    with pytest.raises(SystemExit):
        main(["--protocol", str(results), "--results", str(results.with_suffix(".searches.csv"))])


def test_the_curves_change_one_quantity(planted_communities):
    from prodassoc_lab.nodes.claims import labelled_share_curve, model_size_curve

    data = planted_communities(10, 0.2, 0.01, 4, seed=2)
    searches = pd.DataFrame({"method": ["gcn"], "split": [0], "chosen": [True], "lr": [0.03], "hidden": [32],
                             "dropout": [0.0], "weight_decay": [0.0]})
    shares = pd.DataFrame(labelled_share_curve(data, searches, "gcn", 0, budget=2, shares=(0.25, 1.0))
                          + labelled_share_curve(data, searches, None, 0, budget=2, shares=(0.25, 1.0)))
    n_train = int(stratified_masks(data.y, 0).train.sum())
    assert shares["training products"].tolist() == [round(0.25 * n_train), n_train] * 2
    assert shares.method.tolist() == ["gcn", "gcn", "label propagation", "label propagation"]
    sizes = pd.DataFrame(model_size_curve(data, searches, "gcn", 0, widths=(4, 16), depths=(3,)))
    assert list(zip(sizes.hidden, sizes.layers, strict=True)) == [(4, 2), (16, 2), (32, 3)]
    assert sizes.parameters.tolist() == [4 * 4 + 4 + 4 * 3 + 3, 4 * 16 + 16 + 16 * 3 + 3,
                                         4 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3]


def test_a_budget_larger_than_a_space_fails_before_training(planted_communities, monkeypatch):
    from prodassoc_lab.nodes import experiment

    data = planted_communities(5, 0.3, 0.05, 4, seed=0)
    monkeypatch.setattr(experiment, "search_node_classifier", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match="budget=26 configurations, but the space holds only 25"):
        experiment.protocol_network(data, 0, "mlp", budget=26)
    with pytest.raises(ValueError, match="budget=20 configurations, but the space holds only 19"):
        experiment.check_protocol_methods(("mlp",), (), (0,), budget=20)
