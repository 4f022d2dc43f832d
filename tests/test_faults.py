"""Bad inputs and faults that once gave a silent wrong result or a raw traceback.

Each case asserts the error type and that the message names what is wrong:
the argument, the column, the file or the number.
"""

from __future__ import annotations

import multiprocessing
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sympy
import torch
from torch_geometric.data import Data

from prodassoc_lab import datasets
from prodassoc_lab.attention import MultiHeadSelfAttention, scaled_dot_product_attention
from prodassoc_lab.completion import CompletionTask, completion_task, rank_metrics
from prodassoc_lab.data import (
    BasketMatrix,
    TransactionDataError,
    basket_matrix,
    clean_transactions,
    filter_products,
    read_transactions,
    select_products,
    standardize_transactions,
)
from prodassoc_lab.exact import to_exact
from prodassoc_lab.features import product_features
from prodassoc_lab.graph import ProductGraph, product_graph
from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.nodes.baselines import label_propagation
from prodassoc_lab.nodes.evaluation import accuracy, as_masks, stratified_masks, summarize
from prodassoc_lab.nodes.experiment import NodeTraining, compare_models, train_node_classifier
from prodassoc_lab.nodes.models import NodeClassifier
from prodassoc_lab.pyg_data import sparse_adjacency
from prodassoc_lab.reproducibility import book_threads, check_close, set_seed
from prodassoc_lab.rules import lift, npmi
from prodassoc_lab.training import save_checkpoint
from prodassoc_lab.validation import non_negative_float, positive_float, positive_int, seed_value


def tiny_graph(ids=(10, 20, 30, 40)) -> ProductGraph:
    nodes = pd.DataFrame({"product_id": list(ids), "department": ["A", "A", "B", "B"]})
    edges = pd.DataFrame({"source": [0, 1, 2, 0], "target": [1, 2, 3, 3], "weight": [0.5, 0.2, 0.9, 0.1]})
    return ProductGraph(nodes, edges, "npmi")


def communities() -> Data:
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(60) // 20
    upper = torch.triu(torch.rand(60, 60, generator=generator) < torch.where(y[:, None] == y, 0.3, 0.01), 1)
    edges = upper.nonzero().T
    return sparse_adjacency(Data(x=torch.randn(60, 4, generator=generator), y=y,
                                 edge_index=torch.cat([edges, edges.flip(0)], 1), num_nodes=60))


# --- the product graph ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "edges", "message"),
    [
        (pd.DataFrame({"product_id": [1, 1, 2]}), pd.DataFrame({"source": [0], "target": [1], "weight": [1.0]}),
         r"repeats product ids, e.g. \[1\]"),
        (pd.DataFrame({"product_id": [1, 2]}), pd.DataFrame({"source": [0], "target": [5], "weight": [1.0]}),
         r"source and target must be node positions, integers in \[0, 2\)"),
        (pd.DataFrame({"product_id": [1, 2]}), pd.DataFrame({"source": [0], "target": [1], "weight": [np.nan]}),
         "every weight must be a finite number"),
        (pd.DataFrame({"sku": [1, 2]}), pd.DataFrame({"source": [0], "target": [1], "weight": [1.0]}),
         r"ProductGraph.nodes: missing column\(s\) \['product_id'\]"),
        (pd.DataFrame({"product_id": [1, 2]}), pd.DataFrame({"source": [0], "target": [1]}),
         r"ProductGraph.edges: missing column\(s\) \['weight'\]"),
    ],
)
def test_a_bad_product_graph_is_refused(nodes, edges, message):
    with pytest.raises(ValueError, match=message):
        ProductGraph(nodes, edges, "npmi")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (np.array([2**63, 1, 2, 3], dtype=np.uint64), "integers within int64"),
        (["a", "b", "c", "d"], "integers within int64; got dtype"),
    ],
)
def test_to_pyg_refuses_ids_it_cannot_store(ids, message):
    with pytest.raises(ValueError, match=message):
        tiny_graph(ids).to_pyg()


def test_homophily_works_with_string_ids():
    result = tiny_graph(["a", "b", "c", "d"]).homophily(labels=("department",))
    assert result.loc["department", "edges used"] == 4


