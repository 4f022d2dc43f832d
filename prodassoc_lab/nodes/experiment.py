"""The training loop of the source article's §5 script, corrected (chapter 7).

Node classification on the product graph of chapter 3: full-batch training
with early stopping on validation accuracy, an atomic checkpoint of the best
epoch, and the comparison of models and baselines on the same splits — with
one fixed setting per network (:func:`compare_models`), or under the book's
protocol (:func:`protocol_comparison`): every method searched on validation
with the same budget, the test read once. The command line is
:mod:`prodassoc_lab.nodes.cli`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from prodassoc_lab.nodes.baselines import correct_and_smooth, label_propagation, majority_baseline
from prodassoc_lab.nodes.evaluation import Masks, RunResult, accuracy, as_masks, run_result, stratified_masks
from prodassoc_lab.nodes.models import MODELS, NodeClassifier, graph_seen
from prodassoc_lab.protocol import draw_configurations, validation_search
from prodassoc_lab.pyg_data import require_adjacency
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.training import EarlyStopping, train_with_early_stopping
from prodassoc_lab.validation import bounded_float, bounded_int, non_negative_float, positive_float, positive_int

# Chapter 7's protocol: the spaces every method's validation search draws from, and the epoch cap
TRAINING_SPACE: dict[str, tuple] = {
    "lr": (0.003, 0.01, 0.03, 0.1),
    "hidden": (32, 64, 128, 256),
    "dropout": (0.0, 0.25, 0.5),
    "weight_decay": (0.0, 5e-5, 5e-4),
}
PROPAGATION_SPACE: dict[str, tuple] = {"alpha": tuple(round(0.05 * i, 2) for i in range(1, 20))}
SMOOTHING_SPACE: dict[str, tuple] = {"correction_alpha": (0.2, 0.4, 0.6, 0.8, 1.0),
                                     "smoothing_alpha": (0.1, 0.3, 0.5, 0.7, 0.9)}
SEARCH_EPOCHS, SEARCH_PATIENCE = 500, 50
NODE_INPUTS = ("features", "ids", "both")  # what a network reads per product (NodeTraining.inputs)


@dataclass(frozen=True)
class NodeTraining:
    """The settings of :func:`train_node_classifier`, checked when made (chapter 7).

    ``hidden`` units, ``dropout`` on the hidden layer, Adam with ``lr`` and
    ``weight_decay``, at most ``epochs`` epochs with early stopping after
    ``patience`` epochs without a better validation accuracy, on ``device``
    (``"cpu"``, ``"cuda"`` or ``"cuda:N"``). With ``label_trick`` the model also
    reads training labels as input features (Wang et al. 2021): in each epoch a
    random half of the training products show their one-hot label and the loss
    is taken on the other half; to predict, every training label is shown.
    ``layers`` sets the depth of the network (:class:`~prodassoc_lab.nodes.models.NodeClassifier`);
    ``inputs`` what it reads per product: its ``"features"``, a learned
    product-id embedding of ``hidden`` numbers (``"ids"``), or ``"both"``.
    """

    hidden: int = 64
    lr: float = 0.03
    epochs: int = 100
    patience: int = 30
    weight_decay: float = 5e-4
    dropout: float = 0.5
    label_trick: bool = False
    layers: int = 2
    inputs: str = "features"
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("hidden", "epochs", "patience"):
            positive_int(getattr(self, name), name)
        positive_float(self.lr, "lr")
        non_negative_float(self.weight_decay, "weight_decay")
        bounded_float(self.dropout, "dropout", 0, 1, high_open=True)
        if not isinstance(self.label_trick, bool):
            raise TypeError(f"label_trick must be True or False, got {self.label_trick!r}")
        bounded_int(self.layers, "layers", low=2)
        if self.inputs not in NODE_INPUTS:
            raise ValueError(f"inputs must be one of {list(NODE_INPUTS)}, got {self.inputs!r}")
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}") from None
        if device.type == "cuda" and (not torch.cuda.is_available()
                                      or (device.index or 0) >= torch.cuda.device_count()):
            raise ValueError(f"device {self.device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def train_node_classifier(
    data: Data,
    masks: Masks,
    kind: str,
    seed: int,
    settings: NodeTraining | None = None,
    *,
    progress: bool = False,
    checkpoint: Path | None = None,
) -> RunResult:
    """Full-batch training with early stopping on validation accuracy (chapter 7).

    ``settings`` defaults to ``NodeTraining()``. The loop is
    :func:`prodassoc_lab.training.train_with_early_stopping`: the best model
    (by validation accuracy; ties keep the first epoch) is saved to
    ``checkpoint`` — a temporary file if none is given — and loaded back with
    ``torch.load(weights_only=True)`` before the test set is scored.

    Args:
        data: the product graph with features ``x``, labels ``y`` and ``adj_t``.
        masks: train, validation and test masks over the nodes.
        kind: the model, one of ``nodes.models.MODELS``.
        seed: seed of the initialisation and of dropout.
        settings: width, dropout, learning rate, epochs, patience, weight decay, device.
        progress: show a progress bar.
        checkpoint: where to save the best epoch's weights (atomically).
    """
    settings = NodeTraining() if settings is None else settings
    if not isinstance(settings, NodeTraining):
        raise TypeError(f"settings must be a NodeTraining, got {type(settings).__name__}")
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {list(MODELS)}")
    device = torch.device(settings.device)
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ValueError(f"checkpoint: folder {Path(checkpoint).parent} does not exist")
    masks = as_masks(masks, data)
    set_seed(seed)
    adjacency = require_adjacency(data).to(device)
    x, y = data.x.to(device), data.y.to(device)
    if settings.inputs == "ids":
        x = x[:, :0]  # no features: the learned embedding alone
    train_idx, val_idx = (m.nonzero().view(-1).to(device) for m in (masks.train, masks.validation))
    # cross_entropy skips targets of -100: the loss over the training nodes, without the
    # slow backward pass of indexing rows out of the output
    train_target = torch.where(masks.train.to(device), y, -100)
    num_classes = int(data.y.max()) + 1
    if settings.label_trick:
        label_features = F.one_hot(y.clamp(min=0), num_classes).float()

        def with_labels(shown: Tensor) -> Tensor:
            """The features, then the one-hot labels of the ``shown`` nodes (zeros elsewhere)."""
            visible = torch.zeros_like(label_features)
            visible[shown] = label_features[shown]
            return torch.cat([x, visible], dim=1)

        x_predict = with_labels(train_idx)
    else:
        x_predict = x
    model = NodeClassifier(kind, x_predict.size(1), settings.hidden, num_classes, dropout=settings.dropout,
                           layers=settings.layers,
                           embedded_nodes=data.num_nodes if settings.inputs != "features" else 0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    metrics = []

    def train_step() -> float:
        optimizer.zero_grad()
        if settings.label_trick:
            order = train_idx[torch.randperm(len(train_idx), device=device)]
            shown, predicted = order[: len(order) // 2], order[len(order) // 2:]
            target = torch.full_like(y, -100)
            target[predicted] = y[predicted]
            loss = F.cross_entropy(model(with_labels(shown), adjacency), target)
        else:
            loss = F.cross_entropy(model(x, adjacency), train_target)
        loss.backward()
        optimizer.step()
        return loss.item()

    def validate() -> float:
        out = model(x_predict, adjacency)
        metrics.append({
            "validation loss": F.cross_entropy(out[val_idx], y[val_idx]).item(),
            "training accuracy": accuracy(out, y, train_idx),
            "validation accuracy": accuracy(out, y, val_idx),
        })
        return metrics[-1]["validation accuracy"]

    with tempfile.TemporaryDirectory() as tmp:
        training = train_with_early_stopping(
            model, train_step, validate, EarlyStopping(settings.epochs, patience=settings.patience),
            checkpoint=Path(checkpoint) if checkpoint is not None else Path(tmp) / "best.pt",
            name=kind, lr=settings.lr, progress=progress)
    history = [{"epoch": epoch, "training loss": loss, **row}
               for epoch, loss, row in zip(training.validated_epochs, training.losses, metrics, strict=True)]
    with torch.no_grad():
        probabilities = model(x_predict, adjacency).softmax(dim=1).cpu()
    name = f"{kind} + label trick" if settings.label_trick else kind
    return run_result(name, data, masks, seed, probabilities, training=training, history=history)


def compare_models(data: Data, models: tuple[str, ...], seeds: tuple[int, ...], smooth: bool = True,
                   progress: bool = False, checkpoint: Path | None = None,
                   **settings) -> tuple[pd.DataFrame, list[RunResult]]:
    """Every baseline and model on the same splits (chapter 7).

    Returns one table row per (method, seed) and the runs themselves (with
    training histories and probabilities). ``smooth`` adds each model followed
    by Correct & Smooth. ``settings`` are the fields of :class:`NodeTraining`.

    Args:
        data: the product graph with features and labels.
        models: names of the models to train (keys of ``MODELS``).
        seeds: one split and initialization per seed.
        smooth: also run each model followed by Correct & Smooth.
        progress: show a progress bar for each training.
        checkpoint: file for the best epoch's weights, written atomically.
        **settings: fields of :class:`NodeTraining`.
    """
    if isinstance(models, str) or not models or not all(isinstance(m, str) for m in models):
        raise ValueError(f"models must be a non-empty tuple of model names, got {models!r}")
    if isinstance(seeds, int) or not seeds:
        raise ValueError(f"seeds must be a non-empty tuple of seeds, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats a run and shrinks the spread), got {seeds}")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    training = NodeTraining(**settings)
    runs = []
    for seed in seeds:
        masks = stratified_masks(data.y, seed)
        runs.append(majority_baseline(data, masks, seed))
        runs.append(label_propagation(data, masks, seed))
        trained = [train_node_classifier(data, masks, kind, seed, training, progress=progress, checkpoint=checkpoint)
                   for kind in models]
        runs.extend(trained)
        if smooth:
            runs.extend(correct_and_smooth(result, data, masks) for result in trained)
    table = pd.DataFrame(
        [{"method": r.model, "seed": r.seed, "accuracy": r.accuracy, "macro-F1": r.macro_f1,
          "best epoch": r.best_epoch, "epochs run": r.epochs_run, "seconds per epoch": r.seconds_per_epoch,
          "setting": r.setting} for r in runs]
    )
    return table, runs


def hide_test_labels(data: Data, masks: Masks) -> tuple[Data, Masks]:
    """What a validation search may see: ``data`` with every test label set to −1 (no label), and
    masks whose test part is the validation mask, so that a search's "test" scores are validation scores."""
    masks = as_masks(masks, data)
    visible = data.clone()
    visible.y = data.y.masked_fill(masks.test, -1)
    return visible, Masks(masks.train, masks.validation, masks.validation)


