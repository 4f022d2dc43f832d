"""What every trainer of the book shares: keeping the best epoch and saving weights safely.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from prodassoc_lab.files import check_writable_file, write_atomically
from prodassoc_lab.tensors import NonFiniteError
from prodassoc_lab.validation import positive_int


def save_checkpoint(state: dict, path: str | os.PathLike) -> None:
    """Write ``state`` to ``path`` atomically: a failed write (a full disk) keeps the previous file.

    See :func:`prodassoc_lab.files.write_atomically`; a symbolic link at ``path``
    is refused rather than followed.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, got {type(path).__name__}")
    write_atomically(path, lambda temporary: torch.save(state, temporary), "checkpoint")


@dataclass(frozen=True)
class EarlyStopping:
    """How :func:`train_with_early_stopping` runs: at most ``epochs`` epochs, validating every ``eval_every``
    epochs and at the last; stop once ``patience`` epochs have passed since the best one (``None``: never);
    ``higher_is_better=False`` for a validation loss."""

    epochs: int
    patience: int | None = None
    eval_every: int = 1
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        positive_int(self.epochs, "epochs")
        if not isinstance(self.higher_is_better, bool):
            raise ValueError(f"higher_is_better must be True or False, got {self.higher_is_better!r}")
        positive_int(self.eval_every, "eval_every")
        if self.patience is not None:
            positive_int(self.patience, "patience")


@dataclass
class TrainingRun:
    """The record of one :func:`train_with_early_stopping` run.

    ``losses`` holds the training loss of every epoch run; ``scores`` the
    validation score of every epoch in ``validated_epochs``.
    """

    best_epoch: int
    best_score: float
    epochs_run: int
    seconds_per_epoch: float
    losses: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    validated_epochs: list[int] = field(default_factory=list)


def train_with_early_stopping(
    model: torch.nn.Module,
    train_step: Callable[[], float],
    validate: Callable[[], float],
    settings: EarlyStopping,
    *,
    checkpoint: str | os.PathLike | None = None,
    name: str = "training",
    lr: float | None = None,
    progress: bool = False,
) -> TrainingRun:
    """Train ``model`` and keep its best epoch by validation score: the one loop of every trainer of the book.

    Each epoch, in this order: ``model.train()``; ``train_step()`` runs one
    epoch and returns its training loss; then, every ``settings.eval_every``
    epochs and at the last, ``model.eval()`` and ``validate()`` under
    ``torch.no_grad()`` return the validation score.

    The rule: an epoch becomes the best when its score is strictly better
    (higher, or lower with ``higher_is_better=False``) than the best so far,
    so ties keep the first; training stops at a validation once
    ``settings.patience`` epochs have passed since the best epoch. A training
    loss, parameter or validation score that is NaN or infinite, or a layer's
    :class:`~prodassoc_lab.tensors.NonFiniteError` (NaN or infinite values met
    during an epoch), raises ``FloatingPointError`` naming ``name``, the epoch,
    the value and ``lr``
    (training diverged; a smaller learning rate is the usual cure). At the
    end the best epoch's state is loaded back into ``model``, which is left
    in evaluation mode; with ``checkpoint`` it is first written to that file
    atomically (:func:`save_checkpoint`) and read back from it with
    ``torch.load(weights_only=True)``. ``progress`` shows a progress bar.

    Args:
        model: the model to train; holds the best epoch's state afterwards.
        train_step: runs one training epoch and returns its loss.
        validate: returns the validation score (run under ``torch.no_grad()``).
        settings: the :class:`EarlyStopping` (epochs, patience, direction, how often to validate).
        checkpoint: file for the best state, written atomically; ``None`` keeps it in memory.
        name: how messages name the training.
        lr: learning rate, named in the error when a value is not finite.
        progress: show a progress bar.
    """
    from tqdm.auto import tqdm

    if not isinstance(settings, EarlyStopping):
        raise TypeError(f"settings must be an EarlyStopping, got {type(settings).__name__}")
    if checkpoint is not None:
        check_writable_file(checkpoint, "checkpoint")  # before training, not after it
    hint = f"try a smaller lr than {lr}" if lr is not None else "try a smaller learning rate"
    run = TrainingRun(best_epoch=0, best_score=math.nan, epochs_run=0, seconds_per_epoch=math.nan)
    best_state = None
    start = time.perf_counter()
    bar = tqdm(range(1, settings.epochs + 1), desc=name, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        try:
            loss = float(train_step())
        except NonFiniteError as error:  # a layer met NaN or inf: diverged weights, or bad inputs
            raise FloatingPointError(f"{name}: at epoch {epoch}, {error}; if the inputs are finite, "
                                     f"training diverged ({hint})") from error
        diverged = [] if not math.isfinite(loss) else _non_finite_parameters(model)
        if not math.isfinite(loss) or diverged:
            what = (f"the training loss is {loss}" if not math.isfinite(loss)
                    else f"parameters {diverged} are NaN or infinite")
            raise FloatingPointError(f"{name}: {what} at epoch {epoch}; training diverged ({hint})")
        run.losses.append(loss)
        run.epochs_run = epoch
        if epoch % settings.eval_every and epoch != settings.epochs:
            continue
        model.eval()
        with torch.no_grad():
            try:
                score = validate()
                if isinstance(score, (bool, str)) or not hasattr(score, "__float__"):
                    raise TypeError(f"{name}: validate() must return a number, got {type(score).__name__}")
                score = float(score)
            except NonFiniteError as error:
                raise FloatingPointError(f"{name}: validating epoch {epoch}, {error}; if the inputs are finite, "
                                         f"training diverged ({hint})") from error
        if not math.isfinite(score):
            raise FloatingPointError(f"{name}: the validation score is {score} at epoch {epoch}; "
                                     f"training diverged ({hint})")
        run.scores.append(score)
        run.validated_epochs.append(epoch)
        bar.set_postfix(loss=f"{loss:.3f}", val=f"{score:.3f}")
        better = score > run.best_score if settings.higher_is_better else score < run.best_score
        if best_state is None or better:
            run.best_epoch, run.best_score, best_state = epoch, score, copy.deepcopy(model.state_dict())
        elif settings.patience is not None and epoch - run.best_epoch >= settings.patience:
            break
    run.seconds_per_epoch = (time.perf_counter() - start) / run.epochs_run
    if checkpoint is not None:
        save_checkpoint(best_state, checkpoint)
        best_state = torch.load(checkpoint, weights_only=True, map_location="cpu")
    model.load_state_dict(best_state)
    model.eval()
    return run


def _non_finite_parameters(model: torch.nn.Module) -> list[str]:
    """Names of the parameters holding a NaN or infinite entry (at most three)."""
    return [name for name, parameter in model.named_parameters() if not torch.isfinite(parameter).all()][:3]
