"""Weights of the models chapters 8 and 9 train, saved so that chapter 10 can explain them without retraining.

Training chapter 8's GCN link encoder and chapter 9's SASRec-style model takes
longer than chapter 10's time budget, so this module trains each once, with
the chapters' own functions and seed 0, and saves its ``state_dict``. Chapter
10 loads the files with ``torch.load(weights_only=True)`` and first checks that
the loaded model reproduces the chapter's stored test result.

Command line (from the repository root)::

    python -m prodassoc_lab.explain --out book/results/weights
"""

from __future__ import annotations

from pathlib import Path

import torch

from prodassoc_lab.links.models import LinkEncoder, train_link_encoder
from prodassoc_lab.next_basket.models import BasketSASRec, train_basket_sasrec
from prodassoc_lab.provenance import write_provenance
from prodassoc_lab.training import save_checkpoint

LINK_ENCODER = "link_gcn_seed0.pt"  # chapter 8: the GCN encoder of the new-association task, seed 0
BASKET_SASREC = "basket_sasrec_seed0.pt"  # chapter 9: BasketSASRec, seed 0
SEED = 0


def load_link_encoder(path: Path, in_channels: int) -> LinkEncoder:
    """Chapter 8's GCN :class:`~prodassoc_lab.links.models.LinkEncoder` with the weights saved in ``path``,
    in eval mode.
    """
    model = LinkEncoder("gcn", in_channels)
    return _load(model, path)


def load_basket_sasrec(path: Path, n_products: int) -> BasketSASRec:
    """Chapter 9's :class:`~prodassoc_lab.next_basket.models.BasketSASRec` with the weights saved in ``path``,
    in eval mode.
    """
    return _load(BasketSASRec(n_products), path)


def _load(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved weights at {path}; make them with "
                                f"`python -m prodassoc_lab.explain --out {path.parent}`")
    try:
        state = torch.load(path, weights_only=True)
    except Exception as error:  # truncated, empty or not a PyTorch file; a pickle of anything but tensors is refused
        raise ValueError(f"{path} is not a readable weights file ({type(error).__name__}: {error}); make it again "
                         f"with `python -m prodassoc_lab.explain --out {path.parent}`") from None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise ValueError(f"{path} does not hold a state dict (a dict of tensors), but a {type(state).__name__}")
    try:
        model.load_state_dict(state)
    except RuntimeError as error:  # shapes or names differ: the file belongs to another model or catalogue
        raise ValueError(f"{path} does not hold weights of a {type(model).__name__} of this shape: {error}") from None
    damaged = [name for name, value in state.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if damaged:
        raise ValueError(f"{path} holds NaN or infinite weights in {damaged}; a model trained to such weights "
                         "diverged, and its scores would be meaningless")
    return model.eval()


def save_weights(out: Path) -> None:
    """Train both models with the chapters' settings (seed 0) and save their weights, with provenance, to ``out``."""
    from prodassoc_lab.datasets import cleaned_complete_journey
    from prodassoc_lab.links.experiment import rehearsal_experiments
    from prodassoc_lab.next_basket.task import next_basket_task

    clean, products = cleaned_complete_journey()
    _, experiment = rehearsal_experiments(clean, products)  # chapter 8's task, with its catalogue fit
    link = train_link_encoder(experiment.data, "gcn", seed=SEED)
    save_checkpoint(link.model.state_dict(), out / LINK_ENCODER)
    write_provenance(out / LINK_ENCODER)
    print(f"{LINK_ENCODER}: best epoch {link.best_epoch}, validation ROC-AUC {link.val_score:.4f}")
    sequence = train_basket_sasrec(next_basket_task(clean, n_products=5000, min_history=4), seed=SEED)
    save_checkpoint(sequence.model.state_dict(), out / BASKET_SASREC)
    write_provenance(out / BASKET_SASREC)
    print(f"{BASKET_SASREC}: best epoch {sequence.best_epoch}")