# --- training ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({"lr": 0.0}, "lr must be a finite positive number, got 0.0"),
        ({"lr": float("inf")}, "lr must be a finite positive number, got inf"),
        ({"lr": float("nan")}, "lr must be a finite positive number, got nan"),
        ({"hidden": 0}, "hidden must be a positive integer, got 0"),
        ({"hidden": 2.5}, "hidden must be a positive integer, got 2.5"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"patience": -1}, "patience must be a positive integer, got -1"),
        ({"weight_decay": -1e-4}, "weight_decay must be a finite non-negative number"),
    ],
)
def test_bad_training_arguments_are_refused_by_name(argument, message):
    data = communities()
    with pytest.raises(ValueError, match=message):
        train_node_classifier(data, stratified_masks(data.y, 0), "mlp", seed=0, settings=NodeTraining(**argument))


def test_diverging_training_is_an_error_not_a_result():
    data = communities()
    with pytest.raises(FloatingPointError,
                       match=r"gcn: (the training loss is (nan|inf) at epoch|validating epoch \d+, scores has).*"
                             "training diverged"):
        train_node_classifier(data, stratified_masks(data.y, 0), "gcn", seed=0,
                              settings=NodeTraining(lr=1e20, epochs=50))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_edge_weights_are_refused(bad):
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_weight=torch.tensor([1.0, bad]), num_nodes=2)
    with pytest.raises(ValueError, match="edge_weight has 1 NaN or infinite value"):
        sparse_adjacency(data)


# --- checkpoints ---------------------------------------------------------------------------


