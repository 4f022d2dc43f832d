"""Chapter 8's comparison in one place: the time split, every baseline, the trained encoders, one results table.

Two ways to train an encoder are compared: on the earlier graph itself
(:func:`~prodassoc_lab.links.models.train_link_encoder`, which learns which
products *are* associated), and on a rehearsal of the task one period earlier
(:func:`~prodassoc_lab.links.experiment.train_on_rehearsal`, which learns which products *become* associated).

Run from the command line to repeat the comparison over several seeds::

    python -m prodassoc_lab.links --model seed gcn sage --seed 0 1 2 3 4 --results link_prediction.csv

The chapter runs seed 0 itself and checks it against the committed file
``book/results/link_prediction.csv`` written by that command.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from prodassoc_lab.features import product_features
from prodassoc_lab.links.baselines import adamic_adar, common_neighbours, jaccard, preferential_attachment
from prodassoc_lab.links.cold_start import PartnerPredictor, fit_attribute_encoder
from prodassoc_lab.links.evaluation import LinkTask, link_metrics, sampled_roc_auc
from prodassoc_lab.links.features import CatalogueFeatures, product_attributes
from prodassoc_lab.links.models import (
    LAYERS,
    LinkEncoder,
    LinkRun,
    fit_encoder,
    link_data,
    train_link_encoder,
)
from prodassoc_lab.links.task import TimeSplit, time_split
from prodassoc_lab.ranking import top_k
from prodassoc_lab.reproducibility import set_seed
from prodassoc_lab.rules import lift
from prodassoc_lab.validation import bounded_float, bounded_int, non_negative_float, positive_float, positive_int

MIN_BASKETS = 50  # baskets before the cut-off that make a product "known"
K = 20  # the length of the list a shop would show; the tables report Recall@K, NDCG@K and MRR@K
SIMILAR = 10  # known products whose partners "partners of similar products" pools


@dataclass(frozen=True)
class LinkExperiment:
    """Everything both tasks of chapter 8 need, built once from the transactions.

    ``data`` holds the earlier graph with node features: the label-free traffic
    features of chapter 7 computed on the earlier weeks, then the catalogue
    features. ``cold_attributes`` describe the cold-start queries, priced from
    their own sales lines after the cut-off (their only later information used).
    """

    split: TimeSplit
    catalogue: CatalogueFeatures
    known_attributes: pd.DataFrame
    cold_attributes: pd.DataFrame
    data: Data

    @property
    def popularity(self) -> np.ndarray:
        """Baskets of each known product before the cut-off."""
        return self.split.earlier.product_counts().to_numpy().astype(np.float64)


def link_experiment(transactions: pd.DataFrame, products: pd.DataFrame, cutoff_week: int = 39,
                    catalogue: CatalogueFeatures | None = None, min_baskets: int = MIN_BASKETS) -> LinkExperiment:
    """Split at ``cutoff_week`` and compute the features; nothing after the cut-off reaches the known products.

    ``catalogue`` is a fitted :class:`~prodassoc_lab.links.features.CatalogueFeatures` to reuse (default: fit
    one on the known products), so that two experiments describe products in
    the same feature space.
    """
    split = time_split(transactions, products, cutoff_week, min_baskets=min_baskets)
    before = transactions[transactions.week <= cutoff_week]
    known = split.known_ids
    known_attributes = product_attributes(before, products, known)
    if catalogue is None:
        catalogue = CatalogueFeatures().fit(known_attributes)
    catalogue_part = pd.DataFrame(catalogue.transform(known_attributes), index=known,
                                  columns=catalogue.get_feature_names_out())
    # product_features holds the log unit price already (z-scored over the same products): keep it once
    features = pd.concat([product_features(before, products, known),
                          catalogue_part.drop(columns="log unit price")], axis=1)
    cold_attributes = product_attributes(transactions[transactions.week > cutoff_week], products,
                                         split.cold_products)
    return LinkExperiment(split, catalogue, known_attributes, cold_attributes, link_data(features, split.earlier_graph))


def new_association_baselines(experiment: LinkExperiment) -> dict[str, np.ndarray]:
    """Scores of the baselines for the new-association task (queries × known products)."""
    split, task = experiment.split, experiment.split.new_association_task()
    queries, adjacency, popularity = task.queries, split.earlier_graph.adjacency(), experiment.popularity
    joint = split.earlier_counts[queries].toarray().astype(np.float64)
    words = experiment.catalogue.tfidf(experiment.known_attributes)
    n = float(split.earlier.n_baskets)
    return {
        "popularity": np.tile(popularity, (len(queries), 1)),
        "preferential attachment": preferential_attachment(adjacency, queries),
        "common neighbours": common_neighbours(adjacency, queries),
        "Adamic–Adar": adamic_adar(adjacency, queries),
        "Jaccard": jaccard(adjacency, queries),
        "rules: confidence": joint / popularity[queries, None],
        "rules: lift": lift(joint, popularity[queries, None], popularity[None, :], n),
        "attribute similarity": (words[queries] @ words.T).toarray(),
    }


def cold_start_baselines(experiment: LinkExperiment) -> dict[str, np.ndarray]:
    """Scores of the baselines for the cold-start task (cold products × known products)."""
    known, cold = experiment.known_attributes, experiment.cold_attributes
    popularity = experiment.popularity
    similarity = (experiment.catalogue.tfidf(cold) @ experiment.catalogue.tfidf(known).T).toarray()
    same_category = cold.product_category.to_numpy()[:, None] == known.product_category.to_numpy()[None, :]
    nearest = top_k(similarity, min(SIMILAR, similarity.shape[1]))
    weights = np.zeros_like(similarity)
    np.put_along_axis(weights, nearest, np.take_along_axis(similarity, nearest, axis=1), axis=1)
    partners = sp.csr_array(experiment.split.earlier_graph.adjacency() != 0, dtype=np.float64)
    return {
        "popularity": np.tile(popularity, (len(cold), 1)),
        # the same category first, by popularity, then everything else by popularity
        "same-category popularity": same_category * (popularity.max() + 1) + popularity[None, :],
        "attribute similarity": similarity,
        "partners of similar products": (partners.T @ weights.T).T,
    }


def rehearsal_experiments(transactions: pd.DataFrame, products: pd.DataFrame, cutoff_week: int = 39,
                          rehearsal_week: int = 26) -> tuple[LinkExperiment, LinkExperiment]:
    """The task rehearsed one period earlier, and the task itself: ``(rehearsal, experiment)``.

    The rehearsal reads only weeks up to ``cutoff_week``: weeks up to
    ``rehearsal_week`` are its past, the weeks after it up to the cut-off its
    future. Both share one catalogue fit (on the rehearsal's known products), so
    a feature means the same in both.
    """
    if not isinstance(rehearsal_week, int) or isinstance(rehearsal_week, bool) or not 1 <= rehearsal_week < cutoff_week:
        raise ValueError(f"rehearsal_week must be a week number before cutoff_week={cutoff_week}, "
                         f"got {rehearsal_week!r}")
    # a product must sell as steadily as a known product of the real task: 50 baskets in 39 weeks
    min_baskets = round(MIN_BASKETS * rehearsal_week / cutoff_week)
    rehearsal = link_experiment(transactions[transactions.week <= cutoff_week], products, rehearsal_week,
                                min_baskets=min_baskets)
    return rehearsal, link_experiment(transactions, products, cutoff_week, catalogue=rehearsal.catalogue)


@dataclass(frozen=True)
class RehearsalTraining:
    """The settings of :func:`train_on_rehearsal`, checked when made (chapter 8).

    Attributes:
        epochs (int): epochs to train; the best one by validation Recall@K is kept. (default: ``150``)
        lr (float): Adam's learning rate. (default: ``0.01``)
        negatives (int): random pairs per positive pair and epoch. (default: ``4``)
        val_share (float): share of the rehearsal's new pairs held out for validation, in (0, 1). (default: ``0.2``)
        eval_every (int): validate every this many epochs (and at the last), at most ``epochs``. (default: ``10``)
        hidden (int): size of the hidden layer and of the embeddings. (default: ``64``)
        weight_decay (float): Adam's weight decay, ≥ 0. (default: ``5e-4``)
    """

    epochs: int = 150
    lr: float = 0.01
    negatives: int = 4
    val_share: float = 0.2
    eval_every: int = 10
    hidden: int = 64
    weight_decay: float = 5e-4

    def __post_init__(self) -> None:
        positive_int(self.epochs, "epochs")
        positive_int(self.negatives, "negatives")
        bounded_int(self.eval_every, "eval_every", 1, self.epochs + 1)
        positive_int(self.hidden, "hidden")
        positive_float(self.lr, "lr")
        non_negative_float(self.weight_decay, "weight_decay")
        bounded_float(self.val_share, "val_share", 0, 1, low_open=True, high_open=True)


def train_on_rehearsal(rehearsal: LinkExperiment, kind: str, seed: int,
                       settings: RehearsalTraining = RehearsalTraining()) -> LinkRun:
    """Train a :class:`~prodassoc_lab.links.models.LinkEncoder` on the rehearsal's new associations.

    Messages run over the rehearsal's earlier graph; the positives are its new
    pairs, against ``negatives`` times as many random pairs per epoch from
    ``negative_sampling`` (never a graph edge or a positive). A share
    ``val_share`` of the new pairs is held out, and the epoch with the best
    Recall@K on them is kept. Apply the result to the real task with
    ``run.on(experiment.data)``. ``settings`` are the :class:`RehearsalTraining`.
    """
    if not isinstance(settings, RehearsalTraining):
        raise TypeError(f"settings must be a RehearsalTraining, got {type(settings).__name__}")
    data, split = rehearsal.data, rehearsal.split
    rng = set_seed(seed)
    order = rng.permutation(len(split.new_pairs))
    n_val = max(1, int(settings.val_share * len(order)))
    val_pairs, train_pairs = split.new_pairs.iloc[order[:n_val]], split.new_pairs.iloc[order[n_val:]]
    if train_pairs.empty:
        raise ValueError(f"the rehearsal has {len(order)} new pair(s): too few to train and validate on")
    val_task = split.new_association_task(val_pairs, also_excluded=train_pairs)
    pairs = torch.from_numpy(train_pairs[["source", "target"]].to_numpy().T.copy())
    positives = torch.cat([pairs, pairs.flip(0)], dim=1)
    not_negative = torch.cat([data.edge_index, positives], dim=1)
    model = LinkEncoder(kind, data.num_features, settings.hidden)
    rows = torch.from_numpy(val_task.queries)

    def validation_recall(embeddings: torch.Tensor, bias: torch.Tensor) -> float:
        return link_metrics((embeddings[rows] @ embeddings.T + bias[None, :]).numpy(), val_task)[f"Recall@{K}"]

    training = fit_encoder(model, data.x, data.adj_t, positives, not_negative, validation_recall, settings.epochs,
                           settings.lr, settings.weight_decay, settings.eval_every, settings.negatives)
    with torch.no_grad():
        embeddings, bias = model(data.x, data.adj_t)
    return LinkRun(kind, seed, model, embeddings, bias, training, f"Recall@{K}")


def partner_predictor(experiment: LinkExperiment, run: LinkRun, seed: int) -> PartnerPredictor:
    """Fit an attribute encoder to ``run``'s embeddings (chapter 8's cold-start model)."""
    features = torch.from_numpy(experiment.catalogue.transform(experiment.known_attributes))
    encoder, _ = fit_attribute_encoder(features, run.embeddings, run.bias, experiment.data.edge_index, seed)
    return PartnerPredictor(experiment.catalogue, encoder, run.embeddings, run.bias,
                            experiment.split.earlier_graph.nodes, features)


def evaluate(scores: dict[str, np.ndarray], task: LinkTask, k: int = K) -> pd.DataFrame:
    """One row per method: Recall@k, NDCG@k, MRR@k on the full ranking, and ROC-AUC against sampled negatives."""
    rows = {name: {**link_metrics(values, task, k), "ROC-AUC (sampled)": sampled_roc_auc(values, task)}
            for name, values in scores.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


def compare_link_models(experiment: LinkExperiment, models: tuple[str, ...], seeds: tuple[int, ...],
                        rehearsal: LinkExperiment | None = None) -> pd.DataFrame:
    """Baselines once, then per seed each encoder, its cold-start model and (given ``rehearsal``) the encoder
    trained on the rehearsal; one row per (task, method, seed).

    Baselines involve no randomness, so their rows carry seed ``-1``.
    """
    unknown = [m for m in models if m not in LAYERS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty selection of {list(LAYERS)}, got {list(models)}")
    split = experiment.split
    tasks = {"new associations": split.new_association_task(), "cold start": split.cold_start_task()}
    tables = [evaluate(new_association_baselines(experiment), tasks["new associations"])
              .assign(task="new associations", seed=-1),
              evaluate(cold_start_baselines(experiment), tasks["cold start"]).assign(task="cold start", seed=-1)]
    for seed in seeds:
        for kind in models:
            run = train_link_encoder(experiment.data, kind, seed)
            predictor = partner_predictor(experiment, run, seed)
            tables.append(evaluate({kind: run.scores(tasks["new associations"].queries)},
                                   tasks["new associations"]).assign(task="new associations", seed=seed))
            tables.append(evaluate({f"{kind} + attribute encoder": predictor.scores(experiment.cold_attributes)},
                                   tasks["cold start"]).assign(task="cold start", seed=seed))
            if rehearsal is not None:
                rehearsed = train_on_rehearsal(rehearsal, kind, seed).on(experiment.data)
                tables.append(evaluate({f"{kind} (rehearsal)": rehearsed.scores(tasks["new associations"].queries)},
                                       tasks["new associations"]).assign(task="new associations", seed=seed))
    table = pd.concat(tables).reset_index()
    return table[["task", "method", "seed", *[c for c in table.columns if c not in ("task", "method", "seed")]]]
