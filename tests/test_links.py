"""Chapter 8: time split, link heuristics, ranking metrics, link encoders, catalogue features, cold start."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import fisher_exact
from sklearn.exceptions import NotFittedError

from prodassoc_lab.data import basket_matrix
from prodassoc_lab.graph import ProductGraph, product_graph
from prodassoc_lab.links.baselines import adamic_adar, common_neighbours, jaccard, preferential_attachment
from prodassoc_lab.links.cli import main as link_experiment_main
from prodassoc_lab.links.cold_start import AttributeTraining, PartnerPredictor, fit_attribute_encoder
from prodassoc_lab.links.evaluation import LinkTask, link_metrics, sampled_roc_auc, top_candidates
from prodassoc_lab.links.features import CatalogueFeatures, catalogue_text, product_attributes
from prodassoc_lab.links.models import LinkEncoder, LinkTraining, link_data, pair_scores, train_link_encoder
from prodassoc_lab.links.task import time_split
from prodassoc_lab.rules import cooccurrence_p_value

CATALOGUE = {
    # id: department, category, type, brand, maker, package
    1: ("DAIRY", "MILK", "FLUID MILK", "National", 1, "1 GA"),
    2: ("BAKERY", "BREAD", "WHITE BREAD", "Private", 2, "20 OZ"),
    3: ("DAIRY", "BUTTER", "BUTTER", "National", 1, "16 OZ"),
    4: ("PRODUCE", "FRUIT", "BANANAS", "National", 3, "1 LB"),
    5: ("GROCERY", "CEREAL", "KIDS CEREAL", "National", 4, "12 OZ"),
    6: ("GROCERY", "SOUP", "CANNED SOUP", "Private", 2, "10 OZ"),
    7: ("PRODUCE", "VEGETABLES", "CARROTS", "National", 3, "2 LB"),
    8: ("GROCERY", "SNACKS", "CHIPS", "National", 5, "9 OZ"),
    9: ("BAKERY", "BREAD", "RYE BREAD", "National", 2, "16 OZ"),  # new: first sold in week 3
}


def weekly_shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weeks 1-2 before the cut-off, 3-4 after: 1-2 are partners throughout; 1-3 never meet before but
    do after; the new product 9 is bought with 2; everything else is background."""
    rng = np.random.default_rng(0)
    baskets = []
    for week in (1, 2, 3, 4):
        for _ in range(60):
            baskets.append((week, [int(p) for p in rng.choice([4, 5, 6, 7, 8], size=2, replace=False)]))
        baskets += [(week, [1, 2])] * 12 + [(week, [1])] * 4 + [(week, [2])] * 4 + [(week, [3, 4])] * 3
        baskets += [(week, [3])] * 8
        if week >= 3:
            baskets += [(week, [1, 3])] * 15 + [(week, [9, 2])] * 8
    rows = []
    for basket, (week, items) in enumerate(baskets):
        for product in items:
            rows.append({"household_id": basket % 50, "basket_id": basket, "product_id": product, "quantity": 1,
                         "sales_value": 1.0 + product / 10, "retail_disc": 0.0, "coupon_disc": 0.0,
                         "transaction_timestamp": pd.Timestamp("2017-01-02")
                         + pd.Timedelta(days=7 * (week - 1) + basket % 7),
                         "week": week})
    products = pd.DataFrame([(pid, *entry) for pid, entry in CATALOGUE.items()],
                            columns=["product_id", "department", "product_category", "product_type", "brand",
                                     "manufacturer_id", "package_size"])
    return pd.DataFrame(rows), products


@pytest.fixture(scope="module")
def split():
    transactions, products = weekly_shop()
    return time_split(transactions, products, cutoff_week=2, min_baskets=20, min_new_baskets=5)