def test_a_failed_checkpoint_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "best.pt"
    save_checkpoint({"w": torch.ones(2)}, path)

    def disk_full(state, target):
        Path(target).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint({"w": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["w"].equal(torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]  # no temporary file left behind


def test_a_symlinked_checkpoint_is_refused(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / "best.pt").symlink_to(target)
    with pytest.raises(ValueError, match="best.pt is a symbolic link"):
        save_checkpoint({"w": torch.ones(1)}, tmp_path / "best.pt")
    assert target.read_text() == "keep me"


# --- the graph cache -----------------------------------------------------------------------


def test_an_empty_cache_variable_is_refused(monkeypatch):
    monkeypatch.setenv("PRODASSOC_LAB_CACHE", "")
    with pytest.raises(ValueError, match="PRODASSOC_LAB_CACHE is set but empty"):
        datasets.cache_dir()


@pytest.mark.parametrize("damage", ["truncate", "empty file", "no rows"])
def test_a_damaged_cache_is_rebuilt_with_a_message(tmp_path, damage):
    datasets._write_cached_graph(tmp_path, tiny_graph())
    edges = tmp_path / "edges.parquet"
    if damage == "truncate":
        edges.write_bytes(edges.read_bytes()[:40])
    elif damage == "empty file":
        edges.write_bytes(b"")
    else:
        tiny_graph().edges.iloc[:0].to_parquet(edges)
    with pytest.warns(UserWarning, match=f"the cached graph in {tmp_path} cannot be read"):
        assert datasets._read_cached_graph(tmp_path, "npmi") is None


def _write_many(folder: str) -> None:
    for _ in range(30):
        datasets._write_cached_graph(Path(folder), tiny_graph())


def _read_many(folder: str, failures) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning means the reader saw a broken file
        for _ in range(60):
            try:
                graph = datasets._read_cached_graph(Path(folder), "npmi")
                assert graph is None or graph.edges.equals(tiny_graph().edges)
            except Exception as exc:  # noqa: BLE001 - counted, then reported by the test
                failures.append(repr(exc))


def test_concurrent_cache_writers_never_show_a_reader_a_broken_file(tmp_path):
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        failures = manager.list()
        workers = [context.Process(target=_write_many, args=(str(tmp_path),)) for _ in range(2)]
        workers.append(context.Process(target=_read_many, args=(str(tmp_path), failures)))
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert [worker.exitcode for worker in workers] == [0, 0, 0]
        assert list(failures) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edges.parquet", "nodes.parquet"]


# --- one validation helper, one wording --------------------------------------------------


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (positive_int, 0, "n must be a positive integer, got 0"),
        (positive_int, -3, "n must be a positive integer, got -3"),
        (positive_int, 2.5, "n must be a positive integer, got 2.5"),
        (positive_int, True, "n must be a positive integer, got True"),
        (positive_int, "5", "n must be a positive integer, got '5'"),
        (seed_value, -1, r"n must be an integer ≥ 0 and < 4294967296, got -1"),
        (seed_value, 2**32, r"n must be an integer ≥ 0 and < 4294967296, got 4294967296"),
        (positive_float, 0.0, "n must be a finite positive number, got 0.0"),
        (positive_float, float("inf"), "n must be a finite positive number, got inf"),
        (positive_float, "0.1", "n must be a finite positive number, got '0.1'"),
        (non_negative_float, -1e-9, "n must be a finite non-negative number"),
        (non_negative_float, float("nan"), "n must be a finite non-negative number, got nan"),
    ],
)
def test_the_validation_helpers_name_the_argument_and_value(check, value, message):
    with pytest.raises(ValueError, match=message):
        check(value, "n")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: NodeClassifier("gat", 4, 30, 3), "hidden must be a multiple of 4, got 30"),
        (lambda: NodeClassifier("gcn", 4, 0, 3), "hidden must be a positive integer, got 0"),
        (lambda: NodeClassifier("mlp", 4, 8, 3, dropout=1.0), r"dropout must be in \[0, 1\), got 1.0"),
        (lambda: NodeClassifier("transformer", 4, 8, 3), "unknown model 'transformer'"),
        (lambda: MultiHeadSelfAttention(8, 0), "num_heads must be a positive integer, got 0"),
        (lambda: MultiHeadSelfAttention(0, 1), "embed_dim must be a positive integer, got 0"),
        (lambda: set_seed(2**32), "seed must be an integer ≥ 0 and < 4294967296"),
        (lambda: stratified_masks(torch.full((10,), -1), seed=0), "no node has a label"),
        (lambda: stratified_masks(torch.zeros(10, dtype=torch.long), seed=-1), "seed must be an integer ≥ 0"),
    ],
)
def test_bad_model_and_split_arguments_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({"n_test": -1}, "n_test must be a positive integer, got -1"),
        ({"max_context": 1.5}, "max_context must be a positive integer, got 1.5"),
        ({"seed": -2}, "seed must be an integer ≥ 0"),
    ],
)
def test_bad_completion_task_arguments_are_refused(argument, message):
    lines = pd.DataFrame({"basket_id": [0, 0, 1, 1, 2, 2], "product_id": [1, 2, 1, 3, 2, 3]})
    baskets = basket_matrix(lines)
    arguments = {"is_test": np.array([False, False, True]), "n_test": 1, "max_context": 2, "seed": 0} | argument
    with pytest.raises(ValueError, match=message):
        completion_task(baskets, **arguments)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_empty_or_unlabelled_masks_are_refused_before_training(which):
    data = communities()
    masks = list(stratified_masks(data.y, 0))
    masks[which] = torch.zeros_like(masks[which])
    name = ("train", "validation", "test")[which]
    with pytest.raises(ValueError, match=f"the {name} mask selects no node"):
        train_node_classifier(data, tuple(masks), "mlp", seed=0)


def test_a_mask_of_the_wrong_length_is_refused():
    data = communities()
    masks = stratified_masks(data.y, 0)
    with pytest.raises(ValueError, match="the validation mask must be a boolean tensor of 60 entries"):
        train_node_classifier(data, (masks[0], masks[1][:50], masks[2]), "mlp", seed=0)


def test_repeated_products_in_the_product_table_are_refused():
    lines = pd.DataFrame({"basket_id": [0, 0, 1, 1], "product_id": [1, 2, 1, 2]})
    products = pd.DataFrame({"product_id": [1, 2, 2], "department": ["A", "B", "C"]})
    with pytest.raises(TransactionDataError, match=r"products: 1 product id\(s\) appear more than once, e.g. \[2\]"):
        product_graph(basket_matrix(lines), products, weight="count", min_count=1)


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        (lambda: (torch.eye(3), [[0, 1], [1, 0]]), TypeError, "edge_index must be a torch.Tensor, got list"),
        (lambda: (torch.eye(3, dtype=torch.float64), torch.tensor([[0, 1], [1, 0]])), TypeError,
         "x is torch.float64 but the layer's weights are torch.float32"),
    ],
)
def test_the_articles_layer_names_a_wrong_input(inputs, error, message):
    with pytest.raises(error, match=message):
        SeedGraphConv(3, 2)(*inputs())


