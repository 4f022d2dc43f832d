"""Ready-made data of the book, built on demand and cached outside the repository.

Later chapters load the product graphs of chapter 3 with one call instead of
repeating its construction. The cache lives in ``$PRODASSOC_LAB_CACHE`` or
``~/.cache/prodassoc_lab`` and is never committed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from prodassoc_lab.data import (
    BasketMatrix,
    basket_matrix,
    clean_transactions,
    filter_products,
    load_complete_journey,
    select_products,
)
from prodassoc_lab.graph import ProductGraph, product_graph

GRAPH_KINDS = ("basket", "household")
_CACHE_VERSION = 1  # bump when the construction changes, so stale caches are not reused


def cache_dir() -> Path:
    """Where built data is cached: ``$PRODASSOC_LAB_CACHE`` or ``~/.cache/prodassoc_lab``."""
    return Path(os.environ.get("PRODASSOC_LAB_CACHE", Path.home() / ".cache" / "prodassoc_lab"))


def complete_journey_matrices(min_baskets: int = 50) -> tuple[BasketMatrix, BasketMatrix, pd.DataFrame]:
    """Cleaned basket and household matrices over the products in ``min_baskets`` baskets or more.

    Both matrices have the same product columns (chapter 3), so graphs built
    from them share their nodes. Returns ``(baskets, households, products)``.
    """
    transactions, products = load_complete_journey()
    clean, _ = clean_transactions(transactions, products)
    baskets = filter_products(basket_matrix(clean), min_baskets)
    households = select_products(basket_matrix(clean, by="household_id"), baskets.product_ids)
    return baskets, households, products


def load_product_graph(
    kind: str = "basket",
    weight: str = "npmi",
    min_baskets: int = 50,
    min_count: int = 5,
    top_k: int | None = 10,
) -> ProductGraph:
    """The Complete Journey product graph of chapter 3, from the cache or built and cached.

    ``kind="basket"`` links products bought in the same trip, ``"household"``
    products bought by the same household; the other arguments are those of
    :func:`prodassoc_lab.graph.product_graph` plus the node filter ``min_baskets``.
    """
    if kind not in GRAPH_KINDS:
        raise ValueError(f"unknown graph kind {kind!r}; choose one of {list(GRAPH_KINDS)}")
    key = f"v{_CACHE_VERSION}-{kind}-{weight}-b{min_baskets}-c{min_count}-k{top_k}"
    folder = cache_dir() / "graphs" / key
    if (folder / "edges.parquet").is_file() and (folder / "nodes.parquet").is_file():
        return ProductGraph(
            pd.read_parquet(folder / "nodes.parquet"), pd.read_parquet(folder / "edges.parquet"), weight
        )
    baskets, households, products = complete_journey_matrices(min_baskets)
    rows = baskets if kind == "basket" else households
    graph = product_graph(rows, products, weight=weight, min_count=min_count, top_k=top_k)
    folder.mkdir(parents=True, exist_ok=True)
    # Write to temporary names first so an interrupted run never leaves a half cache.
    for name, table in (("nodes", graph.nodes), ("edges", graph.edges)):
        table.to_parquet(folder / f"{name}.tmp.parquet")
        (folder / f"{name}.tmp.parquet").replace(folder / f"{name}.parquet")
    return graph