def _on_test(name: str, searched: RunResult, data: Data, masks: Masks) -> RunResult:
    """The searched run scored once on the real test labels."""
    return run_result(name, data, masks, searched.seed, searched.probabilities, training=searched.training,
                      history=searched.history, setting=searched.setting, search=searched.search)


def _setting(configuration: dict) -> str:
    return ", ".join(f"{name} = {value}" for name, value in configuration.items())


def search_node_classifier(data: Data, masks: Masks, kind: str, configurations: Sequence[dict], seed: int, *,
                           epochs: int = SEARCH_EPOCHS, patience: int = SEARCH_PATIENCE, label_trick: bool = False,
                           progress: bool = False) -> tuple[RunResult, RunResult]:
    """Train ``kind`` once per configuration without the test labels; keep the best on validation.

    Each configuration holds fields of :class:`NodeTraining` (``epochs``,
    ``patience`` and ``label_trick`` come from the arguments). The search runs on
    :func:`hide_test_labels`, so it cannot read a test label. Returns the
    chosen run as the search saw it (for Correct & Smooth, which must not see
    the test labels either) and the same run scored once on the test mask.
    """
    visible, search_masks = hide_test_labels(data, masks)

    def fit(configuration: dict) -> tuple[float, RunResult]:
        settings = NodeTraining(epochs=epochs, patience=patience, label_trick=label_trick, **configuration)
        run = train_node_classifier(visible, search_masks, kind, seed, settings, progress=progress)
        return run.accuracy, run  # the search masks' "test" is the validation mask

    search, chosen = validation_search(configurations, fit)
    chosen.setting, chosen.search = _setting(search.chosen), search
    return chosen, _on_test(chosen.model, chosen, data, as_masks(masks, data))