def test_the_split_sees_only_the_past_and_finds_the_new_pair_and_the_new_product(split):
    known = list(split.known_ids)
    assert 9 not in known and list(split.new_products) == [9]
    ids = split.earlier_graph.nodes.product_id.to_numpy()
    earlier_edges = split.earlier_graph.edges[["source", "target"]].to_numpy()
    earlier_pairs = {tuple(sorted((ids[s], ids[t]))) for s, t in earlier_edges}
    assert (1, 2) in earlier_pairs and (1, 3) not in earlier_pairs  # 1 and 3 meet only after the cut-off
    new = {(known[s], known[t]) for s, t in split.new_pairs[["source", "target"]].to_numpy()}
    assert new == {(1, 3)}
    assert split.cold_pairs.product_id.tolist() == [9] and known[split.cold_pairs.target.item()] == 2


def test_the_tasks_exclude_what_was_already_bought_together(split):
    task = split.new_association_task()
    known = list(split.known_ids)
    assert sorted(known[q] for q in task.queries) == [1, 3]
    row = list(task.queries).index(known.index(1))
    excluded = task.excluded.toarray()[row]
    assert excluded[known.index(1)] and excluded[known.index(2)]  # itself, and a pair bought together 24 times
    assert not excluded[known.index(3)] and task.truth.toarray()[row, known.index(3)] == 1
    cold = split.cold_start_task()
    assert cold.excluded is None and cold.truth.shape == (1, len(known))


@pytest.mark.parametrize("kwargs, message", [
    ({"cutoff_week": 4}, "cutoff_week must be an integer ≥ 1 and < 4"),
    ({"cutoff_week": 0}, "cutoff_week must be an integer ≥ 1"),
    ({"cutoff_week": 2, "min_baskets": 0}, "min_baskets must be a positive integer"),
    ({"cutoff_week": 2, "max_earlier_count": -1}, "max_earlier_count must be an integer ≥ 0"),
])
def test_bad_split_arguments_are_refused(kwargs, message):
    transactions, products = weekly_shop()
    with pytest.raises(ValueError, match=message):
        time_split(transactions, products, **kwargs)


def test_a_split_needs_integer_weeks():
    transactions, products = weekly_shop()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['week'\]; the table has .*; a time split needs"):
        time_split(transactions.drop(columns="week"), products)
    with pytest.raises(ValueError, match="integer week numbers"):
        time_split(transactions.assign(week=transactions.week.astype(float)), products)


def test_the_p_value_is_the_poisson_tail_and_close_to_fisher():
    n_ab, n_a, n_b, n = 12, 300, 200, 20_000
    lam = n_a * n_b / n
    tail = sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(n_ab, 80))
    assert cooccurrence_p_value(n_ab, n_a, n_b, n) == pytest.approx(tail, rel=1e-10)
    exact = fisher_exact([[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]], alternative="greater").pvalue
    # the Poisson variance λ exceeds the hypergeometric one, so its tail is a little heavier
    assert exact < cooccurrence_p_value(n_ab, n_a, n_b, n) < 2 * exact


def test_max_p_value_drops_pairs_that_chance_explains():
    # product 0 is in every basket: it meets 1 five times, exactly as often as chance predicts
    lines = pd.DataFrame([(b, p) for b in range(40) for p in ([0, 1] if b < 5 else [0, 2, 3] if b < 15 else [0])],
                         columns=["basket_id", "product_id"])
    products = pd.DataFrame({"product_id": [0, 1, 2, 3]})
    baskets = basket_matrix(lines)
    plain = product_graph(baskets, products, "npmi", min_count=5)
    tested = product_graph(baskets, products, "npmi", min_count=5, max_p_value=1e-3)
    assert plain.num_edges == 4 and tested.num_edges == 1  # only 2-3 (10 joint baskets, mean 2.5) survives
    assert (tested.edges.p_value < 1e-3).all()
    for bad in (0, 1.5, float("nan"), "0.01"):
        with pytest.raises(ValueError, match="max_p_value must be"):
            product_graph(baskets, products, "npmi", min_count=5, max_p_value=bad)


def random_graph(seed: int = 0, n: int = 30) -> sp.csr_array:
    graph = nx.gnp_random_graph(n, 0.15, seed=seed)
    return sp.csr_array(nx.to_scipy_sparse_array(graph, nodelist=range(n)))