# --- found by an adversarial review: each was a silent wrong result, a crash or a raw traceback ---


def _shop() -> pd.DataFrame:
    return pd.DataFrame({"b": [1, 1, 2, 2, 3], "p": [10, 11, 10, 11, 12], "q": [1, 2, 1, 1, 1],
                         "s": [1.0, 2.0, 1.0, 1.0, 1.0]})


def _small_data() -> tuple[Data, tuple]:
    data = communities()
    return data, stratified_masks(data.y, 0)


def _task(hidden, context, n_products=3):
    return CompletionTask([], [np.array(c) for c in context], np.array(hidden, dtype=int), n_products)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: sparse_adjacency(Data(edge_index=torch.tensor([[0], [5]]), num_nodes=3)), ValueError,
         r"edge_index must hold node indices in \[0, 3\); got values from 0 to 5"),
        (lambda: sparse_adjacency(Data(edge_index=torch.tensor([[5], [0]]), num_nodes=3)), ValueError,
         r"edge_index must hold node indices in \[0, 3\)"),
        (lambda: sparse_adjacency(Data(edge_index=torch.tensor([[-1], [0]]), num_nodes=3)), ValueError,
         "got values from -1 to 0"),
        (lambda: sparse_adjacency(Data(edge_index=torch.tensor([[0], [1]]), edge_weight=torch.tensor([1.0, 2.0]),
                                       num_nodes=3)), ValueError, r"edge_weight must have one entry per edge \(1\)"),
        (lambda: standardize_transactions(_shop(), "b", "b"), ValueError, "names one column twice"),
        (lambda: standardize_transactions(_shop(), "b", "p", quantity_col="q", sales_col="q"), ValueError,
         "names one column twice"),
        (lambda: standardize_transactions(_shop().assign(q=[1, np.inf, 1, 1, 1]), "b", "p", quantity_col="q"),
         TransactionDataError, "'q' has 1 infinite value"),
        (lambda: standardize_transactions(_shop().assign(s=[1.0, -np.inf, 1, 1, 1]), "b", "p", sales_col="s"),
         TransactionDataError, "'s' has 1 infinite value"),
        (lambda: clean_transactions(pd.DataFrame({"basket_id": [1, 1], "product_id": [1, 2], "quantity": [1, np.nan]})),
         TransactionDataError, "'quantity' has 1 missing value"),
        (lambda: clean_transactions([[1, 2]]), TransactionDataError, "expected a pandas DataFrame, got list"),
        (lambda: basket_matrix([[1]]), TransactionDataError, "expected a pandas DataFrame, got list"),
        (lambda: select_products(basket_matrix(standardize_transactions(_shop(), "b", "p")), "ab"), TypeError,
         "product ids must be a list"),
        (lambda: BasketMatrix(sp.csr_array(np.ones((1, 2))), pd.Index([1]), pd.Index([1, "1"])),
         TransactionDataError, "product_ids must be all integers or all strings"),
        (lambda: filter_products(np.eye(2), 1), TypeError, "expected a BasketMatrix"),
        (lambda: lift(5, 2, 2, 10), ValueError, "n_ab must lie between 0 and min"),
        (lambda: lift(-1, 2, 2, 10), ValueError, "n_ab must lie between 0 and min"),
        (lambda: lift(0, 0, 1, 10), ValueError, "n_a and n_b must lie between 1 and n"),
        (lambda: lift(1, 1, 1, 0), ValueError, r"n \(the number of baskets\) must be one positive number"),
        (lambda: lift("1", 1, 1, 10), ValueError, "n_ab must hold finite numbers"),
        (lambda: npmi(np.nan, 2, 2, 10), ValueError, "n_ab must hold finite numbers"),
        (lambda: ProductGraph(pd.DataFrame({"product_id": [1, 2]}),
                              pd.DataFrame({"source": [0], "target": [0], "weight": [1.0]}), "npmi"),
         ValueError, "cannot be its own partner"),
        (lambda: ProductGraph(pd.DataFrame({"product_id": [1, 2]}),
                              pd.DataFrame({"source": [0, 1], "target": [1, 0], "weight": [1.0, 2.0]}), "npmi"),
         ValueError, "lists a pair of products more than once"),
        (lambda: ProductGraph(pd.DataFrame({"product_id": [1, 2]}),
                              pd.DataFrame({"source": [0], "target": [1], "weight": [1.0]}), "bogus"),
         ValueError, "weight_name must be one of"),
        (lambda: ProductGraph(pd.DataFrame({"product_id": [1, 2]}),
                              pd.DataFrame({"source": [0], "target": [1], "weight": ["heavy"]}), "npmi"),
         ValueError, "column 'weight' must be numeric"),
        (lambda: tiny_graph().homophily(()), ValueError, "labels must be a non-empty tuple"),
        (lambda: to_exact([sympy.nan]), ValueError, "has no exact finite value"),
        (lambda: to_exact([sympy.oo]), ValueError, "has no exact finite value"),
        (lambda: to_exact(["1/0"]), ValueError, "the text '1/0' is not an exact number"),
        (lambda: SeedGraphConv(True, 3), ValueError, "in_channels must be a positive integer, got True"),
        (lambda: SeedGraphConv(0, 3), ValueError, "in_channels must be a positive integer, got 0"),
        (lambda: SeedGraphConv(2, 2)(torch.eye(3, 2), torch.tensor([[0, 1], [1, 5]])), ValueError,
         r"edge_index must hold node indices in \[0, 3\); got values from 0 to 5"),
        (lambda: scaled_dot_product_attention(torch.randn(3, 0), torch.randn(3, 0), torch.randn(3, 2)), ValueError,
         "at least one feature and one key"),
        (lambda: scaled_dot_product_attention(torch.randn(3, 4), torch.randn(0, 4), torch.randn(0, 2)), ValueError,
         "at least one feature and one key"),
        (lambda: scaled_dot_product_attention(np.ones((3, 4)), torch.ones(3, 4), torch.ones(3, 4)), TypeError,
         "q must be a floating-point torch.Tensor"),
        (lambda: scaled_dot_product_attention(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 4).double()),
         TypeError, "q, k, v must share one dtype"),
        (lambda: scaled_dot_product_attention(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 4),
                                              np.ones((3, 3), bool)), TypeError, "mask must be a boolean torch.Tensor"),
        (lambda: MultiHeadSelfAttention(8, 2)(torch.randn(1, 3, 8).double()), TypeError, "the layer's dtype"),
        (lambda: completion_task(basket_matrix(standardize_transactions(_shop(), "b", "p")),
                                 np.array(["False", "False", "True"]), 1, 1, 0), TypeError, "is_test must be boolean"),
        (lambda: rank_metrics(np.zeros((2, 3)), _task([1, 2], [[0], [1]]), k=0), ValueError,
         "k must be a positive integer, got 0"),
        (lambda: rank_metrics(np.zeros((2, 3)), _task([1, 2], [[0], [1]]), k=True), ValueError,
         "k must be a positive integer, got True"),
        (lambda: rank_metrics(np.zeros((2, 3)), _task([1, 1], [[1], [0]])), ValueError,
         "show their hidden product in the context"),
        (lambda: rank_metrics(np.zeros((2, 3)), _task([1, 5], [[0], [1]])), ValueError,
         r"CompletionTask.hidden must hold integer product positions in \[0, 3\)"),
        (lambda: rank_metrics(np.zeros((0, 3)), _task([], [])), ValueError, "no test query"),
        (lambda: rank_metrics([["a", "b", "c"]] * 2, _task([1, 2], [[0], [1]])), TypeError, "scores must be numbers"),
        (lambda: accuracy(torch.randn(60, 3), torch.zeros(60, dtype=torch.long), torch.zeros(60, dtype=torch.bool)),
         ValueError, "mask selects no node"),
        (lambda: summarize(pd.DataFrame({"method": ["a"], "accuracy": [0.5], "macro-F1": [0.4]})), ValueError,
         "two or more runs"),
        (lambda: summarize(pd.DataFrame({"method": ["a"], "acc": [0.5]})), ValueError,
         r"runs: missing column\(s\) \['accuracy', 'macro-F1'\]"),
        (lambda: as_masks((_small_data()[1][0], _small_data()[1][1], _small_data()[1][0]), _small_data()[0]),
         ValueError, "the train and test masks share"),
        (lambda: as_masks(_small_data()[1], Data(num_nodes=60)), ValueError, "data has no labels y"),
        (lambda: label_propagation(*_small_data(), seed=0, alphas=(1.5,)), ValueError,
         r"every alpha must be a number in \(0, 1\]"),
        (lambda: label_propagation(*_small_data(), seed=0, alphas=()), ValueError, "alphas must be a non-empty tuple"),
        (lambda: label_propagation(*_small_data(), seed=0, num_layers=0), ValueError,
         "num_layers must be a positive integer"),
        (lambda: NodeClassifier("gcn", 3, 8, 2, dropout=False), ValueError, r"dropout must be in \[0, 1\), got False"),
        (lambda: NodeClassifier("gcn", 3, 8, 2, dropout="0.5"), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: compare_models(_small_data()[0], "mlp", (0,)), ValueError, "models must be a non-empty tuple"),
        (lambda: compare_models(_small_data()[0], ("mlp",), ()), ValueError, "seeds must be a non-empty tuple"),
        (lambda: train_node_classifier(*_small_data(), "mlp", seed=0, settings=NodeTraining(device="tpu")), ValueError,
         "device must be 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
        (lambda: save_checkpoint({}, 5), TypeError, "path must be a file path, got int"),
        (lambda: save_checkpoint({}, "/no/such/folder/x.pt"), ValueError, "folder /no/such/folder does not exist"),
        (lambda: positive_float(10**400, "lr"), ValueError,
         "lr must be a finite positive number, got an integer too large"),
        (lambda: check_close("abc", 1.0, 0.1, "x"), TypeError, "x: the value must be a number, got str"),
        (lambda: check_close(10**400, 1.0, 0.1, "x"), AssertionError, "x: got inf, not a finite number"),
        (lambda: stratified_masks(np.zeros(10, dtype=int), 0), TypeError, "y must be a 1-D integer torch.Tensor"),
        (lambda: stratified_masks(torch.zeros(10, dtype=torch.long), 0, train=1.5), ValueError,
         r"train must be in \(0, 1\), got 1.5"),
        (lambda: stratified_masks(torch.zeros(10, dtype=torch.long), 0, train=0.8, val=0.3), ValueError,
         "train \\+ val must leave a test share"),
        (lambda: stratified_masks(torch.tensor([0, 1, 2, 3, -1]), 0), ValueError, "no class has 5 or more labelled"),
    ],
)
def test_reviewed_bad_inputs_get_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_npmi_of_a_pair_never_bought_together_is_minus_one():
    assert npmi(0, 2, 2, 10) == -1.0 and npmi(np.array([0, 2]), 2, 2, 10)[0] == -1.0