@dataclass
class ProtocolComparison:
    """Chapter 7's comparison under the protocol.

    ``table`` has one row per method and split (test accuracy and macro-F1, the
    chosen setting, the graph the method sees, the training record);
    ``searches`` one row per configuration tried (its validation accuracy and
    whether it was chosen); ``correct`` one row per test product of each split
    with 1/0 per method (right or wrong), for paired bootstrap intervals.
    """

    table: pd.DataFrame
    searches: pd.DataFrame
    correct: pd.DataFrame
    runs: list[RunResult] = field(repr=False)


def protocol_baselines(data: Data, split: int, budget: int, *, search_seed: int = 0) -> list[RunResult]:
    """The majority class and label propagation under the protocol, on one split.

    Label propagation tries ``budget`` values of α drawn (with ``search_seed``)
    from ``PROPAGATION_SPACE`` without the test labels; its choice is scored on
    the test products once.
    """
    masks = stratified_masks(data.y, split)
    visible, search_masks = hide_test_labels(data, masks)
    alphas = tuple(c["alpha"] for c in draw_configurations(PROPAGATION_SPACE, budget, search_seed))
    propagated = label_propagation(visible, search_masks, split, alphas=alphas)
    return [majority_baseline(data, masks, split), _on_test("label propagation", propagated, data, masks)]