def test_the_heuristics_equal_networkx():
    adjacency = random_graph()
    graph = nx.from_scipy_sparse_array(adjacency)
    queries = np.arange(adjacency.shape[0])
    pairs = [(u, v) for u in range(30) for v in range(30) if u != v]
    for ours, library in ((adamic_adar, nx.adamic_adar_index), (jaccard, nx.jaccard_coefficient),
                          (preferential_attachment, nx.preferential_attachment)):
        scores = ours(adjacency, queries)
        for u, v, value in library(graph, pairs):
            assert scores[u, v] == pytest.approx(value, rel=1e-12, abs=1e-12)
    common = common_neighbours(adjacency, queries)
    for u, v in pairs[:100]:
        assert common[u, v] == len(list(nx.common_neighbors(graph, u, v)))


def test_weights_do_not_change_the_heuristics():
    adjacency = random_graph(1)
    weighted = adjacency * np.random.default_rng(0).uniform(0.1, 2.0, adjacency.shape)
    weighted = sp.csr_array((weighted + weighted.T) / 2)
    queries = np.array([0, 5])
    assert np.array_equal(adamic_adar(adjacency, queries), adamic_adar(weighted, queries))


@pytest.mark.parametrize("adjacency, message", [
    (sp.csr_array(np.array([[0, 1], [0, 0]])), "must be symmetric"),
    (sp.csr_array(np.eye(2)), "self-loops"),
    (np.zeros((2, 2)), "square scipy sparse matrix"),
])
def test_a_bad_adjacency_is_refused(adjacency, message):
    with pytest.raises(ValueError, match=message):
        adamic_adar(adjacency, np.array([0]))


@pytest.mark.parametrize("queries", [np.array([2]), np.array([-1]), np.array([0.5]), np.array([[0]])])
def test_bad_queries_are_refused(queries):
    with pytest.raises(ValueError, match="queries must be a 1-D array of node positions"):
        common_neighbours(sp.csr_array(np.array([[0, 1], [1, 0]])), queries)


def toy_task() -> LinkTask:
    return LinkTask("toy", np.array([0, 1]), sp.csr_array(np.array([[0, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0]])))


def test_link_metrics_equal_a_hand_computation():
    scores = np.array([[0.9, 0.8, 0.7, 0.1, 0.6, 0.0], [0.2, 0.5, 0.1, 0.4, 0.3, 0.0]])
    metrics = link_metrics(scores, toy_task(), k=3)
    assert metrics["Recall@3"] == pytest.approx(0.25)
    assert metrics["NDCG@3"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)) / 2)
    assert metrics["MRR@3"] == pytest.approx(0.25)
    assert link_metrics(scores, toy_task(), k=6)["Recall@6"] == pytest.approx(1.0)


def test_excluded_candidates_are_never_ranked_and_ties_go_to_the_lower_position():
    excluded = sp.csr_array(np.array([[1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]], dtype=bool))
    task = LinkTask("toy", np.array([0, 1]), toy_task().truth, excluded)
    top = top_candidates(np.zeros((2, 6)), task, 3)
    assert top.tolist() == [[1, 2, 3], [0, 1, 2]]


def test_sampled_auc_is_one_for_a_perfect_ranking_and_repeatable():
    task = toy_task()
    perfect = task.truth.toarray().astype(float)
    assert sampled_roc_auc(perfect, task) == 1.0
    noisy = np.random.default_rng(3).random((2, 6))
    assert sampled_roc_auc(noisy, task, seed=5) == sampled_roc_auc(noisy, task, seed=5)


