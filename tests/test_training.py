"""The one training loop of the book: prodassoc_lab.training.train_with_early_stopping and its trainers."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from synthetic import household_trips

from prodassoc_lab.graph import ProductGraph
from prodassoc_lab.links.cold_start import AttributeTraining, fit_attribute_encoder
from prodassoc_lab.links.experiment import RehearsalTraining
from prodassoc_lab.links.models import LinkTraining, link_data, train_link_encoder
from prodassoc_lab.next_basket.models import LightGCNTraining, SASRecTraining, train_basket_sasrec, train_lightgcn
from prodassoc_lab.next_basket.task import next_basket_task
from prodassoc_lab.training import EarlyStopping, TrainingRun, train_with_early_stopping


class Scripted:
    """A one-weight model whose weight becomes the epoch number, and a scripted loss and validation score."""

    def __init__(self, scores: list[float], losses: list[float] | None = None) -> None:
        self.model = torch.nn.Linear(1, 1, bias=False)
        self.scores, self.losses = scores, losses or [1.0] * len(scores)
        self.epoch, self.calls = 0, []

    def train_step(self) -> float:
        self.calls.append(("train", self.model.training, torch.is_grad_enabled()))
        self.epoch += 1
        with torch.no_grad():
            self.model.weight.fill_(self.epoch)
        return self.losses[self.epoch - 1]

    def validate(self) -> float:
        self.calls.append(("validate", self.model.training, torch.is_grad_enabled()))
        return self.scores[self.epoch - 1]

    def run(self, settings: EarlyStopping, **options) -> TrainingRun:
        return train_with_early_stopping(self.model, self.train_step, self.validate, settings, **options)

    @property
    def weight(self) -> float:
        return self.model.weight.item()


def test_the_best_epoch_is_restored_and_the_model_left_in_evaluation_mode():
    scripted = Scripted([0.2, 0.5, 0.9, 0.4, 0.3])
    run = scripted.run(EarlyStopping(epochs=5))
    assert (run.best_epoch, run.best_score, run.epochs_run) == (3, 0.9, 5)
    assert scripted.weight == 3 and not scripted.model.training
    assert run.scores == [0.2, 0.5, 0.9, 0.4, 0.3] and run.validated_epochs == [1, 2, 3, 4, 5]
    assert run.losses == [1.0] * 5 and run.seconds_per_epoch >= 0


def test_each_epoch_trains_in_training_mode_then_validates_in_evaluation_mode_without_gradients():
    scripted = Scripted([0.1, 0.2])
    scripted.run(EarlyStopping(epochs=2))
    assert scripted.calls == [("train", True, True), ("validate", False, False)] * 2


def test_ties_keep_the_first_epoch():
    scripted = Scripted([0.5, 0.7, 0.7, 0.6])
    run = scripted.run(EarlyStopping(epochs=4))
    assert run.best_epoch == 2 and scripted.weight == 2


def test_patience_stops_training():
    scripted = Scripted([0.5, 0.8, 0.7, 0.8, 0.6, 0.9, 0.95])
    run = scripted.run(EarlyStopping(epochs=7, patience=3))
    assert (run.epochs_run, run.best_epoch, len(run.losses)) == (5, 2, 5)
    assert scripted.weight == 2


def test_lower_is_better_for_a_validation_loss():
    scripted = Scripted([0.9, 0.4, 0.4, 0.6])
    run = scripted.run(EarlyStopping(epochs=4, higher_is_better=False))
    assert (run.best_epoch, run.best_score) == (2, 0.4) and scripted.weight == 2


def test_validation_every_few_epochs_and_at_the_last():
    scripted = Scripted([0.9, 0.1, 0.2, 0.1, 0.1, 0.3, 0.4])
    run = scripted.run(EarlyStopping(epochs=7, eval_every=3))
    assert run.validated_epochs == [3, 6, 7] and run.scores == [0.2, 0.3, 0.4]
    assert run.best_epoch == 7 and len(run.losses) == 7


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_a_loss_that_is_not_finite_raises_naming_the_epoch(bad):
    scripted = Scripted([0.1, 0.2, 0.3], losses=[1.0, 0.5, bad])
    with pytest.raises(FloatingPointError, match=rf"toy: the training loss is {bad} at epoch 3; .*smaller lr than 0.5"):
        scripted.run(EarlyStopping(epochs=3), name="toy", lr=0.5)


def test_a_validation_score_that_is_not_finite_raises():
    scripted = Scripted([0.1, float("nan")])
    with pytest.raises(FloatingPointError, match="the validation score is nan at epoch 2"):
        scripted.run(EarlyStopping(epochs=2))


def test_the_best_state_goes_through_the_checkpoint_file(tmp_path):
    scripted = Scripted([0.3, 0.8, 0.1])
    scripted.run(EarlyStopping(epochs=3), checkpoint=tmp_path / "best.pt")
    assert torch.load(tmp_path / "best.pt", weights_only=True)["weight"].item() == 2 and scripted.weight == 2


@pytest.mark.parametrize("settings", [dict(epochs=0), dict(epochs=3, patience=0), dict(epochs=3, eval_every=0)])
def test_bad_settings_are_refused(settings):
    with pytest.raises(ValueError):
        EarlyStopping(**settings)


# --- the trainers of chapters 8 and 9 now stop on a diverging loss instead of carrying on ---

def product_graph(n: int = 40) -> ProductGraph:
    edges = nx.to_pandas_edgelist(nx.gnp_random_graph(n, 0.15, seed=2)).assign(weight=0.5, count=5, npmi=0.5)
    return ProductGraph(pd.DataFrame({"product_id": np.arange(100, 100 + n)}), edges, "npmi")


def test_a_diverging_link_encoder_raises():
    graph = product_graph()
    features = pd.DataFrame(np.random.default_rng(0).normal(size=(graph.num_nodes, 6)), index=graph.nodes.product_id)
    with pytest.raises(FloatingPointError, match=r"encoder: the training loss is (nan|inf) at epoch \d+"):
        train_link_encoder(link_data(features, graph), "gcn", seed=0,
                           settings=LinkTraining(epochs=20, hidden=8, lr=1e30, eval_every=5))


def test_a_diverging_attribute_encoder_raises():
    embeddings, bias = torch.randn(8, 4) * 10, torch.zeros(8)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 0, 3, 2, 5, 4]])
    features = torch.randn(8, 3)
    assert math.isfinite(fit_attribute_encoder(features, embeddings, bias, edge_index, seed=0,
                                                   settings=AttributeTraining(epochs=5))[1])
    with pytest.raises(FloatingPointError, match=r"attribute encoder: the .* is (nan|inf) at epoch \d+"):
        fit_attribute_encoder(features, embeddings, bias, edge_index, seed=0,
                              settings=AttributeTraining(epochs=20, lr=1e30))


@pytest.fixture(scope="module")
def task():
    return next_basket_task(household_trips(), n_products=20, min_history=3)


def test_next_basket_runs_keep_their_training_record(task):
    run = train_basket_sasrec(task, seed=3, settings=SASRecTraining(epochs=3, dim=8, window=4, batch_size=4))
    assert run.validation_recall == run.training.scores and len(run.training.losses) == 3
    assert run.best_epoch == int(np.argmax(run.validation_recall)) + 1 and not run.model.training


@pytest.mark.parametrize("train", [
    lambda task: train_basket_sasrec(task, seed=0,
                                 settings=SASRecTraining(epochs=5, dim=8, window=4, batch_size=4, lr=1e30)),
    lambda task: train_lightgcn(task, seed=0, settings=LightGCNTraining(epochs=5, dim=8, lr=1e30)),
])
def test_diverging_next_basket_models_raise(task, train):
    with pytest.raises(FloatingPointError, match=r"(the (training loss|validation score) is (nan|inf) at epoch \d+|"
                                                r"at epoch \d+, q has \d+ NaN or infinite).*lr"):
        train(task)


@pytest.mark.parametrize(("settings", "field", "value"), [
    (LinkTraining, "eval_every", 300),
    (LinkTraining, "weight_decay", -1.0),
    (RehearsalTraining, "val_share", 1.0),
    (RehearsalTraining, "negatives", 0),
    (AttributeTraining, "val_share", 0.0),
    (AttributeTraining, "lr", math.nan),
    (SASRecTraining, "window", 0),
    (LightGCNTraining, "lambda_reg", -1e-4),
])
def test_training_settings_are_checked_when_made(settings, field, value):
    assert settings() == settings()  # the defaults are valid
    with pytest.raises(ValueError, match=field):
        settings(**{field: value})


def test_trainers_take_only_their_own_settings(task):
    with pytest.raises(TypeError, match="settings must be a LightGCNTraining"):
        train_lightgcn(task, seed=0, settings=SASRecTraining())