def protocol_network(data: Data, split: int, kind: str, budget: int, *, label_trick: bool = False,
                     search_seed: int = 0, epochs: int = SEARCH_EPOCHS, patience: int = SEARCH_PATIENCE,
                     progress: bool = False) -> list[RunResult]:
    """One network under the protocol on one split, alone and with Correct & Smooth on top.

    The network tries ``budget`` configurations drawn (with ``search_seed``)
    from ``TRAINING_SPACE`` — the same draws for every network — each trained
    for at most ``epochs`` epochs, stopping after ``patience`` epochs without a
    better validation accuracy; Correct & Smooth, on top of the chosen run,
    tries ``budget`` settings from ``SMOOTHING_SPACE``. No search sees a test
    label (:func:`hide_test_labels`); each choice is scored on the test once.

    Args:
        data: the product graph with features, labels and ``adj_t``.
        split: the stratified split, and the initialization seed.
        kind: the network, a key of ``MODELS``.
        budget: configurations per method.
        label_trick: give the network the training labels as input (:class:`NodeTraining`).
        search_seed: seed of the draws of configurations.
        epochs: the epoch cap of every training run.
        patience: early-stopping patience.
        progress: show a progress bar for each training.
    """
    # both draws first: a budget larger than a space fails before any training
    networks = draw_configurations(TRAINING_SPACE, budget, search_seed)
    smoothing = draw_configurations(SMOOTHING_SPACE, budget, search_seed)
    masks = stratified_masks(data.y, split)
    visible, search_masks = hide_test_labels(data, masks)
    searched, tested = search_node_classifier(data, masks, kind, networks, split, epochs=epochs, patience=patience,
                                              label_trick=label_trick, progress=progress)
    smoothed = correct_and_smooth(searched, visible, search_masks, smoothing)
    return [tested, _on_test(smoothed.model, smoothed, data, masks)]


def _graph_of_method(method: str) -> str:
    if method in ("majority", "label propagation"):
        return "none" if method == "majority" else "weighted"
    kind = method.removesuffix(" + C&S").removesuffix(" + label trick")
    network = graph_seen(kind) + ("; training labels as input" if " + label trick" in method else "")
    return f"{network}; C&S: weighted" if method.endswith(" + C&S") else network


