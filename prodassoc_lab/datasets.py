"""Ready-made data of the book, built on demand and cached outside the repository.

Later chapters load the product graphs of chapter 3 with one call instead of
repeating its construction. The cache lives in ``$PRODASSOC_LAB_CACHE`` or
``~/.cache/prodassoc_lab`` and is never committed.
"""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from prodassoc_lab.data import (
    BasketMatrix,
    basket_matrix,
    clean_transactions,
    filter_products,
    load_complete_journey,
    select_products,
)
from prodassoc_lab.files import write_atomically
from prodassoc_lab.graph import WEIGHTS, ProductGraph, product_graph
from prodassoc_lab.validation import positive_int

GRAPH_KINDS = ("basket", "household")
_CACHE_VERSION = 1  # bump when the construction changes, so stale caches are not reused


def cache_dir() -> Path:
    """Where built data is cached: ``$PRODASSOC_LAB_CACHE`` or ``~/.cache/prodassoc_lab``."""
    folder = os.environ.get("PRODASSOC_LAB_CACHE")
    if folder is None:
        return Path.home() / ".cache" / "prodassoc_lab"
    if not folder.strip():
        # an empty value would mean the current folder: the cache would land wherever Python runs
        raise ValueError("PRODASSOC_LAB_CACHE is set but empty; unset it or give a folder")
    return Path(folder)


@functools.cache
def _cleaned_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    transactions, products = load_complete_journey()
    clean, _ = clean_transactions(transactions, products)
    return clean, products


def cleaned_complete_journey() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Complete Journey's cleaned transactions and product table, loaded and cleaned once per process.

    Chapter 1 explains the cleaning. Loading and cleaning take seconds, and
    several chapters and functions need the result; each caller gets its own
    copies, so changing them never changes what the next caller sees.
    """
    clean, products = _cleaned_tables()
    return clean.copy(), products.copy()


def complete_journey_matrices(min_baskets: int = 50) -> tuple[BasketMatrix, BasketMatrix, pd.DataFrame]:
    """Cleaned basket and household matrices over the products in ``min_baskets`` baskets or more.

    Both matrices have the same product columns (chapter 3), so graphs built
    from them share their nodes. Returns ``(baskets, households, products)``.
    """
    min_baskets = positive_int(min_baskets, "min_baskets")
    clean, products = cleaned_complete_journey()
    baskets = filter_products(basket_matrix(clean), min_baskets)
    households = select_products(basket_matrix(clean, by="household_id"), baskets.product_ids)
    return baskets, households, products


def popular_product_graph(n_products: int = 300, min_count: int = 20, top_k: int = 10) -> ProductGraph:
    """The basket graph (NPMI) of the ``n_products`` most popular products: the small real graph of chapters 4 and 6.

    Popularity counts baskets among the products in 50 baskets or more (ties
    broken by id); pair statistics use every basket, also those that hold none
    of these products, so NPMI keeps the whole year's base rates.
    """
    n_products = positive_int(n_products, "n_products")
    min_count, top_k = positive_int(min_count, "min_count"), positive_int(top_k, "top_k")  # before the data loads
    baskets, _, products = complete_journey_matrices(min_baskets=50)
    top = np.sort(np.argsort(-baskets.product_counts().to_numpy(), kind="stable")[:n_products])
    subset = BasketMatrix(baskets.matrix[:, top], baskets.basket_ids, baskets.product_ids[top])
    return product_graph(subset, products, weight="npmi", min_count=min_count, top_k=top_k)


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
    folder = graph_cache_folder(kind, weight, min_baskets, min_count, top_k)
    cached = _read_cached_graph(folder, weight)
    if cached is not None:
        return cached
    check_cache_writable(folder)  # before the build, which takes seconds to minutes
    baskets, households, products = complete_journey_matrices(min_baskets)
    rows = baskets if kind == "basket" else households
    graph = product_graph(rows, products, weight=weight, min_count=min_count, top_k=top_k)
    _write_cached_graph(folder, graph)
    return graph


def graph_cache_folder(kind: str = "basket", weight: str = "npmi", min_baskets: int = 50, min_count: int = 5,
                       top_k: int | None = 10) -> Path:
    """The cache folder of the graph :func:`load_product_graph` returns for these arguments (checked here,
    before any data is loaded)."""
    if kind not in GRAPH_KINDS:
        raise ValueError(f"unknown graph kind {kind!r}; choose one of {list(GRAPH_KINDS)}")
    if weight not in WEIGHTS:
        raise ValueError(f"unknown weight {weight!r}; choose one of {list(WEIGHTS)}")
    min_baskets, min_count = positive_int(min_baskets, "min_baskets"), positive_int(min_count, "min_count")
    top_k = None if top_k is None else positive_int(top_k, "top_k")
    return cache_dir() / "graphs" / f"v{_CACHE_VERSION}-{kind}-{weight}-b{min_baskets}-c{min_count}-k{top_k}"


def is_cached(folder: Path) -> bool:
    """Whether ``folder`` (a :func:`graph_cache_folder`) holds both tables of a cached graph."""
    return all((folder / f"{name}.parquet").is_file() for name in ("nodes", "edges"))


def check_cache_writable(folder: Path) -> None:
    """Create ``folder`` and a file in it, or raise ``ValueError`` saying how to choose another cache folder.

    Run before a graph is built, so that a read-only cache, a file in the way or
    a folder that cannot hold files (``/proc``) is reported at once.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"cannot write the graph cache in {folder} ({error.strerror or error}); set "
                         "PRODASSOC_LAB_CACHE to a folder you can write") from None


def _write_cached_graph(folder: Path, graph: ProductGraph) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in (("nodes", graph.nodes), ("edges", graph.edges)):
        # each table written whole or not at all, and two processes building the same graph never
        # write into each other's file
        write_atomically(folder / f"{name}.parquet", table.to_parquet, "cached graph")


def _read_cached_graph(folder: Path, weight: str) -> ProductGraph | None:
    """The cached graph, or ``None`` when there is none or it cannot be used (then it is rebuilt)."""
    if not is_cached(folder):
        return None
    paths = [folder / "nodes.parquet", folder / "edges.parquet"]
    try:
        nodes, edges = (pd.read_parquet(path) for path in paths)
        if nodes.empty or edges.empty:
            raise ValueError("a table has no rows")
        if weight in edges and not np.array_equal(edges["weight"].to_numpy(), edges[weight].to_numpy()):
            raise ValueError(f"its weight column is not its {weight!r} column")
        return ProductGraph(nodes, edges, weight)
    except Exception as exc:  # a truncated file raises pyarrow's errors; any failure means: build anew
        warnings.warn(f"the cached graph in {folder} cannot be read ({exc}); building it again", stacklevel=3)
        return None
