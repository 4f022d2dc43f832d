"""Inputs that used to give a silent wrong answer or a raw error deep inside a library: each now raises
an error that names the argument, the file or the column (trip order, weights files, node indices,
non-finite tensors, mismatched ids, cache and checkpoint paths)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sympy
import torch
from synthetic import household_trips
from torch_geometric.data import Data

from prodassoc_lab import datasets
from prodassoc_lab.attention import scaled_dot_product_attention
from prodassoc_lab.data import TransactionDataError, clean_transactions
from prodassoc_lab.explain import cli as explain_cli
from prodassoc_lab.explain import saved_models
from prodassoc_lab.explain.explainers import computation_edges, local_graph
from prodassoc_lab.layers import SeedGraphConv
from prodassoc_lab.links.models import LinkEncoder, LinkRun, pair_scores
from prodassoc_lab.next_basket.baselines import tifu_knn
from prodassoc_lab.next_basket.task import next_basket_task
from prodassoc_lab.nodes.models import NodeClassifier
from prodassoc_lab.pyg_data import sparse_adjacency
from prodassoc_lab.tensors import NonFiniteError, node_indices
from prodassoc_lab.training import EarlyStopping, train_with_early_stopping

ROOT = Path(__file__).resolve().parent.parent

# --- trip order (next-basket task) ------------------------------------------------------------


def test_timestamps_stored_as_text_are_refused():
    trips = household_trips()
    # day-first text: "02/01/2017" sorts before "31/12/2016" as text
    trips["transaction_timestamp"] = trips.transaction_timestamp.dt.strftime("%d/%m/%Y")
    with pytest.raises(TransactionDataError, match="'transaction_timestamp' holds (object|str) values.*sort as text"):
        next_basket_task(trips, n_products=10, min_history=2)


def test_a_trip_without_a_timestamp_is_refused():
    trips = household_trips()
    trips.loc[3, "transaction_timestamp"] = pd.NaT
    with pytest.raises(TransactionDataError, match="'transaction_timestamp' has 1 missing value"):
        next_basket_task(trips, n_products=10, min_history=2)


def test_numeric_timestamps_order_trips_like_datetimes():
    trips = household_trips()
    as_days = trips.assign(transaction_timestamp=(trips.transaction_timestamp - pd.Timestamp("2017-01-01")).dt.days)
    by_date, by_day = (next_basket_task(t, n_products=10, min_history=2) for t in (trips, as_days))
    assert by_date.basket_ids.equals(by_day.basket_ids)


# --- damaged weights files --------------------------------------------------------------------


@pytest.fixture
def saved_encoder(tmp_path) -> Path:
    path = tmp_path / "encoder.pt"
    torch.save(LinkEncoder("gcn", 3).state_dict(), path)
    return path


@pytest.mark.parametrize("damage", ["truncated", "empty", "text"])
def test_a_damaged_weights_file_is_named(saved_encoder, damage):
    if damage == "truncated":
        saved_encoder.write_bytes(saved_encoder.read_bytes()[:100])
    elif damage == "empty":
        saved_encoder.write_bytes(b"")
    else:
        saved_encoder.write_text("not weights")
    with pytest.raises(ValueError, match=f"{saved_encoder} is not a readable weights file"):
        saved_models.load_link_encoder(saved_encoder, 3)


def test_nan_weights_are_refused(saved_encoder):
    state = torch.load(saved_encoder, weights_only=True)
    state["first.lin.weight"][0, 0] = float("nan")
    torch.save(state, saved_encoder)
    with pytest.raises(ValueError, match=r"holds NaN or infinite weights in \['first.lin.weight'\]"):
        saved_models.load_link_encoder(saved_encoder, 3)


def test_a_pickle_of_anything_but_tensors_is_still_refused(tmp_path):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(os.getcwd))  # a callable: weights_only must not unpickle it
    with pytest.raises(ValueError, match="is not a readable weights file"):
        saved_models.load_link_encoder(path, 3)


def test_a_file_of_another_kind_is_refused(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.ones(1)], path)
    with pytest.raises(ValueError, match="does not hold a state dict"):
        saved_models.load_link_encoder(path, 3)


# --- node indices -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 5])
def test_pair_indices_outside_the_nodes_are_refused(bad):
    embeddings, bias = torch.randn(5, 2), torch.zeros(5)
    with pytest.raises(ValueError, match=r"pairs must hold node indices in \[0, 5\); got values from"):
        pair_scores(embeddings, bias, torch.tensor([[0, bad], [1, 2]]))


def test_query_indices_outside_the_nodes_are_refused():
    run = LinkRun("gcn", 0, LinkEncoder("gcn", 3), torch.randn(4, 2), torch.zeros(4))
    with pytest.raises(ValueError, match=r"queries must hold node indices in \[0, 4\)"):
        run.scores(np.array([0, -1]))
    with pytest.raises(TypeError, match="queries must hold integer node indices"):
        run.scores(np.array([0.0, 1.0]))


def test_explained_nodes_outside_the_graph_are_refused():
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
    with pytest.raises(ValueError, match=r"targets must hold node indices in \[0, 3\)"):
        local_graph(torch.ones(3, 2), edge_index, torch.ones(3), torch.tensor([-1]), hops=1)
    with pytest.raises(ValueError, match=r"nodes must hold node indices in \[0, 3\)"):
        computation_edges(edge_index, torch.tensor([3]), num_layers=2, num_nodes=3)


def test_node_indices_accept_a_list_and_keep_valid_entries():
    assert node_indices([0, 2], 3, "nodes").tolist() == [0, 2]
    with pytest.raises(TypeError, match="nodes must hold integer node indices"):
        node_indices(["a"], 3, "nodes")


# --- non-finite tensors and wrongly sized graphs ----------------------------------------------


def test_a_nan_edge_weight_in_the_article_layer_is_refused():
    layer = SeedGraphConv(2, 2)
    edge_index = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(NonFiniteError, match="edge_weight has 1 NaN or infinite value"):
        layer(torch.ones(2, 2), edge_index, torch.tensor([1.0, float("nan")]))
    adjacency = torch.sparse_coo_tensor(edge_index, torch.tensor([1.0, float("inf")]), (2, 2)).to_sparse_csr()
    with pytest.raises(NonFiniteError, match="the adjacency has 1 NaN or infinite value"):
        layer(torch.ones(2, 2), adjacency)


def test_nan_features_are_refused():
    with pytest.raises(NonFiniteError, match="x has 1 NaN"):
        SeedGraphConv(2, 2)(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), torch.tensor([[0], [1]]))


def test_an_infinite_attention_key_is_refused():
    k = torch.randn(3, 4)
    k[1, 0] = -float("inf")
    with pytest.raises(NonFiniteError, match="k has 1 NaN or infinite value"):
        scaled_dot_product_attention(torch.randn(2, 4), k, torch.randn(3, 4))


def _csr(n: int) -> torch.Tensor:
    data = sparse_adjacency(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=n))
    return data.adj_t


@pytest.mark.parametrize("model", [lambda: LinkEncoder("gcn", 2), lambda: NodeClassifier("gcn", 2, 4, 3),
                                   lambda: NodeClassifier("sage", 2, 4, 3)])
def test_a_wrongly_sized_adjacency_is_named(model):
    with pytest.raises(ValueError, match=r"the sparse adjacency must be 3×3 to match x, got \(4, 4\)"):
        model()(torch.ones(3, 2), _csr(4))


# --- ids, timestamps and messages that point at the right thing --------------------------------


def test_text_product_ids_against_integer_ones_are_named():
    transactions = pd.DataFrame({"basket_id": [1, 1], "product_id": ["7", "8"], "quantity": [1, 1],
                                 "sales_value": [1.0, 2.0]})
    with pytest.raises(TransactionDataError, match="product_id is string in transactions but integer in products"):
        clean_transactions(transactions, pd.DataFrame({"product_id": [7, 8]}))


def test_cleaning_that_removes_everything_names_the_rule():
    transactions = pd.DataFrame({"basket_id": [1, 1], "product_id": [7, 8], "quantity": [1, 1],
                                 "sales_value": [1.0, 2.0]})
    with pytest.raises(TransactionDataError, match="most went by the rule 'product not in product table'"):
        clean_transactions(transactions, pd.DataFrame({"product_id": [9]}))


def test_tifu_knn_says_how_many_households_there_are():
    task = next_basket_task(household_trips(n_households=2), n_products=10, min_history=2)
    with pytest.raises(ValueError, match=r"the task has 2 households, so each has only 1 other\(s\)"):
        tifu_knn(task, "validation", neighbours=300)
    assert tifu_knn(task, "validation", neighbours=1).shape == (2, 10)  # n - 1 neighbours is allowed


# --- checkpoints and the cache: refused before the work, files follow the umask ----------------


def test_a_checkpoint_in_a_missing_folder_is_refused_before_training(tmp_path):
    model, steps = torch.nn.Linear(1, 1), []
    with pytest.raises(ValueError, match="checkpoint: folder .*missing does not exist"):
        train_with_early_stopping(model, lambda: steps.append(1) or 0.0, lambda: 0.0, EarlyStopping(2),
                                  checkpoint=tmp_path / "missing" / "best.pt")
    assert steps == []


def test_a_cache_that_cannot_be_written_is_refused_before_the_build(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("PRODASSOC_LAB_CACHE", str(tmp_path / "file"))
    monkeypatch.setattr(datasets, "complete_journey_matrices", lambda *a: pytest.fail("built the graph"))
    with pytest.raises(ValueError, match="cannot write the graph cache in .*set PRODASSOC_LAB_CACHE"):
        datasets.load_product_graph("basket")


def test_cached_tables_follow_the_umask(tmp_path):
    from test_faults import tiny_graph

    old = os.umask(0o022)
    try:
        datasets._write_cached_graph(tmp_path, tiny_graph())
    finally:
        os.umask(old)
    assert {(path.stat().st_mode & 0o777) for path in tmp_path.iterdir()} == {0o644}


def _command(module: str, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=60)
    return result, time.perf_counter() - start


@pytest.mark.parametrize("cache", ["", "/proc/prodassoc_lab_cache"])
def test_the_node_command_refuses_an_unusable_cache_at_once(cache):
    result, seconds = _command("prodassoc_lab.nodes", "--graph", "basket", "--top-k", "7",
                               env={"PRODASSOC_LAB_CACHE": cache})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "PRODASSOC_LAB_CACHE" in result.stderr and seconds < 5


def test_the_explain_command_refuses_a_linked_weights_file(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / explain_cli.WEIGHT_FILES[0]).symlink_to(target)
    result, _ = _command("prodassoc_lab.explain", "--out", str(tmp_path))
    assert result.returncode == 2 and "is a symbolic link" in result.stderr
    assert target.read_text() == "keep me"


def test_the_explain_command_names_the_files_it_writes():
    assert explain_cli.WEIGHT_FILES == (saved_models.LINK_ENCODER, saved_models.BASKET_SASREC)


# --- found by the adversarial pass ------------------------------------------------------------


def test_a_read_only_file_is_not_replaced(tmp_path, monkeypatch):
    from prodassoc_lab.cli import write_table

    target = tmp_path / "table.csv"
    target.write_text("keep")
    real_access = os.access
    # the tests run as root, for whom os.access says yes to everything: answer as another user would
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == target else real_access(p, mode))
    with pytest.raises(ValueError, match="table.csv is read-only; it is not replaced"):
        write_table(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "keep"


def test_missing_ids_are_refused_by_the_cleaning():
    transactions = pd.DataFrame({"basket_id": [1, 1, 2], "product_id": [10, np.nan, 10]})
    with pytest.raises(TransactionDataError, match="'product_id' has 1 missing id"):
        clean_transactions(transactions)


def test_a_household_without_an_id_is_refused_by_the_next_basket_task():
    trips = household_trips()
    trips["household_id"] = trips.household_id.astype(float)
    trips.loc[0, "household_id"] = np.nan
    with pytest.raises(TransactionDataError, match="'household_id' has 1 missing id"):
        next_basket_task(trips, n_products=10, min_history=2)


def test_overflowing_attention_scores_are_refused():
    q = torch.ones(2, 4) * 1e30
    with pytest.raises(NonFiniteError, match="the scores q kᵀ / √d_k"):
        scaled_dot_product_attention(q, q, torch.ones(2, 4))


def test_require_finite_counts_exactly_and_accepts_a_sum_that_overflows():
    from prodassoc_lab.tensors import require_finite

    huge = torch.full((4,), 3e38)  # float32: finite entries whose sum is +inf
    require_finite(huge, "huge")
    with pytest.raises(NonFiniteError, match=r"x has 2 NaN or infinite"):
        require_finite(torch.tensor([1.0, float("nan"), float("-inf"), 2.0]), "x")
    with pytest.raises(NonFiniteError, match=r"y has 1 NaN"):
        require_finite(torch.tensor([float("inf"), float("-inf")])[:1], "y")


def test_ranking_refuses_nan_targets_and_positions_below_minus_one():
    from prodassoc_lab.ranking import listed_in, query_metrics

    with pytest.raises(ValueError, match="targets stores 1 NaN, infinite or negative"):
        query_metrics(np.array([[0, 1]]), sp.csr_array(np.array([[np.nan, 1.0, 0.0]])))
    with pytest.raises(ValueError, match="entries in -1 … 2"):
        listed_in(np.array([[-5, 1]]), sp.csr_array(np.eye(1, 3)))


def test_settings_and_records_refuse_values_that_would_mislead():
    from prodassoc_lab.reproducibility import check_close

    with pytest.raises(ValueError, match="higher_is_better must be True or False, got 'no'"):
        EarlyStopping(5, higher_is_better="no")
    with pytest.raises(TypeError, match="must be a number"):
        check_close(np.complex128(1 + 5j), 1.0, 0.1, "x")


def test_a_provenance_record_with_nan_is_refused(tmp_path):
    from prodassoc_lab.provenance import provenance_path, write_provenance

    (tmp_path / "r.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="cannot be written as JSON"):
        write_provenance(tmp_path / "r.csv", extra={"x": float("nan")})
    assert not provenance_path(tmp_path / "r.csv").exists()


@pytest.mark.parametrize(("mask", "message"), [
    (torch.tensor([-1]), r"mask must hold node indices in \[0, 3\)"),
    (torch.tensor([0, 0]), "names a node more than once"),
    (torch.tensor([2]), "without a label"),
])
def test_accuracy_refuses_indices_that_would_miscount(mask, message):
    from prodassoc_lab.nodes.evaluation import accuracy

    with pytest.raises(ValueError, match=message):
        accuracy(torch.eye(3), torch.tensor([0, 1, -1]), mask)


def test_accuracy_refuses_nan_scores():
    from prodassoc_lab.nodes.evaluation import accuracy

    with pytest.raises(NonFiniteError, match="scores has 3 NaN"):
        accuracy(torch.full((3, 3), float("nan")), torch.tensor([0, 1, 2]), torch.tensor([0]))


def test_repeated_seeds_are_refused(planted_communities):
    from prodassoc_lab.nodes.experiment import compare_models

    with pytest.raises(ValueError, match="seeds must be distinct"):
        compare_models(planted_communities(10, 0.5, 0.05, 4), ("mlp",), (0, 0), epochs=2)


def test_time_split_refuses_lines_without_a_week():
    from test_links import weekly_shop

    from prodassoc_lab.links.task import time_split

    transactions, products = weekly_shop()
    transactions["week"] = transactions.week.astype("Int64")
    transactions.loc[0, "week"] = pd.NA
    with pytest.raises(ValueError, match="week has 1 missing value"):
        time_split(transactions, products, cutoff_week=2, min_baskets=20, min_new_baskets=5)


def test_pair_tasks_and_attribute_encoders_refuse_bad_positions():
    from prodassoc_lab.links.cold_start import AttributeTraining, fit_attribute_encoder
    from prodassoc_lab.links.evaluation import pair_task

    with pytest.raises(TypeError, match="source must hold integer node indices"):
        pair_task("t", np.array([0.5]), np.array([1]), sp.csr_array((3, 3)))
    with pytest.raises(ValueError, match=r"t: target must hold node indices in \[0, 3\)"):
        pair_task("t", np.array([0]), np.array([-1]), sp.csr_array((3, 3)))
    with pytest.raises(ValueError, match=r"edge_index must hold node indices in \[0, 3\)"):
        fit_attribute_encoder(torch.ones(3, 2), torch.ones(3, 2), torch.zeros(3), torch.tensor([[0, 1], [1, -1]]),
                              seed=0, settings=AttributeTraining(epochs=2))


def test_hybrid_lists_refuse_a_repeated_product_and_a_bad_k():
    from prodassoc_lab.next_basket.experiment import hybrid_lists

    with pytest.raises(ValueError, match="names a product twice"):
        hybrid_lists(np.array([[0, -1, -1]]), np.array([[4, 4, 4]]), 1, 3)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        hybrid_lists(np.array([[0]]), np.array([[4]]), 0, 0)


def test_fidelity_summary_refuses_an_empty_table():
    from prodassoc_lab.explain.explainers import fidelity_summary

    with pytest.raises(ValueError, match="one non-empty table per method"):
        fidelity_summary({"m": pd.DataFrame(columns=["fidelity+", "fidelity-"])})


def test_a_product_graph_with_text_ids_against_integer_ones_is_named(basket_matrix_from_lists):
    from prodassoc_lab.graph import product_graph

    baskets = basket_matrix_from_lists([["1", "2"], ["1", "2"], ["2", "3"]])
    with pytest.raises(TransactionDataError, match="product_id is string in the basket matrix but integer in products"):
        product_graph(baskets, pd.DataFrame({"product_id": [1, 2, 3]}), min_count=1)


def test_graph_arguments_are_checked_before_the_data_loads(monkeypatch, tmp_path):
    monkeypatch.setenv("PRODASSOC_LAB_CACHE", str(tmp_path))
    monkeypatch.setattr(datasets, "complete_journey_matrices", lambda *a: pytest.fail("loaded the data"))
    for arguments, message in ((dict(weight="bogus"), "unknown weight 'bogus'"),
                               (dict(min_baskets=-5), "min_baskets must be a positive integer"),
                               (dict(top_k=0), "top_k must be a positive integer")):
        with pytest.raises(ValueError, match=message):
            datasets.load_product_graph("basket", **arguments)
    assert not any(tmp_path.iterdir())  # no empty cache folder left behind


def test_product_features_refuse_missing_timestamps():
    from test_links import weekly_shop

    from prodassoc_lab.features import product_features

    transactions, products = weekly_shop()
    transactions.loc[0, "transaction_timestamp"] = pd.NaT
    with pytest.raises(TransactionDataError, match="'transaction_timestamp' has 1 missing value"):
        product_features(transactions, products, pd.Index([1, 2, 3]))


@pytest.mark.parametrize(("module", "args", "env", "message"), [
    ("prodassoc_lab.nodes", ["--seed", "0", "1", "0"], {}, "seeds must be distinct"),
    ("prodassoc_lab.links", ["--results", "/tmp/r.csv"], {"PRODASSOC_LAB_THREADS": "abc"},
     "PRODASSOC_LAB_THREADS must be an integer"),
    ("prodassoc_lab.explain", ["--out", ""], {}, "give the folder for the weight files"),
])
def test_commands_refuse_these_at_once(module, args, env, message):
    result, seconds = _command(module, *args, env=env)
    assert result.returncode == 2 and message in result.stderr and seconds < 5, result.stderr


def test_a_command_refuses_a_results_file_whose_record_cannot_be_written(tmp_path):
    (tmp_path / "r.csv.provenance.json").mkdir()
    result, _ = _command("prodassoc_lab.next_basket", "--results", str(tmp_path / "r.csv"))
    assert result.returncode == 2 and "(its provenance record)" in result.stderr, result.stderr


def test_lift_of_counts_near_the_float_limit_is_finite():
    from prodassoc_lab.rules import lift

    assert lift(1e300, 1e300, 1e300, 1e308) == pytest.approx(1e8)


def test_product_features_refuse_uncleaned_lines_and_unlisted_products():
    from test_links import weekly_shop

    from prodassoc_lab.features import product_features

    transactions, products = weekly_shop()
    for column, value in (("quantity", np.nan), ("quantity", 0)):
        bad = transactions.copy()
        bad.loc[bad.product_id == 1, column] = value
        with pytest.raises(TransactionDataError, match="every quantity > 0; clean the lines first"):
            product_features(bad, products, pd.Index([1, 2, 3]))
    with pytest.raises(ValueError, match=r"1 product\(s\) are not in the products table, e\.g\. \[3\]"):
        product_features(transactions, products[products.product_id != 3], pd.Index([1, 2, 3]))


def test_a_completion_task_refuses_mismatched_or_fractional_positions():
    from prodassoc_lab.completion import CompletionTask

    with pytest.raises(ValueError, match="one hidden product per context"):
        CompletionTask([], [np.array([0])], np.array([1, 2]), 3)
    with pytest.raises(ValueError, match="CompletionTask.hidden must hold integer product positions"):
        CompletionTask([], [np.array([0])], np.array([1.5]), 3)


def test_raw_errors_found_by_the_pass_now_name_the_argument():
    from prodassoc_lab.data import select_products, standardize_transactions
    from prodassoc_lab.ranking import query_metrics, top_k
    from prodassoc_lab.rules import pair_statistics

    with pytest.raises(TypeError, match="expected a BasketMatrix"):
        select_products("x", [10])
    with pytest.raises(TypeError, match="expected a BasketMatrix"):
        pair_statistics(np.eye(2))
    table = pd.DataFrame([[1, 2, 3]], columns=["b", "p", "p"])
    with pytest.raises(TransactionDataError, match="more than one column named \\['p'\\]"):
        standardize_transactions(table, "b", "p")
    with pytest.raises(TypeError, match="edge_weight is torch.float64 but x is torch.float32"):
        SeedGraphConv(2, 2)(torch.ones(2, 2), torch.tensor([[0], [1]]), torch.ones(1, dtype=torch.float64))
    with pytest.raises(TypeError, match="edge_index must be a torch.Tensor, got NoneType"):
        SeedGraphConv(2, 2)(torch.ones(2, 2), None)
    with pytest.raises(ValueError, match="top has no column"):
        query_metrics(np.zeros((1, 0), dtype=int), sp.csr_array(np.eye(1, 3)))
    with pytest.raises(TypeError, match="got a sparse one"):
        top_k(sp.csr_array(np.eye(1, 3)), 1)
    with pytest.raises(TypeError, match="validate\\(\\) must return a number, got NoneType"):
        train_with_early_stopping(torch.nn.Linear(1, 1), lambda: 0.0, lambda: None, EarlyStopping(1))


def test_product_features_refuse_a_repeated_product_and_numeric_package_sizes():
    from test_links import weekly_shop

    from prodassoc_lab.features import product_features

    transactions, products = weekly_shop()
    with pytest.raises(TransactionDataError, match="appears more than once"):
        product_features(transactions, pd.concat([products, products.head(1)]), pd.Index([1, 2, 3]))
    with pytest.raises(TransactionDataError, match="package_size must hold text"):
        product_features(transactions, products.assign(package_size=12.0), pd.Index([1, 2, 3]))


def test_unit_prices_refuse_uncleaned_quantities():
    from prodassoc_lab.features import median_unit_price

    lines = pd.DataFrame({"product_id": [1, 2], "quantity": [0, 1], "sales_value": [2.0, 2.0]})
    with pytest.raises(TransactionDataError, match="every quantity > 0"):
        median_unit_price(lines)


def test_a_cached_graph_whose_weight_is_another_column_is_rebuilt(tmp_path):
    from test_faults import tiny_graph

    graph = tiny_graph()
    graph.edges["npmi"], graph.edges["lift"] = graph.edges["weight"], 2.0
    graph.edges["weight"] = graph.edges["lift"]  # a cache written for lift, read under the npmi key
    datasets._write_cached_graph(tmp_path, graph)
    with pytest.warns(UserWarning, match="its weight column is not its 'npmi' column"):
        assert datasets._read_cached_graph(tmp_path, "npmi") is None


def test_ranking_refuses_negative_targets_and_integer_adjacency_weights():
    from prodassoc_lab.ranking import query_metrics

    with pytest.raises(ValueError, match="negative value"):
        query_metrics(np.array([[0, 1]]), sp.csr_array(np.array([[-1.0, 1.0, 0.0]])))
    with pytest.raises(TypeError, match="edge_weight must hold floating-point weights"):
        sparse_adjacency(Data(edge_index=torch.tensor([[0], [1]]), edge_weight=torch.tensor([2]), num_nodes=2))


def test_read_only_index_arrays_are_taken_without_a_warning():
    positions = np.arange(3)
    positions.setflags(write=False)  # as pandas hands out its arrays
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert node_indices(positions, 5, "positions").tolist() == [0, 1, 2]


def test_completion_metrics_take_scores_that_still_require_grad():
    from prodassoc_lab.completion import CompletionTask, rank_metrics

    task = CompletionTask([], [np.array([0]), np.array([1])], np.array([1, 2]), 3)
    scores = torch.tensor([[0.0, 2.0, 1.0], [0.0, 1.0, 2.0]], requires_grad=True)
    assert rank_metrics(scores, task, k=1) == {"Hit@1": 1.0, "MRR": 1.0}


def test_the_remaining_raw_errors_of_the_pass_name_their_argument(monkeypatch, tmp_path):
    from prodassoc_lab.exact import sym_norm_adjacency_exact
    from prodassoc_lab.explain.cost import full_batch_capacity
    from prodassoc_lab.links.evaluation import LinkTask
    from prodassoc_lab.nodes.evaluation import accuracy_and_macro_f1, summarize
    from prodassoc_lab.nodes.experiment import NodeTraining
    from prodassoc_lab.notebook import glue_text
    from prodassoc_lab.reproducibility import RECORD_ENV, check_close

    with pytest.raises(ValueError, match="glue name must be a Python identifier, got 5"):
        glue_text(5, 1)
    with pytest.raises(ValueError, match="glue 'a': cannot format 1.5 with 'd'"):
        glue_text("a", 1.5, "d")
    with pytest.raises(ValueError, match="column 'accuracy' must hold numbers"):
        summarize(pd.DataFrame({"method": ["m", "m"], "accuracy": ["a", "b"], "macro-F1": [0.1, 0.2]}))
    with pytest.raises(ValueError, match="of equal length"):
        accuracy_and_macro_f1(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(TypeError, match="the value must be a number"):
        check_close(np.array([1.0, 2.0]), 1.0, 0.1, "x")
    monkeypatch.setenv(RECORD_ENV, str(tmp_path))
    with pytest.raises(ValueError, match=f"\\${RECORD_ENV} names .* which cannot be appended to"):
        check_close(1.0, 1.0, 0.1, "x")
    monkeypatch.delenv(RECORD_ENV)
    with pytest.raises(ValueError, match="truth must mark a true partner with 1"):
        LinkTask("t", np.array([0]), sp.csr_array(np.array([[1, -1]])), None)
    with pytest.raises(ValueError, match="gives no finite graph size"):
        full_batch_capacity(1e-300, 0, 1e300, 1)
    with pytest.raises(ValueError, match="A must hold numbers, not symbols"):
        sym_norm_adjacency_exact([[0, sympy.Symbol("w")], [1, 0]])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda:99': this machine has 0 CUDA device"):
            NodeTraining(device="cuda:99")


def test_excluded_pairs_outside_the_products_are_refused():
    from test_links import weekly_shop

    from prodassoc_lab.links.task import time_split

    split = time_split(*weekly_shop(), cutoff_week=2, min_baskets=20, min_new_baskets=5)
    with pytest.raises(ValueError, match=r"also_excluded.source must hold node indices"):
        split.new_association_task(also_excluded=pd.DataFrame({"source": [-1], "target": [0]}))


@pytest.mark.real_data
def test_more_products_than_the_data_holds_name_the_option(tmp_path):
    result, _ = _command("prodassoc_lab.next_basket", "--products", "10000000", "--results", str(tmp_path / "r.csv"))
    assert result.returncode == 2 and "--products: n_products=10000000" in result.stderr, result.stderr
    assert not (tmp_path / "r.csv").exists()


def test_reading_a_folder_says_it_is_a_folder(tmp_path):
    from prodassoc_lab.data import read_transactions

    (tmp_path / "lines.csv").mkdir()
    with pytest.raises(TransactionDataError, match="lines.csv: it is a folder"):
        read_transactions(tmp_path / "lines.csv", "basket", "product")


def test_a_writer_that_makes_a_folder_keeps_its_own_error_and_leaves_nothing(tmp_path):
    from prodassoc_lab.files import write_atomically

    def make_a_folder(temporary: Path) -> None:
        temporary.unlink()
        temporary.mkdir()
        raise RuntimeError("the writer's own error")

    with pytest.raises(RuntimeError, match="the writer's own error"):
        write_atomically(tmp_path / "table.csv", make_a_folder)
    assert list(tmp_path.iterdir()) == []


def test_check_close_refuses_numpy_booleans():
    from prodassoc_lab.reproducibility import check_close

    with pytest.raises(TypeError, match="the value must be a number"):
        check_close(np.bool_(True), 1.0, 0.1, "x")
