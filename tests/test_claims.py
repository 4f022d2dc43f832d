"""Chapter 7's measurements of the article's "large model" claims: fewer labels, deeper and wider
networks, learned product-id embeddings, and the command that runs them."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from prodassoc_lab.nodes.claims import best_network, chosen_settings, fewer_labels, main
from prodassoc_lab.nodes.evaluation import stratified_masks
from prodassoc_lab.nodes.experiment import NodeTraining, train_node_classifier
from prodassoc_lab.nodes.models import NodeClassifier
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