def protocol_tables(data: Data, runs: Sequence[RunResult], epochs: int = SEARCH_EPOCHS) -> ProtocolComparison:
    """The three tables of a :class:`ProtocolComparison` from its runs (any order of splits).

    ``epochs`` is the epoch cap the networks trained under (a run that stopped
    before it "stopped early").
    """
    splits = list(dict.fromkeys(r.seed for r in runs))
    correct = []
    for split in splits:
        test = stratified_masks(data.y, split).test.nonzero().view(-1)
        correct.append(pd.DataFrame({"split": split, "node": test.numpy(), "product_id": data.product_id[test].numpy(),
                                     **{r.model: (r.predictions[test] == data.y[test]).int().numpy()
                                        for r in runs if r.seed == split}}))
    table = pd.DataFrame([{
        "method": r.model, "split": r.seed, "accuracy": r.accuracy, "macro-F1": r.macro_f1,
        "validation accuracy": max(r.search.scores) if r.search is not None else float("nan"),
        "graph": _graph_of_method(r.model),
        "best epoch": r.best_epoch, "epochs run": r.epochs_run,
        "stopped early": r.training is not None and r.epochs_run < epochs,
        "seconds per epoch": r.seconds_per_epoch, "chosen": r.setting,
    } for r in runs])
    searches = pd.concat([r.search.to_frame().assign(method=r.model, split=r.seed)
                          for r in runs if r.search is not None], ignore_index=True)
    return ProtocolComparison(table, searches, pd.concat(correct, ignore_index=True), list(runs))


def protocol_comparison(data: Data, models: Sequence[str], splits: Sequence[int], budget: int, *,
                        label_trick: Sequence[str] = (), search_seed: int = 0, epochs: int = SEARCH_EPOCHS,
                        patience: int = SEARCH_PATIENCE, progress: bool = False) -> ProtocolComparison:
    """Every method of chapter 7 under the protocol, on each split.

    On each split: :func:`protocol_baselines`, then :func:`protocol_network`
    for each of ``models`` and, with the training labels as input, for each of
    ``label_trick`` (the methods ``"<kind> + label trick"``). Every searched
    method tries ``budget`` configurations drawn with ``search_seed``.

    Args:
        data: the product graph with features, labels and ``adj_t``.
        models: names of the networks (keys of ``MODELS``).
        splits: one stratified split, and initialization seed, per entry.
        budget: configurations per method.
        label_trick: networks (keys of ``MODELS``) that also run with the label trick.
        search_seed: seed of the draws of configurations.
        epochs: the epoch cap of every training run.
        patience: early-stopping patience.
        progress: show a progress bar for each training.
    """
    check_protocol_methods(models, label_trick, splits, budget)
    runs = []
    for split in splits:
        runs += protocol_baselines(data, split, budget, search_seed=search_seed)
        for kind, trick in protocol_methods(models, label_trick):
            runs += protocol_network(data, split, kind, budget, label_trick=trick, search_seed=search_seed,
                                     epochs=epochs, patience=patience, progress=progress)
    return protocol_tables(data, runs, epochs)


def protocol_methods(models: Sequence[str], label_trick: Sequence[str]) -> list[tuple[str, bool]]:
    """The networks of a protocol comparison in table order: (kind, with the label trick?)."""
    return [(kind, False) for kind in models] + [(kind, True) for kind in label_trick]


def check_protocol_methods(models: Sequence[str], label_trick: Sequence[str], splits: Sequence[int],
                           budget: int) -> None:
    """Refuse unknown networks, no network at all, splits that are not distinct seeds, or a budget
    larger than a search space."""
    unknown = [m for m in (*models, *label_trick) if m not in MODELS]
    if isinstance(models, str) or isinstance(label_trick, str) or not (models or label_trick) or unknown:
        raise ValueError(f"models and label_trick must be sequences of names from {list(MODELS)}, not both empty; "
                         f"got {models!r} and {label_trick!r}")
    if isinstance(splits, int) or not splits or len(set(splits)) != len(splits):
        raise ValueError(f"splits must be distinct split seeds, got {splits!r}")
    for space in (TRAINING_SPACE, PROPAGATION_SPACE, SMOOTHING_SPACE):
        draw_configurations(space, budget, 0)
