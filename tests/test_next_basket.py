"""Chapter 9: the next-basket task, its metrics, the baselines, the two models and the hybrid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from synthetic import household_trips
from torch_geometric.metrics import LinkPredHitRatio, LinkPredNDCG, LinkPredRecall
from torch_geometric.nn.models import LightGCN

from prodassoc_lab.attention import MultiHeadSelfAttention
from prodassoc_lab.data import TransactionDataError
from prodassoc_lab.next_basket.baselines import (
    g_top_freq,
    gp_top_freq,
    p_top_freq,
    rule_expansion,
    tifu_knn,
    tifu_vectors,
)
from prodassoc_lab.next_basket.cli import main
from prodassoc_lab.next_basket.evaluation import basket_metrics, recommend
from prodassoc_lab.next_basket.experiment import explore_only, hybrid_lists
from prodassoc_lab.next_basket.models import (
    BasketSASRec,
    LightGCNTraining,
    SASRecTraining,
    basket_windows,
    household_product_adjacency,
    household_product_edges,
    lightgcn_scores,
    sequence_scores,
    symmetric_lightgcn,
    train_basket_sasrec,
    train_lightgcn,
)
from prodassoc_lab.next_basket.task import next_basket_task
from prodassoc_lab.rules import pair_statistics


@pytest.fixture(scope="module")
def task():
    return next_basket_task(household_trips(), n_products=20, min_history=3)


# --- the task -------------------------------------------------------------------------------------------

def test_targets_are_each_households_last_two_baskets(task):
    lines = household_trips()
    kept = lines[lines["product_id"].isin(task.product_ids)]
    for h, household in enumerate(task.households):
        trips = kept[kept["household_id"] == household].sort_values("transaction_timestamp")["basket_id"].unique()
        rows = task.basket_ids[task.offsets[h]:task.offsets[h + 1]]
        assert list(rows) == list(trips)
        assert task.basket_ids[task.target_rows("test")[h]] == trips[-1]
        assert task.basket_ids[task.target_rows("validation")[h]] == trips[-2]


def test_history_counts_match_pandas(task):
    lines = household_trips()
    counts = task.history_counts("test").toarray()
    test_baskets = set(task.basket_ids[task.target_rows("test")])
    history = lines[~lines["basket_id"].isin(test_baskets) & lines["product_id"].isin(task.product_ids)]
    expected = history.groupby(["household_id", "product_id"])["basket_id"].nunique()
    for (household, product), n in expected.items():
        assert counts[task.households.get_loc(household), task.product_ids.get_loc(product)] == n
    assert counts.sum() == expected.sum()


def test_derived_matrices_are_built_once_and_handed_out_as_copies(task, monkeypatch):
    first = task.history_counts("validation")
    first.data[:] = 0  # a caller changing its copy must not change the task
    monkeypatch.setattr(type(task), "history_rows", lambda self, stage: pytest.fail("history counts rebuilt"))
    again = task.history_counts("validation")
    assert again.sum() > 0 and again is not first
    assert (task.targets("test") != task.targets("test")).nnz == 0
    with pytest.raises(ValueError, match="stage must be one of"):
        task.history_counts("training")


def test_catalogue_ignores_the_last_two_trips():
    lines = household_trips(n_households=3, trips=6, n_products=5)
    last = lines.groupby("household_id")["basket_id"].transform("max")
    # a product bought only in last trips, many times, must stay out of the catalogue
    extra = lines[lines["basket_id"] >= last - 1].drop_duplicates("basket_id").assign(product_id=9999)
    task = next_basket_task(pd.concat([lines, extra]), n_products=5, min_history=2)
    assert 9999 not in task.product_ids


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns="transaction_timestamp"), "missing column"),
    (lambda t: t.assign(household_id=np.arange(len(t))), "more than one household"),
])
def test_bad_transactions_are_refused(change, message):
    with pytest.raises(TransactionDataError, match=message):
        next_basket_task(change(household_trips()), n_products=5)


def test_impossible_settings_are_refused():
    with pytest.raises(ValueError, match="only 30 products"):
        next_basket_task(household_trips(), n_products=31)
    with pytest.raises(ValueError, match="no household has 102 baskets"):
        next_basket_task(household_trips(), n_products=5, min_history=100)
    with pytest.raises(ValueError, match="stage must be one of"):
        next_basket_task(household_trips(), n_products=5).targets("train")


# --- metrics ---------------------------------------------------------------------------------------------

def test_recommend_is_a_stable_sort_that_leaves_minus_infinity_out():
    rng = np.random.default_rng(1)
    for _ in range(50):
        values = rng.integers(0, 4, size=(6, 25)).astype(float)
        values[values == 0] = -np.inf
        k = int(rng.integers(1, 26))
        expected = np.argsort(-values, axis=1, kind="stable")[:, :k]
        expected[~np.isfinite(np.take_along_axis(values, expected, axis=1))] = -1
        assert (recommend(values, k) == expected).all()
    with pytest.raises(ValueError, match="NaN"):
        recommend(np.array([[np.nan, 1.0]]), 1)
    with pytest.raises(ValueError, match="more than the 2 items"):
        recommend(np.zeros((1, 2)), 3)


def test_metrics_by_hand():
    # target {0, 2, 5}; seen before {0, 1}: repeat part {0}, explore part {2, 5}
    top = np.array([[1, 2, 0, -1]])
    targets = sp.csr_array(np.array([[1, 0, 1, 0, 0, 1]]))
    seen = sp.csr_array(np.array([[1, 1, 0, 0, 0, 0]]))
    m = basket_metrics(top, targets, seen).iloc[0]
    d = 1 / np.log2(np.arange(2, 6))
    assert m["recall_overall"] == pytest.approx(2 / 3)
    assert m["ndcg_overall"] == pytest.approx((d[1] + d[2]) / d[:3].sum())
    assert m["recall_repeat"] == 1 and m["ndcg_repeat"] == pytest.approx(d[2] / d[0])
    assert m["recall_explore"] == 0.5 and m["hit_explore"] == 1
    assert m["repeat_share"] == pytest.approx(2 / 3)


def test_metrics_agree_with_pyg_on_full_lists():
    rng = np.random.default_rng(2)
    truth = (rng.random((40, 30)) < 0.15)
    truth[np.arange(40), rng.integers(0, 30, 40)] = True
    top = np.argsort(rng.random((40, 30)), axis=1)[:, :10]
    ours = basket_metrics(top, sp.csr_array(truth), sp.csr_array(np.zeros_like(truth))).mean()
    rows, cols = np.nonzero(truth)
    labels = torch.from_numpy(np.vstack([rows, cols]))
    for metric, column in ((LinkPredRecall(10), "recall_overall"), (LinkPredNDCG(10), "ndcg_overall"),
                           (LinkPredHitRatio(10), "hit_overall")):
        metric.update(torch.from_numpy(top), labels)
        assert float(metric.compute()) == pytest.approx(ours[column], abs=1e-6)


def test_empty_parts_are_skipped_and_bad_shapes_refused():
    m = basket_metrics(np.array([[0]]), sp.csr_array(np.array([[1, 0]])), sp.csr_array(np.array([[1, 0]])))
    assert np.isnan(m["recall_explore"].iloc[0]) and m["recall_repeat"].iloc[0] == 1
    with pytest.raises(ValueError, match="one row per household"):
        basket_metrics(np.array([[0], [1]]), sp.csr_array(np.eye(2)[:1]), sp.csr_array(np.eye(2)[:1]))
    with pytest.raises(ValueError, match="non-empty target"):
        basket_metrics(np.array([[0]]), sp.csr_array(np.zeros((1, 2))), sp.csr_array(np.zeros((1, 2))))


# --- baselines ---------------------------------------------------------------------------------------------

def test_frequency_baselines(task):
    seen = task.history_counts("test").toarray() > 0
    personal = recommend(p_top_freq(task, "test"), 10)
    filled = personal >= 0
    assert seen[np.arange(task.n_households)[:, None], personal][filled].all()  # P-TopFreq never explores
    assert (recommend(gp_top_freq(task, "test"), 10) >= 0).all()
    popular = recommend(g_top_freq(task, "test"), 10)
    assert (popular == popular[0]).all()


def test_tifu_vectors_match_a_loop(task):
    group, r_b, r_g = 2, 0.8, 0.5
    vectors = tifu_vectors(task, "test", group, r_b, r_g).toarray()
    dense = task.baskets.toarray()
    for h in range(task.n_households):
        history = dense[task.offsets[h]:task.target_rows("test")[h]][::-1]  # newest first
        groups = [history[i:i + group] for i in range(0, len(history), group)]
        expected = sum(r_g ** j * sum(r_b ** e * b for e, b in enumerate(g)) / len(g)
                       for j, g in enumerate(groups)) / len(groups)
        assert np.allclose(vectors[h], expected)
    alone = tifu_knn(task, "test", group, r_b, r_g, neighbours=3, alpha=1.0)
    assert np.allclose(np.where(np.isfinite(alone), alone, 0), vectors)
    with pytest.raises(ValueError, match="within_decay"):
        tifu_vectors(task, "test", group, 0.0, r_g)


def test_rule_expansion_scores_are_chapter_2_confidences(task):
    scores = rule_expansion(task, "test", min_count=2)
    pairs = pair_statistics(task.history_baskets("test"), min_count=2)
    last = task.last_baskets("test")
    h = 0
    antecedents = set(task.product_ids[last[[h]].indices])
    best = {}
    for row in pairs.itertuples():
        for a, b, c in ((row.product_a, row.product_b, row.confidence_ab), (row.product_b, row.product_a,
                                                                             row.confidence_ba)):
            if a in antecedents:
                best[b] = max(best.get(b, 0.0), c)
    finite = np.isfinite(scores[h])
    assert set(task.product_ids[finite]) == set(best)
    for product, confidence in best.items():
        assert scores[h, task.product_ids.get_loc(product)] == pytest.approx(confidence)


# --- models and hybrid ---------------------------------------------------------------------------------------

def test_attention_mask_matches_torch():
    torch.manual_seed(0)
    ours, theirs = MultiHeadSelfAttention(8, 2), torch.nn.MultiheadAttention(8, 2, batch_first=True)
    theirs.in_proj_weight.data, theirs.in_proj_bias.data = ours.in_proj.weight.data, ours.in_proj.bias.data
    theirs.out_proj.weight.data, theirs.out_proj.bias.data = ours.out_proj.weight.data, ours.out_proj.bias.data
    x = torch.randn(3, 5, 8)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    expected, _ = theirs(x, x, x, attn_mask=~causal)  # torch's bool mask marks what may NOT attend
    assert torch.allclose(ours(x, attn_mask=causal)[0], expected, atol=1e-6)
    with pytest.raises(TypeError, match="attn_mask must be a boolean"):
        ours(x, attn_mask=causal.float())
    with pytest.raises(ValueError, match="does not broadcast"):
        ours(x, padding_mask=torch.ones(3, 5, dtype=torch.bool), attn_mask=torch.ones(4, 1, 5, 5, dtype=torch.bool))


def test_sequence_model_is_causal(task):
    torch.manual_seed(0)
    model = BasketSASRec(task.n_products, window=4, dim=8).eval()
    ends = task.target_rows("test")
    baskets, padding = basket_windows(task.baskets, task.offsets[:-1], ends, 4)
    changed = task.baskets.tolil()
    changed[ends - 1] = 0
    changed[ends - 1, 0] = 1  # only the newest basket of every window changes
    baskets2, _ = basket_windows(sp.csr_array(changed), task.offsets[:-1], ends, 4)
    with torch.no_grad():
        before, _ = model(baskets, padding)
        after, _ = model(baskets2, padding)
    assert torch.allclose(before[:, :-1], after[:, :-1], atol=1e-6)
    assert not torch.allclose(before[:, -1], after[:, -1])
    assert torch.allclose(baskets.to_dense().sum(1)[padding.view(-1)], torch.ones(int(padding.sum())))


def test_sequence_training_is_repeatable(task):
    first = train_basket_sasrec(task, seed=3, settings=SASRecTraining(epochs=2, dim=8, window=4, batch_size=4))
    second = train_basket_sasrec(task, seed=3, settings=SASRecTraining(epochs=2, dim=8, window=4, batch_size=4))
    assert first.validation_recall == second.validation_recall
    assert np.array_equal(sequence_scores(first.model, task, "test"), sequence_scores(second.model, task, "test"))


def test_sequence_training_needs_two_history_baskets():
    short = next_basket_task(household_trips(trips=3), n_products=20, min_history=1)
    with pytest.raises(ValueError, match="at least 2 baskets before each validation basket"):
        train_basket_sasrec(short, seed=0, settings=SASRecTraining(epochs=1))


def test_lightgcn_propagation_and_recommend(task):
    run = train_lightgcn(task, seed=0, settings=LightGCNTraining(epochs=2, dim=8, batch_size=64))
    edges = household_product_edges(task, "test")
    dense = torch.zeros(task.n_households + task.n_products, task.n_households + task.n_products)
    dense[edges[0], edges[1]] = 1
    norm = dense.sum(1).clamp(min=1).pow(-0.5)
    a_hat = norm[:, None] * dense * norm[None, :]
    x0 = run.model.embedding.weight.detach()
    layers = [x0]
    for _ in range(run.model.num_layers):
        layers.append(a_hat @ layers[-1])
    expected = torch.stack(layers).mean(0)  # LightGCN's default: equal weight 1/(L+1) per layer
    with torch.no_grad():
        assert torch.allclose(run.model.get_embedding(household_product_adjacency(task, "test")), expected, atol=1e-5)
        assert torch.allclose(run.model.get_embedding(edges), expected, atol=1e-5)
    scores = lightgcn_scores(run.model, task, "test")
    products = torch.arange(task.n_products) + task.n_households
    theirs = run.model.recommend(edges, src_index=torch.arange(task.n_households), dst_index=products, k=5)
    ours = recommend(scores, 5) + task.n_households
    assert all(set(a.tolist()) == set(b.tolist()) for a, b in zip(ours, theirs, strict=True))


def test_symmetric_lightgcn_has_pyg_lightgcn_outputs_and_gradients(task):
    adjacency = household_product_adjacency(task, "validation")
    pairs = torch.tensor([[0, 1, 2], [task.n_households, task.n_households + 3, task.n_households + 5]])
    theirs, ours = LightGCN(adjacency.size(0), 8, 2), symmetric_lightgcn(adjacency.size(0), 8, 2)
    ours.load_state_dict(theirs.state_dict())
    losses = [model(adjacency, pairs).pow(2).sum() for model in (theirs, ours)]
    for loss in losses:
        loss.backward()
    assert torch.allclose(losses[0], losses[1])
    assert torch.allclose(theirs.embedding.weight.grad, ours.embedding.weight.grad, atol=1e-6)
    assert theirs.embedding.weight.grad.abs().sum() > 0


def test_hybrid_lists(task):
    seen = task.history_counts("test")
    repeat = recommend(p_top_freq(task, "test"), 6)
    explore = recommend(explore_only(g_top_freq(task, "test"), seen), 6)
    lists = hybrid_lists(repeat, explore, explore_slots=2, k=6)
    for h in range(task.n_households):
        own = repeat[h][repeat[h] >= 0][:4]
        assert list(lists[h][: len(own)]) == list(own)
        assert len(set(lists[h][lists[h] >= 0])) == (lists[h] >= 0).sum()
    with pytest.raises(ValueError, match="both a repeat and an explore"):
        hybrid_lists(repeat, repeat, explore_slots=3, k=6)


def test_cli_refuses_a_bad_catalogue_size(capsys):
    with pytest.raises(SystemExit):
        main(["--products", "0", "--results", "x.csv"])
    assert "positive" in capsys.readouterr().err
