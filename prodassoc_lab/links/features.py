"""What the catalogue says about a product, as numbers: the attributes known before anyone buys it (chapter 8).

A product that has never been sold has no baskets, no partners and no
popularity, but it has a catalogue entry: department, category and type text,
brand (national or private label), manufacturer, package size and a price. These
are the only inputs a cold-start model may use. :class:`CatalogueFeatures` turns
them into a dense vector: TF-IDF of the text reduced by truncated SVD, plus the
standardized log unit price, fitted on the known products only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from prodassoc_lab.data import ITEM
from prodassoc_lab.features import median_unit_price
from prodassoc_lab.validation import positive_int, require_columns, seed_value

ATTRIBUTES = ("department", "product_category", "product_type", "brand", "manufacturer_id", "package_size",
              "unit_price")


def product_attributes(transactions: pd.DataFrame, products: pd.DataFrame, product_ids: pd.Index) -> pd.DataFrame:
    """One row per id in ``product_ids``: its catalogue entry and its unit price.

    The catalogue has no list price, so ``unit_price`` is the median price paid
    per unit in ``transactions`` (cleaned lines, chapter 1): the price a shop
    sets when it launches a product. Pass only lines the model may see.
    """
    if not isinstance(product_ids, pd.Index) or not product_ids.is_unique:
        raise ValueError("product_ids must be a pandas Index of distinct product ids")
    require_columns(products, ATTRIBUTES[:-1], "products")
    lines = transactions[transactions[ITEM].isin(product_ids)]
    price = median_unit_price(lines).reindex(product_ids)
    if price.isna().any():
        raise ValueError(f"{int(price.isna().sum())} product(s) have no purchase line to price them, "
                         f"e.g. {list(price.index[price.isna()][:3])}")
    table = products.drop_duplicates(ITEM).set_index(ITEM).reindex(product_ids)[list(ATTRIBUTES[:-1])]
    return table.assign(unit_price=price.to_numpy())


def catalogue_text(attributes: pd.DataFrame) -> pd.Series:
    """The words of a product's catalogue entry; brand and manufacturer become tokens of their own.

    ``"dept_produce"`` and ``"maker_69"`` cannot collide with words of the type
    text, and a package size such as ``"12 OZ"`` contributes ``12`` and ``oz``.
    """
    require_columns(attributes, ATTRIBUTES[:-1], "attributes")
    text = attributes[["product_category", "product_type", "package_size"]].fillna("").astype(str).agg(" ".join, axis=1)
    department = "dept_" + attributes.department.fillna("none").astype(str).str.replace(r"\W+", "_", regex=True)
    brand = "brand_" + attributes.brand.fillna("none").astype(str)
    maker = "maker_" + attributes.manufacturer_id.astype(str)
    return (department + " " + brand + " " + maker + " " + text).str.lower()


class CatalogueFeatures(TransformerMixin, BaseEstimator):
    """Dense catalogue features: TF-IDF → truncated SVD of :func:`catalogue_text`, and the z-scored log unit price.

    A scikit-learn transformer: the constructor stores the settings, :meth:`fit`
    learns on known products and sets the fitted attributes (ending in ``_``),
    and new products are transformed with the same vocabulary, SVD and scales,
    so their vectors live in the same space.

    Args:
        n_components: SVD components kept of the TF-IDF words (fewer than the products and the words).
        seed: seed of the randomized SVD.

    Attributes:
        vectorizer_: the fitted ``TfidfVectorizer`` of the catalogue text.
        svd_: the fitted ``TruncatedSVD`` of its TF-IDF rows.
        text_mean_, text_scale_: mean and standard deviation of each SVD component on the known products.
        price_mean_, price_scale_: mean and standard deviation of their log unit price.
    """

    def __init__(self, n_components: int = 32, seed: int = 0) -> None:
        self.n_components = n_components
        self.seed = seed

    def fit(self, attributes: pd.DataFrame, y: None = None) -> CatalogueFeatures:
        """Learn the vocabulary, the SVD and the scales from the known products' ``attributes``; return ``self``."""
        n_components = positive_int(self.n_components, "n_components")
        seed = seed_value(self.seed)
        text = catalogue_text(attributes)
        vectorizer = TfidfVectorizer(token_pattern=r"[^\s/&(),:-]+").fit(text)
        words = vectorizer.transform(text)
        if n_components >= min(words.shape):
            raise ValueError(f"n_components={n_components} needs more than that many products and words, "
                             f"got {words.shape[0]} products and {words.shape[1]} words")
        svd = TruncatedSVD(n_components, random_state=seed).fit(words)
        reduced = svd.transform(words)
        log_price = _log_price(attributes)
        self.vectorizer_, self.svd_ = vectorizer, svd
        self.text_mean_, self.text_scale_ = reduced.mean(axis=0), reduced.std(axis=0)
        self.price_mean_, self.price_scale_ = log_price.mean(), log_price.std()
        return self

    def tfidf(self, attributes: pd.DataFrame) -> sp.csr_array:
        """The rows of TF-IDF weights (L2-normalized, so a dot product is the cosine similarity)."""
        check_is_fitted(self)
        return sp.csr_array(self.vectorizer_.transform(catalogue_text(attributes)))

    def transform(self, attributes: pd.DataFrame) -> np.ndarray:
        """``len(attributes) × (n_components + 1)`` float32 features."""
        check_is_fitted(self)
        reduced = (self.svd_.transform(self.tfidf(attributes)) - self.text_mean_) / self.text_scale_
        price = (_log_price(attributes) - self.price_mean_) / self.price_scale_
        return np.column_stack([reduced, price]).astype(np.float32)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The names of the output columns: ``"text 1"`` … ``"text n_components"``, ``"log unit price"``."""
        check_is_fitted(self)
        names = [f"text {i + 1}" for i in range(self.svd_.n_components)] + ["log unit price"]
        return np.asarray(names, dtype=object)

def _log_price(attributes: pd.DataFrame) -> np.ndarray:
    require_columns(attributes, ["unit_price"], "attributes")
    price = pd.to_numeric(attributes.unit_price, errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(price) & (price > 0)).all():
        raise ValueError("unit_price must be a positive number for every product")
    return np.log(price)
