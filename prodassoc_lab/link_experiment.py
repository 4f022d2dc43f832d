"""Chapter 8's comparison in one place: the time split, every baseline, the trained encoders, one results table.

Run from the command line to repeat the comparison over several seeds::

    python -m prodassoc_lab.link_experiment --model seed gcn sage --seed 0 1 2 3 4 --results link_prediction.csv

The chapter runs seed 0 itself and checks it against the committed file
``book/results/link_prediction.csv`` written by that command.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from prodassoc_lab.catalogue import CatalogueFeatures, product_attributes
from prodassoc_lab.cold_start import PartnerPredictor, fit_attribute_encoder
from prodassoc_lab.features import product_features
from prodassoc_lab.link_evaluation import LinkTask, link_metrics, sampled_roc_auc
from prodassoc_lab.link_heuristics import adamic_adar, common_neighbours, jaccard, preferential_attachment
from prodassoc_lab.link_models import LAYERS, LinkRun, link_data, train_link_encoder
from prodassoc_lab.rules import lift
from prodassoc_lab.time_split import TimeSplit, time_split

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


def link_experiment(transactions: pd.DataFrame, products: pd.DataFrame, cutoff_week: int = 39) -> LinkExperiment:
    """Split at ``cutoff_week`` and compute the features; nothing after the cut-off reaches the known products."""
    split = time_split(transactions, products, cutoff_week)
    before = transactions[transactions.week <= cutoff_week]
    known = split.known_ids
    known_attributes = product_attributes(before, products, known)
    catalogue = CatalogueFeatures().fit(known_attributes)
    features = pd.concat([product_features(before, products, known),
                          pd.DataFrame(catalogue.transform(known_attributes), index=known, columns=catalogue.names)],
                         axis=1)
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
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :SIMILAR]
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


def compare_link_models(experiment: LinkExperiment, models: tuple[str, ...], seeds: tuple[int, ...]) -> pd.DataFrame:
    """Baselines once, then each encoder and its cold-start model per seed; one row per (task, method, seed).

    Baselines involve no randomness, so their rows carry seed ``-1``.
    """
    unknown = [m for m in models if m not in LAYERS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty selection of {list(LAYERS)}, got {list(models)}")
    split = experiment.split
    tasks = {"new associations": split.new_association_task(), "cold start": split.cold_start_task()}
    tables = [evaluate(new_association_baselines(experiment), tasks["new associations"]).assign(task="new associations", seed=-1),
              evaluate(cold_start_baselines(experiment), tasks["cold start"]).assign(task="cold start", seed=-1)]
    for seed in seeds:
        for kind in models:
            run = train_link_encoder(experiment.data, kind, seed)
            predictor = partner_predictor(experiment, run, seed)
            tables.append(evaluate({kind: run.scores(tasks["new associations"].queries)},
                                   tasks["new associations"]).assign(task="new associations", seed=seed))
            tables.append(evaluate({f"{kind} + attribute encoder": predictor.scores(experiment.cold_attributes)},
                                   tasks["cold start"]).assign(task="cold start", seed=seed))
    table = pd.concat(tables).reset_index()
    return table[["task", "method", "seed", *[c for c in table.columns if c not in ("task", "method", "seed")]]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prodassoc_lab.link_experiment",
                                     description="Chapter 8: new associations and cold start on The Complete Journey.")
    parser.add_argument("--model", nargs="+", default=["seed", "gcn"], choices=list(LAYERS), help="encoders to train")
    parser.add_argument("--seed", nargs="+", type=int, default=[0], help="seeds (one training run each)")
    parser.add_argument("--results", type=Path, required=True, help="CSV file to write the table to")
    args = parser.parse_args(argv)
    if args.results.suffix != ".csv":
        parser.error(f"--results must name a .csv file, got {args.results}")
    from prodassoc_lab.datasets import cleaned_complete_journey

    table = compare_link_models(link_experiment(*cleaned_complete_journey()), tuple(args.model), tuple(args.seed))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.results, index=False, float_format="%.6f")
    print(table.groupby(["task", "method"]).mean(numeric_only=True).drop(columns="seed").round(4).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