@pytest.mark.parametrize("build, message", [
    (lambda: LinkTask("t", np.array([0]), sp.csr_array(np.zeros((1, 3)))),
     "every query needs at least one true partner"),
    (lambda: LinkTask("t", np.array([0, 1]), sp.csr_array(np.ones((1, 3)))), "one row per query"),
    (lambda: LinkTask("t", np.array([0]), sp.csr_array(np.ones((1, 3))), sp.csr_array(np.ones((1, 3), dtype=bool))),
     "a true partner is excluded"),
    (lambda: link_metrics(np.zeros((2, 5)), toy_task()), r"scores must have shape \(2, 6\)"),
    (lambda: link_metrics(np.full((2, 6), np.nan), toy_task()), "score\\(s\\) are NaN"),
    (lambda: link_metrics(np.zeros((2, 6)), toy_task(), k=0), "k must be a positive integer"),
])
def test_bad_link_tasks_and_scores_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_the_catalogue_text_and_features():
    transactions, products = weekly_shop()
    ids = pd.Index([1, 2, 3, 4, 5, 6, 7, 8])
    attributes = product_attributes(transactions, products, ids)
    assert attributes.unit_price.loc[2] == pytest.approx(1.2)
    text = catalogue_text(attributes)
    assert text.loc[1] == "dept_dairy brand_national maker_1 milk fluid milk 1 ga"
    features = CatalogueFeatures(n_components=3).fit(attributes)
    assert features.transform(attributes).shape == (8, 4) and features.get_feature_names_out()[-1] == "log unit price"
    assert features.get_params() == {"n_components": 3, "seed": 0} and features.fit(attributes) is features
    for method in ("tfidf", "transform", "get_feature_names_out"):
        with pytest.raises(NotFittedError):
            getattr(CatalogueFeatures(), method)(*([attributes] if method != "get_feature_names_out" else []))
    np.testing.assert_array_equal(CatalogueFeatures(n_components=3).fit_transform(attributes),
                                  features.transform(attributes))
    with pytest.raises(ValueError, match="unit_price must be a positive number"):
        features.transform(attributes.assign(unit_price=0.0))
    with pytest.raises(ValueError, match=r"attributes: missing column\(s\) \['brand'\]"):
        catalogue_text(attributes.drop(columns="brand"))
    with pytest.raises(ValueError, match="no purchase line"):
        product_attributes(transactions[transactions.product_id != 5], products, ids)
    with pytest.raises(ValueError, match="n_components=20 needs more"):
        CatalogueFeatures(n_components=20).fit(attributes)