def test_a_numpy_float_tolerance_is_accepted():
    check_close(1.0, 1.05, tol=np.float32(0.1), what="x")


@pytest.mark.parametrize("text", ["²", "1" + "0" * 30])
def test_odd_thread_counts_are_refused(monkeypatch, text):
    monkeypatch.setenv("PRODASSOC_LAB_THREADS", text)
    with pytest.raises(ValueError, match="PRODASSOC_LAB_THREADS must be an integer from 1 to 1024"):
        book_threads()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: product_features(pd.DataFrame(), pd.DataFrame(), [1, 2]), TypeError,
         "product_ids must be a pandas Index"),
        (lambda: product_features(pd.DataFrame(), pd.DataFrame(), pd.Index([1])), ValueError, "two or more distinct"),
        (lambda: product_features(pd.DataFrame(), pd.DataFrame(), pd.Index([1, 1])), ValueError,
         "two or more distinct"),
        (lambda: product_graph(basket_matrix(standardize_transactions(_shop(), "b", "p")),
                               pd.DataFrame({"product_id": [10, 11, 12]}), weight="count", min_count=1,
                               min_weight=True),
         ValueError, "min_weight must be a finite number, got True"),
        (lambda: read_transactions(5, "b", "p"), TypeError, "path must be a file path, got int"),
    ],
)
def test_more_arguments_are_checked(call, error, message):
    with pytest.raises(error, match=message):
        call()
