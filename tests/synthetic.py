"""Synthetic shops that several test modules build (importable: ``pythonpath`` includes tests/)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def household_trips(n_households: int = 12, trips: int = 9, n_products: int = 30, seed: int = 0) -> pd.DataFrame:
    """Households that rebuy a few favourites and try others, one trip a day (chapter 9's tests)."""
    rng = np.random.default_rng(seed)
    lines, basket = [], 0
    for h in range(n_households):
        favourites = rng.choice(n_products, 4, replace=False)
        for t in range(trips):
            items = set(rng.choice(favourites, 2, replace=False)) | set(rng.choice(n_products, 2))
            for p in items:
                lines.append((100 + h, basket, 1000 + int(p), pd.Timestamp("2017-01-01") + pd.Timedelta(days=t)))
            basket += 1
    return pd.DataFrame(lines, columns=["household_id", "basket_id", "product_id", "transaction_timestamp"])