def test_the_encoder_scores_pairs_by_the_formula():
    torch.manual_seed(0)
    encoder = LinkEncoder("gcn", 5, hidden=8)
    x = torch.randn(4, 5)
    adjacency = torch.tensor([[0.0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]).to_sparse_csr()
    z, b = encoder(x, adjacency)
    assert z.shape == (4, 8) and b.shape == (4,)
    pairs = torch.tensor([[0, 2], [1, 3]])
    expected = torch.stack([z[0] @ z[1] + b[0] + b[1], z[2] @ z[3] + b[2] + b[3]])
    assert torch.allclose(pair_scores(z, b, pairs), expected)
    with pytest.raises(ValueError, match="unknown encoder 'gat'"):
        LinkEncoder("gat", 5)


def random_product_graph(n: int = 40) -> ProductGraph:
    edges = nx.to_pandas_edgelist(nx.gnp_random_graph(n, 0.15, seed=2))
    edges = edges.assign(weight=0.5, count=5, npmi=0.5)
    return ProductGraph(pd.DataFrame({"product_id": np.arange(100, 100 + n)}), edges, "npmi")


def test_training_is_repeatable_and_gives_one_embedding_per_product():
    graph = random_product_graph()
    features = pd.DataFrame(np.random.default_rng(0).normal(size=(graph.num_nodes, 6)), index=graph.nodes.product_id)
    data = link_data(features, graph)
    settings = LinkTraining(epochs=20, hidden=8, eval_every=5)
    run = train_link_encoder(data, "sage", seed=0, settings=settings)
    again = train_link_encoder(data, "sage", seed=0, settings=settings)
    assert run.embeddings.shape == (graph.num_nodes, 8) and run.losses == again.losses and len(run.losses) == 20
    assert run.scores(np.array([0, 1])).shape == (2, graph.num_nodes) and 0 < run.best_epoch <= 20
    assert run.training.validated_epochs == [5, 10, 15, 20] and run.val_score == run.training.best_score


def test_too_small_a_graph_for_a_validation_split_is_refused(split):
    transactions, products = weekly_shop()
    known = split.known_ids
    features = pd.DataFrame(np.ones((len(known), 2)), index=known)
    with pytest.raises(ValueError, match="too few edges"):
        train_link_encoder(link_data(features, split.earlier_graph), "gcn", seed=0)


def test_the_cold_start_predictor_ranks_known_products_for_a_new_one():
    transactions, products = weekly_shop()
    ids = pd.Index([1, 2, 3, 4, 5, 6, 7, 8])
    attributes = product_attributes(transactions, products, ids)
    catalogue = CatalogueFeatures(n_components=3).fit(attributes)
    known_features = torch.from_numpy(catalogue.transform(attributes))
    nodes = pd.DataFrame({"product_id": ids, "product_type": attributes.product_type.to_numpy()})
    embeddings, bias = torch.randn(8, 4), torch.zeros(8)
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    encoder, loss = fit_attribute_encoder(known_features, embeddings, bias, edge_index, seed=0,
                                          settings=AttributeTraining(epochs=10))
    assert math.isfinite(loss)
    predictor = PartnerPredictor(catalogue, encoder, embeddings, bias, nodes, known_features)
    new = product_attributes(transactions, products, pd.Index([9]))
    prediction = predictor.predict_partners(new, k=3, n_similar=2)
    assert prediction.partners["rank"].tolist() == [1, 2, 3] and len(prediction.resembles) == 2
    assert prediction.partners.score.is_monotonic_decreasing
    assert np.allclose(prediction.partners.score, np.sort(predictor.scores(new)[0])[::-1][:3])
    with pytest.raises(ValueError, match="non-empty DataFrame"):
        predictor.predict_partners(new.iloc[:0])
    with pytest.raises(ValueError, match="must describe the same products"):
        fit_attribute_encoder(known_features[:2], embeddings, bias, edge_index, seed=0)


def test_link_data_refuses_features_in_another_order(split):
    known = split.known_ids
    features = pd.DataFrame(np.zeros((len(known), 2)), index=known[::-1])
    with pytest.raises(ValueError, match="indexed by product_id in node order"):
        link_data(features, split.earlier_graph)


def test_link_data_refuses_a_feature_twice(split):
    known = split.known_ids
    features = pd.DataFrame(np.zeros((len(known), 3)), index=known, columns=["a", "log unit price", "log unit price"])
    with pytest.raises(ValueError, match=r"features hold column\(s\) \['log unit price'\] more than once"):
        link_data(features, split.earlier_graph)


def test_the_command_line_checks_its_arguments(capsys):
    with pytest.raises(SystemExit):
        link_experiment_main(["--results", "out.txt"])
    assert "--results must name a .csv file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        link_experiment_main(["--model", "gat", "--results", "out.csv"])


def test_a_validation_task_excludes_the_training_pairs(split):
    known = list(split.known_ids)
    pairs = pd.DataFrame({"source": [known.index(1)], "target": [known.index(3)]})
    training = pd.DataFrame({"source": [known.index(1)], "target": [known.index(4)]})
    task = split.new_association_task(pairs, also_excluded=training)
    row = list(task.queries).index(known.index(1))
    assert task.excluded.toarray()[row, known.index(4)] and not task.excluded.toarray()[row, known.index(3)]
    plain = split.new_association_task(pairs)
    assert not plain.excluded.toarray()[row, known.index(4)]


@pytest.mark.parametrize("week", [39, 40, 0, 26.0, True])
def test_a_rehearsal_must_end_before_the_cut_off(week):
    from prodassoc_lab.links.experiment import rehearsal_experiments

    transactions, products = weekly_shop()
    with pytest.raises(ValueError, match="rehearsal_week must be a week number before cutoff_week=39"):
        rehearsal_experiments(transactions, products, cutoff_week=39, rehearsal_week=week)


def test_a_pair_task_asks_both_ends_and_never_ranks_a_query_itself():
    from prodassoc_lab.links.evaluation import pair_task

    linked = sp.csr_array(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    task = pair_task("t", np.array([0]), np.array([2]), linked)
    assert task.queries.tolist() == [0, 2]
    assert task.truth.toarray().tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]
    assert task.excluded.toarray().tolist() == [[True, True, False, False], [False, False, True, False]]
    with pytest.raises(ValueError, match="must be a square n × n matrix"):
        pair_task("t", np.array([0]), np.array([2]), linked[:3])
